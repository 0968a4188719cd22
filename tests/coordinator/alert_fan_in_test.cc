// The coordinator's alert fan-in and its alert RPCs, through a real
// in-process Coordinator (gRPC server, health poller, state directory, a
// jsonl NOC sink) over three in-process agents on loopback whose triggers
// fire on live appends: every alert of every agent reaches the sink once
// and a coordinator subscriber sees it; a coordinator stopped cleanly and
// started again delivers what the agents raised meanwhile, once, in order;
// an agent that goes away and comes back on its port is followed again;
// GetAlerts merges by time under one limit; the cursor file's format.
#include "coordinator/alert_fan_in.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "agent/registrar.h"
#include "coordinator/coordinator.h"
#include "coordinator/proto/coordinator.grpc.pb.h"
#include "tests/support/jsonl_field.h"
#include "tests/support/loopback_agent.h"
#include "tests/support/loopback_coordinator.h"

namespace loupe::coordinator {
namespace {

using namespace std::chrono_literals;  // NOLINT(build/namespaces)
using test_support::LoopbackAgent;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr char kSchema[] = "bytes:u32";
constexpr size_t kRecordSize = 12;  // timestamp 8, bytes 4

// (host, multilog, sequence): an alert's key within one incarnation.
using Key = std::tuple<std::string, std::string, uint64_t>;

std::string Records(int n) {
  std::string out(kRecordSize * n, '\0');
  for (int i = 0; i < n; ++i) {
    const uint32_t bytes = 100 + static_cast<uint32_t>(i);
    std::memcpy(out.data() + i * kRecordSize + 8, &bytes, 4);
  }
  return out;
}

// A multilog "flows" whose trigger "busy" fires every 50 ms while records
// arrive.
void Program(LoopbackAgent& a) {
  a.Create("flows", kSchema);
  a.Add("flows", v1::CONTROL_KIND_FILTER, "every", "bytes >= 0");
  a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "n", "COUNT()", "every");
  a.Add("flows", v1::CONTROL_KIND_TRIGGER, "busy", "n > 0", "", 50);
}

// Appends to `a`, stamped now, for `how_long`.
void Feed(LoopbackAgent& a, std::chrono::milliseconds how_long) {
  const auto until = Clock::now() + how_long;
  while (Clock::now() < until) {
    v1::AppendBatchRequest req;
    req.set_multilog("flows");
    req.set_records(Records(20));
    req.set_timestamp_now(true);
    v1::AppendResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    ASSERT_TRUE(a.stub().AppendBatch(&ctx, req, &resp).ok());
    std::this_thread::sleep_for(5ms);
  }
}

// Every alert `a` holds, through its own GetAlerts.
std::vector<v1::Alert> AgentAlerts(LoopbackAgent& a) {
  v1::GetAlertsRequest req;
  req.set_limit(100'000);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  auto reader = a.stub().GetAlerts(&ctx, req);
  std::vector<v1::Alert> out;
  v1::GetAlertsResponse chunk;
  while (reader->Read(&chunk)) {
    for (const v1::Alert& al : chunk.alerts()) out.push_back(al);
  }
  EXPECT_TRUE(reader->Finish().ok());
  return out;
}

// The sink's lines as keys, in file order.
std::vector<Key> SinkKeys(const std::string& path) {
  std::vector<Key> out;
  std::ifstream in(path);
  std::string line;
  auto field = [&](const std::string& name) {
    return test_support::JsonField(line, name);
  };
  while (std::getline(in, line)) {
    out.emplace_back(field("host"), field("multilog"),
                     std::stoull(field("sequence")));
  }
  return out;
}

class AlertFanInTest : public ::testing::Test {
 protected:
  static constexpr int kAgents = 3;

  void SetUp() override {
    char dir[] = "/tmp/loupe-alert-fan-in-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    state_ = dir;
    sink_ = state_ + "/noc.jsonl";
    for (int i = 0; i < kAgents; ++i) {
      agents_.push_back(
          std::make_unique<LoopbackAgent>("hv" + std::to_string(i)));
      Program(*agents_.back());
    }
  }

  void TearDown() override {
    coordinator_.reset();
    agents_.clear();
    std::filesystem::remove_all(state_);
  }

  void StartCoordinator(bool accept_registrations = false) {
    CoordinatorConfig config =
        test_support::LoopbackCoordinatorConfig(state_, agents_);
    config.accept_registrations = accept_registrations;
    agent::AlertSinkConfig sink;
    sink.type = agent::SinkType::kJsonl;
    sink.path = sink_;
    config.alert_sinks.push_back(sink);
    Result<std::unique_ptr<Coordinator>> c = Coordinator::Start(config);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coordinator_ = std::move(*c);
    stub_ = test_support::CoordinatorStub(*coordinator_);
    AwaitSynced();
  }

  // Until every agent's stream has replayed its backlog.
  void AwaitSynced() {
    const auto deadline = Clock::now() + 10s;
    for (;;) {
      int synced = 0;
      for (const FanInAgentStats& s : coordinator_->alert_fan_in()->stats()) {
        synced += s.synced ? 1 : 0;
      }
      if (synced == kAgents) return;
      ASSERT_LT(Clock::now(), deadline) << synced << " streams synced";
      std::this_thread::sleep_for(10ms);
    }
  }

  // Feeds every agent at once for `how_long`.
  void FeedAll(std::chrono::milliseconds how_long) {
    std::vector<std::thread> feeders;
    for (auto& a : agents_) {
      feeders.emplace_back([&a, how_long] { Feed(*a, how_long); });
    }
    for (auto& t : feeders) t.join();
  }

  // Every alert the agents hold, as keys.
  std::multiset<Key> AgentKeys() {
    std::multiset<Key> out;
    for (auto& a : agents_) {
      for (const v1::Alert& al : AgentAlerts(*a)) {
        out.emplace(al.host(), al.multilog(), al.sequence());
      }
    }
    return out;
  }

  // Waits until the agents stop firing and the sink holds as many lines as
  // they hold alerts (or 10 s pass); the agents' keys.
  std::multiset<Key> AwaitDelivered() {
    std::this_thread::sleep_for(200ms);  // the last windows close
    std::multiset<Key> want = AgentKeys();
    const auto deadline = Clock::now() + 10s;
    while (SinkKeys(sink_).size() < want.size() && Clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(100ms);  // nothing more comes
    return want;
  }

  std::string state_, sink_;
  std::vector<std::unique_ptr<LoopbackAgent>> agents_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(AlertFanInTest, EveryAlertOfThreeAgentsReachesTheSinkOnce) {
  StartCoordinator();
  // A live subscriber through the coordinator, for rack r2 only.
  grpc::ClientContext sub_ctx;
  sub_ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::FleetSubscribeAlertsRequest sub_req;
  sub_req.set_selector("rack=r2");
  sub_req.set_heartbeat_ms(100);
  auto sub = stub_->SubscribeAlerts(&sub_ctx, sub_req);
  std::multiset<Key> subscribed;
  std::atomic<uint64_t> sub_lost{0}, heartbeats{0};
  std::thread reader([&] {
    v1::FleetAlertEvent e;
    while (sub->Read(&e)) {
      sub_lost += e.lost();
      heartbeats += e.heartbeat() ? 1 : 0;
      if (e.has_alert()) {
        EXPECT_EQ(e.agent(), e.alert().host());
        subscribed.emplace(e.alert().host(), e.alert().multilog(),
                           e.alert().sequence());
      }
    }
  });
  std::this_thread::sleep_for(200ms);  // the subscription is in place

  FeedAll(700ms);
  const std::multiset<Key> want = AwaitDelivered();
  sub_ctx.TryCancel();
  reader.join();

  ASSERT_GE(want.size(), 3u * 5) << "the triggers fired on every agent";
  for (int i = 0; i < kAgents; ++i) {
    EXPECT_GE(want.count(Key("hv" + std::to_string(i), "flows", 1)), 1u);
  }
  const std::vector<Key> lines = SinkKeys(sink_);
  EXPECT_EQ(std::multiset<Key>(lines.begin(), lines.end()), want)
      << "every alert of every agent in the sink exactly once";

  std::multiset<Key> r2;
  for (const Key& k : want) {
    if (std::get<0>(k) != "hv0") r2.insert(k);
  }
  EXPECT_EQ(subscribed, r2) << "the subscriber saw rack r2's live alerts";
  EXPECT_EQ(sub_lost.load(), 0u);
  EXPECT_GT(heartbeats.load(), 0u);

  uint64_t received = 0;
  for (const FanInAgentStats& s : coordinator_->alert_fan_in()->stats()) {
    received += s.received;
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.duplicates, 0u);
  }
  EXPECT_EQ(received, want.size());
  const std::vector<agent::SinkStats> sinks =
      coordinator_->alert_fan_in()->sink_stats();
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].sent, want.size());
  EXPECT_EQ(sinks[0].dropped, 0u);
}

// An agent in no configuration registers (through the agent's own
// Registrar): the fan-in follows it, and its alerts reach the sink once.
TEST_F(AlertFanInTest, AnAgentThatRegistersIsFollowedIntoTheSink) {
  StartCoordinator(/*accept_registrations=*/true);
  LoopbackAgent hv9("hv9");
  Program(hv9);
  agent::RegistrarOptions options;
  options.coordinator =
      "127.0.0.1:" + std::to_string(coordinator_->grpc_port());
  options.name = "hv9";
  options.address = hv9.target();
  options.start_time_ns = hv9.registry().incarnation();
  agent::Registrar registrar(options);
  const auto deadline = Clock::now() + 10s;
  bool synced = false;
  while (!synced && Clock::now() < deadline) {
    for (const FanInAgentStats& s : coordinator_->alert_fan_in()->stats()) {
      synced = synced || (s.agent == "hv9" && s.synced);
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(synced) << "the fan-in follows hv9";
  Feed(hv9, 400ms);
  std::this_thread::sleep_for(200ms);  // the last windows close
  std::multiset<Key> want;
  for (const v1::Alert& a : AgentAlerts(hv9)) {
    want.emplace(a.host(), a.multilog(), a.sequence());
  }
  ASSERT_GE(want.size(), 2u);
  auto hv9_lines = [&] {
    std::multiset<Key> got;
    for (const Key& k : SinkKeys(sink_)) {
      if (std::get<0>(k) == "hv9") got.insert(k);
    }
    return got;
  };
  while (hv9_lines().size() < want.size() && Clock::now() < deadline + 10s) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(hv9_lines(), want);
}

TEST_F(AlertFanInTest, GetAlertsMergesByTimeUnderOneLimit) {
  StartCoordinator();
  FeedAll(400ms);
  const std::multiset<Key> want = AwaitDelivered();
  ASSERT_GE(want.size(), 6u);

  v1::FleetAlertsRequest req;
  req.set_limit(100'000);
  v1::FleetAlertsResponse all;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetAlerts(&ctx, req, &all).ok());
  }
  EXPECT_FALSE(all.truncated());
  EXPECT_FALSE(all.partial());
  ASSERT_EQ(static_cast<size_t>(all.alerts_size()), want.size());
  std::multiset<Key> got;
  for (int i = 0; i < all.alerts_size(); ++i) {
    const v1::Alert& a = all.alerts(i).alert();
    got.emplace(a.host(), a.multilog(), a.sequence());
    if (i > 0) {
      EXPECT_LE(all.alerts(i - 1).alert().time_ns(), a.time_ns())
          << "merged by time";
    }
  }
  EXPECT_EQ(got, want);
  ASSERT_EQ(all.hosts_size(), kAgents);

  // One limit over all hosts: the first 5 by time of the merged answer.
  req.set_limit(5);
  v1::FleetAlertsResponse five;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetAlerts(&ctx, req, &five).ok());
  }
  EXPECT_TRUE(five.truncated());
  ASSERT_EQ(five.alerts_size(), 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(five.alerts(i).agent(), all.alerts(i).agent());
    EXPECT_EQ(five.alerts(i).alert().sequence(),
              all.alerts(i).alert().sequence());
  }

