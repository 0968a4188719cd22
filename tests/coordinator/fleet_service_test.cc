// The coordinator's snapshot and network-wide query RPCs, through a real
// in-process Coordinator (its gRPC server, health poller and state
// directory) over in-process agents on loopback: CreateSnapshot during
// appends and the merged answers at it against brute force over each
// host's records below its tail; a query's own snapshot is released; an
// agent that is gone fails a snapshot or, with allow_partial, is left out
// and the answers say partial; the limits; and a restarted coordinator
// that still answers its committed snapshots and releases the one a
// previous run left unfinished.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/coordinator.h"
#include "coordinator/proto/coordinator.grpc.pb.h"
#include "multilog/atomic_file.h"
#include "tests/support/loopback_agent.h"
#include "tests/support/loopback_coordinator.h"

namespace loupe::coordinator {
namespace {

using namespace std::chrono_literals;  // NOLINT(build/namespaces)
using test_support::LoopbackAgent;
using ::testing::HasSubstr;

// timestamp 8, src:u16 at 8, bytes:u32 at 10.
constexpr char kSchema[] = "src:u16, bytes:u32";
constexpr size_t kRecordSize = 14;

std::string Records(uint64_t first, int n, uint16_t host) {
  std::string out(kRecordSize * n, '\0');
  for (int i = 0; i < n; ++i) {
    const uint64_t k = first + static_cast<uint64_t>(i);
    const uint64_t ts = 1'000'000 + k;
    // Sources skewed per host, so that the top k is not every host's own.
    const uint16_t src = static_cast<uint16_t>((k * 7 + host * 3) % 23);
    const uint32_t bytes = static_cast<uint32_t>(40 + (k % 1460));
    char* r = out.data() + i * kRecordSize;
    std::memcpy(r, &ts, 8);
    std::memcpy(r + 8, &src, 2);
    std::memcpy(r + 10, &bytes, 4);
  }
  return out;
}

struct Truth {
  uint64_t records = 0;
  uint64_t big = 0;  // bytes >= 1000
  double big_bytes = 0;
  std::map<uint16_t, uint64_t> per_src;
  struct Group {
    uint64_t n = 0;
    double sum = 0, min = 1e18, max = 0;
  };
  std::map<uint16_t, Group> groups;  // every record, by src
};

void Add(const std::string& r, Truth* t) {
  uint16_t src;
  uint32_t bytes;
  std::memcpy(&src, r.data() + 8, 2);
  std::memcpy(&bytes, r.data() + 10, 4);
  ++t->records;
  ++t->per_src[src];
  Truth::Group& g = t->groups[src];
  ++g.n;
  g.sum += bytes;
  g.min = std::min<double>(g.min, bytes);
  g.max = std::max<double>(g.max, bytes);
  if (bytes >= 1000) {
    ++t->big;
    t->big_bytes += bytes;
  }
}

class FleetServiceTest : public ::testing::Test {
 protected:
  static constexpr int kAgents = 3;

