// Leased snapshots over a real gRPC server on 127.0.0.1 and a client stub:
// answers at a snapshot equal brute force over Read below its tail while a
// thread keeps appending, now and after more appends; the cap while
// prepared; a lease that ends lifts the cap in time; late commits, the
// limit of open snapshots, unknown ids, disagreeing snapshots, idempotency;
// appends acknowledged only once visible.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"

namespace loupe::agent {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000;
constexpr size_t kRecordSize = 14;  // timestamp, bytes:u32, port:u16

std::string Record(uint64_t ts, uint32_t bytes, uint16_t port) {
  std::string r(kRecordSize, '\0');
  std::memcpy(r.data(), &ts, 8);
  std::memcpy(r.data() + 8, &bytes, 4);
  std::memcpy(r.data() + 12, &port, 2);
  return r;
}

// What the aggregates and the filter "port == 80" should answer.
struct Truth {
  uint64_t web = 0;
  double web_bytes = 0;
  uint64_t records = 0;
};

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegistryOptions options;
    options.max_multilogs = 8;
    options.default_preallocate_bytes = 1 << 20;
    registry_ = std::make_unique<MultilogRegistry>(options);
    service_ = std::make_unique<AgentService>(registry_.get(), "test-host");
    std::string error;
    int port = 0;
    server_ = StartServer("127.0.0.1:0", service_.get(), &error, &port);
    ASSERT_NE(server_, nullptr) << error;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    stub_ = v1::Agent::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                  grpc::InsecureChannelCredentials(), args));

    v1::CreateMultilogRequest create;
    create.set_name("flows");
    create.set_schema("bytes:u32, port:u16");
    create.set_block_records(1024);
    v1::CreateMultilogResponse created;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->CreateMultilog(&ctx, create, &created).ok());
    AddControl(v1::CONTROL_KIND_FILTER, "web", "port == 80", "");
    AddControl(v1::CONTROL_KIND_AGGREGATE, "n", "COUNT()", "web");
    AddControl(v1::CONTROL_KIND_AGGREGATE, "b", "SUM(bytes)", "web");
  }

  void TearDown() override {
    StopAppending();
    service_->Shutdown();
    server_->Shutdown();
  }

  void AddControl(v1::ControlKind kind, const std::string& name,
                  const std::string& expression, const std::string& filter) {
    v1::ControlRequest req;
    req.set_multilog("flows");
    v1::ControlStatement* st = req.mutable_statement();
    st->set_verb(v1::CONTROL_VERB_ADD);
    st->set_kind(kind);
    st->set_name(name);
    st->set_expression(expression);
    st->set_filter(filter);
    v1::ControlResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->Control(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  grpc::Status AppendBatch(uint64_t first, int n,
                           v1::AppendResponse* response) {
    std::string batch;
    for (int i = 0; i < n; ++i) {
      const uint64_t k = first + static_cast<uint64_t>(i);
      batch += Record(kBaseNs + k * 1000, static_cast<uint32_t>(k % 1500),
                      k % 3 == 0 ? 80 : 443);
    }
    v1::AppendBatchRequest req;
    req.set_multilog("flows");
    req.set_records(batch);
    grpc::ClientContext ctx;
    return stub_->AppendBatch(&ctx, req, response);
  }

  // A thread appending batches of 100 until StopAppending.
  void StartAppending() {
    appender_ = std::thread([this] {
      uint64_t k = 0;
      while (!stop_.load()) {
        v1::AppendResponse r;
        if (!AppendBatch(k, 100, &r).ok()) return;
        k += 100;
        appended_.store(k);
      }
    });
  }
  void StopAppending() {
    stop_.store(true);
    if (appender_.joinable()) appender_.join();
  }
  void AwaitAppended(uint64_t records) {
    while (appended_.load() < records) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  grpc::Status Prepare(const std::string& id, uint32_t lease_ms,
                       v1::PrepareSnapshotResponse* out) {
    v1::PrepareSnapshotRequest req;
    req.set_id(id);
    req.set_lease_ms(lease_ms);
    grpc::ClientContext ctx;
    return stub_->PrepareSnapshot(&ctx, req, out);
  }
  grpc::Status Commit(const std::string& id, uint32_t keep_s = 0,
                      v1::CommitSnapshotResponse* out = nullptr) {
    v1::CommitSnapshotRequest req;
    req.set_id(id);
    req.set_keep_s(keep_s);
    v1::CommitSnapshotResponse local;
    grpc::ClientContext ctx;
    return stub_->CommitSnapshot(&ctx, req, out ? out : &local);
  }

  // Brute force over Read at (snapshot, id); *tail gets the Read's
  // snapshot.
  grpc::Status BruteForce(uint64_t snapshot, const std::string& id,
                          Truth* truth, uint64_t* tail) {
    uint64_t offset = 0;
    *truth = Truth{};
    for (;;) {
      v1::ReadRequest req;
      req.set_multilog("flows");
      req.set_offset(offset);
      req.set_count(65536);
      req.set_snapshot(snapshot);
      req.set_snapshot_id(id);
      v1::ReadResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = stub_->Read(&ctx, req, &resp);
      if (!s.ok()) return s;
      *tail = resp.snapshot();
      for (uint64_t i = 0; i < resp.count(); ++i) {
        const char* r = resp.records().data() + i * kRecordSize;
        uint32_t bytes;
        uint16_t port;
        std::memcpy(&bytes, r + 8, 4);
        std::memcpy(&port, r + 12, 2);
        ++truth->records;
        if (port == 80) {
          ++truth->web;
          truth->web_bytes += bytes;
        }
      }
      if (resp.count() == 0) return grpc::Status::OK;
      offset = resp.next_offset();
      snapshot = resp.snapshot();  // the rest at the same tail
    }
  }

  grpc::Status Count(const std::string& id, uint64_t snapshot, uint64_t* n,
                     uint64_t* at, const std::string& page_token = "",
                     uint32_t limit = 1'000'000, std::string* next = nullptr) {
    v1::ExecuteFilterRequest req;
    req.set_multilog("flows");
    req.set_expression("port == 80");
    req.set_limit(limit);
    req.set_offsets_only(true);
    req.set_snapshot(snapshot);
    req.set_snapshot_id(id);
    req.set_page_token(page_token);
    grpc::ClientContext ctx;
    auto reader = stub_->ExecuteFilter(&ctx, req);
    v1::QueryResponse chunk;
    *n = 0;
    while (reader->Read(&chunk)) {
      *n += static_cast<uint64_t>(chunk.offsets_size());
      if (chunk.has_summary()) {
        *at = chunk.summary().snapshot();
        if (next != nullptr) *next = chunk.summary().next_page_token();
      }
    }
    return reader->Finish();
  }

  grpc::Status Aggregate(const std::string& name, const std::string& id,
                         v1::GetAggregateResponse* out) {
    v1::GetAggregateRequest req;
    req.set_multilog("flows");
    req.set_name(name);
    req.set_snapshot_id(id);
    grpc::ClientContext ctx;
    return stub_->GetAggregate(&ctx, req, out);
  }

  // Every answer at `id` equals brute force below `tail`.
  void ExpectConsistent(const std::string& id, uint64_t tail) {
    Truth truth;
    uint64_t read_tail = 0;
    grpc::Status s = BruteForce(0, id, &truth, &read_tail);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(read_tail, tail);
    EXPECT_EQ(truth.records * kRecordSize, tail);
    uint64_t n = 0, at = 0;
    s = Count(id, 0, &n, &at);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(n, truth.web);
    EXPECT_EQ(at, tail);
    v1::GetAggregateResponse count, sum;
    ASSERT_TRUE(Aggregate("n", id, &count).ok());
    ASSERT_TRUE(Aggregate("b", id, &sum).ok());
    EXPECT_EQ(count.value(), static_cast<double>(truth.web));
    EXPECT_EQ(sum.value(), truth.web_bytes);
    EXPECT_EQ(count.snapshot(), tail);
    EXPECT_EQ(sum.snapshot(), tail);
  }

  v1::MultilogStats Stats() {
    v1::StatsRequest req;
    v1::StatsResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub_->Stats(&ctx, req, &resp).ok());
    return resp.multilogs_size() == 1 ? resp.multilogs(0) : v1::MultilogStats{};
  }
  uint64_t StatsReadTail() { return Stats().read_tail(); }

  // Waits until the multilog holds records beyond `tail` (written, maybe
  // not yet shown); false after 5 s.
  bool AwaitWrittenBeyond(uint64_t tail) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (Stats().write_tail() <= tail) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  std::unique_ptr<MultilogRegistry> registry_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  std::thread appender_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> appended_{0};
};

TEST_F(SnapshotTest, AnswersAtASnapshotEqualBruteForceDuringAppends) {
  StartAppending();
  AwaitAppended(5000);
  v1::PrepareSnapshotResponse prepared;
  grpc::Status s = Prepare("s1", 10'000, &prepared);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(prepared.tails_size(), 1);
  const v1::SnapshotTail t = prepared.tails(0);
  EXPECT_EQ(t.multilog(), "flows");
  EXPECT_GT(t.tail(), 0u);
  EXPECT_EQ(t.tail() % kRecordSize, 0u);
  EXPECT_GE(t.head(), t.tail());
  EXPECT_LE(t.settled_ns(), prepared.agent_time_ns());
  EXPECT_TRUE(t.settled_exact());
  EXPECT_GT(prepared.start_time_ns(), 0u);

  // Prepared: what the API shows stops at the tail while appends go on
  // (written, not acknowledged: see AnAppendIsAcknowledgedOnceNoSnapshot-
  // HidesIt).
  ASSERT_TRUE(AwaitWrittenBeyond(t.tail()));
  ExpectConsistent("s1", t.tail());
  uint64_t n = 0, at = 0;
  ASSERT_TRUE(Count("", 0, &n, &at).ok());
  EXPECT_EQ(at, t.tail());
  Truth capped;
  uint64_t read_at = 0;
  ASSERT_TRUE(BruteForce(0, "", &capped, &read_at).ok());
  EXPECT_EQ(read_at, t.tail());
  EXPECT_EQ(StatsReadTail(), t.tail());
  {
    v1::ListMultilogsRequest req;
    req.set_name("flows");
    v1::ListMultilogsResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListMultilogs(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.multilogs(0).read_tail(), t.tail());
    EXPECT_EQ(resp.multilogs(0).records() * kRecordSize, t.tail());
  }
  // Paging with no snapshot while capped continues at the page's tail.
  std::string token;
  ASSERT_TRUE(Count("", 0, &n, &at, "", 10, &token).ok());
  ASSERT_FALSE(token.empty());
  s = Count("", 0, &n, &at, token, 10);
  ASSERT_TRUE(s.ok()) << s.error_message();

  v1::CommitSnapshotResponse committed;
  ASSERT_TRUE(Commit("s1", 60, &committed).ok());
  EXPECT_EQ(committed.snapshot().state(), v1::SNAPSHOT_STATE_COMMITTED);
  EXPECT_EQ(committed.snapshot().tails(0).tail(), t.tail());
  // The cap is lifted, and the snapshot still answers the same.
  AwaitAppended(appended_.load() + 2000);
  ASSERT_TRUE(Count("", 0, &n, &at).ok());
  EXPECT_GT(at, t.tail());
  ExpectConsistent("s1", t.tail());
  // A raw snapshot equal to the id's tail is fine; another one is not.
  ASSERT_TRUE(Count("s1", t.tail(), &n, &at).ok());
  s = Count("s1", t.tail() - kRecordSize, &n, &at);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("differs from snapshot_id"));
  StopAppending();
  ExpectConsistent("s1", t.tail());

  v1::ListSnapshotsRequest list_req;
  v1::ListSnapshotsResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListSnapshots(&ctx, list_req, &list).ok());
  ASSERT_EQ(list.snapshots_size(), 1);
  EXPECT_EQ(list.snapshots(0).id(), "s1");
  EXPECT_GT(list.snapshots(0).remaining_ms(), 50'000u);
}

TEST_F(SnapshotTest, AnEndedLeaseLiftsTheCapInTime) {
  StartAppending();
  AwaitAppended(1000);
  constexpr uint32_t kLeaseMs = 100;
  const auto start = std::chrono::steady_clock::now();
  v1::PrepareSnapshotResponse prepared;
  ASSERT_TRUE(Prepare("short", kLeaseMs, &prepared).ok());
  const uint64_t tail = prepared.tails(0).tail();
  Truth truth;
  uint64_t read_at = 0;
  ASSERT_TRUE(BruteForce(0, "", &truth, &read_at).ok());
  if (std::chrono::steady_clock::now() - start <
      std::chrono::milliseconds(kLeaseMs)) {
    EXPECT_EQ(read_at, tail);  // still capped
  }
  // Lifted within lease + 50 ms: the API's tail moves past the snapshot.
  auto lifted = start;
  for (;;) {
    v1::ReadRequest req;
    req.set_multilog("flows");
    req.set_offset(0);
    req.set_count(1);
    v1::ReadResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Read(&ctx, req, &resp).ok());
    lifted = std::chrono::steady_clock::now();
    if (resp.snapshot() > tail) break;
    ASSERT_LT(lifted - start, std::chrono::seconds(5));
  }
  EXPECT_LE(lifted - start, std::chrono::milliseconds(kLeaseMs + 50));
  grpc::Status late = Commit("short");
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(late.error_message(), HasSubstr("lease of 100 ms ended"));
  uint64_t n = 0, at = 0;
  EXPECT_EQ(Count("short", 0, &n, &at).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SnapshotTest, LimitsUnknownIdsAndIdempotency) {
  v1::AppendResponse r;
  ASSERT_TRUE(AppendBatch(0, 300, &r).ok());
  v1::PrepareSnapshotResponse first, again;
  ASSERT_TRUE(Prepare("s0", 10'000, &first).ok());
  // An append while s0 is prepared is written at once and acknowledged
  // only once every snapshot that hides it has ended (at the end here).
  v1::AppendResponse later;
  std::thread appending(
      [&] { EXPECT_TRUE(AppendBatch(300, 300, &later).ok()); });
  ASSERT_TRUE(AwaitWrittenBeyond(first.tails(0).tail()));
  ASSERT_TRUE(Prepare("s0", 10'000, &again).ok());
  EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
  EXPECT_EQ(Prepare("s0", 5'000, &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // No appends in flight: settled at the agent's time.
  EXPECT_EQ(first.tails(0).settled_ns(), first.agent_time_ns());
  for (int i = 1; i < 16; ++i) {
    ASSERT_TRUE(Prepare("s" + std::to_string(i), 10'000, &again).ok());
  }
  grpc::Status over = Prepare("s16", 10'000, &again);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Prepare("bad id", 10'000, &again).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Prepare("x", 5, &again).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Unknown ids are NOT_FOUND on every kind of request.
  uint64_t n = 0, at = 0;
  grpc::Status s = Count("nope", 0, &n, &at);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("'nope'"));
  v1::GetAggregateResponse agg;
  EXPECT_EQ(Aggregate("n", "nope", &agg).error_code(),
            grpc::StatusCode::NOT_FOUND);
  Truth truth;
  EXPECT_EQ(BruteForce(0, "nope", &truth, &at).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Commit("nope").error_code(), grpc::StatusCode::NOT_FOUND);

  // Abort lifts and forgets; twice is fine; a commit after it is not.
  v1::AbortSnapshotRequest abort;
  abort.set_id("s3");
  v1::AbortSnapshotResponse aborted;
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->AbortSnapshot(&ctx, abort, &aborted).ok());
  }
  EXPECT_EQ(Commit("s3").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(Prepare("s16", 10'000, &again).ok());  // room again
  v1::ReleaseSnapshotRequest release;
  release.set_id("s0");
  v1::ReleaseSnapshotResponse released;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ReleaseSnapshot(&ctx, release, &released).ok());
  EXPECT_EQ(Count("s0", 0, &n, &at).error_code(), grpc::StatusCode::NOT_FOUND);

  // s1-s2 and s4-s16 are still prepared, and may hide the append.
  for (int i = 1; i <= 16; ++i) {
    v1::AbortSnapshotRequest req;
    req.set_id("s" + std::to_string(i));
    grpc::ClientContext abort_ctx;
    ASSERT_TRUE(stub_->AbortSnapshot(&abort_ctx, req, &aborted).ok());
  }
  appending.join();
  EXPECT_EQ(later.first_offset(), first.tails(0).tail());
  EXPECT_EQ(later.count(), 300u);
}

// The causal-cut rule (issue 14, promise 3) on one agent: an append that
// lands while a snapshot is prepared below it is acknowledged only when
// that snapshot's cap lifts (commit, abort, lease end), so that whatever a
// client does after the acknowledgement is in no snapshot without it.
TEST_F(SnapshotTest, AnAppendIsAcknowledgedOnceNoSnapshotHidesIt) {
  v1::AppendResponse r;
  ASSERT_TRUE(AppendBatch(0, 100, &r).ok());
  struct Case {
    const char* how;
    uint32_t lease_ms;
  };
  uint64_t k = 100;
  for (const Case c :
       {Case{"commit", 10'000}, Case{"abort", 10'000}, Case{"lease", 300}}) {
    SCOPED_TRACE(c.how);
    const std::string id = std::string("ack-") + c.how;
    v1::PrepareSnapshotResponse prepared;
    ASSERT_TRUE(Prepare(id, c.lease_ms, &prepared).ok());
    const uint64_t tail = prepared.tails(0).tail();
    std::atomic<bool> acked{false};
    v1::AppendResponse late;
    const auto start = std::chrono::steady_clock::now();
    std::thread appending([&, first = k] {
      EXPECT_TRUE(AppendBatch(first, 100, &late).ok());
      acked.store(true);
    });
    k += 100;
    ASSERT_TRUE(AwaitWrittenBeyond(tail));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(acked.load()) << "acknowledged while hidden by " << id;
    EXPECT_EQ(StatsReadTail(), tail);
    const auto lifted_at = std::chrono::steady_clock::now();
    if (std::string_view(c.how) == "commit") {
      ASSERT_TRUE(Commit(id).ok());
    } else if (std::string_view(c.how) == "abort") {
      v1::AbortSnapshotRequest req;
      req.set_id(id);
      v1::AbortSnapshotResponse resp;
      grpc::ClientContext ctx;
      ASSERT_TRUE(stub_->AbortSnapshot(&ctx, req, &resp).ok());
    }
    appending.join();
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(late.first_offset(), tail);
    if (std::string_view(c.how) == "lease") {
      EXPECT_GE(waited, std::chrono::milliseconds(c.lease_ms));
      EXPECT_LT(waited, std::chrono::milliseconds(c.lease_ms + 200));
    } else {
      // Woken by the commit or abort, not by a poll of the lease.
      EXPECT_LT(std::chrono::steady_clock::now() - lifted_at,
                std::chrono::milliseconds(200));
    }
    // Once acknowledged, the records are visible.
    EXPECT_GE(StatsReadTail(), tail + 100 * kRecordSize);
  }
}

// Shutting down answers appends that wait for a prepared snapshot.
TEST_F(SnapshotTest, ShutdownAnswersAppendsHiddenByAPreparedSnapshot) {
  v1::PrepareSnapshotResponse prepared;
  ASSERT_TRUE(Prepare("held", 10'000, &prepared).ok());
  std::thread appending([&] {
    v1::AppendResponse r;
    EXPECT_TRUE(AppendBatch(0, 10, &r).ok());
  });
  ASSERT_TRUE(AwaitWrittenBeyond(prepared.tails(0).tail()));
  const auto start = std::chrono::steady_clock::now();
  service_->Shutdown();
  appending.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(SnapshotTest, AnAcknowledgedAppendIsVisible) {
  // One writer copies 4 MiB batches while another appends single records:
  // the small batches claim after a big one and finish copying first, so
  // without the wait they would be acknowledged above the read tail.
  constexpr size_t kWide = 1008;  // timestamp + string(1000)
  v1::CreateMultilogRequest create;
  create.set_name("wide");
  create.set_schema("pad:string(1000)");
  create.set_block_records(4096);
  v1::CreateMultilogResponse created;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateMultilog(&ctx, create, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const uint64_t max_batch = created.multilog().max_batch_records();
  ASSERT_GE(max_batch, 1024u);
  auto append = [&](size_t records, v1::AppendResponse* r) {
    std::string batch(records * kWide, 'x');
    for (size_t i = 0; i < records; ++i) {
      const uint64_t ts = kBaseNs + i;
      std::memcpy(batch.data() + i * kWide, &ts, 8);
    }
    v1::AppendBatchRequest req;
    req.set_multilog("wide");
    req.set_records(batch);
    grpc::ClientContext ctx;
    return stub_->AppendBatch(&ctx, req, r);
  };
  std::atomic<bool> big_done{false};
  std::thread big([&] {
    for (int i = 0; i < 16; ++i) {
      v1::AppendResponse r;
      EXPECT_TRUE(append(std::min<uint64_t>(max_batch, 4096), &r).ok());
    }
    big_done.store(true);
  });
  int small = 0, invisible = 0;
  while (!big_done.load()) {
    v1::AppendResponse r;
    ASSERT_TRUE(append(1, &r).ok());
    ++small;
    v1::ReadRequest req;
    req.set_multilog("wide");
    req.set_offset(r.first_offset());
    req.set_count(1);
    v1::ReadResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->Read(&ctx, req, &resp);
    if (!s.ok() || resp.count() != 1) ++invisible;
  }
  big.join();
  EXPECT_GT(small, 0);
  EXPECT_EQ(invisible, 0) << "of " << small << " acknowledged appends";
}

}  // namespace
}  // namespace loupe::agent