  // A selector, and the limit's bound.
  req.set_limit(100'000);
  req.set_selector("host=hv1");
  v1::FleetAlertsResponse one;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetAlerts(&ctx, req, &one).ok());
  }
  ASSERT_GT(one.alerts_size(), 0);
  for (const v1::FleetAlert& a : one.alerts()) EXPECT_EQ(a.agent(), "hv1");
  req.set_limit(100'001);
  grpc::ClientContext ctx;
  grpc::Status s = stub_->GetAlerts(&ctx, req, &one);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("above the maximum of 100000"));

  // A host that is gone fails the call, or is left out with allow_partial.
  agents_[2]->Stop();
  req.set_limit(0);
  req.set_selector("");
  req.set_timeout_ms(1000);
  grpc::ClientContext ctx2;
  s = stub_->GetAlerts(&ctx2, req, &one);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.error_message(), HasSubstr("hv2"));
  req.set_allow_partial(true);
  v1::FleetAlertsResponse partial;
  grpc::ClientContext ctx3;
  ASSERT_TRUE(stub_->GetAlerts(&ctx3, req, &partial).ok());
  EXPECT_TRUE(partial.partial());
  ASSERT_EQ(partial.excluded_size(), 1);
  EXPECT_THAT(partial.excluded(0), HasSubstr("hv2"));
}