  void SetUp() override {
    char dir[] = "/tmp/loupe-fleet-service-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    state_ = dir;
    for (int i = 0; i < kAgents; ++i) {
      agents_.push_back(
          std::make_unique<LoopbackAgent>("hv" + std::to_string(i)));
      LoopbackAgent& a = *agents_.back();
      a.Create("flows", kSchema);
      a.Add("flows", v1::CONTROL_KIND_FILTER, "big", "bytes >= 1000");
      a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "n", "COUNT()", "big");
      a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "b", "SUM(bytes)", "big");
      a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "p99", "P99(bytes)", "big");
      a.Append("flows", Records(0, 1000 * (i + 1), static_cast<uint16_t>(i)));
    }
    StartCoordinator();
  }

  void TearDown() override {
    StopAppending();
    coordinator_.reset();
    agents_.clear();
    std::filesystem::remove_all(state_);
  }

  void StartCoordinator() {
    Result<std::unique_ptr<Coordinator>> c = Coordinator::Start(
        test_support::LoopbackCoordinatorConfig(state_, agents_));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coordinator_ = std::move(*c);
    stub_ = test_support::CoordinatorStub(*coordinator_);
    AwaitUp(kAgents);
  }

  // Waits until `n` agents are UP (or fewer are DOWN than kAgents - n).
  void AwaitUp(uint32_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      v1::ListAgentsRequest req;
      v1::ListAgentsResponse resp;
      grpc::ClientContext ctx;
      ASSERT_TRUE(stub_->ListAgents(&ctx, req, &resp).ok());
      if (resp.up() == n && resp.up() + resp.down() == kAgents) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << resp.up() << " up, " << resp.down() << " down";
      std::this_thread::sleep_for(20ms);
    }
  }

  // One thread appending to every agent in turn until StopAppending.
  void StartAppending() {
    appender_ = std::thread([this] {
      for (uint64_t k = 100'000; !stop_.load(); k += 50) {
        for (int i = 0; i < kAgents; ++i) {
          v1::AppendBatchRequest req;
          req.set_multilog("flows");
          req.set_records(Records(k, 50, static_cast<uint16_t>(i)));
          v1::AppendResponse resp;
          grpc::ClientContext ctx;
          if (!agents_[i]->stub().AppendBatch(&ctx, req, &resp).ok()) return;
        }
      }
    });
  }
  void StopAppending() {
    stop_.store(true);
    if (appender_.joinable()) appender_.join();
  }

  grpc::Status Create(const std::string& id, v1::FleetSnapshot* out,
                      bool allow_partial = false,
                      const std::string& selector = "") {
    v1::CreateSnapshotRequest req;
    req.set_id(id);
    req.set_selector(selector);
    req.set_lease_ms(2000);
    req.set_keep_s(60);
    req.set_allow_partial(allow_partial);
    v1::CreateSnapshotResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateSnapshot(&ctx, req, &resp);
    if (out != nullptr) *out = resp.snapshot();
    return s;
  }

  grpc::Status Aggregate(const std::string& name, const std::string& id,
                         v1::FleetAggregateResponse* out,
                         bool allow_partial = false) {
    v1::FleetAggregateRequest req;
    req.mutable_fleet()->set_snapshot_id(id);
    req.mutable_fleet()->set_allow_partial(allow_partial);
    req.mutable_request()->set_multilog("flows");
    req.mutable_request()->set_name(name);
    grpc::ClientContext ctx;
    return stub_->GetAggregate(&ctx, req, out);
  }

  grpc::Status TopK(const std::string& id, uint32_t k,
                    v1::FleetTopKResponse* out) {
    v1::FleetTopKRequest req;
    req.mutable_fleet()->set_snapshot_id(id);
    req.mutable_request()->set_multilog("flows");
    req.mutable_request()->add_key_columns("src");
    req.mutable_request()->set_k(k);
    grpc::ClientContext ctx;
    return stub_->GetTopK(&ctx, req, out);
  }

  // Brute force over agent i's records below its tail in `id` ("" = now).
  Truth BruteForce(int i, const std::string& id, uint64_t* tail = nullptr) {
    Truth t;
    uint64_t offset = 0;
    uint64_t snapshot = 0;
    for (;;) {
      v1::ReadRequest req;
      req.set_multilog("flows");
      req.set_offset(offset);
      req.set_count(65536);
      req.set_snapshot_id(id);
      req.set_snapshot(snapshot);
      v1::ReadResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = agents_[i]->stub().Read(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      snapshot = resp.snapshot();
      if (tail != nullptr) *tail = snapshot;
      for (uint64_t r = 0; r < resp.count(); ++r) {
        Add(resp.records().substr(r * kRecordSize, kRecordSize), &t);
      }
      if (resp.count() == 0) break;
      offset = resp.next_offset();
      if (id.empty()) req.set_snapshot(snapshot);
    }
    return t;
  }

  // Expected top k of the union of `truths`, decreasing, ties by key.
  static std::vector<std::pair<uint16_t, uint64_t>> TopOf(
      const std::vector<Truth>& truths, size_t k) {
    std::map<uint16_t, uint64_t> all;
    for (const Truth& t : truths) {
      for (const auto& [src, n] : t.per_src) all[src] += n;
    }
    std::vector<std::pair<uint16_t, uint64_t>> v(all.begin(), all.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (v.size() > k) v.resize(k);
    return v;
  }

  static void ExpectTop(
      const v1::FleetTopKResponse& got,
      const std::vector<std::pair<uint16_t, uint64_t>>& want) {
    ASSERT_EQ(got.top_size(), static_cast<int>(want.size()));
    for (size_t j = 0; j < want.size(); ++j) {
      EXPECT_EQ(got.top(static_cast<int>(j)).value(),
                static_cast<double>(want[j].second))
          << "rank " << j;
      EXPECT_EQ(got.top(static_cast<int>(j)).count(), want[j].second);
    }
  }

  size_t AgentSnapshots(int i) {
    v1::ListSnapshotsRequest req;
    v1::ListSnapshotsResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(agents_[i]->stub().ListSnapshots(&ctx, req, &resp).ok());
    return static_cast<size_t>(resp.snapshots_size());
  }

  size_t JournalFiles() {
    size_t n = 0;
    for (const auto& e :
         std::filesystem::directory_iterator(state_ + "/snapshots")) {
      n += e.path().extension() == ".snapshot";
    }
    return n;
  }

  std::string state_;
  std::vector<std::unique_ptr<LoopbackAgent>> agents_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::thread appender_;
  std::atomic<bool> stop_{false};
};

TEST_F(FleetServiceTest, MergedAnswersAtASnapshotEqualBruteForce) {
  StartAppending();
  std::this_thread::sleep_for(50ms);
  v1::FleetSnapshot snap;
  grpc::Status s = Create("q1", &snap);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(snap.id(), "coord:q1");
  EXPECT_TRUE(snap.committed());
  EXPECT_FALSE(snap.partial());
  ASSERT_EQ(snap.hosts_size(), kAgents);
  EXPECT_GT(snap.settled_ns(), 0u);
  EXPECT_GE(snap.commit_ns(), snap.t0_ns());
  EXPECT_EQ(snap.expires_ns(), snap.commit_ns() + 60'000'000'000ull);
  for (const v1::FleetSnapshotHost& h : snap.hosts()) {
    EXPECT_EQ(h.state(), v1::FLEET_HOST_STATE_COMMITTED) << h.agent();
    ASSERT_EQ(h.tails_size(), 1);
    EXPECT_GT(h.rtt_ns(), 0u);
  }
  EXPECT_EQ(JournalFiles(), 1u);

  // The appends go on; every answer at the snapshot is that of the
  // records below each host's tail.
  std::this_thread::sleep_for(50ms);
  std::vector<Truth> truths;
  double big = 0, big_bytes = 0;
  for (int i = 0; i < kAgents; ++i) {
    uint64_t tail = 0;
    truths.push_back(BruteForce(i, "coord:q1", &tail));
    EXPECT_EQ(tail, snap.hosts(i).tails(0).tail());
    EXPECT_EQ(truths.back().records * kRecordSize, tail);
    big += static_cast<double>(truths.back().big);
    big_bytes += truths.back().big_bytes;
  }
  v1::FleetAggregateResponse n, b, p99;
  s = Aggregate("n", "q1", &n);  // the short id is accepted
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(n.merged().value(), big);
  EXPECT_EQ(n.snapshot_id(), "coord:q1");
  EXPECT_EQ(n.settled_ns(), snap.settled_ns());
  EXPECT_FALSE(n.partial());
  ASSERT_EQ(n.hosts_size(), kAgents);
  for (int i = 0; i < kAgents; ++i) {
    EXPECT_EQ(n.hosts(i).aggregate().value(),
              static_cast<double>(truths[i].big));
    EXPECT_EQ(n.hosts(i).clock_offset_ns(), snap.hosts(i).clock_offset_ns());
  }
  ASSERT_TRUE(Aggregate("b", "coord:q1", &b).ok());
  EXPECT_EQ(b.merged().value(), big_bytes);
  ASSERT_TRUE(Aggregate("p99", "coord:q1", &p99).ok());
  EXPECT_TRUE(p99.merged().has_value());
  EXPECT_EQ(p99.merged().count(), static_cast<uint64_t>(big));
  EXPECT_FALSE(p99.merged().has_bins());  // not asked for

  v1::FleetTopKResponse top;
  s = TopK("coord:q1", 5, &top);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ExpectTop(top, TopOf(truths, 5));
  EXPECT_EQ(top.snapshot_id(), "coord:q1");
  uint64_t records = 0;
  for (const Truth& t : truths) records += t.records;
  EXPECT_EQ(top.records(), records);
  StopAppending();

  // Without a snapshot, GetTopK takes one for the query and releases it.
  std::vector<Truth> now;
  for (int i = 0; i < kAgents; ++i) now.push_back(BruteForce(i, ""));
  v1::FleetTopKResponse latest;
  s = TopK("", 3, &latest);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ExpectTop(latest, TopOf(now, 3));
  EXPECT_THAT(latest.snapshot_id(), HasSubstr("coord:"));
  EXPECT_NE(latest.snapshot_id(), "coord:q1");
  for (int i = 0; i < kAgents; ++i) EXPECT_EQ(AgentSnapshots(i), 1u);
  {
    v1::ListFleetSnapshotsRequest req;
    v1::ListFleetSnapshotsResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListSnapshots(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.snapshots_size(), 1);
    EXPECT_EQ(resp.snapshots(0).id(), "coord:q1");
  }

  // Release: gone from every agent, the journal and the coordinator.
  v1::ReleaseFleetSnapshotRequest rel;
  rel.set_id("q1");
  v1::ReleaseFleetSnapshotResponse released;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ReleaseSnapshot(&ctx, rel, &released).ok());
  EXPECT_EQ(released.failed_size(), 0);
  for (int i = 0; i < kAgents; ++i) EXPECT_EQ(AgentSnapshots(i), 0u);
  EXPECT_EQ(JournalFiles(), 0u);
  v1::FleetAggregateResponse gone;
  s = Aggregate("n", "q1", &gone);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("released"));
}

