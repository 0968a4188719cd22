// The agent's fleet API (issue 13) on real loupe-agent processes on
// loopback, driven through gRPC as a coordinator will drive them: snapshots
// taken while appends go on answer exactly what Read shows below their
// tails, now and later; a lease that is not committed lifts itself on
// time; a restarted agent does not know its predecessor's snapshots;
// programs are checked as a whole, applied all or nothing, and versioned
// without losing what unchanged statements covered; two agents' histogram
// bins merge into the quantile of the union; alert cursors survive a
// restart of a durable agent, every alert once and in order. Suite
// "integration".
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/proto/loupe.grpc.pb.h"
#include "multilog/histogram.h"
#include "multilog/histogram_merge.h"
#include "tests/support/agent_process.h"

namespace loupe::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;  // NOLINT(build/namespaces)

using test_support::AgentProcess;
using test_support::TempDir;
using Stub = v1::Agent::Stub;
using Clock = std::chrono::steady_clock;

// "flows": timestamp (8 bytes), bytes:u32 at 8, port:u16 at 12.
constexpr size_t kRecordSize = 14;
constexpr uint16_t kPorts[] = {80, 443, 22, 53};

std::string FlowsConfig(const std::string& extra = "") {
  return R"toml([[multilog]]
name = "flows"
schema = "bytes:u32, port:u16"
bucket = "1ms"
block_records = 4096
preallocate_bytes = "8MiB"
indexes = ["port"]
filters = [
  { name = "http", expression = "port == 80" },
  { name = "every", expression = "bytes >= 0" },
]
aggregates = [
  { name = "http_count", filter = "http", expression = "COUNT()" },
  { name = "http_bytes", filter = "http", expression = "SUM(bytes)" },
  { name = "p99", filter = "every", expression = "P99(bytes)" },
]
)toml" + extra;
}

struct Flow {
  uint64_t ts = 0;
  uint32_t bytes = 0;
  uint16_t port = 0;
};

Flow Decode(const char* r) {
  Flow f;
  std::memcpy(&f.ts, r, 8);
  std::memcpy(&f.bytes, r + 8, 4);
  std::memcpy(&f.port, r + 12, 2);
  return f;
}

std::string Encode(const std::vector<Flow>& flows) {
  std::string out(flows.size() * kRecordSize, '\0');
  for (size_t i = 0; i < flows.size(); ++i) {
    char* r = out.data() + i * kRecordSize;
    std::memcpy(r, &flows[i].ts, 8);
    std::memcpy(r + 8, &flows[i].bytes, 4);
    std::memcpy(r + 12, &flows[i].port, 2);
  }
  return out;
}

// A context with a deadline: no call here waits without one.
struct Ctx {
  grpc::ClientContext c;
  explicit Ctx(std::chrono::milliseconds limit = 10s) {
    c.set_deadline(std::chrono::system_clock::now() + limit);
  }
  grpc::ClientContext* operator&() { return &c; }
};

grpc::Status AppendNow(Stub& stub, const std::string& multilog,
                       const std::vector<Flow>& flows) {
  Ctx ctx;
  v1::AppendBatchRequest req;
  req.set_multilog(multilog);
  req.set_records(Encode(flows));
  req.set_timestamp_now(true);
  v1::AppendResponse resp;
  return stub.AppendBatch(&ctx, req, &resp);
}

