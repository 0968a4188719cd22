// The one alert fan-out, end to end in one process: a real MultilogRegistry
// whose multilogs feed a real AlertDispatcher with a real JsonLinesSink,
// under a real AgentService on 127.0.0.1. Every multilog -- created over
// RPC, opened as the configuration opens it, dropped and re-created --
// reaches the sink and the gRPC subscribers alike, and the counters agree
// exactly with the multilogs' alert logs.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/alert_dispatcher.h"
#include "agent/alert_sinks.h"
#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"
#include "multilog/schema.h"

namespace loupe::agent {
namespace {

constexpr char kSchema[] = "bytes:u32";
constexpr size_t kRecordSize = 12;
constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000;  // ms-aligned
constexpr uint64_t kMs = 1'000'000;

bool WaitFor(const std::function<bool()>& pred) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::string Record(uint64_t ts, uint32_t bytes) {
  std::string r(kRecordSize, '\0');
  std::memcpy(r.data(), &ts, 8);
  std::memcpy(r.data() + 8, &bytes, 4);
  return r;
}

class AlertFanOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("loupe_fanout_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "alerts.jsonl").string();
    auto sink = JsonLinesSink::Open(path_);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    std::vector<std::unique_ptr<AlertSink>> sinks;
    sinks.push_back(std::move(*sink));
    dispatcher_ = std::make_unique<AlertDispatcher>(std::move(sinks));
    RegistryOptions options;
    options.host = "fanout-host";
    options.default_preallocate_bytes = 1 << 20;
    registry_ = std::make_unique<MultilogRegistry>(options, dispatcher_.get());
    service_ = std::make_unique<AgentService>(registry_.get(), "fanout-host");
    std::string error;
    int port = 0;
    server_ = StartServer("127.0.0.1:0", service_.get(), &error, &port);
    ASSERT_NE(server_, nullptr) << error;
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                            grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    service_->Shutdown();
    server_->Shutdown();
    server_.reset();
    service_.reset();
    registry_.reset();
    dispatcher_->Stop();
    std::filesystem::remove_all(dir_);
  }

  grpc::Status Call(const std::string& multilog, v1::ControlKind kind,
                    const std::string& name, const std::string& expression,
                    const std::string& filter = "", uint64_t period_ms = 0) {
    v1::ControlRequest req;
    req.set_multilog(multilog);
    v1::ControlStatement* st = req.mutable_statement();
    st->set_verb(v1::CONTROL_VERB_ADD);
    st->set_kind(kind);
    st->set_name(name);
    st->set_expression(expression);
    st->set_filter(filter);
    st->set_period_ms(period_ms);
    v1::ControlResponse resp;
    grpc::ClientContext ctx;
    return stub_->Control(&ctx, req, &resp);
  }

  // "any record in a window of `period_ms`" as a trigger, over RPC.
  void Program(const std::string& multilog, uint64_t period_ms) {
    ASSERT_TRUE(
        Call(multilog, v1::CONTROL_KIND_FILTER, "all", "bytes >= 0").ok());
    ASSERT_TRUE(
        Call(multilog, v1::CONTROL_KIND_AGGREGATE, "n", "COUNT()", "all").ok());
    ASSERT_TRUE(
        Call(multilog, v1::CONTROL_KIND_TRIGGER, "any", "n > 0", "", period_ms)
            .ok());
  }

  void CreateOverRpc(const std::string& name) {
    v1::CreateMultilogRequest req;
    req.set_name(name);
    req.set_schema(kSchema);
    req.set_block_records(1024);
    v1::CreateMultilogResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateMultilog(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void Drop(const std::string& name) {
    v1::DropMultilogRequest req;
    req.set_name(name);
    v1::DropMultilogResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->DropMultilog(&ctx, req, &resp).ok());
  }

  // `n` records stamped by the agent with one wall-clock time: one window
  // of the running monitor holds them all.
  void AppendNow(const std::string& multilog, int n) {
    std::string batch;
    for (int i = 0; i < n; ++i) batch += Record(0, 100);
    v1::AppendBatchRequest req;
    req.set_multilog(multilog);
    req.set_records(batch);
    req.set_timestamp_now(true);
    v1::AppendResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->AppendBatch(&ctx, req, &resp).ok());
  }