TEST_F(AlertFanInTest, ARestartedCoordinatorDeliversWhatCameMeanwhileOnce) {
  StartCoordinator();
  FeedAll(300ms);
  AwaitDelivered();
  const size_t before = SinkKeys(sink_).size();
  ASSERT_GT(before, 0u);
  coordinator_->Stop();
  coordinator_.reset();
  ASSERT_TRUE(std::filesystem::exists(state_ + "/alerts/cursors"));

  FeedAll(400ms);  // alerts while no coordinator listens
  std::this_thread::sleep_for(200ms);
  const size_t raised = AgentKeys().size();
  ASSERT_GT(raised, before + 3) << "alerts fired while it was down";

  StartCoordinator();
  FeedAll(200ms);  // and live ones after
  const std::multiset<Key> want = AwaitDelivered();
  const std::vector<Key> lines = SinkKeys(sink_);
  EXPECT_EQ(std::multiset<Key>(lines.begin(), lines.end()), want)
      << "each alert once across the restart";
  // In order per multilog: each host's sequences rise through the file.
  std::map<std::string, uint64_t> last;
  for (const Key& k : lines) {
    uint64_t& l = last[std::get<0>(k)];
    EXPECT_EQ(std::get<2>(k), l + 1) << std::get<0>(k);
    l = std::get<2>(k);
  }
}