TEST_F(FleetServiceTest, ASelectorPicksTheHostsOfASnapshot) {
  v1::FleetSnapshot snap;
  ASSERT_TRUE(Create("r2", &snap, false, "rack=r2").ok());
  ASSERT_EQ(snap.hosts_size(), 2);
  EXPECT_EQ(snap.hosts(0).agent(), "hv1");
  EXPECT_EQ(snap.selector(), "rack=r2");
  EXPECT_EQ(AgentSnapshots(0), 0u);
  v1::FleetAggregateResponse n;
  ASSERT_TRUE(Aggregate("n", "r2", &n).ok());
  EXPECT_EQ(n.hosts_size(), 2);
  EXPECT_EQ(n.merged().value(),
            static_cast<double>(BruteForce(1, "").big + BruteForce(2, "").big));
  // A host the snapshot does not hold is not answered at it.
  v1::FleetAggregateRequest req;
  req.mutable_fleet()->set_snapshot_id("r2");
  req.mutable_fleet()->set_selector("host=hv0");
  req.mutable_request()->set_multilog("flows");
  req.mutable_request()->set_name("n");
  v1::FleetAggregateResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub_->GetAggregate(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("hv0"));
}

TEST_F(FleetServiceTest, AnAgentThatIsGoneFailsOrIsLeftOut) {
  agents_[2]->Stop();
  AwaitUp(2);
  v1::FleetSnapshot snap;
  grpc::Status s = Create("all", &snap);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(), HasSubstr("\"hv2\" is DOWN"));
  EXPECT_EQ(AgentSnapshots(0), 0u);  // nothing was asked

  s = Create("most", &snap, /*allow_partial=*/true);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(snap.committed());
  EXPECT_TRUE(snap.partial());
  ASSERT_EQ(snap.hosts_size(), 3);
  EXPECT_EQ(snap.hosts(2).agent(), "hv2");
  EXPECT_EQ(snap.hosts(2).state(), v1::FLEET_HOST_STATE_EXCLUDED);
  EXPECT_THAT(snap.problem(), HasSubstr("hv2"));

  // At the snapshot: its two hosts, and partial.
  v1::FleetAggregateResponse n;
  ASSERT_TRUE(Aggregate("n", "most", &n).ok());
  EXPECT_EQ(n.hosts_size(), 2);
  EXPECT_TRUE(n.partial());
  EXPECT_EQ(n.merged().value(),
            static_cast<double>(BruteForce(0, "").big + BruteForce(1, "").big));
  // Without a snapshot: refused, or partial with allow_partial.
  s = Aggregate("n", "", &n);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  v1::FleetAggregateResponse some;
  ASSERT_TRUE(Aggregate("n", "", &some, true).ok());
  EXPECT_TRUE(some.partial());
  ASSERT_EQ(some.excluded_size(), 1);
  EXPECT_THAT(some.excluded(0), HasSubstr("hv2"));
}