  size_t AlertsOf(const std::string& name) {
    auto ml = registry_->Find(name);
    return ml.ok() ? (*ml)->alerts().size() : 0;
  }

  // The sink's lines naming `multilog`.
  std::vector<std::string> LinesOf(const std::string& multilog) {
    std::ifstream f(path_);
    std::vector<std::string> out;
    for (std::string line; std::getline(f, line);) {
      if (line.find("\"multilog\":\"" + multilog + "\"") != std::string::npos) {
        out.push_back(line);
      }
    }
    return out;
  }

  SinkStats Sink() { return dispatcher_->stats()[0]; }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<AlertDispatcher> dispatcher_;
  std::unique_ptr<MultilogRegistry> registry_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

// The bug this fixes: a multilog created over RPC fired into loupectl's
// stream but never into the NOC sinks.
TEST_F(AlertFanOutTest, AMultilogCreatedOverRpcReachesSinkAndSubscriber) {
  grpc::ClientContext ctx;
  auto stream = stub_->SubscribeAlerts(&ctx, v1::SubscribeAlertsRequest());
  v1::AlertEvent event;
  ASSERT_TRUE(stream->Read(&event));
  ASSERT_TRUE(event.synced());

  CreateOverRpc("rpc");
  Program("rpc", 20);
  AppendNow("rpc", 5);
  ASSERT_TRUE(WaitFor([&] { return AlertsOf("rpc") >= 1; }));
  // The monitor is done once the data's window is past: nothing else fires.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const size_t first = AlertsOf("rpc");
  ASSERT_TRUE(WaitFor([&] { return Sink().sent == first; }));
  ASSERT_EQ(LinesOf("rpc").size(), first);
  EXPECT_NE(LinesOf("rpc")[0].find("\"host\":\"fanout-host\""),
            std::string::npos);
  for (size_t i = 1; i <= first; ++i) {
    ASSERT_TRUE(stream->Read(&event));
    EXPECT_EQ(event.alert().multilog(), "rpc");
    EXPECT_EQ(event.alert().sequence(), i);
    EXPECT_EQ(event.lost(), 0u);
  }

  // Dropped and re-created: the new multilog feeds the same dispatcher.
  Drop("rpc");
  CreateOverRpc("rpc");
  Program("rpc", 20);
  AppendNow("rpc", 5);
  ASSERT_TRUE(WaitFor([&] { return AlertsOf("rpc") >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const size_t second = AlertsOf("rpc");
  ASSERT_TRUE(WaitFor([&] { return Sink().sent == first + second; }));
  EXPECT_EQ(LinesOf("rpc").size(), first + second);
  for (size_t i = 1; i <= second; ++i) {
    ASSERT_TRUE(stream->Read(&event));
    EXPECT_EQ(event.alert().multilog(), "rpc");
    // A new alert log, continuing the sequences of the dropped one (in one
    // incarnation of the agent, a sequence names one alert).
    EXPECT_EQ(event.alert().sequence(), first + i);
  }

  // One set of counters, exact: every alert offered once to the sink and
  // once to the subscriber, none lost.
  const SinkStats sink = Sink();
  EXPECT_EQ(sink.submitted, first + second);
  EXPECT_EQ(sink.sent, first + second);
  EXPECT_EQ(sink.dropped + sink.failed + sink.queued + sink.in_flight, 0u);
  const SinkStats subs = dispatcher_->subscriber_stats();
  EXPECT_EQ(subs.submitted, first + second);
  EXPECT_EQ(subs.sent, first + second);
  EXPECT_EQ(subs.dropped, 0u);
  ctx.TryCancel();
  while (stream->Read(&event)) {
  }
  (void)stream->Finish();
}

// A multilog opened the way the agent opens its configured ones (no RPC),
// with triggers evaluated on data time: exact alerts, then dropped and
// re-created by name over RPC, and still feeding the sink.
TEST_F(AlertFanOutTest,
       AConfiguredMultilogDroppedAndRecreatedStillFeedsTheSink) {
  Result<Schema> schema = Schema::Parse(kSchema);
  ASSERT_TRUE(schema.ok());
  auto open = [&]() -> std::shared_ptr<Multilog> {
    MultilogOptions options;
    options.data.preallocate_bytes = 1 << 20;
    options.data.block_records = 1024;
    options.start_monitor = false;
    auto ml = registry_->Create("configured", *schema, options);
    EXPECT_TRUE(ml.ok()) << ml.status().ToString();
    if (!ml.ok()) return nullptr;
    EXPECT_TRUE((*ml)->AddFilter("all", "bytes >= 0").ok());
    EXPECT_TRUE((*ml)->AddAggregate("n", "all", "COUNT()").ok());
    EXPECT_TRUE(
        (*ml)->AddTrigger("any", "n > 0", {std::chrono::milliseconds(1)}).ok());
    auto writer = (*ml)->NewWriter();
    EXPECT_TRUE(writer.ok());
    for (uint64_t i = 0; i < 10; ++i) {
      const std::string r = Record(kBaseNs + i * kMs / 2, 1);  // 2 per ms
      EXPECT_TRUE((*writer)->Append(r.data(), r.size()).ok());
    }
    return *ml;
  };
  std::shared_ptr<Multilog> ml = open();
  ASSERT_NE(ml, nullptr);
  grpc::ClientContext ctx;
  v1::SubscribeAlertsRequest only;
  only.set_multilog("configured");
  auto stream = stub_->SubscribeAlerts(&ctx, only);
  v1::AlertEvent event;
  ASSERT_TRUE(stream->Read(&event));
  ASSERT_TRUE(event.synced());
  EXPECT_EQ(ml->EvaluateTriggers(kBaseNs + kMs), 1u);  // the first window
  EXPECT_EQ(ml->EvaluateTriggers(kBaseNs + 5 * kMs), 4u);
  ASSERT_TRUE(WaitFor([&] { return Sink().sent == 5; }));
  std::vector<std::string> lines = LinesOf("configured");
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_NE(lines[4].find("\"sequence\":5"), std::string::npos) << lines[4];
  // The stream has read them before the drop (a stream reads the logs the
  // registry lists: alerts of a multilog dropped before it read them are
  // gone with it).
  ASSERT_TRUE(
      WaitFor([&] { return dispatcher_->subscriber_stats().sent == 5; }));
  ml.reset();
  Drop("configured");
  // A stream on the dropped multilog ends; its alerts were all delivered.
  int seen = 0;
  while (stream->Read(&event)) ++seen;
  EXPECT_EQ(seen, 5);
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);

  ml = open();
  ASSERT_NE(ml, nullptr);
  EXPECT_EQ(ml->EvaluateTriggers(kBaseNs + 3 * kMs), 1u);
  ASSERT_TRUE(WaitFor([&] { return Sink().sent == 6; }));
  lines = LinesOf("configured");
  ASSERT_EQ(lines.size(), 6u);
  // The re-created multilog continues the dropped one's sequences.
  EXPECT_NE(lines[5].find("\"sequence\":6,"), std::string::npos) << lines[5];
  const SinkStats sink = Sink();
  EXPECT_EQ(sink.submitted, 6u);
  EXPECT_EQ(sink.dropped + sink.failed, 0u);
  const SinkStats subs = dispatcher_->subscriber_stats();
  EXPECT_EQ(subs.submitted, 5u);  // the stream ended before the re-creation
  EXPECT_EQ(subs.sent, 5u);
}

}  // namespace
}  // namespace loupe::agent