// Appends batches of flows, stamped by the agent, until stopped.
class Appender {
 public:
  explicit Appender(Stub* stub, uint64_t seed = 1) : stub_(stub), rng_(seed) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Appender() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t batches() const { return batches_.load(); }
  uint64_t failures() const { return failures_.load(); }
  void AwaitBatches(uint64_t n) const {
    const auto deadline = Clock::now() + 30s;
    while (batches() < n && Clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
  }

 private:
  void Run() {
    std::uniform_int_distribution<uint32_t> bytes(40, 1500);
    while (!stop_) {
      std::vector<Flow> flows(500);
      for (Flow& f : flows) {
        f.bytes = bytes(rng_);
        f.port = kPorts[rng_() % 4];
      }
      if (AppendNow(*stub_, "flows", flows).ok()) {
        ++batches_;
      } else {
        ++failures_;
      }
      std::this_thread::sleep_for(200us);
    }
  }

  Stub* stub_;
  std::mt19937_64 rng_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> failures_{0};
  std::thread thread_;
};

grpc::Status Prepare(Stub& stub, const std::string& id, uint32_t lease_ms,
                     v1::PrepareSnapshotResponse* resp) {
  Ctx ctx;
  v1::PrepareSnapshotRequest req;
  req.set_id(id);
  req.set_lease_ms(lease_ms);
  return stub.PrepareSnapshot(&ctx, req, resp);
}

grpc::Status Commit(Stub& stub, const std::string& id) {
  Ctx ctx;
  v1::CommitSnapshotRequest req;
  req.set_id(id);
  v1::CommitSnapshotResponse resp;
  return stub.CommitSnapshot(&ctx, req, &resp);
}

// The read tail the API shows now (Read with no snapshot).
uint64_t ShownTail(Stub& stub) {
  Ctx ctx;
  v1::ReadRequest req;
  req.set_multilog("flows");
  req.set_count(1);
  v1::ReadResponse resp;
  EXPECT_TRUE(stub.Read(&ctx, req, &resp).ok());
  return resp.snapshot();
}

// The write tail of "flows" (Stats): records written, shown or not.
uint64_t WrittenTail(Stub& stub) {
  Ctx ctx;
  v1::StatsRequest req;
  v1::StatsResponse resp;
  EXPECT_TRUE(stub.Stats(&ctx, req, &resp).ok());
  for (const v1::MultilogStats& m : resp.multilogs()) {
    if (m.name() == "flows") return m.write_tail();
  }
  return 0;
}

// Every record below the snapshot's tail, through Read.
std::vector<Flow> ReadAll(Stub& stub, const std::string& snapshot_id,
                          uint64_t* tail) {
  std::vector<Flow> out;
  uint64_t offset = 0;
  for (;;) {
    Ctx ctx;
    v1::ReadRequest req;
    req.set_multilog("flows");
    req.set_offset(offset);
    req.set_count(8192);
    req.set_snapshot_id(snapshot_id);
    v1::ReadResponse resp;
    grpc::Status s = stub.Read(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) break;
    EXPECT_EQ(resp.record_size(), kRecordSize);
    for (uint64_t i = 0; i < resp.count(); ++i) {
      out.push_back(Decode(resp.records().data() + i * kRecordSize));
    }
    *tail = resp.snapshot();
    offset = resp.next_offset();
    if (resp.count() == 0 || offset >= resp.snapshot()) break;
  }
  return out;
}

// What the queries at one snapshot answered, to compare now and later.
struct Answers {
  uint64_t records = 0;
  uint64_t http_count = 0;
  double http_bytes = 0;
  uint64_t filter_matches = 0;      // QueryFilter "http"
  uint64_t expression_matches = 0;  // ExecuteFilter
  std::map<std::string, double> topk;
  std::map<std::string, std::pair<uint64_t, double>> groups;  // count, max
  bool operator==(const Answers&) const = default;
};

constexpr char kExpression[] = "port == 443 && bytes > 700";

Answers BruteForce(const std::vector<Flow>& flows) {
  Answers a;
  a.records = flows.size();
  for (const Flow& f : flows) {
    if (f.port == 80) {
      ++a.http_count;
      a.http_bytes += f.bytes;
      ++a.filter_matches;
    }
    if (f.port == 443 && f.bytes > 700) ++a.expression_matches;
    const std::string key = std::to_string(f.port);
    a.topk[key] += f.bytes;
    auto& g = a.groups[key];
    ++g.first;
    g.second = std::max(g.second, static_cast<double>(f.bytes));
  }
  return a;
}

uint64_t Matches(grpc::ClientReader<v1::QueryResponse>* reader) {
  uint64_t n = 0;
  v1::QueryResponse r;
  while (reader->Read(&r)) {
    n += r.offsets_size();
    EXPECT_FALSE(r.summary().truncated());
  }
  grpc::Status s = reader->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  return n;
}

// Every query at `id`, answered by the agent.
Answers Query(Stub& stub, const std::string& id) {
  Answers a;
  uint64_t tail = 0;
  a.records = ReadAll(stub, id, &tail).size();
  for (const char* name : {"http_count", "http_bytes"}) {
    Ctx ctx;
    v1::GetAggregateRequest req;
    req.set_multilog("flows");
    req.set_name(name);
    req.set_snapshot_id(id);
    v1::GetAggregateResponse resp;
    grpc::Status s = stub.GetAggregate(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_message();
    EXPECT_EQ(resp.snapshot(), tail) << name;
    if (std::string(name) == "http_count") {
      a.http_count = static_cast<uint64_t>(resp.value());
    } else {
      a.http_bytes = resp.value();
    }
  }
  {
    Ctx ctx;
    v1::QueryFilterRequest req;
    req.set_multilog("flows");
    req.set_filter("http");
    req.set_limit(1'000'000);
    req.set_offsets_only(true);
    req.set_snapshot_id(id);
    a.filter_matches = Matches(stub.QueryFilter(&ctx, req).get());
  }
  {
    Ctx ctx;
    v1::ExecuteFilterRequest req;
    req.set_multilog("flows");
    req.set_expression(kExpression);
    req.set_limit(1'000'000);
    req.set_offsets_only(true);
    req.set_snapshot_id(id);
    a.expression_matches = Matches(stub.ExecuteFilter(&ctx, req).get());
  }
  {
    Ctx ctx;
    v1::GetTopKRequest req;
    req.set_multilog("flows");
    req.add_key_columns("port");
    req.set_value("bytes");
    req.set_k(4);
    req.set_snapshot_id(id);
    v1::GetTopKResponse resp;
    grpc::Status s = stub.GetTopK(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.snapshot(), tail);
    double previous = INFINITY;
    for (const v1::TopKEntry& e : resp.top()) {
      EXPECT_LE(e.value(), previous) << "top-k is in decreasing order";
      previous = e.value();
      a.topk[e.key().values(0)] = e.value();
    }
  }
  {
    Ctx ctx;
    v1::GetGroupByRequest req;
    req.set_multilog("flows");
    req.add_key_columns("port");
    req.add_aggregates("COUNT()");
    req.add_aggregates("MAX(bytes)");
    req.set_snapshot_id(id);
    v1::GetGroupByResponse resp;
    grpc::Status s = stub.GetGroupBy(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.snapshot(), tail);
    for (const v1::GroupByRow& row : resp.rows()) {
      EXPECT_EQ(row.values_size(), 2);
      if (row.values_size() != 2) continue;
      EXPECT_EQ(static_cast<uint64_t>(row.values(0)), row.count());
      a.groups[row.key().values(0)] = {row.count(), row.values(1)};
    }
  }
  return a;
}

TEST(FleetProcessTest, SnapshotsDuringContinuousAppendsEqualBruteForce) {
  TempDir dir;
  AgentProcess agent(dir.path(), FlowsConfig());
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
  auto stub = agent.Stub();
  Appender appender(stub.get());
  appender.AwaitBatches(20);

  struct Taken {
    std::string id;
    uint64_t tail = 0;
    uint64_t settled_ns = 0;
    Answers answers;
  };
  std::vector<Taken> taken;
  for (int i = 0; i < 4; ++i) {
    Taken t;
    t.id = "fleet-" + std::to_string(i);
    v1::PrepareSnapshotResponse prepared;
    grpc::Status s = Prepare(*stub, t.id, 5000, &prepared);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(prepared.tails_size(), 1);
    t.tail = prepared.tails(0).tail();
    t.settled_ns = prepared.tails(0).settled_ns();
    EXPECT_LE(t.settled_ns, prepared.agent_time_ns());
    // Prepared: the API shows the tail while appends go on. They are
    // written, and acknowledged only after the commit (the appender's one
    // batch in flight waits for it).
    const uint64_t before = appender.batches();
    const auto deadline = Clock::now() + 5s;
    while (WrittenTail(*stub) <= t.tail && Clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_GT(WrittenTail(*stub), t.tail) << "appends go on while prepared";
    std::this_thread::sleep_for(20ms);
    EXPECT_LE(appender.batches(), before + 1) << "acknowledged while hidden";
    EXPECT_EQ(ShownTail(*stub), t.tail) << "the cap holds until commit";
    s = Commit(*stub, t.id);
    ASSERT_TRUE(s.ok()) << s.error_message();
    appender.AwaitBatches(appender.batches() + 10);
    EXPECT_GT(ShownTail(*stub), t.tail) << "commit lifts the cap";

    uint64_t tail = 0;
    const std::vector<Flow> flows = ReadAll(*stub, t.id, &tail);
    EXPECT_EQ(tail, t.tail);
    EXPECT_EQ(flows.size() * kRecordSize, t.tail);
    t.answers = Query(*stub, t.id);
    EXPECT_EQ(t.answers, BruteForce(flows)) << t.id;
    EXPECT_GT(t.answers.http_count, 0u);
    EXPECT_GT(t.answers.expression_matches, 0u);
    taken.push_back(t);
  }
  // Later, over more appends: every snapshot still answers the same.
  appender.AwaitBatches(appender.batches() + 50);
  for (const Taken& t : taken) {
    EXPECT_EQ(Query(*stub, t.id), t.answers) << t.id;
  }
  appender.Stop();
  EXPECT_EQ(appender.failures(), 0u);
  // settled_ns: no record appended after a snapshot's tail has an earlier
  // timestamp.
  uint64_t tail = 0;
  const std::vector<Flow> all = ReadAll(*stub, "", &tail);
  for (const Taken& t : taken) {
    for (size_t i = t.tail / kRecordSize; i < all.size(); ++i) {
      ASSERT_GE(all[i].ts, t.settled_ns) << t.id << " record " << i;
    }
  }
}

TEST(FleetProcessTest, ALeaseThatEndsLiftsTheCapWithinLeasePlus50ms) {
  TempDir dir;
  AgentProcess agent(dir.path(), FlowsConfig());
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
  auto stub = agent.Stub();
  auto watcher = agent.Stub();  // its own channel
  Appender appender(stub.get());
  appender.AwaitBatches(20);

  constexpr auto kLease = 200ms;
  for (int round = 0; round < 3; ++round) {
    const std::string id = "lease-" + std::to_string(round);
    const auto sent = Clock::now();
    v1::PrepareSnapshotResponse prepared;
    ASSERT_TRUE(Prepare(*stub, id, kLease.count(), &prepared).ok());
    const uint64_t cap = prepared.tails(0).tail();
    // Watch the shown tail until it moves past the cap.
    Clock::time_point lifted{}, last_capped = sent;
    while (Clock::now() - sent < 2s) {
      const auto asked = Clock::now();
      const uint64_t shown = ShownTail(*watcher);
      if (shown > cap) {
        lifted = asked;
        break;
      }
      EXPECT_EQ(shown, cap);
      last_capped = Clock::now();
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_NE(lifted, Clock::time_point{}) << "the cap never lifted";
    const auto held = std::chrono::duration_cast<std::chrono::milliseconds>(
        last_capped - sent);
    const auto lift =
        std::chrono::duration_cast<std::chrono::milliseconds>(lifted - sent);
    std::printf("lease %lld ms: capped until %lld ms, lifted by %lld ms\n",
                static_cast<long long>(kLease.count()),
                static_cast<long long>(held.count()),
                static_cast<long long>(lift.count()));
    EXPECT_GE(held, kLease - 10ms) << "the cap held for the lease";
    EXPECT_LE(lift, kLease + 50ms);
    // A late commit is refused, and the id is not usable.
    grpc::Status s = Commit(*stub, id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << s.error_message();
  }
}

TEST(FleetProcessTest, ARestartedAgentKnowsNoneOfItsPredecessorsSnapshots) {
  TempDir dir;
  const std::string config = FlowsConfig();
  {
    AgentProcess agent(dir.path(), config);
    ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
    auto stub = agent.Stub();
    std::vector<Flow> flows(100, Flow{0, 100, 80});
    ASSERT_TRUE(AppendNow(*stub, "flows", flows).ok());
    v1::PrepareSnapshotResponse prepared;
    ASSERT_TRUE(Prepare(*stub, "before", 1000, &prepared).ok());
    ASSERT_TRUE(Commit(*stub, "before").ok());
    EXPECT_EQ(Query(*stub, "before").http_count, 100u);
    agent.Signal(SIGTERM);
    ASSERT_EQ(agent.Wait(), 0) << agent.err();
  }
  AgentProcess again(dir.path(), config);
  ASSERT_TRUE(again.AwaitHealthy()) << again.err();
  auto stub = again.Stub();
  std::vector<Flow> flows(200, Flow{0, 100, 80});
  ASSERT_TRUE(AppendNow(*stub, "flows", flows).ok());
  const grpc::StatusCode kNotFound = grpc::StatusCode::NOT_FOUND;
  {
    Ctx ctx;
    v1::ReadRequest req;
    req.set_multilog("flows");
    req.set_snapshot_id("before");
    v1::ReadResponse resp;
    EXPECT_EQ(stub->Read(&ctx, req, &resp).error_code(), kNotFound);
  }
  {
    Ctx ctx;
    v1::GetAggregateRequest req;
    req.set_multilog("flows");
    req.set_name("http_count");
    req.set_snapshot_id("before");
    v1::GetAggregateResponse resp;
    EXPECT_EQ(stub->GetAggregate(&ctx, req, &resp).error_code(), kNotFound);
  }
  {
    Ctx ctx;
    v1::QueryFilterRequest req;
    req.set_multilog("flows");
    req.set_filter("http");
    req.set_snapshot_id("before");
    auto reader = stub->QueryFilter(&ctx, req);
    v1::QueryResponse r;
    EXPECT_FALSE(reader->Read(&r)) << "no answer over other data";
    EXPECT_EQ(reader->Finish().error_code(), kNotFound);
  }
  {
    Ctx ctx;
    v1::ExecuteFilterRequest req;
    req.set_multilog("flows");
    req.set_expression("port == 80");
    req.set_snapshot_id("before");
    auto reader = stub->ExecuteFilter(&ctx, req);
    v1::QueryResponse r;
    EXPECT_FALSE(reader->Read(&r));
    EXPECT_EQ(reader->Finish().error_code(), kNotFound);
  }
  {
    Ctx ctx;
    v1::GetTopKRequest req;
    req.set_multilog("flows");
    req.add_key_columns("port");
    req.set_k(10);
    req.set_snapshot_id("before");
    v1::GetTopKResponse resp;
    EXPECT_EQ(stub->GetTopK(&ctx, req, &resp).error_code(), kNotFound);
  }
  {
    Ctx ctx;
    v1::GetGroupByRequest req;
    req.set_multilog("flows");
    req.add_key_columns("port");
    req.add_aggregates("COUNT()");
    req.set_snapshot_id("before");
    v1::GetGroupByResponse resp;
    EXPECT_EQ(stub->GetGroupBy(&ctx, req, &resp).error_code(), kNotFound);
  }
  {
    Ctx ctx;
    v1::ListSnapshotsResponse resp;
    ASSERT_TRUE(
        stub->ListSnapshots(&ctx, v1::ListSnapshotsRequest(), &resp).ok());
    EXPECT_EQ(resp.snapshots_size(), 0);
  }
}

// ---------------------------------------------------------------------------
// Programs

v1::ApplyProgramResponse Apply(Stub& stub, const std::string& name,
                               uint64_t version, const std::string& program,
                               bool dry_run, grpc::Status* status,
                               std::optional<uint64_t> if_version = {}) {
  Ctx ctx;
  v1::ApplyProgramRequest req;
  req.set_name(name);
  req.set_version(version);
  req.set_program(program);
  req.set_dry_run(dry_run);
  if (if_version.has_value()) req.set_if_version(*if_version);
  v1::ApplyProgramResponse resp;
  *status = stub.ApplyProgram(&ctx, req, &resp);
  return resp;
}

// Everything the agent has: its control objects and its programs.
std::string State(Stub& stub) {
  std::string out;
  {
    Ctx ctx;
    v1::ListControlRequest req;
    req.set_multilog("flows");
    v1::ListControlResponse resp;
    EXPECT_TRUE(stub.ListControl(&ctx, req, &resp).ok());
    out += resp.DebugString();
  }
  {
    Ctx ctx;
    v1::ListProgramsResponse resp;
    EXPECT_TRUE(stub.ListPrograms(&ctx, v1::ListProgramsRequest(), &resp).ok());
    for (const v1::ProgramInfo& p : resp.programs()) {
      out += p.name() + " v" + std::to_string(p.version()) + "\n";
    }
  }
  return out;
}

uint64_t CoversFrom(Stub& stub, const std::string& aggregate, uint64_t* count) {
  Ctx ctx;
  v1::GetAggregateRequest req;
  req.set_multilog("flows");
  req.set_name(aggregate);
  v1::GetAggregateResponse resp;
  grpc::Status s = stub.GetAggregate(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << aggregate << ": " << s.error_message();
  *count = resp.count();
  return resp.covers_from();
}

constexpr char kWebV1[] = R"toml([[multilog]]
name = "flows"
filters = [
  { name = "web_http", expression = "port == 80" },
  { name = "web_tls", expression = "port == 443" },
]
aggregates = [
  { name = "web_http_n", filter = "web_http", expression = "COUNT()" },
  { name = "web_tls_n", filter = "web_tls", expression = "COUNT()" },
]
)toml";

// Version 2 changes only the TLS filter.
constexpr char kWebV2[] = R"toml([[multilog]]
name = "flows"
filters = [
  { name = "web_http", expression = "port == 80" },
  { name = "web_tls", expression = "port == 443 && bytes > 100" },
]
aggregates = [
  { name = "web_http_n", filter = "web_http", expression = "COUNT()" },
  { name = "web_tls_n", filter = "web_tls", expression = "COUNT()" },
]
)toml";

TEST(FleetProcessTest, ProgramsAreCheckedWholeAppliedAllOrNothingVersioned) {
  TempDir dir;
  AgentProcess agent(dir.path(), FlowsConfig());
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
  auto stub = agent.Stub();
  const std::string initial = State(*stub);
  grpc::Status s;

  // A dry run with three problems names all three and changes nothing.
  constexpr char kThreeErrors[] = R"toml([[multilog]]
name = "flows"
filters = [{ name = "bad_column", expression = "prot == 80" }]
aggregates = [{ name = "bad_filter", filter = "no_such_filter", expression = "COUNT()" }]
triggers = [{ name = "bad_aggregate", condition = "no_such_aggregate > 1" }]
)toml";
  v1::ApplyProgramResponse r =
      Apply(*stub, "broken", 1, kThreeErrors, true, &s);
  EXPECT_FALSE(r.applied());
  std::string errors;
  for (const std::string& e : r.errors()) errors += e + "\n";
  EXPECT_GE(r.errors_size(), 3) << errors;
  EXPECT_NE(errors.find("prot"), std::string::npos) << errors;
  EXPECT_NE(errors.find("no_such_filter"), std::string::npos) << errors;
  EXPECT_NE(errors.find("no_such_aggregate"), std::string::npos) << errors;
  EXPECT_EQ(State(*stub), initial);

  // An apply whose last statement fails leaves no trace: its index,
  // filter and aggregate are not there either.
  constexpr char kLastFails[] = R"toml([[multilog]]
name = "flows"
indexes = ["bytes"]
filters = [{ name = "big", expression = "bytes > 1000" }]
aggregates = [{ name = "big_n", filter = "big", expression = "COUNT()" }]
triggers = [{ name = "too_big", condition = "big_n_typo > 1" }]
)toml";
  r = Apply(*stub, "last_fails", 1, kLastFails, false, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("big_n_typo"), std::string::npos)
      << s.error_message();
  EXPECT_FALSE(r.applied());
  EXPECT_EQ(State(*stub), initial);

  // Version 1, data, then version 2: the unchanged statements keep their
  // data and covers_from; the changed ones start again.
  r = Apply(*stub, "web", 1, kWebV1, false, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(r.applied()) << r.DebugString();
  std::vector<Flow> flows;
  for (int i = 0; i < 1000; ++i) {
    flows.push_back(Flow{0, static_cast<uint32_t>(i), kPorts[i % 2]});
  }
  ASSERT_TRUE(AppendNow(*stub, "flows", flows).ok());
  uint64_t http_n = 0, tls_n = 0;
  const uint64_t http_from = CoversFrom(*stub, "web_http_n", &http_n);
  const uint64_t tls_from = CoversFrom(*stub, "web_tls_n", &tls_n);
  EXPECT_EQ(http_n, 500u);
  EXPECT_EQ(tls_n, 500u);

  r = Apply(*stub, "web", 2, kWebV2, false, &s, /*if_version=*/1);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(r.applied()) << r.DebugString();
  EXPECT_EQ(r.previous_version(), 1u);
  uint64_t http_n2 = 0, tls_n2 = 0;
  EXPECT_EQ(CoversFrom(*stub, "web_http_n", &http_n2), http_from);
  EXPECT_EQ(http_n2, 500u) << "the unchanged aggregate kept its data";
  EXPECT_GT(CoversFrom(*stub, "web_tls_n", &tls_n2), tls_from)
      << "the changed filter's aggregate was replaced";
  EXPECT_EQ(tls_n2, 0u);

  // Optimistic concurrency: a stale if_version changes nothing.
  const std::string at_v2 = State(*stub);
  Apply(*stub, "web", 3, kWebV1, false, &s, /*if_version=*/1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << s.error_message();
  EXPECT_EQ(State(*stub), at_v2);
}

// ---------------------------------------------------------------------------
// Mergeable answers across two agents

HistogramBins BinsOf(const v1::MergeableHistogram& m) {
  HistogramBins part;
  part.layout = m.layout();
  for (int i = 0; i < m.bins_size() && i < m.counts_size(); ++i) {
    part.bins.emplace_back(m.bins(i), m.counts(i));
  }
  part.count = m.count();
  part.sum = m.sum();
  part.min = m.min();
  part.max = m.max();
  part.integral = m.integral();
  return part;
}

TEST(FleetProcessTest, TwoAgentsBinsMergeIntoTheQuantileOfTheUnion) {
  TempDir dir;
  AgentProcess one(dir.path(), FlowsConfig());
  AgentProcess two(dir.path(), FlowsConfig());
  ASSERT_TRUE(one.AwaitHealthy()) << one.err();
  ASSERT_TRUE(two.AwaitHealthy()) << two.err();
  std::vector<std::unique_ptr<Stub>> stubs;
  stubs.push_back(one.Stub());
  stubs.push_back(two.Stub());

  // Two different distributions: small packets on one host, a heavy tail
  // on the other.
  std::mt19937_64 rng(5);
  std::vector<double> all;
  for (size_t h = 0; h < 2; ++h) {
    std::vector<Flow> flows;
    for (int i = 0; i < 20000; ++i) {
      uint32_t bytes;
      if (h == 0) {
        bytes = 40 + static_cast<uint32_t>(rng() % 200);
      } else {
        std::lognormal_distribution<double> tail(7, 1.5);
        bytes = static_cast<uint32_t>(std::min(tail(rng), 4e9));
      }
      flows.push_back(Flow{0, bytes, 80});
      all.push_back(bytes);
      if (flows.size() == 4000) {
        grpc::Status s = AppendNow(*stubs[h], "flows", flows);
        ASSERT_TRUE(s.ok()) << s.error_message();
        flows.clear();
      }
    }
  }
  // One snapshot on both, as a coordinator takes it.
  for (auto& stub : stubs) {
    v1::PrepareSnapshotResponse prepared;
    ASSERT_TRUE(Prepare(*stub, "merge", 1000, &prepared).ok());
  }
  for (auto& stub : stubs) ASSERT_TRUE(Commit(*stub, "merge").ok());

  HistogramMerger merger;
  for (auto& stub : stubs) {
    Ctx ctx;
    v1::GetAggregateRequest req;
    req.set_multilog("flows");
    req.set_name("p99");
    req.set_with_bins(true);
    req.set_snapshot_id("merge");
    v1::GetAggregateResponse resp;
    grpc::Status s = stub->GetAggregate(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_TRUE(resp.has_bins());
    EXPECT_EQ(resp.function(), "QUANTILE");
    EXPECT_EQ(resp.quantile(), 0.99);
    EXPECT_EQ(resp.bins().layout(), Histogram::kLayout);
    Status added = merger.Add(BinsOf(resp.bins()));
    ASSERT_TRUE(added.ok()) << added.ToString();
  }
  ASSERT_EQ(merger.merged().count(), all.size());
  std::sort(all.begin(), all.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = all[Histogram::NearestRank(q, all.size()) - 1];
    EXPECT_LE(std::abs(merger.Quantile(q) - exact),
              Histogram::kMaxRelativeError * exact)
        << "q " << q << ": merged " << merger.Quantile(q) << ", exact "
        << exact;
  }
  // Neither host alone has the union's p99.
  EXPECT_GT(merger.Quantile(0.99), 240);
}

// ---------------------------------------------------------------------------
// Alert cursors

std::string DurableAlertsConfig(const fs::path& dir) {
  return R"toml([[multilog]]
name = "flows"
schema = "bytes:u32, port:u16"
storage = "durable"
directory = ")toml" +
         (dir / "flows").string() + R"toml("
block_records = 4096
preallocate_bytes = "4MiB"
filters = [{ name = "every", expression = "bytes >= 0" }]
aggregates = [{ name = "n", filter = "every", expression = "COUNT()" }]
triggers = [{ name = "busy", condition = "n > 0", period = "50ms" }]
)toml";
}

struct Seen {
  uint64_t incarnation;
  uint64_t sequence;
};

// Reads alerts from `reader` until `want` returns true (or 20 s pass).
void Collect(grpc::ClientReader<v1::AlertEvent>* reader,
             std::vector<Seen>* seen, bool* reset, uint64_t* lost,
             const std::function<bool()>& want) {
  v1::AlertEvent e;
  const auto deadline = Clock::now() + 20s;
  while (!want() && Clock::now() < deadline && reader->Read(&e)) {
    *lost += e.lost();
    *reset = *reset || e.cursor_reset();
    if (e.has_alert()) {
      seen->push_back({e.alert().incarnation(), e.alert().sequence()});
    }
  }
}

TEST(FleetProcessTest, AlertCursorsSurviveARestartEveryAlertOnceInOrder) {
  TempDir dir;
  const std::string config = DurableAlertsConfig(dir.path());
  std::vector<Seen> seen;
  bool reset = false;
  uint64_t lost = 0;
  uint64_t first_incarnation = 0;
  {
    AgentProcess agent(dir.path(), config);
    ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
    auto stub = agent.Stub();
    Appender appender(stub.get());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    v1::SubscribeAlertsRequest req;
    req.set_since_ns(1);  // from the log's first alert
    auto reader = stub->SubscribeAlerts(&ctx, req);
    Collect(reader.get(), &seen, &reset, &lost,
            [&] { return seen.size() >= 5; });
    ctx.TryCancel();
    ASSERT_GE(seen.size(), 5u) << agent.err();
    first_incarnation = seen.front().incarnation;
    // More alerts fire after the cursor, before the agent stops.
    std::this_thread::sleep_for(300ms);
    appender.Stop();
    agent.Signal(SIGTERM);
    ASSERT_EQ(agent.Wait(), 0) << agent.err();
  }
  const Seen cursor = seen.back();
  AgentProcess again(dir.path(), config);
  ASSERT_TRUE(again.AwaitHealthy()) << again.err();
  auto stub = again.Stub();
  Appender appender(stub.get());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::SubscribeAlertsRequest req;
  v1::AlertCursor& after = (*req.mutable_after())["flows"];
  after.set_incarnation(cursor.incarnation);
  after.set_sequence(cursor.sequence);
  auto reader = stub->SubscribeAlerts(&ctx, req);
  const size_t before = seen.size();
  Collect(reader.get(), &seen, &reset, &lost, [&] {
    return std::count_if(seen.begin() + before, seen.end(), [&](auto& s) {
             return s.incarnation != first_incarnation;
           }) >= 5;
  });
  ctx.TryCancel();
  appender.Stop();

  EXPECT_FALSE(reset) << "the cursor was known after the restart";
  EXPECT_EQ(lost, 0u);
  ASSERT_GT(seen.size(), before + 5) << again.err();
  bool replayed_old = false;
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].sequence, i + 1) << "every alert once, in order";
    if (i > 0) {
      EXPECT_GE(seen[i].incarnation, seen[i - 1].incarnation);
    }
    replayed_old = replayed_old ||
                   (i >= before && seen[i].incarnation == first_incarnation);
  }
  EXPECT_TRUE(replayed_old)
      << "alerts raised after the cursor, before the stop, came back";
  EXPECT_GT(seen.back().incarnation, first_incarnation);
}

}  // namespace
}  // namespace loupe::agent
