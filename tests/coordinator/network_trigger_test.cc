// Triggers on merged aggregates (`on = "network"`): a real in-process
// Coordinator over two in-process agents (tests/support/loopback_agent.h)
// evaluates a program's network trigger over the agents' merged SUM, and
// raises into a JSON-lines NOC sink: a window neither agent alone crosses
// fires, one that only one agent fed does not; a restarted coordinator
// raises no window again and numbers on.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/coordinator.h"
#include "coordinator/network_triggers.h"
#include "coordinator/proto/coordinator.grpc.pb.h"
#include "tests/support/jsonl_field.h"
#include "tests/support/loopback_agent.h"
#include "tests/support/loopback_coordinator.h"
#include "tests/support/temp_dir.h"

namespace loupe::coordinator {
namespace {

using namespace std::chrono_literals;
using test_support::LoopbackAgent;
using test_support::TempDir;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kPeriodNs = 200'000'000;

constexpr char kProgram[] = R"toml([[multilog]]
name = "flows"
filters = [{ name = "every", expression = "bytes >= 0" }]
aggregates = [{ name = "total", filter = "every", expression = "SUM(bytes)" }]

[[multilog]]
name = "flows"
on = "network"
triggers = [{ name = "fleet_busy", condition = "total > 3000", period = "200ms" }]
)toml";

uint64_t WallNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// 20 records of 100 bytes each, stamped `ts`: a SUM of 2000.
std::string Records(uint64_t ts) {
  std::string out(12 * 20, '\0');
  for (int i = 0; i < 20; ++i) {
    const uint32_t bytes = 100;
    std::memcpy(out.data() + i * 12, &ts, 8);
    std::memcpy(out.data() + i * 12 + 8, &bytes, 4);
  }
  return out;
}

struct SinkLine {
  std::string host, trigger;
  uint64_t sequence = 0, incarnation = 0, window_end = 0;
  double value = 0;
};

std::vector<SinkLine> NetworkLines(const std::string& path) {
  std::vector<SinkLine> out;
  std::ifstream in(path);
  std::string line;
  auto field = [&](const std::string& name) {
    return test_support::JsonField(line, name);
  };
  while (std::getline(in, line)) {
    SinkLine l;
    l.host = field("host");
    if (l.host != "coord") continue;
    l.trigger = field("trigger");
    l.sequence = std::stoull(field("sequence"));
    l.incarnation = std::stoull(field("incarnation"));
    l.value = std::stod(field("value"));
    out.push_back(l);
  }
  return out;
}

class NetworkTriggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      agents_.push_back(
          std::make_unique<LoopbackAgent>("hv" + std::to_string(i)));
      agents_.back()->Create("flows", "bytes:u32");
    }
    sink_ = dir_.path() + "/noc.jsonl";
  }
  void TearDown() override { coordinator_.reset(); }

  void StartCoordinator() {
    CoordinatorConfig config =
        test_support::LoopbackCoordinatorConfig(dir_.path(), agents_);
    agent::AlertSinkConfig sink;
    sink.type = agent::SinkType::kJsonl;
    sink.path = sink_;
    config.alert_sinks.push_back(sink);
    Result<std::unique_ptr<Coordinator>> c = Coordinator::Start(config);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coordinator_ = std::move(*c);
    stub_ = test_support::CoordinatorStub(*coordinator_);
  }

  v1::FleetApplyProgramResponse Apply(const std::string& text) {
    v1::FleetApplyProgramRequest req;
    req.set_name("fleet");
    req.set_version(1);
    req.set_program(text);
    v1::FleetApplyProgramResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    const grpc::Status s = stub_->ApplyProgram(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // The start of a window with at least half of it left, waited for.
  static uint64_t FreshWindow() {
    for (;;) {
      const uint64_t now = WallNs();
      if (now % kPeriodNs < kPeriodNs / 2) return now / kPeriodNs * kPeriodNs;
      std::this_thread::sleep_for(10ms);
    }
  }

  // Appends a SUM of 2000 to each of `agents`, stamped in the window that
  // starts at `start`.
  void Feed(uint64_t start, std::initializer_list<int> agents) {
    for (int i : agents)
      agents_[i]->Append("flows", Records(start + 10'000'000));
  }

  // Waits until the network triggers evaluated past `end`.
  void AwaitEvaluatedPast(uint64_t end) {
    const auto deadline = Clock::now() + 10s;
    while (coordinator_->network_triggers()->stats().settled_ns < end + 1) {
      ASSERT_LT(Clock::now(), deadline) << "H never passed the window";
      std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(100ms);  // the sink has written
  }

  TempDir dir_{"loupe-network-triggers"};
  std::string sink_;
  std::vector<std::unique_ptr<LoopbackAgent>> agents_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(NetworkTriggerTest, FiresOnTheMergedAggregateOnlyAndOnceAcrossARestart) {
  StartCoordinator();
  const v1::FleetApplyProgramResponse applied = Apply(kProgram);
  ASSERT_EQ(applied.outcome(), v1::FLEET_PROGRAM_APPLIED)
      << applied.ShortDebugString();
  const auto until = Clock::now() + 10s;
  while (coordinator_->network_triggers()->stats().triggers != 1) {
    ASSERT_LT(Clock::now(), until);
    std::this_thread::sleep_for(10ms);
  }

  // Both agents: 2000 each, 4000 over the fleet > 3000.
  const uint64_t both = FreshWindow();
  Feed(both, {0, 1});
  AwaitEvaluatedPast(both + kPeriodNs);
  std::vector<SinkLine> lines = NetworkLines(sink_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].trigger, "fleet_busy");
  EXPECT_EQ(lines[0].value, 4000);
  EXPECT_EQ(lines[0].sequence, 1u);
  const uint64_t incarnation = lines[0].incarnation;
  EXPECT_GT(incarnation, 0u);

  // One agent: 2000 over the fleet, no alert.
  const uint64_t one = FreshWindow();
  Feed(one, {0});
  AwaitEvaluatedPast(one + kPeriodNs);
  EXPECT_EQ(NetworkLines(sink_).size(), 1u);
  const NetworkTriggerStats stats = coordinator_->network_triggers()->stats();
  EXPECT_EQ(stats.alerts, 1u);
  EXPECT_EQ(stats.errors, 0u);
  EXPECT_GE(stats.windows, 2u);

  // A restarted coordinator evaluates from where it was: nothing again,
  // and its next alert is number 2 of the same incarnation.
  coordinator_.reset();
  StartCoordinator();
  const uint64_t again = FreshWindow();
  Feed(again, {0, 1});
  AwaitEvaluatedPast(again + kPeriodNs);
  lines = NetworkLines(sink_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].sequence, 2u);
  EXPECT_EQ(lines[1].incarnation, incarnation);
  EXPECT_EQ(lines[1].value, 4000);
  // No agent raised anything: the trigger lives in the coordinator only.
  for (auto& a : agents_) {
    v1::GetAlertsRequest req;
    grpc::ClientContext ctx;
    auto reader = a->stub().GetAlerts(&ctx, req);
    v1::GetAlertsResponse chunk;
    size_t n = 0;
    while (reader->Read(&chunk)) n += chunk.alerts_size();
    EXPECT_EQ(n, 0u);
  }
}

TEST_F(NetworkTriggerTest, AnAggregateNoAgentHasIsCountedNotFatal) {
  StartCoordinator();
  const v1::FleetApplyProgramResponse applied = Apply(R"toml([[multilog]]
name = "flows"
on = "network"
triggers = [{ name = "ghost", condition = "nothing > 1", period = "100ms" }]
)toml");
  ASSERT_EQ(applied.outcome(), v1::FLEET_PROGRAM_APPLIED)
      << applied.ShortDebugString();
  const auto until = Clock::now() + 10s;
  while (coordinator_->network_triggers()->stats().errors == 0) {
    ASSERT_LT(Clock::now(), until) << "the failed query is counted";
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(coordinator_->network_triggers()->stats().alerts, 0u);
}

TEST(NetworkTriggerStateTest, FormatAndParse) {
  NetworkTriggers::State s;
  s.incarnation = 7;
  s.next_sequence["flows"] = 3;
  s.next_end[{"flows", "fleet_busy"}] = 1'000'000'000;
  const std::string text = NetworkTriggers::FormatState(s);
  EXPECT_EQ(text,
            "loupe-network-triggers 1\nincarnation 7\nsequence flows 3\n"
            "window flows fleet_busy 1000000000\n");
  Result<NetworkTriggers::State> back = NetworkTriggers::ParseState(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->next_sequence, s.next_sequence);
  EXPECT_EQ(back->next_end, s.next_end);
  EXPECT_THAT(NetworkTriggers::ParseState("loupe-network-triggers 1\n"
                                          "incarnation 7\nwindow a\n")
                  .status()
                  .message(),
              HasSubstr("line 3: expected"));
  EXPECT_THAT(NetworkTriggers::ParseState("loupe-network-triggers 1\n")
                  .status()
                  .message(),
              HasSubstr("no header and incarnation"));
}

}  // namespace
}  // namespace loupe::coordinator
