// SubscribeAlerts with cursors (issue 13, section 4), on an in-process
// service over loopback: replay after a cursor, then synced, then live;
// a subscriber that does not read loses nothing while the alert log keeps
// the alerts; retention makes `lost` exact; heartbeats when idle; cursors
// of an earlier incarnation; hostile arguments.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"

namespace loupe::agent {
namespace {

constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;

class AlertCursorTest : public ::testing::Test {
 protected:
  void Start(size_t max_alerts = 100'000) {
    RegistryOptions options;
    options.max_multilogs = 8;
    options.default_preallocate_bytes = 1 << 20;
    options.alert_log.max_alerts = max_alerts;
    registry_ = std::make_unique<MultilogRegistry>(options);
    service_ = std::make_unique<AgentService>(
        registry_.get(), "test-host",
        []() -> std::optional<dataplane::PipelineStats> {
          return std::nullopt;
        });
    std::string error;
    int port = 0;
    server_ = StartServer("127.0.0.1:0", service_.get(), &error, &port);
    ASSERT_NE(server_, nullptr) << error;
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                            grpc::InsecureChannelCredentials()));
    MultilogSpec spec;
    spec.name = "flows";
    spec.schema = "bytes:u32";
    spec.block_records = 1024;
    spec.start_monitor = false;
    auto ml = registry_->Create(spec);
    ASSERT_TRUE(ml.ok()) << ml.status().ToString();
    log_ = *ml;
  }

  void TearDown() override {
    if (server_ != nullptr) {
      service_->Shutdown();
      server_->Shutdown();
    }
  }

  // Raises alerts the way the monitor does (through the multilog's alert
  // log, which feeds the dispatcher).
  void Fire(int n) {
    for (int i = 0; i < n; ++i) {
      Alert a;
      a.time_ns = kBaseNs + (++fired_) * kMs;
      a.trigger = "busy";
      a.aggregate = "n";
      a.value = 10;
      log_->alerts().Append(a);
    }
  }

  v1::SubscribeAlertsRequest After(uint64_t incarnation, uint64_t sequence) {
    v1::SubscribeAlertsRequest r;
    v1::AlertCursor& c = (*r.mutable_after())["flows"];
    c.set_incarnation(incarnation);
    c.set_sequence(sequence);
    return r;
  }

  std::unique_ptr<MultilogRegistry> registry_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  std::shared_ptr<Multilog> log_;
  uint64_t fired_ = 0;
};

TEST_F(AlertCursorTest, ReplaysAfterTheCursorThenSyncedThenLive) {
  Start();
  Fire(5);
  grpc::ClientContext ctx;
  auto stream =
      stub_->SubscribeAlerts(&ctx, After(registry_->incarnation(), 2));
  v1::AlertEvent e;
  for (uint64_t seq = 3; seq <= 5; ++seq) {
    ASSERT_TRUE(stream->Read(&e));
    EXPECT_FALSE(e.synced());
    EXPECT_EQ(e.alert().sequence(), seq);
    EXPECT_EQ(e.alert().incarnation(), registry_->incarnation());
    EXPECT_EQ(e.alert().multilog(), "flows");
    EXPECT_EQ(e.lost(), 0u);
  }
  ASSERT_TRUE(stream->Read(&e));
  EXPECT_TRUE(e.synced());
  EXPECT_FALSE(e.has_alert());
  Fire(2);
  for (uint64_t seq = 6; seq <= 7; ++seq) {
    ASSERT_TRUE(stream->Read(&e));
    EXPECT_EQ(e.alert().sequence(), seq);
  }
  ctx.TryCancel();
  while (stream->Read(&e)) {
  }
  (void)stream->Finish();
}

// The old model queued 1,024 alerts per subscriber and dropped the rest.
TEST_F(AlertCursorTest, ASubscriberThatDoesNotReadLosesNothing) {
  Start();
  grpc::ClientContext ctx;
  auto stream = stub_->SubscribeAlerts(&ctx, v1::SubscribeAlertsRequest());
  v1::AlertEvent e;
  ASSERT_TRUE(stream->Read(&e));
  ASSERT_TRUE(e.synced());
  const int n = 2 * 1024;
  Fire(n);  // while the client reads nothing
  for (int i = 1; i <= n; ++i) {
    ASSERT_TRUE(stream->Read(&e));
    ASSERT_EQ(e.alert().sequence(), static_cast<uint64_t>(i));
    ASSERT_EQ(e.lost(), 0u);
  }
  // The stream counts an alert once its Write returned, which can be just
  // after the client read it.
  SinkStats s = registry_->alerts().subscriber_stats();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (s.sent < static_cast<uint64_t>(n) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    s = registry_->alerts().subscriber_stats();
  }
  EXPECT_EQ(s.sent, static_cast<uint64_t>(n));
  EXPECT_EQ(s.dropped, 0u);
  ctx.TryCancel();
  while (stream->Read(&e)) {
  }
  (void)stream->Finish();
}