TEST_F(FleetServiceTest, RefusesWhatItCannotDo) {
  v1::FleetSnapshot snap;
  EXPECT_EQ(Create("has space", &snap).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create("a:b", &snap).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create(std::string(101, 'x'), &snap).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status bad = Create("x", &snap, false, "rak=r2");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("did you mean 'rack'"));
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(Create("s" + std::to_string(i), &snap).ok());
  }
  EXPECT_EQ(Create("s0", &snap).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  grpc::Status full = Create("s8", &snap);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(full.error_message(), HasSubstr("release one"));

  v1::FleetAggregateResponse n;
  EXPECT_EQ(Aggregate("n", "nope", &n).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::FleetAggregateRequest req;
  req.mutable_request()->set_multilog("flows");
  req.mutable_request()->set_name("n");
  req.mutable_request()->set_snapshot(140);
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->GetAggregate(&ctx, req, &n);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("fleet.snapshot_id"));
  }
  req.mutable_request()->set_snapshot(0);
  req.mutable_fleet()->set_timeout_ms(60'001);
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->GetAggregate(&ctx, req, &n).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // An agent's error names the agent.
  req.mutable_fleet()->set_timeout_ms(0);
  req.mutable_request()->set_name("nosuch");
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->GetAggregate(&ctx, req, &n);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(s.error_message(), HasSubstr("agent \"hv0\""));
  }
}

