// AgentService over a real gRPC server on 127.0.0.1 (a free port) and a real
// client stub: every RPC, every error code the service maps, paging of
// queries and alerts, alert subscriptions (replay, live, cancellation,
// shutdown), a durable multilog reopened, and the server's start-up errors.
#include "agent/service.h"

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/grpc_status.h"
#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "dataplane/stats.h"

namespace loupe::agent {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000;  // ms-aligned
constexpr uint64_t kMs = 1'000'000;
// bytes:u32, port:u16 after the 8-byte timestamp.
constexpr char kSchema[] = "bytes:u32, port:u16";
constexpr size_t kRecordSize = 14;

std::string Record(uint64_t ts, uint32_t bytes, uint16_t port) {
  std::string r(kRecordSize, '\0');
  std::memcpy(r.data(), &ts, 8);
  std::memcpy(r.data() + 8, &bytes, 4);
  std::memcpy(r.data() + 12, &port, 2);
  return r;
}

uint32_t BytesOf(const std::string& records, size_t i) {
  uint32_t v;
  std::memcpy(&v, records.data() + i * kRecordSize + 8, 4);
  return v;
}

struct QueryAnswer {
  grpc::Status status;
  std::vector<std::string> columns;
  std::vector<uint64_t> offsets;
  std::string records;
  std::vector<v1::Row> rows;
  v1::QuerySummary summary;
  int messages = 0;
};

template <typename Reader>
QueryAnswer Collect(Reader& reader) {
  QueryAnswer a;
  v1::QueryResponse chunk;
  while (reader->Read(&chunk)) {
    if (a.messages++ == 0) {
      a.columns.assign(chunk.columns().begin(), chunk.columns().end());
    }
    a.offsets.insert(a.offsets.end(), chunk.offsets().begin(),
                     chunk.offsets().end());
    a.records += chunk.records();
    a.rows.insert(a.rows.end(), chunk.rows().begin(), chunk.rows().end());
    if (chunk.has_summary()) a.summary = chunk.summary();
  }
  a.status = reader->Finish();
  return a;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegistryOptions options;
    options.max_multilogs = 8;
    options.default_preallocate_bytes = 1 << 20;
    registry_ = std::make_unique<MultilogRegistry>(options);
    service_ = std::make_unique<AgentService>(
        registry_.get(), "test-host",
        [this]() -> std::optional<dataplane::PipelineStats> {
          return pipeline_;
        });
    std::string error;
    server_ = StartServer("127.0.0.1:0", service_.get(), &error, &port_);
    ASSERT_NE(server_, nullptr) << error;
    ASSERT_GT(port_, 0);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    channel_ =
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_),
                                  grpc::InsecureChannelCredentials(), args);
    stub_ = v1::Agent::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      service_->Shutdown();
      server_->Shutdown();
    }
  }

  grpc::Status Create(const std::string& name, const std::string& schema,
                      v1::CreateMultilogResponse* response = nullptr) {
    v1::CreateMultilogRequest req;
    req.set_name(name);
    req.set_schema(schema);
    req.set_block_records(1024);
    v1::CreateMultilogResponse local;
    grpc::ClientContext ctx;
    return stub_->CreateMultilog(&ctx, req, response ? response : &local);
  }

  grpc::Status AppendBatch(const std::string& multilog,
                           const std::string& records,
                           v1::AppendResponse* response = nullptr) {
    v1::AppendBatchRequest req;
    req.set_multilog(multilog);
    req.set_records(records);
    v1::AppendResponse local;
    grpc::ClientContext ctx;
    return stub_->AppendBatch(&ctx, req, response ? response : &local);
  }

  static v1::ControlStatement Add(v1::ControlKind kind, const std::string& name,
                                  const std::string& expression = "",
                                  const std::string& filter = "") {
    v1::ControlStatement st;
    st.set_verb(v1::CONTROL_VERB_ADD);
    st.set_kind(kind);
    st.set_name(name);
    st.set_expression(expression);
    st.set_filter(filter);
    return st;
  }

  static v1::ControlStatement Remove(v1::ControlKind kind,
                                     const std::string& name) {
    v1::ControlStatement st;
    st.set_verb(v1::CONTROL_VERB_REMOVE);
    st.set_kind(kind);
    st.set_name(name);
    return st;
  }

  grpc::Status Control(const std::string& multilog,
                       const v1::ControlStatement& statement) {
    v1::ControlRequest req;
    req.set_multilog(multilog);
    *req.mutable_statement() = statement;
    v1::ControlResponse resp;
    grpc::ClientContext ctx;
    return stub_->Control(&ctx, req, &resp);
  }

  // The objects of one kind (UNSPECIFIED: all); *status gets the call's.
  std::vector<v1::ControlObject> ListControl(const std::string& multilog,
                                             v1::ControlKind kind,
                                             grpc::Status* status = nullptr) {
    v1::ListControlRequest req;
    req.set_multilog(multilog);
    req.set_kind(kind);
    v1::ListControlResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ListControl(&ctx, req, &resp);
    if (status != nullptr) *status = s;
    return {resp.objects().begin(), resp.objects().end()};
  }

  // n records from `ts`, `step_ns` apart, bytes = first_bytes + i, port 80
  // for even i and 443 for odd, appended in batches of at most 1000.
  void AppendRecords(const std::string& multilog, uint64_t ts, int n,
                     uint64_t step_ns, uint32_t first_bytes = 0) {
    std::string batch;
    for (int i = 0; i < n; ++i) {
      batch +=
          Record(ts + static_cast<uint64_t>(i) * step_ns,
                 first_bytes + static_cast<uint32_t>(i), i % 2 == 0 ? 80 : 443);
      if (batch.size() == 1000 * kRecordSize || i + 1 == n) {
        grpc::Status s = AppendBatch(multilog, batch);
        ASSERT_TRUE(s.ok()) << s.error_message();
        batch.clear();
      }
    }
  }

  QueryAnswer Execute(const v1::ExecuteFilterRequest& req) {
    grpc::ClientContext ctx;
    auto reader = stub_->ExecuteFilter(&ctx, req);
    return Collect(reader);
  }

  QueryAnswer Query(const v1::QueryFilterRequest& req) {
    grpc::ClientContext ctx;
    auto reader = stub_->QueryFilter(&ctx, req);
    return Collect(reader);
  }

  std::optional<dataplane::PipelineStats> pipeline_;
  std::unique_ptr<MultilogRegistry> registry_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(ServiceTest, HealthReportsServingVersionAndHost) {
  v1::HealthResponse h;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Health(&ctx, v1::HealthRequest(), &h).ok());
  EXPECT_EQ(h.status(), v1::HealthResponse::SERVING);
  EXPECT_EQ(h.version(), "0.1.0");
  EXPECT_EQ(h.host(), "test-host");
  EXPECT_GT(h.start_time_ns(), 0u);

  service_->Shutdown();
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->Health(&ctx2, v1::HealthRequest(), &h).ok());
  EXPECT_EQ(h.status(), v1::HealthResponse::NOT_SERVING);
  // Every other call is refused once shutting down.
  grpc::Status s = Create("late", kSchema);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTest, CreateListDrop) {
  v1::CreateMultilogResponse created;
  ASSERT_TRUE(Create("flows", kSchema, &created).ok());
  EXPECT_EQ(created.multilog().name(), "flows");
  EXPECT_EQ(created.multilog().record_size(), kRecordSize);
  EXPECT_EQ(created.multilog().storage(), v1::STORAGE_MODE_MEMORY);
  EXPECT_FALSE(created.reopened());
  ASSERT_TRUE(Create("packets", "packet").ok());

  v1::ListMultilogsResponse list;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(
        stub_->ListMultilogs(&ctx, v1::ListMultilogsRequest(), &list).ok());
  }
  ASSERT_EQ(list.multilogs_size(), 2);
  EXPECT_EQ(list.multilogs(0).name(), "flows");
  EXPECT_EQ(list.multilogs(1).name(), "packets");
  EXPECT_EQ(list.multilogs(1).record_size(), 64u);
  EXPECT_THAT(list.multilogs(0).schema(), HasSubstr("bytes:u32"));
  EXPECT_THAT(list.multilogs(0).columns(),
              ::testing::ElementsAre("timestamp", "bytes", "port"));
  EXPECT_EQ(list.multilogs(0).max_batch_records(), 1024u);

  grpc::Status s = Create("flows", kSchema);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("'flows' already exists"));

  {
    grpc::ClientContext ctx;
    v1::DropMultilogRequest req;
    req.set_name("flows");
    v1::DropMultilogResponse resp;
    ASSERT_TRUE(stub_->DropMultilog(&ctx, req, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    v1::DropMultilogRequest req;
    req.set_name("flows");
    v1::DropMultilogResponse resp;
    s = stub_->DropMultilog(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    v1::ListMultilogsRequest req;
    req.set_name("packts");
    s = stub_->ListMultilogs(&ctx, req, &list);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(s.error_message(), HasSubstr("did you mean 'packets'?"));
  }
}

TEST_F(ServiceTest, CreateRejectsBadArguments) {
  grpc::Status s = Create("", kSchema);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("name is empty"));
  s = Create("9lives", kSchema);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("must start with a letter"));
  s = Create("a b", kSchema);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = Create(std::string(65, 'x'), kSchema);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = Create("m", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("schema is empty"));
  s = Create("m", "bytes:u33");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("multilog 'm'"));

  v1::CreateMultilogRequest req;
  req.set_name("m");
  req.set_schema(kSchema);
  v1::CreateMultilogResponse resp;
  {
    req.set_storage(v1::STORAGE_MODE_DURABLE);
    grpc::ClientContext ctx;
    s = stub_->CreateMultilog(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("needs a directory"));
  }
  {
    req.set_storage(static_cast<v1::StorageMode>(42));
    grpc::ClientContext ctx;
    s = stub_->CreateMultilog(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("unknown mode 42"));
  }
  {
    req.set_storage(v1::STORAGE_MODE_MEMORY);
    req.set_block_records(1000);
    grpc::ClientContext ctx;
    s = stub_->CreateMultilog(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("power of two"));
  }
  EXPECT_EQ(registry_->size(), 0u);
}

