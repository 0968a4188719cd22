// AgentPool and the service's selection over it, against addresses where
// nothing listens (the agents' side is coordinator_process_test's): every
// miss counted, DOWN after down_after of them, Stop bounded.
#include "coordinator/agent_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/metrics.h"
#include "coordinator/service.h"
#include "tests/support/agent_process.h"

namespace loupe::coordinator {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::vector<AgentEntry> Entries(int n) {
  std::vector<AgentEntry> out;
  for (int i = 0; i < n; ++i) {
    AgentEntry e;
    e.name = "hv" + std::to_string(i + 1);
    // A port just freed: nothing listens there.
    e.address = "127.0.0.1:" + std::to_string(test_support::FreePort());
    e.labels = {{"rack", i % 2 == 0 ? "r1" : "r2"}};
    out.push_back(e);
  }
  return out;
}

TEST(AgentPoolTest, UnreachableAgentsGoDownAfterDownAfterMisses) {
  PoolOptions options;
  options.interval = 100ms;
  options.timeout = 50ms;
  options.down_after = 3;
  AgentPool pool(Entries(3), options);
  EXPECT_EQ(pool.size(), 3u);
  for (const AgentStatus& a : pool.Snapshot()) {
    EXPECT_EQ(a.state, AgentState::kUnknown);
  }
  const auto start = std::chrono::steady_clock::now();
  bool all_down = false;
  while (!all_down && std::chrono::steady_clock::now() - start < 10s) {
    std::this_thread::sleep_for(20ms);
    all_down = true;
    for (const AgentStatus& a : pool.Snapshot()) {
      all_down = all_down && a.state == AgentState::kDown;
    }
  }
  ASSERT_TRUE(all_down);
  for (const AgentStatus& a : pool.Snapshot()) {
    EXPECT_GE(a.consecutive_misses, 3u);
    EXPECT_EQ(a.checks, a.consecutive_misses);
    EXPECT_EQ(a.last_seen_ns, 0u);
    EXPECT_FALSE(a.error.empty());
    EXPECT_GT(a.state_since_ns, 0u);
  }
  const auto stop = std::chrono::steady_clock::now();
  pool.Stop();
  pool.Stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - stop, 2s);
}

TEST(AgentPoolTest, StopIsBoundedWhileCallsAreInFlight) {
  PoolOptions options;
  options.interval = 100ms;
  options.timeout = 100ms;
  // 10.255.255.1: a routable address that does not answer (or, on a
  // machine without a route, fails at once); either way Stop is bounded.
  std::vector<AgentEntry> entries = Entries(1);
  entries[0].address = "10.255.255.1:7070";
  auto pool = std::make_unique<AgentPool>(entries, options);
  std::this_thread::sleep_for(150ms);
  const auto stop = std::chrono::steady_clock::now();
  pool.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - stop, 2s);
}

std::vector<AgentStatus> Statuses() {
  std::vector<AgentStatus> out;
  for (AgentEntry& e : Entries(4)) {
    AgentStatus s;
    s.entry = e;
    out.push_back(s);
  }
  out[0].state = AgentState::kUp;
  out[0].last_seen_ns = 1'000'000'000;
  out[0].last_rtt_ns = 800'000;
  out[1].state = AgentState::kDown;
  out[1].consecutive_misses = 3;
  out[1].error = "UNAVAILABLE: refused";
  return out;
}

TEST(SelectAgentsTest, SelectsInOrderAndRefusesUnknownKeys) {
  Result<std::vector<AgentStatus>> all = SelectAgents(Statuses(), "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u);
  Result<std::vector<AgentStatus>> r2 =
      SelectAgents(Statuses(), "host=hv[1-3],rack=r2");
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->size(), 1u);
  EXPECT_EQ((*r2)[0].entry.name, "hv2");
  Result<std::vector<AgentStatus>> typo = SelectAgents(Statuses(), "rak=r1");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().message(),
            "no agent has a label \"rak\"; did you mean 'rack'? (keys: host, "
            "rack)");
  Result<std::vector<AgentStatus>> bad = SelectAgents(Statuses(), "host=[");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("selector column 7"));
}

TEST(SelectAgentsTest, ToProtoCarriesTheStatus) {
  const std::vector<AgentStatus> s = Statuses();
  v1::AgentInfo info;
  ToProto(s[0], 1'500'000'000, &info);
  EXPECT_EQ(info.name(), "hv1");
  EXPECT_EQ(info.state(), v1::AGENT_STATE_UP);
  EXPECT_EQ(info.last_seen_age_ns(), 500'000'000u);
  EXPECT_EQ(info.last_rtt_ns(), 800'000u);
  ASSERT_EQ(info.labels_size(), 1);
  EXPECT_EQ(info.labels(0).key(), "rack");
  EXPECT_FALSE(info.has_health());
  info.Clear();
  ToProto(s[1], 1'500'000'000, &info);
  EXPECT_EQ(info.state(), v1::AGENT_STATE_DOWN);
  EXPECT_EQ(info.last_seen_age_ns(), 0u);
}

TEST(CoordinatorMetricsTest, PerAgentFamilies) {
  CoordinatorMetricsInput in;
  in.version = "0.1.0";
  in.name = "c1";
  in.agents = Statuses();
  const std::string text = RenderCoordinatorMetrics(in);
  EXPECT_THAT(text, HasSubstr("loupe_coordinator_agent_up{agent=\"hv1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("loupe_coordinator_agent_up{agent=\"hv2\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("loupe_coordinator_agent_consecutive_misses{"
                              "agent=\"hv2\"} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("loupe_coordinator_agent_rtt_seconds{agent=\"hv1\"} "
                        "8e-04\n"));
  EXPECT_THAT(text, HasSubstr("loupe_coordinator_agents{state=\"UP\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("loupe_coordinator_agents{state=\"UNKNOWN\"} 2\n"));
}

}  // namespace
}  // namespace loupe::coordinator