TEST_F(AlertFanInTest, AnAgentThatComesBackIsFollowedAgain) {
  StartCoordinator();
  FeedAll(200ms);
  AwaitDelivered();
  const std::string target = agents_[0]->target();
  agents_[0].reset();  // gone; in-memory alert log with it
  std::this_thread::sleep_for(300ms);
  agents_[0] = std::make_unique<LoopbackAgent>("hv0", target);
  Program(*agents_[0]);
  const std::vector<Key> before = SinkKeys(sink_);
  const auto deadline = Clock::now() + 15s;
  uint64_t resets = 0, reconnects = 0;
  for (;;) {
    Feed(*agents_[0], 100ms);
    const FanInAgentStats s = coordinator_->alert_fan_in()->stats()[0];
    resets = s.resets;
    reconnects = s.reconnects;
    if (s.synced && SinkKeys(sink_).size() > before.size() + 2) break;
    ASSERT_LT(Clock::now(), deadline) << s.last_error;
  }
  EXPECT_GE(reconnects, 1u);
  EXPECT_EQ(resets, 1u) << "the new life's log replays from its start";
  const std::vector<Key> after = SinkKeys(sink_);
  // The new incarnation's sequences start again at 1, after the old ones.
  bool restarted = false;
  for (size_t i = before.size(); i < after.size(); ++i) {
    restarted = restarted ||
                (std::get<0>(after[i]) == "hv0" && std::get<2>(after[i]) == 1);
  }
  EXPECT_TRUE(restarted);
}

// A subscriber that does not read loses what overflows its queue, told by
// count, while the fan-in goes on taking every alert.
TEST_F(AlertFanInTest, ASlowSubscriberLosesAlertsCountedNeverBlocking) {
  std::vector<AgentEntry> entries;
  for (int i = 0; i < kAgents; ++i) {
    AgentEntry e;
    e.name = "hv" + std::to_string(i);
    e.address = agents_[i]->target();
    entries.push_back(e);
  }
  AgentPool pool(entries, PoolOptions{});
  FanInOptions options;
  options.subscriber_queue = 2;
  Result<std::unique_ptr<AlertFanIn>> fan_in =
      AlertFanIn::Start(&pool, {}, agent::DispatcherOptions{}, options);
  ASSERT_TRUE(fan_in.ok()) << fan_in.status().ToString();
  const auto deadline = Clock::now() + 10s;
  for (bool synced = false; !synced;) {
    synced = true;
    for (const FanInAgentStats& s : (*fan_in)->stats()) {
      synced = synced && s.synced;
    }
    ASSERT_LT(Clock::now(), deadline);
    std::this_thread::sleep_for(10ms);
  }
  auto sub = (*fan_in)->Subscribe(FanInFilter{});
  ASSERT_TRUE(sub.ok());
  FeedAll(400ms);
  std::this_thread::sleep_for(300ms);
  const size_t raised = AgentKeys().size();
  uint64_t received = 0;
  for (const FanInAgentStats& s : (*fan_in)->stats()) received += s.received;
  EXPECT_EQ(received, raised) << "the fan-in took every alert";
  uint64_t lost = 0;
  const std::vector<FannedAlert> got = (*sub)->Take(10ms, &lost);
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(got.size() + lost, raised) << "every other one counted lost";
  sub->reset();
  (*fan_in)->Stop();
}