TEST_F(AlertCursorTest, RetentionMakesLostExact) {
  Start(/*max_alerts=*/10);
  Fire(30);  // 1..20 retired, 21..30 kept
  grpc::ClientContext ctx;
  auto stream =
      stub_->SubscribeAlerts(&ctx, After(registry_->incarnation(), 5));
  v1::AlertEvent e;
  ASSERT_TRUE(stream->Read(&e));
  EXPECT_EQ(e.alert().sequence(), 21u);
  EXPECT_EQ(e.lost(), 15u);  // 6..20
  for (uint64_t seq = 22; seq <= 30; ++seq) {
    ASSERT_TRUE(stream->Read(&e));
    EXPECT_EQ(e.alert().sequence(), seq);
    EXPECT_EQ(e.lost(), 0u);
  }
  ASSERT_TRUE(stream->Read(&e));
  EXPECT_TRUE(e.synced());
  EXPECT_EQ(registry_->alerts().subscriber_stats().dropped, 15u);
  ctx.TryCancel();
  while (stream->Read(&e)) {
  }
  (void)stream->Finish();
}

TEST_F(AlertCursorTest, AHeartbeatArrivesWhenIdle) {
  Start();
  grpc::ClientContext ctx;
  v1::SubscribeAlertsRequest r;
  r.set_heartbeat_ms(100);
  // From the request on: the server sends `synced` at once and the
  // heartbeat 100 ms after it, however late the client reads either.
  const auto start = std::chrono::steady_clock::now();
  auto stream = stub_->SubscribeAlerts(&ctx, r);
  v1::AlertEvent e;
  ASSERT_TRUE(stream->Read(&e));
  ASSERT_TRUE(e.synced());
  ASSERT_TRUE(stream->Read(&e));
  EXPECT_TRUE(e.heartbeat());
  EXPECT_FALSE(e.has_alert());
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(80));
  EXPECT_LT(waited, std::chrono::seconds(2));
  ctx.TryCancel();
  while (stream->Read(&e)) {
  }
  (void)stream->Finish();
}

// A cursor of an earlier agent (whose in-memory alert log is gone): the
// replay starts from the log's first alert and says so.
TEST_F(AlertCursorTest, ACursorOfAnEarlierIncarnationReplaysFromTheStart) {
  Start();
  Fire(3);
  grpc::ClientContext ctx;
  auto stream =
      stub_->SubscribeAlerts(&ctx, After(registry_->incarnation() - 1, 2));
  v1::AlertEvent e;
  ASSERT_TRUE(stream->Read(&e));
  EXPECT_EQ(e.alert().sequence(), 1u);
  EXPECT_TRUE(e.cursor_reset());
  ASSERT_TRUE(stream->Read(&e));
  EXPECT_EQ(e.alert().sequence(), 2u);
  EXPECT_FALSE(e.cursor_reset());
  ctx.TryCancel();
  while (stream->Read(&e)) {
  }
  (void)stream->Finish();
}

TEST_F(AlertCursorTest, HostileArgumentsAreInvalid) {
  Start();
  auto code = [&](const v1::SubscribeAlertsRequest& r) {
    grpc::ClientContext ctx;
    auto stream = stub_->SubscribeAlerts(&ctx, r);
    v1::AlertEvent e;
    while (stream->Read(&e)) {
    }
    return stream->Finish().error_code();
  };
  v1::SubscribeAlertsRequest r;
  r.set_heartbeat_ms(50);
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
  r.set_heartbeat_ms(60'001);
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = v1::SubscribeAlertsRequest();
  (*r.mutable_after())["no spaces"].set_sequence(1);
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = After(1, 1);
  r.set_multilog("other");
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace loupe::agent