TEST_F(FleetServiceTest,
       ARestartedCoordinatorKeepsCommittedAndReleasesTheRest) {
  v1::FleetSnapshot kept;
  ASSERT_TRUE(Create("kept", &kept).ok());
  coordinator_.reset();
  // What a coordinator that died between prepare and commit leaves: hv0
  // prepared (its API capped) and an unfinished journal entry naming it.
  {
    v1::PrepareSnapshotRequest req;
    req.set_id("coord:crashed");
    req.set_lease_ms(10'000);
    v1::PrepareSnapshotResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(agents_[0]->stub().PrepareSnapshot(&ctx, req, &resp).ok());
    v1::FleetSnapshot unfinished;
    unfinished.set_id("coord:crashed");
    unfinished.add_hosts()->set_agent("hv0");
    unfinished.mutable_hosts(0)->set_state(v1::FLEET_HOST_STATE_NO_ANSWER);
    std::string hex;
    for (unsigned char c : std::string("coord:crashed")) {
      static constexpr char kDigits[] = "0123456789abcdef";
      hex += kDigits[c >> 4];
      hex += kDigits[c & 15];
    }
    ASSERT_TRUE(ReplaceFile(state_ + "/snapshots/" + hex + ".snapshot",
                            unfinished.SerializeAsString())
                    .ok());
    ASSERT_TRUE(ReplaceFile(state_ + "/snapshots/junk.snapshot", "junk").ok());
  }
  EXPECT_EQ(AgentSnapshots(0), 2u);
  StartCoordinator();
  // The unfinished one is released on hv0 at start; the committed one is
  // answered as before; the junk is left alone.
  EXPECT_EQ(AgentSnapshots(0), 1u);
  EXPECT_TRUE(std::filesystem::exists(state_ + "/snapshots/junk.snapshot"));
  v1::GetSnapshotRequest req;
  req.set_id("kept");
  v1::GetSnapshotResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetSnapshot(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.snapshot().SerializeAsString(), kept.SerializeAsString());
  v1::FleetAggregateResponse n;
  ASSERT_TRUE(Aggregate("n", "kept", &n).ok());
  double big = 0;
  for (int i = 0; i < kAgents; ++i) {
    big += static_cast<double>(BruteForce(i, "").big);
  }
  EXPECT_EQ(n.merged().value(), big);
}

TEST_F(FleetServiceTest, GroupByRowsAndStatsAreMergedPerKey) {
  StartAppending();
  std::this_thread::sleep_for(30ms);
  v1::FleetSnapshot snap;
  ASSERT_TRUE(Create("g", &snap).ok());
  StopAppending();
  std::map<uint16_t, Truth::Group> want;
  uint64_t records = 0;
  for (int i = 0; i < kAgents; ++i) {
    const Truth t = BruteForce(i, "coord:g");
    records += t.records;
    for (const auto& [src, g] : t.groups) {
      Truth::Group& w = want[src];
      w.n += g.n;
      w.sum += g.sum;
      w.min = std::min(w.min, g.min);
      w.max = std::max(w.max, g.max);
    }
  }
  auto group_by = [&](uint32_t limit, std::vector<std::string> aggregates,
                      v1::FleetGroupByResponse* out) {
    v1::FleetGroupByRequest req;
    req.mutable_fleet()->set_snapshot_id("g");
    v1::GetGroupByRequest* one = req.mutable_request();
    one->set_multilog("flows");
    one->add_key_columns("src");
    for (const std::string& a : aggregates) one->add_aggregates(a);
    one->set_limit(limit);
    grpc::ClientContext ctx;
    return stub_->GetGroupBy(&ctx, req, out);
  };
  v1::FleetGroupByResponse all;
  grpc::Status s =
      group_by(0, {"COUNT()", "SUM(bytes)", "MIN(bytes)", "MAX(bytes)"}, &all);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(all.merged().rows_size(), static_cast<int>(want.size()));
  EXPECT_EQ(all.merged().groups(), want.size());
  EXPECT_FALSE(all.merged().truncated());
  EXPECT_EQ(all.merged().records(), records);
  EXPECT_EQ(all.hosts_size(), kAgents);
  int r = 0;
  for (const auto& [src, g] : want) {  // numeric key order: 9 before 10
    const v1::GroupByRow& row = all.merged().rows(r++);
    ASSERT_EQ(row.key().values(0), std::to_string(src));
    EXPECT_EQ(row.count(), g.n);
    EXPECT_EQ(row.values(0), static_cast<double>(g.n));
    EXPECT_EQ(row.values(1), g.sum);
    EXPECT_EQ(row.values(2), g.min);
    EXPECT_EQ(row.values(3), g.max);
  }
  v1::FleetGroupByResponse cut;
  ASSERT_TRUE(group_by(5, {"COUNT()"}, &cut).ok());
  EXPECT_EQ(cut.merged().rows_size(), 5);
  EXPECT_TRUE(cut.merged().truncated());
  EXPECT_EQ(cut.merged().groups(), want.size());
  v1::FleetGroupByResponse q;
  s = group_by(0, {"P99(bytes)"}, &q);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("quantile"));

  v1::FleetStatsRequest req;
  v1::FleetStatsResponse stats;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Stats(&ctx, req, &stats).ok());
  ASSERT_EQ(stats.hosts_size(), kAgents);
  ASSERT_EQ(stats.multilogs_size(), 1);
  EXPECT_EQ(stats.multilogs(0).name(), "flows");
  uint64_t retained = 0;
  for (const v1::FleetHostStats& h : stats.hosts()) {
    ASSERT_EQ(h.stats().multilogs_size(), 1);
    retained += h.stats().multilogs(0).records();
  }
  EXPECT_EQ(stats.multilogs(0).records(), retained);
  EXPECT_GE(retained, records);
}