TEST_F(ServiceTest, TooManyMultilogsIsResourceExhausted) {
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(Create("m" + std::to_string(i), kSchema).ok());
  }
  grpc::Status s = Create("one_more", kSchema);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("drop one first"));
}

TEST_F(ServiceTest, PinnedMultilogCannotBeDroppedOrAppendedTo) {
  ASSERT_TRUE(Create("packets", "packet").ok());
  ASSERT_TRUE(registry_->Pin("packets").ok());
  {
    grpc::ClientContext ctx;
    v1::DropMultilogRequest req;
    req.set_name("packets");
    v1::DropMultilogResponse resp;
    grpc::Status s = stub_->DropMultilog(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), HasSubstr("written by the dataplane"));
  }
  grpc::Status s = AppendBatch("packets", std::string(64, '\0'));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::ListMultilogsResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(
      stub_->ListMultilogs(&ctx, v1::ListMultilogsRequest(), &list).ok());
  EXPECT_TRUE(list.multilogs(0).dataplane());
}

TEST_F(ServiceTest, IndexesFiltersAggregatesTriggers) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  constexpr auto kIndex = v1::CONTROL_KIND_INDEX;
  constexpr auto kFilter = v1::CONTROL_KIND_FILTER;
  constexpr auto kAggregate = v1::CONTROL_KIND_AGGREGATE;
  constexpr auto kTrigger = v1::CONTROL_KIND_TRIGGER;
  // Indexes.
  ASSERT_TRUE(Control("flows", Add(kIndex, "port")).ok());
  {
    grpc::Status s = Control("flows", Add(kIndex, "prot"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("unknown column 'prot'"));
  }
  {
    std::vector<v1::ControlObject> indexes = ListControl("flows", kIndex);
    ASSERT_EQ(indexes.size(), 1u);
    EXPECT_EQ(indexes[0].statement().name(), "port");
    EXPECT_EQ(indexes[0].statement().kind(), kIndex);
  }
  // Filters.
  {
    grpc::Status s = Control("flows", Add(kFilter, "web", "prot == 443"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("unknown field 'prot'"));
  }
  ASSERT_TRUE(Control("flows", Add(kFilter, "web", "port == 443")).ok());
  EXPECT_EQ(Control("flows", Add(kFilter, "web", "port == 443")).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  {
    grpc::Status s = Control("flows", Add(kFilter, "", "port == 443"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("name is empty"));
  }
  {
    std::vector<v1::ControlObject> filters = ListControl("flows", kFilter);
    ASSERT_EQ(filters.size(), 1u);
    EXPECT_EQ(filters[0].statement().expression(), "port == 443");
  }
  // Aggregates.
  ASSERT_TRUE(
      Control("flows", Add(kAggregate, "web_bytes", "SUM(bytes)", "web")).ok());
  EXPECT_EQ(Control("flows", Add(kAggregate, "x", "COUNT()", "nofilter"))
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  {
    std::vector<v1::ControlObject> aggregates =
        ListControl("flows", kAggregate);
    ASSERT_EQ(aggregates.size(), 1u);
    EXPECT_EQ(aggregates[0].statement().filter(), "web");
  }
  // A filter an aggregate uses cannot go.
  {
    grpc::Status s = Control("flows", Remove(kFilter, "web"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), HasSubstr("web_bytes"));
  }
  // Triggers.
  {
    v1::ControlStatement big = Add(kTrigger, "big", "web_bytes > 1e6");
    big.set_period_ms(250);
    ASSERT_TRUE(Control("flows", big).ok());
  }
  {
    v1::ControlStatement slow = Add(kTrigger, "slow", "web_bytes > 1");
    slow.set_period_ms(7'200'000);
    grpc::Status s = Control("flows", slow);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("longer than 1 h"));
  }
  {
    std::vector<v1::ControlObject> triggers = ListControl("flows", kTrigger);
    ASSERT_EQ(triggers.size(), 1u);
    EXPECT_EQ(triggers[0].statement().period_ms(), 250u);
    EXPECT_EQ(triggers[0].statement().expression(), "web_bytes > 1e6");
  }
  // Every kind at once, in the order Apply can replay.
  {
    std::vector<v1::ControlObject> all =
        ListControl("flows", v1::CONTROL_KIND_UNSPECIFIED);
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].statement().kind(), kIndex);
    EXPECT_EQ(all[1].statement().kind(), kFilter);
    EXPECT_EQ(all[2].statement().kind(), kAggregate);
    EXPECT_EQ(all[3].statement().kind(), kTrigger);
  }
  EXPECT_EQ(Control("flows", Remove(kAggregate, "web_bytes")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Removing in order works; unknown names are NOT_FOUND.
  ASSERT_TRUE(Control("flows", Remove(kTrigger, "big")).ok());
  EXPECT_EQ(Control("flows", Remove(kTrigger, "big")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Control("flows", Remove(kAggregate, "web_bytes")).ok());
  ASSERT_TRUE(Control("flows", Remove(kFilter, "web")).ok());
  ASSERT_TRUE(Control("flows", Remove(kIndex, "port")).ok());
  EXPECT_EQ(Control("flows", Remove(kIndex, "port")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Naming no multilog, or one that does not exist.
  {
    grpc::Status s;
    ListControl("", kFilter, &s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("multilog is empty"));
    ListControl("nope", kFilter, &s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

// What only the wire form can get wrong, and what ListControl adds to a
// statement: where each object's coverage starts, and an index's keys.
TEST_F(ServiceTest, ControlRefusesIncompleteStatementsAndListsCoverage) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  {
    v1::ControlStatement st = Add(v1::CONTROL_KIND_FILTER, "web", "port > 0");
    st.set_verb(v1::CONTROL_VERB_UNSPECIFIED);
    grpc::Status s = Control("flows", st);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("verb"));
  }
  {
    grpc::Status s =
        Control("flows", Add(v1::CONTROL_KIND_UNSPECIFIED, "web", "port > 0"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("kind"));
  }
  {
    grpc::Status s = Control("flows", Add(v1::CONTROL_KIND_FILTER, "web"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("expression is empty"));
  }
  {
    grpc::Status s =
        Control("flows", Add(v1::CONTROL_KIND_AGGREGATE, "n", "COUNT()"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("filter is empty"));
  }
  {
    grpc::Status s;
    ListControl("flows", static_cast<v1::ControlKind>(9), &s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  AppendRecords("flows", kBaseNs, 10, 1000);
  ASSERT_TRUE(Control("flows", Add(v1::CONTROL_KIND_INDEX, "port")).ok());
  ASSERT_TRUE(
      Control("flows", Add(v1::CONTROL_KIND_FILTER, "web", "port == 443"))
          .ok());
  AppendRecords("flows", kBaseNs + kMs, 10, 1000);
  std::vector<v1::ControlObject> all =
      ListControl("flows", v1::CONTROL_KIND_UNSPECIFIED);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].covers_from(), 10 * kRecordSize);
  EXPECT_EQ(all[0].entries(), 10u);  // the records indexed since
  EXPECT_EQ(all[1].covers_from(), 10 * kRecordSize);
  EXPECT_EQ(all[1].entries(), 0u);
}

TEST_F(ServiceTest, AppendAndRead) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  {
    v1::AppendRequest req;
    req.set_multilog("flows");
    req.set_record(Record(kBaseNs, 1500, 443));
    v1::AppendResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Append(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.first_offset(), 0u);
    EXPECT_EQ(resp.count(), 1u);
  }
  {
    v1::AppendRequest req;
    req.set_multilog("flows");
    req.set_record(std::string(13, 'x'));
    v1::AppendResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->Append(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("14-byte records"));
  }
  std::string batch;
  for (int i = 0; i < 99; ++i) {
    batch += Record(kBaseNs + 1 + i, 100 + i, 80);
  }
  v1::AppendResponse appended;
  ASSERT_TRUE(AppendBatch("flows", batch, &appended).ok());
  EXPECT_EQ(appended.first_offset(), kRecordSize);
  EXPECT_EQ(appended.count(), 99u);

  grpc::Status s = AppendBatch("flows", batch + "x");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("not a whole number of records"));
  s = AppendBatch("flows", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = AppendBatch("flows", std::string(1025 * kRecordSize, '\0'));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("at most 1024 per batch"));
  s = AppendBatch("nope", batch);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  // Zero timestamps stamped with the agent's clock.
  {
    v1::AppendBatchRequest req;
    req.set_multilog("flows");
    req.set_records(Record(0, 7, 7));
    req.set_timestamp_now(true);
    v1::AppendResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->AppendBatch(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.first_offset(), 100 * kRecordSize);
  }

  v1::ReadRequest req;
  req.set_multilog("flows");
  req.set_offset(0);
  req.set_count(1000);
  req.set_decode(true);
  v1::ReadResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Read(&ctx, req, &resp).ok());
  }
  ASSERT_EQ(resp.count(), 101u);
  EXPECT_EQ(resp.records().size(), 101 * kRecordSize);
  EXPECT_EQ(resp.next_offset(), 101 * kRecordSize);
  EXPECT_EQ(resp.snapshot(), 101 * kRecordSize);
  EXPECT_EQ(BytesOf(resp.records(), 0), 1500u);
  EXPECT_EQ(BytesOf(resp.records(), 50), 149u);
  ASSERT_EQ(resp.rows_size(), 101);
  EXPECT_THAT(resp.rows(0).values(),
              ::testing::ElementsAre(std::to_string(kBaseNs), "1500", "443"));
  EXPECT_EQ(resp.rows(3).offset(), 3 * kRecordSize);
  uint64_t stamped;
  std::memcpy(&stamped, resp.records().data() + 100 * kRecordSize, 8);
  EXPECT_GT(stamped, 1'600'000'000'000'000'000u);

  // A snapshot bounds the read; paging by next_offset.
  req.set_snapshot(10 * kRecordSize);
  req.set_offset(4 * kRecordSize);
  req.set_decode(false);
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Read(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.count(), 6u);
    EXPECT_EQ(resp.rows_size(), 0);
  }
  req.set_snapshot(0);
  req.set_offset(101 * kRecordSize);
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Read(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.count(), 0u);
  }
  req.set_offset(102 * kRecordSize);
  {
    grpc::ClientContext ctx;
    s = stub_->Read(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
    EXPECT_THAT(s.error_message(), HasSubstr("past the read tail"));
  }
  req.set_offset(3);
  {
    grpc::ClientContext ctx;
    s = stub_->Read(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("not a record boundary"));
  }
  req.set_offset(0);
  req.set_count(kMaxReadRecords + 1);
  {
    grpc::ClientContext ctx;
    s = stub_->Read(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  req.set_count(1);
  req.set_snapshot(5);
  {
    grpc::ClientContext ctx;
    s = stub_->Read(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("snapshot 5"));
  }
}

TEST_F(ServiceTest, DecodedRowsUseLiteralSyntax) {
  ASSERT_TRUE(Create("rich",
                     "ok:bool, s8:i8, f:f64, a4:ipv4, a6:ipv6, m:mac, "
                     "name:string(6)")
                  .ok());
  const size_t rs = 8 + 1 + 1 + 8 + 4 + 16 + 6 + 6;
  std::string r(rs, '\0');
  size_t o = 8;
  r[o++] = 1;
  r[o++] = static_cast<char>(-5);
  const double f = 1.5;
  std::memcpy(&r[o], &f, 8);
  o += 8;
  const uint8_t a4[] = {10, 1, 2, 3};
  std::memcpy(&r[o], a4, 4);
  o += 4;
  const uint8_t a6[] = {0, 0, 0,    0,    0,   0,   0, 0,
                        0, 0, 0xff, 0xff, 192, 168, 0, 1};
  std::memcpy(&r[o], a6, 16);
  o += 16;
  const uint8_t mac[] = {0xaa, 0xbb, 0xcc, 0, 1, 2};
  std::memcpy(&r[o], mac, 6);
  o += 6;
  std::memcpy(&r[o], "a'b\n", 4);
  ASSERT_TRUE(AppendBatch("rich", r).ok());
  v1::ReadRequest req;
  req.set_multilog("rich");
  req.set_decode(true);
  v1::ReadResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Read(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.rows_size(), 1);
  EXPECT_THAT(
      resp.rows(0).values(),
      ::testing::ElementsAre("0", "true", "-5", "1.5", "10.1.2.3",
                             "192.168.0.1", "aa:bb:cc:00:01:02", "'a\\'b\\n'"));
}

TEST_F(ServiceTest, CapacityAndMessageSizeAreResourceExhausted) {
  v1::CreateMultilogRequest req;
  req.set_name("small");
  req.set_schema(kSchema);
  req.set_block_records(1024);
  req.set_capacity_bytes(2 * 1024 * kRecordSize);
  v1::CreateMultilogResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->CreateMultilog(&ctx, req, &resp).ok());
  }
  const std::string batch(1000 * kRecordSize, '\0');
  grpc::Status s;
  for (int i = 0; i < 10 && s.ok(); ++i) s = AppendBatch("small", batch);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Over the server's 64 MiB message limit.
  s = AppendBatch("small",
                  std::string((65 << 20) / kRecordSize * kRecordSize, '\0'));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ServiceTest, AppendStreamAppendsEveryBatch) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  grpc::ClientContext ctx;
  v1::AppendStreamResponse resp;
  auto writer = stub_->AppendStream(&ctx, &resp);
  for (int b = 0; b < 10; ++b) {
    v1::AppendBatchRequest req;
    req.set_multilog("flows");
    for (int i = 0; i < 100; ++i)
      req.mutable_records()->append(Record(1, 2, 3));
    ASSERT_TRUE(writer->Write(req));
  }
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(resp.batches(), 10u);
  EXPECT_EQ(resp.records(), 1000u);
  EXPECT_EQ(resp.first_offset(), 0u);
  EXPECT_EQ(resp.last_offset(), 900 * kRecordSize);

  // A bad batch ends the stream with its error.
  grpc::ClientContext ctx2;
  auto bad = stub_->AppendStream(&ctx2, &resp);
  v1::AppendBatchRequest req;
  req.set_multilog("flows");
  req.set_records("xyz");
  bad->Write(req);
  bad->WritesDone();
  grpc::Status s = bad->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, ConcurrentAppendsShareTheWriterPool) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      std::string batch;
      for (int i = 0; i < 100; ++i) batch += Record(kBaseNs, 1, 1);
      for (int i = 0; i < 20; ++i) {
        if (!AppendBatch("flows", batch).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  v1::ListMultilogsResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(
      stub_->ListMultilogs(&ctx, v1::ListMultilogsRequest(), &list).ok());
  EXPECT_EQ(list.multilogs(0).records(), 8u * 20 * 100);
}

TEST_F(ServiceTest, ExecuteFilterPagesAtOneSnapshot) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  AppendRecords("flows", kBaseNs, 2500, 1000);
  v1::ExecuteFilterRequest req;
  req.set_multilog("flows");
  req.set_expression("bytes >= 100 && bytes < 2100");
  req.set_limit(300);
  std::vector<uint64_t> all;
  std::string records;
  uint64_t snapshot = 0;
  int pages = 0;
  for (;;) {
    QueryAnswer a = Execute(req);
    ASSERT_TRUE(a.status.ok()) << a.status.error_message();
    ++pages;
    EXPECT_EQ(a.summary.records(), a.offsets.size());
    EXPECT_EQ(a.records.size(), a.offsets.size() * kRecordSize);
    EXPECT_THAT(a.columns,
                ::testing::ElementsAre("timestamp", "bytes", "port"));
    if (snapshot == 0) snapshot = a.summary.snapshot();
    EXPECT_EQ(a.summary.snapshot(), snapshot);
    all.insert(all.end(), a.offsets.begin(), a.offsets.end());
    records += a.records;
    if (pages == 1) {
      // Data appended between pages is not in the answer.
      AppendRecords("flows", kBaseNs + 10'000'000, 100, 1000, 150);
    }
    if (!a.summary.truncated()) {
      EXPECT_TRUE(a.summary.next_page_token().empty());
      break;
    }
    req.set_page_token(a.summary.next_page_token());
  }
  EXPECT_EQ(pages, 7);
  ASSERT_EQ(all.size(), 2000u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i], (100 + i) * kRecordSize);
    EXPECT_EQ(BytesOf(records, i), 100 + i);
  }

  // Decoded rows and offsets only.
  req.clear_page_token();
  req.set_limit(5);
  req.set_decode(true);
  QueryAnswer a = Execute(req);
  ASSERT_TRUE(a.status.ok());
  ASSERT_EQ(a.rows.size(), 5u);
  EXPECT_EQ(a.rows[0].values(1), "100");
  req.set_decode(false);
  req.set_offsets_only(true);
  a = Execute(req);
  ASSERT_TRUE(a.status.ok());
  EXPECT_EQ(a.offsets.size(), 5u);
  EXPECT_TRUE(a.records.empty());
  EXPECT_EQ(a.summary.plan(), "scan");

  // A large page comes in several chunks.
  req.set_offsets_only(false);
  req.set_limit(0);
  a = Execute(req);
  ASSERT_TRUE(a.status.ok());
  EXPECT_EQ(a.offsets.size(), 2100u);
  EXPECT_EQ(a.messages, 1);
  AppendRecords("flows", kBaseNs + 20'000'000, 2000, 1000, 5000);
  req.set_expression("bytes >= 0");
  a = Execute(req);
  EXPECT_EQ(a.offsets.size(), 4600u);
  EXPECT_EQ(a.messages, 2);  // 4096 records per chunk
}

TEST_F(ServiceTest, ExecuteFilterRejectsBadArguments) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  AppendRecords("flows", kBaseNs, 10, 1000);
  v1::ExecuteFilterRequest req;
  req.set_multilog("flows");
  req.set_expression("bytes >= 1");
  req.set_t0_ns(10);
  req.set_t1_ns(5);
  QueryAnswer a = Execute(req);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(a.status.error_message(), HasSubstr("before t0_ns"));
  req.set_t1_ns(0);
  req.set_limit(kMaxQueryLimit + 1);
  a = Execute(req);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_limit(0);
  req.set_page_token("garbage");
  a = Execute(req);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(a.status.error_message(), HasSubstr("page_token"));
  req.clear_page_token();
  req.set_expression("byts >= 1");
  a = Execute(req);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(a.status.error_message(), HasSubstr("did you mean 'bytes'"));
  req.set_expression("");
  a = Execute(req);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_expression("bytes > 1");
  req.set_snapshot(3);
  a = Execute(req);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A token is refused with other arguments than it was issued for.
  req.set_snapshot(0);
  req.set_limit(2);
  a = Execute(req);
  ASSERT_TRUE(a.summary.truncated());
  req.set_page_token(a.summary.next_page_token());
  req.set_expression("bytes > 2");
  a = Execute(req);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, QueryFilterPagesAcrossBuckets) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  ASSERT_TRUE(
      Control("flows", Add(v1::CONTROL_KIND_FILTER, "web", "port == 443"))
          .ok());
  // 100 us apart: 10 records per 1 ms bucket, 5 of them port 443.
  AppendRecords("flows", kBaseNs, 1000, 100'000);
  v1::QueryFilterRequest req;
  req.set_multilog("flows");
  req.set_filter("web");
  req.set_t0_ns(kBaseNs + 250'000);  // starts inside a bucket
  req.set_t1_ns(kBaseNs + 90 * kMs + 50'000);
  req.set_limit(7);
  std::vector<uint64_t> all;
  int pages = 0;
  for (;;) {
    QueryAnswer a = Query(req);
    ASSERT_TRUE(a.status.ok()) << a.status.error_message();
    ++pages;
    all.insert(all.end(), a.offsets.begin(), a.offsets.end());
    if (!a.summary.truncated()) break;
    req.set_page_token(a.summary.next_page_token());
  }
  // Records 3..900 (ts < t1 means i <= 900), odd ones: 3, 5, ..., 899.
  std::vector<uint64_t> expected;
  for (uint64_t i = 3; i <= 900; i += 2) expected.push_back(i * kRecordSize);
  EXPECT_EQ(all, expected);
  EXPECT_EQ(pages, static_cast<int>((expected.size() + 6) / 7));

  req.clear_page_token();
  req.set_filter("nope");
  QueryAnswer a = Query(req);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceTest, GetAggregateAndSeries) {
  ASSERT_TRUE(Create("flows", kSchema).ok());
  auto add = [&](const std::string& name, const std::string& filter,
                 const std::string& expr) {
    return Control("flows",
                   Add(v1::CONTROL_KIND_AGGREGATE, name, expr, filter));
  };
  ASSERT_TRUE(
      Control("flows", Add(v1::CONTROL_KIND_FILTER, "all", "bytes >= 0")).ok());
  ASSERT_TRUE(add("total", "all", "SUM(bytes)").ok());
  ASSERT_TRUE(add("hist", "all", "HIST(bytes)").ok());
  ASSERT_TRUE(add("p50", "all", "P50(bytes)").ok());
  // 1000 records over 10 ms, bytes 0..999, in two steps.
  AppendRecords("flows", kBaseNs, 100, 10'000);
  const uint64_t first_tail = 100 * kRecordSize;
  AppendRecords("flows", kBaseNs + kMs, 900, 10'000, 100);

  v1::GetAggregateRequest req;
  req.set_multilog("flows");
  req.set_name("total");
  req.set_t0_ns(kBaseNs);
  req.set_t1_ns(kBaseNs + 10 * kMs);
  v1::GetAggregateResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetAggregate(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.function(), "SUM");
  EXPECT_DOUBLE_EQ(resp.value(), 999.0 * 1000 / 2);
  EXPECT_TRUE(resp.has_value());
  EXPECT_EQ(resp.count(), 1000u);
  EXPECT_DOUBLE_EQ(resp.sum(), 999.0 * 1000 / 2);
  EXPECT_DOUBLE_EQ(resp.min(), 0);  // SUM keeps no min or max
  EXPECT_DOUBLE_EQ(resp.max(), 0);
  EXPECT_FALSE(resp.partial());
  EXPECT_EQ(resp.snapshot(), 1000 * kRecordSize);

  // At an earlier snapshot.
  req.set_snapshot(first_tail);
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetAggregate(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.count(), 100u);
  EXPECT_DOUBLE_EQ(resp.value(), 99.0 * 100 / 2);
  EXPECT_EQ(resp.snapshot(), first_tail);
  req.set_snapshot(0);

  req.set_name("hist");
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetAggregate(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.function(), "HIST");
  EXPECT_DOUBLE_EQ(resp.min(), 0);
  EXPECT_DOUBLE_EQ(resp.max(), 999);

  req.set_name("p50");
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetAggregate(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.function(), "QUANTILE");
  EXPECT_NEAR(resp.value(), 499, 4);

  // No records: no value.
  req.set_t0_ns(kBaseNs + 100 * kMs);
  req.set_t1_ns(kBaseNs + 200 * kMs);
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetAggregate(&ctx, req, &resp).ok());
  }
  EXPECT_FALSE(resp.has_value());
  EXPECT_EQ(resp.count(), 0u);

  req.set_name("nope");
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->GetAggregate(&ctx, req, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  req.set_name("total");
  req.set_t1_ns(1);
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->GetAggregate(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  v1::GetAggregateSeriesRequest sreq;
  sreq.set_multilog("flows");
  sreq.set_name("hist");
  sreq.set_t0_ns(kBaseNs);
  sreq.set_histograms(true);
  grpc::ClientContext ctx;
  auto reader = stub_->GetAggregateSeries(&ctx, sreq);
  v1::GetAggregateSeriesResponse chunk;
  std::vector<v1::SeriesBucket> buckets;
  bool done = false;
  std::string function;
  while (reader->Read(&chunk)) {
    if (function.empty()) function = chunk.function();
    buckets.insert(buckets.end(), chunk.buckets().begin(),
                   chunk.buckets().end());
    done = chunk.done();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(done);
  EXPECT_EQ(function, "HIST");
  ASSERT_EQ(buckets.size(), 10u);
  for (size_t b = 0; b < buckets.size(); ++b) {
    EXPECT_EQ(buckets[b].start_ns(), kBaseNs + b * kMs);
    EXPECT_EQ(buckets[b].count(), 100u);
    EXPECT_DOUBLE_EQ(buckets[b].value(), 100);
    EXPECT_DOUBLE_EQ(buckets[b].min(), 100.0 * b);
    uint64_t binned = 0;
    for (const auto& bin : buckets[b].bins()) binned += bin.count();
    EXPECT_EQ(binned, 100u);
  }
}

// Triggers driven in data time (the multilog's monitor is off).
class AlertTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    MultilogSpec spec;
    spec.name = "flows";
    spec.schema = kSchema;
    spec.block_records = 1024;
    spec.start_monitor = false;
    auto ml = registry_->Create(spec);
    ASSERT_TRUE(ml.ok()) << ml.status().ToString();
    log_ = *ml;
    ASSERT_TRUE(log_->AddFilter("all", "bytes >= 0").ok());
    ASSERT_TRUE(log_->AddAggregate("n", "all", "COUNT()").ok());
    ASSERT_TRUE(
        log_->AddTrigger("busy", "n > 5", {std::chrono::milliseconds(1)}).ok());
    // 10 records per ms for 40 ms.
    AppendRecords("flows", kBaseNs, 400, 100'000);
  }

  std::shared_ptr<Multilog> log_;
};

TEST_F(AlertTest, GetAlertsPages) {
  EXPECT_EQ(log_->EvaluateTriggers(kBaseNs + kMs), 1u);
  EXPECT_EQ(log_->EvaluateTriggers(kBaseNs + 20 * kMs), 19u);
  v1::GetAlertsRequest req;
  req.set_limit(7);
  std::vector<v1::Alert> all;
  int pages = 0;
  for (;;) {
    grpc::ClientContext ctx;
    auto reader = stub_->GetAlerts(&ctx, req);
    v1::GetAlertsResponse chunk;
    std::string token;
    while (reader->Read(&chunk)) {
      all.insert(all.end(), chunk.alerts().begin(), chunk.alerts().end());
      if (chunk.done()) token = chunk.next_page_token();
    }
    ASSERT_TRUE(reader->Finish().ok());
    ++pages;
    if (token.empty()) break;
    req.set_page_token(token);
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(all.size(), 20u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].time_ns(), kBaseNs + (i + 1) * kMs);
    EXPECT_EQ(all[i].sequence(), i + 1);
    EXPECT_EQ(all[i].multilog(), "flows");
    EXPECT_EQ(all[i].host(), "test-host");
    EXPECT_EQ(all[i].trigger(), "busy");
    EXPECT_EQ(all[i].op(), ">");
    EXPECT_DOUBLE_EQ(all[i].value(), 10);
  }

  // Filtered by time and trigger; bad arguments.
  req.Clear();
  req.set_multilog("flows");
  req.set_t0_ns(kBaseNs + 5 * kMs);
  req.set_t1_ns(kBaseNs + 8 * kMs);
  {
    grpc::ClientContext ctx;
    auto reader = stub_->GetAlerts(&ctx, req);
    v1::GetAlertsResponse chunk;
    int n = 0;
    while (reader->Read(&chunk)) n += chunk.alerts_size();
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(n, 3);
  }
  req.set_trigger("other");
  {
    grpc::ClientContext ctx;
    auto reader = stub_->GetAlerts(&ctx, req);
    v1::GetAlertsResponse chunk;
    int n = 0;
    while (reader->Read(&chunk)) n += chunk.alerts_size();
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(n, 0);
  }
  req.set_multilog("nope");
  {
    grpc::ClientContext ctx;
    auto reader = stub_->GetAlerts(&ctx, req);
    v1::GetAlertsResponse chunk;
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  req.set_multilog("flows");
  req.set_page_token("a:1:2:3:4:5");
  {
    grpc::ClientContext ctx;
    auto reader = stub_->GetAlerts(&ctx, req);
    v1::GetAlertsResponse chunk;
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(AlertTest, SubscribeReceivesLiveAlertsAndReplays) {
  // Two alerts before anyone subscribes.
  ASSERT_EQ(log_->EvaluateTriggers(kBaseNs + kMs), 1u);
  ASSERT_EQ(log_->EvaluateTriggers(kBaseNs + 2 * kMs), 1u);

  grpc::ClientContext live_ctx;
  v1::SubscribeAlertsRequest live_req;
  auto live = stub_->SubscribeAlerts(&live_ctx, live_req);
  live->WaitForInitialMetadata();  // subscribed

  grpc::ClientContext replay_ctx;
  v1::SubscribeAlertsRequest replay_req;
  replay_req.set_multilog("flows");
  replay_req.set_since_ns(kBaseNs);
  auto replay = stub_->SubscribeAlerts(&replay_ctx, replay_req);
  replay->WaitForInitialMetadata();

  // A trigger fires while both streams are open.
  ASSERT_EQ(log_->EvaluateTriggers(kBaseNs + 3 * kMs), 1u);

  v1::AlertEvent event;
  ASSERT_TRUE(live->Read(&event));
  EXPECT_EQ(event.alert().time_ns(), kBaseNs + 3 * kMs);
  EXPECT_EQ(event.alert().sequence(), 3u);
  EXPECT_EQ(event.lost(), 0u);

  std::vector<uint64_t> seen;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(replay->Read(&event));
    seen.push_back(event.alert().sequence());
  }
  EXPECT_THAT(seen, ::testing::ElementsAre(1, 2, 3));

  // Cancelling ends a stream.
  live_ctx.TryCancel();
  while (live->Read(&event)) {
  }
  EXPECT_EQ(live->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // Dropping the multilog ends a stream on it.
  {
    grpc::ClientContext ctx;
    v1::DropMultilogRequest req;
    req.set_name("flows");
    v1::DropMultilogResponse resp;
    log_.reset();
    ASSERT_TRUE(stub_->DropMultilog(&ctx, req, &resp).ok());
  }
  while (replay->Read(&event)) {
  }
  grpc::Status s = replay->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("was dropped"));
}

TEST_F(AlertTest, SubscribeFollowsMultilogsCreatedLater) {
  grpc::ClientContext ctx;
  auto stream = stub_->SubscribeAlerts(&ctx, v1::SubscribeAlertsRequest());
  stream->WaitForInitialMetadata();
  MultilogSpec spec;
  spec.name = "later";
  spec.schema = kSchema;
  spec.block_records = 1024;
  spec.start_monitor = false;
  auto later = registry_->Create(spec);
  ASSERT_TRUE(later.ok());
  ASSERT_TRUE((*later)->AddFilter("all", "bytes >= 0").ok());
  ASSERT_TRUE((*later)->AddAggregate("n", "all", "COUNT()").ok());
  ASSERT_TRUE(
      (*later)->AddTrigger("t", "n > 0", {std::chrono::milliseconds(1)}).ok());
  AppendRecords("later", kBaseNs, 10, 1000);
  ASSERT_EQ((*later)->EvaluateTriggers(kBaseNs + kMs), 1u);
  v1::AlertEvent event;
  ASSERT_TRUE(stream->Read(&event));  // the registry feeds it to the stream
  EXPECT_EQ(event.alert().multilog(), "later");
  ctx.TryCancel();
  while (stream->Read(&event)) {
  }
  (void)stream->Finish();
}

TEST_F(AlertTest, ShutdownEndsSubscriptions) {
  grpc::ClientContext ctx;
  auto stream = stub_->SubscribeAlerts(&ctx, v1::SubscribeAlertsRequest());
  stream->WaitForInitialMetadata();
  const auto start = std::chrono::steady_clock::now();
  service_->Shutdown();
  server_->Shutdown();
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  v1::AlertEvent event;
  while (stream->Read(&event)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTest, StatsReportsDataplaneMultilogsAndRpcs) {
  dataplane::PipelineStats p;
  p.running = true;
  p.multilog = "packets";
  dataplane::PortStats port;
  port.name = "mirror0";
  port.device = "net_ring0";
  port.port_id = 3;
  port.received = 100;
  port.received_bytes = 6400;
  port.recorded = 90;
  port.recorded_bytes = 5760;
  port.drops[dataplane::kDropRingFull] = 7;
  port.drops[dataplane::kDropNicMissed] = 3;
  p.ports.push_back(port);
  p.writers.push_back(dataplane::WriterStats{2, 5, 90, 1});
  p.total = port;
  p.total.name = "total";
  pipeline_ = p;
  ASSERT_TRUE(Create("flows", kSchema).ok());
  AppendRecords("flows", kBaseNs, 10, 1000);
  (void)Create("flows", kSchema);  // an error, counted

  v1::StatsResponse stats;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Stats(&ctx, v1::StatsRequest(), &stats).ok());
  EXPECT_EQ(stats.host(), "test-host");
  ASSERT_TRUE(stats.has_dataplane());
  const v1::DataplaneStats& d = stats.dataplane();
  EXPECT_TRUE(d.running());
  EXPECT_EQ(d.multilog(), "packets");
  ASSERT_EQ(d.ports_size(), 1);
  EXPECT_EQ(d.ports(0).name(), "mirror0");
  EXPECT_EQ(d.ports(0).device(), "net_ring0");
  EXPECT_EQ(d.ports(0).port_id(), 3u);
  EXPECT_EQ(d.ports(0).received(), 100u);
  EXPECT_EQ(d.ports(0).received_bytes(), 6400u);
  EXPECT_EQ(d.ports(0).recorded(), 90u);
  EXPECT_EQ(d.ports(0).recorded_bytes(), 5760u);
  EXPECT_EQ(d.ports(0).dropped(), 10u);
  ASSERT_EQ(d.ports(0).drops_size(),
            static_cast<int>(dataplane::kNumDropReasons));
  EXPECT_EQ(d.ports(0).drops(dataplane::kDropRingFull).reason(), "ring_full");
  EXPECT_EQ(d.ports(0).drops(dataplane::kDropRingFull).count(), 7u);
  EXPECT_EQ(d.ports(0).drops(dataplane::kDropNicMissed).reason(), "nic_missed");
  EXPECT_EQ(d.total().name(), "total");
  ASSERT_EQ(d.writers_size(), 1);
  EXPECT_EQ(d.writers(0).lcore(), 2u);
  EXPECT_EQ(d.writers(0).records(), 90u);

  ASSERT_EQ(stats.multilogs_size(), 1);
  EXPECT_EQ(stats.multilogs(0).name(), "flows");
  EXPECT_EQ(stats.multilogs(0).records(), 10u);
  EXPECT_EQ(stats.multilogs(0).read_tail(), 10 * kRecordSize);
  EXPECT_GT(stats.multilogs(0).memory_bytes(), 0u);
  EXPECT_GE(stats.multilogs(0).memory_bytes(),
            stats.multilogs(0).data_memory_bytes());

  bool found = false;
  for (const auto& m : stats.rpc()) {
    if (m.method() == "CreateMultilog") {
      found = true;
      EXPECT_EQ(m.calls(), 2u);
      EXPECT_EQ(m.errors(), 1u);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(stats.rpc_size(), 19);  // every method of the proto
  std::vector<RpcMethodStats> local = service_->rpc_stats();
  EXPECT_EQ(local.size(), 19u);
  EXPECT_EQ(local[0].method, "CreateMultilog");

  // No dataplane: no dataplane message.
  pipeline_.reset();
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->Stats(&ctx2, v1::StatsRequest(), &stats).ok());
  EXPECT_FALSE(stats.has_dataplane());
}

TEST_F(ServiceTest, DurableMultilogReopens) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("loupe_service_test_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  v1::CreateMultilogRequest req;
  req.set_name("events");
  req.set_schema(kSchema);
  req.set_storage(v1::STORAGE_MODE_DURABLE);
  req.set_directory(dir.string());
  req.set_block_records(1024);
  v1::CreateMultilogResponse resp;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateMultilog(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_FALSE(resp.reopened());
  EXPECT_EQ(resp.multilog().storage(), v1::STORAGE_MODE_DURABLE);
  AppendRecords("events", kBaseNs, 1500, 1000);

  // The same directory under another name is refused while open.
  {
    req.set_name("events2");
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateMultilog(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_THAT(s.error_message(), HasSubstr("used by multilog 'events'"));
    req.set_name("events");
  }
  {
    grpc::ClientContext ctx;
    v1::DropMultilogRequest drop;
    drop.set_name("events");
    v1::DropMultilogResponse dropped;
    ASSERT_TRUE(stub_->DropMultilog(&ctx, drop, &dropped).ok());
  }
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateMultilog(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_TRUE(resp.reopened());
  EXPECT_EQ(resp.recovered_bytes(), 1500 * kRecordSize);
  EXPECT_EQ(resp.multilog().records(), 1500u);
  v1::ReadRequest read;
  read.set_multilog("events");
  read.set_offset(1499 * kRecordSize);
  v1::ReadResponse got;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Read(&ctx, read, &got).ok());
  ASSERT_EQ(got.count(), 1u);
  EXPECT_EQ(BytesOf(got.records(), 0), 1499u);
  std::filesystem::remove_all(dir);
}

TEST_F(ServiceTest, StartServerReportsATakenPort) {
  AgentService other(registry_.get(), "other");
  std::string error;
  auto server =
      StartServer("127.0.0.1:" + std::to_string(port_), &other, &error);
  EXPECT_EQ(server, nullptr);
  EXPECT_EQ(error, "listen 127.0.0.1:" + std::to_string(port_) +
                       ": address already in use");
  server = StartServer("no-such-host.invalid:7070", &other, &error);
  EXPECT_EQ(server, nullptr);
  EXPECT_THAT(error, HasSubstr("listen no-such-host.invalid:7070: "));
}

// Reflection (grpc.reflection.v1alpha) lists the service, so grpcurl and
// grpc_cli work against an agent. The request is written by hand:
// ServerReflectionRequest{list_services = ""} is field 7, an empty string.
TEST_F(ServiceTest, ServerReflectionListsTheAgentService) {
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](int id) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(tag, reinterpret_cast<void*>(static_cast<intptr_t>(id)));
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  const char request[] = {0x3a, 0x00};
  grpc::Slice slice(request, sizeof(request));
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(in.Dump(&slices).ok());
  std::string response;
  for (const grpc::Slice& s : slices) {
    response.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  EXPECT_THAT(response, HasSubstr("loupe.v1.Agent"));
  call->WritesDone(reinterpret_cast<void*>(4));
  step(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(ToGrpcStatusTest, MapsEveryCode) {
  using C = grpc::StatusCode;
  EXPECT_TRUE(ToGrpcStatus(Status::Ok()).ok());
  EXPECT_EQ(ToGrpcStatus(Status::InvalidArgument("m")).error_code(),
            C::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(Status::NotFound("m")).error_code(), C::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(Status::AlreadyExists("m")).error_code(),
            C::ALREADY_EXISTS);
  EXPECT_EQ(ToGrpcStatus(Status::FailedPrecondition("m")).error_code(),
            C::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcStatus(Status::ResourceExhausted("m")).error_code(),
            C::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ToGrpcStatus(Status::OutOfRange("m")).error_code(),
            C::OUT_OF_RANGE);
  EXPECT_EQ(ToGrpcStatus(Status::Expired("m")).error_code(), C::OUT_OF_RANGE);
  EXPECT_EQ(ToGrpcStatus(Status::Corruption("m")).error_code(), C::DATA_LOSS);
  EXPECT_EQ(ToGrpcStatus(Status::IoError("m")).error_code(), C::INTERNAL);
  EXPECT_EQ(ToGrpcStatus(Status::Unavailable("m")).error_code(),
            C::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(Status::Internal("m")).error_code(), C::INTERNAL);
  EXPECT_EQ(ToGrpcStatus(Status::NotFound("the message")).error_message(),
            "the message");
}

TEST(MultilogRegistryTest, WriterPoolIsCappedAndReused) {
  RegistryOptions options;
  options.writers_per_multilog = 2;
  options.default_preallocate_bytes = 1 << 20;
  MultilogRegistry registry(options);
  MultilogSpec spec;
  spec.name = "m";
  spec.schema = kSchema;
  spec.block_records = 1024;
  ASSERT_TRUE(registry.Create(spec).ok());
  auto a = registry.BorrowWriter("m");
  auto b = registry.BorrowWriter("m");
  ASSERT_TRUE(a.ok() && b.ok());
  std::atomic<bool> got_third{false};
  std::thread t([&] {
    auto c = registry.BorrowWriter("m");  // waits for a or b
    got_third = c.ok();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got_third.load());
  { auto done = std::move(a).value(); }  // returned to the pool
  t.join();
  EXPECT_TRUE(got_third.load());
  EXPECT_EQ(registry.BorrowWriter("x").status().code(),
            Status::Code::kNotFound);
}

}  // namespace
}  // namespace loupe::agent