TEST(AlertCursorFileTest, FormatAndParse) {
  AlertFanIn::CursorState state;
  state.known = {"hv1", "hv2"};
  state.cursors["hv1"]["flows"].set_incarnation(17);
  state.cursors["hv1"]["flows"].set_sequence(42);
  const std::string text = AlertFanIn::FormatCursors(state);
  EXPECT_EQ(text,
            "loupe-alert-cursors 1\nagent hv1\nagent hv2\ncursor hv1 flows "
            "17 42\n");
  Result<AlertFanIn::CursorState> back = AlertFanIn::ParseCursors(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->known, state.known);
  EXPECT_EQ(back->cursors["hv1"]["flows"].sequence(), 42u);
  EXPECT_EQ(back->cursors["hv1"]["flows"].incarnation(), 17u);

  Result<AlertFanIn::CursorState> bad =
      AlertFanIn::ParseCursors("loupe-alert-cursors 1\ncursor hv1 flows x 3\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("line 2: expected"));
  EXPECT_FALSE(AlertFanIn::ParseCursors("something else\n").ok());
  EXPECT_FALSE(AlertFanIn::ParseCursors("").ok());
}

TEST(AlertFanInLimitsTest, SubscribersAreBoundedAndClosedAtStop) {
  AgentPool pool({}, PoolOptions{});
  FanInOptions options;
  options.max_subscribers = 3;
  Result<std::unique_ptr<AlertFanIn>> fan_in =
      AlertFanIn::Start(&pool, {}, agent::DispatcherOptions{}, options);
  ASSERT_TRUE(fan_in.ok()) << fan_in.status().ToString();
  std::vector<std::unique_ptr<FanInSubscription>> subs;
  for (int i = 0; i < 3; ++i) {
    auto s = (*fan_in)->Subscribe(FanInFilter{});
    ASSERT_TRUE(s.ok());
    subs.push_back(std::move(*s));
  }
  auto refused = (*fan_in)->Subscribe(FanInFilter{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kResourceExhausted);
  subs.pop_back();  // one ends: room for another
  EXPECT_TRUE((*fan_in)->Subscribe(FanInFilter{}).ok());
  uint64_t lost = 0;
  const auto start = Clock::now();
  EXPECT_TRUE(subs[0]->Take(20ms, &lost).empty());
  EXPECT_GE(Clock::now() - start, 20ms) << "Take waits at most its timeout";
  (*fan_in)->Stop();
  EXPECT_TRUE(subs[0]->closed());
  EXPECT_EQ((*fan_in)->Subscribe(FanInFilter{}).status().code(),
            Status::Code::kUnavailable);
  subs.clear();
}

TEST(AlertFanInLimitsTest, AMalformedCursorFileIsRefusedByName) {
  char dir[] = "/tmp/loupe-alert-cursors-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/cursors";
  std::ofstream(file) << "loupe-alert-cursors 1\ncursor hv1\n";
  AgentPool pool({}, PoolOptions{});
  FanInOptions options;
  options.cursor_file = file;
  Result<std::unique_ptr<AlertFanIn>> fan_in =
      AlertFanIn::Start(&pool, {}, agent::DispatcherOptions{}, options);
  ASSERT_FALSE(fan_in.ok());
  EXPECT_THAT(fan_in.status().message(), HasSubstr(file + ": line 2:"));
  EXPECT_THAT(fan_in.status().message(), HasSubstr("move it away"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace loupe::coordinator