TEST_F(FleetServiceTest, RecordsMergeByTimestampAndPageAcrossHosts) {
  // Brute force: every big record of every host, by (timestamp, host).
  struct Seen {
    uint64_t ts;
    int host;
    uint64_t offset;
    bool operator==(const Seen&) const = default;
  };
  std::vector<Seen> want;
  for (int i = 0; i < kAgents; ++i) {
    const std::vector<std::string> records = agents_[i]->ReadAll("flows");
    for (size_t r = 0; r < records.size(); ++r) {
      uint64_t ts;
      uint32_t bytes;
      std::memcpy(&ts, records[r].data(), 8);
      std::memcpy(&bytes, records[r].data() + 10, 4);
      if (bytes >= 1000) want.push_back({ts, i, r * kRecordSize});
    }
  }
  std::stable_sort(want.begin(), want.end(), [](const Seen& a, const Seen& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.host < b.host;
  });
  ASSERT_GT(want.size(), 1000u);

  for (const bool execute : {true, false}) {
    SCOPED_TRACE(execute ? "ExecuteFilter" : "QueryFilter");
    std::vector<Seen> got;
    std::string token;
    int pages = 0;
    do {
      v1::FleetFilterRequest req;
      req.set_multilog("flows");
      req.set_filter(execute ? "bytes >= 1000" : "big");
      req.set_limit(500);
      req.set_page_token(token);
      req.set_decode(pages == 0);
      v1::FleetFilterResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = execute ? stub_->ExecuteFilter(&ctx, req, &resp)
                               : stub_->QueryFilter(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message()
                          << " page " << pages;
      ASSERT_LE(resp.records_size(), 500);
      EXPECT_EQ(resp.record_size(), kRecordSize);
      if (pages == 0) {
        ASSERT_GT(resp.records_size(), 0);
        EXPECT_EQ(resp.records(0).row().values_size(), 3);  // ts, src, bytes
      }
      for (const v1::FleetRecord& r : resp.records()) {
        const int host = r.agent()[2] - '0';
        got.push_back({r.timestamp_ns(), host, r.offset()});
      }
      token = resp.next_page_token();
      EXPECT_EQ(resp.truncated(), !token.empty());
      ++pages;
      ASSERT_LT(pages, 100);
    } while (!token.empty());
    EXPECT_EQ(pages, static_cast<int>((want.size() + 499) / 500));
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "pages merge every host's records by time";
  }

  // Tokens that are not this request's are refused.
  v1::FleetFilterRequest req;
  req.set_multilog("flows");
  req.set_filter("big");
  req.set_limit(10);
  v1::FleetFilterResponse first;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->QueryFilter(&ctx, req, &first).ok());
  }
  ASSERT_FALSE(first.next_page_token().empty());
  for (const std::string& bad : {std::string("zz"), std::string("abcd"),
                                 first.next_page_token() + "00"}) {
    req.set_page_token(bad);
    v1::FleetFilterResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->QueryFilter(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
  req.set_page_token(first.next_page_token());
  req.set_limit(11);  // another request
  {
    v1::FleetFilterResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->QueryFilter(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("another request"));
  }
  req.set_limit(100'001);
  req.set_page_token("");
  {
    v1::FleetFilterResponse resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->QueryFilter(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace loupe::coordinator
