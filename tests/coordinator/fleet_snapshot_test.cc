// TakeFleetSnapshot across in-process agents on loopback (real gRPC servers
// and registries): all committed at tails that answer on every host; the
// causal cut ("append x to A, acknowledged, then y to B" never gives y
// without x); an agent that is gone or hangs aborts the snapshot on every
// host within the lease (or, with allow_partial, is listed and left out).
#include "coordinator/fleet/fleet_snapshot.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/fleet/fan_out.h"
#include "tests/support/loopback_agent.h"

namespace loupe::coordinator {
namespace {

using namespace std::chrono_literals;  // NOLINT(build/namespaces)
using test_support::LoopbackAgent;

constexpr char kSchema[] = "seq:u64";
constexpr size_t kRecordSize = 16;

std::string Records(uint64_t first_seq, int n) {
  std::string out(kRecordSize * n, '\0');
  for (int i = 0; i < n; ++i) {
    const uint64_t ts = 1'000 + first_seq + i;
    const uint64_t seq = first_seq + i;
    std::memcpy(out.data() + i * kRecordSize, &ts, 8);
    std::memcpy(out.data() + i * kRecordSize + 8, &seq, 8);
  }
  return out;
}

struct Fleet {
  explicit Fleet(int n) {
    for (int i = 0; i < n; ++i) {
      agents.push_back(
          std::make_unique<LoopbackAgent>("hv" + std::to_string(i)));
      agents.back()->Create("events", kSchema);
    }
  }
  std::vector<FleetAgent> Handles() {
    std::vector<FleetAgent> out;
    for (size_t i = 0; i < agents.size(); ++i) {
      out.push_back({"hv" + std::to_string(i), &agents[i]->stub()});
    }
    return out;
  }
  std::vector<std::unique_ptr<LoopbackAgent>> agents;
};

// The read tail Read shows on `stub`, at `snapshot_id` if given.
uint64_t Tail(v1::Agent::Stub& stub, const std::string& snapshot_id = "") {
  v1::ReadRequest req;
  req.set_multilog("events");
  req.set_count(1);
  req.set_snapshot_id(snapshot_id);
  v1::ReadResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub.Read(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.snapshot();
}

size_t OpenSnapshots(v1::Agent::Stub& stub) {
  v1::ListSnapshotsResponse resp;
  grpc::ClientContext ctx;
  EXPECT_TRUE(stub.ListSnapshots(&ctx, v1::ListSnapshotsRequest(), &resp).ok());
  return static_cast<size_t>(resp.snapshots_size());
}

FleetSnapshotOptions Options(const std::string& id, uint32_t lease_ms = 500) {
  FleetSnapshotOptions o;
  o.id = id;
  o.lease_ms = lease_ms;
  o.keep_s = 60;
  return o;
}

TEST(FleetSnapshotTest, CommitsEveryHostAtTailsThatAnswerThere) {
  Fleet fleet(4);
  for (size_t i = 0; i < fleet.agents.size(); ++i) {
    fleet.agents[i]->Append("events", Records(0, 100 * (i + 1)));
  }
  Result<FleetSnapshot> snap =
      TakeFleetSnapshot(fleet.Handles(), Options("s1"));
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_TRUE(snap->committed) << snap->problem;
  EXPECT_FALSE(snap->partial);
  EXPECT_LE(snap->t0_ns, snap->commit_ns);
  ASSERT_EQ(snap->hosts.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const HostSnapshot& h = snap->hosts[i];
    EXPECT_EQ(h.agent, "hv" + std::to_string(i));
    EXPECT_EQ(h.state, HostSnapshotState::kCommitted) << h.error;
    ASSERT_EQ(h.tails.size(), 1u);
    EXPECT_EQ(h.tails[0].tail(), 100 * (i + 1) * kRecordSize);
    EXPECT_EQ(Tail(fleet.agents[i]->stub(), "s1"), h.tails[0].tail());
    // One clock on loopback: the offset is within the RTT's uncertainty.
    EXPECT_LE(std::abs(h.clock_offset_ns),
              static_cast<int64_t>(h.rtt_ns / 2 + 1'000'000))
        << h.clock_offset_ns << " rtt " << h.rtt_ns;
    EXPECT_GE(snap->settled_ns, snap->t0_ns - 1'000'000'000);
    EXPECT_LE(snap->settled_ns, h.agent_time_ns);
  }
  // Appends after the commit are not in it.
  fleet.agents[0]->Append("events", Records(100, 50));
  EXPECT_EQ(Tail(fleet.agents[0]->stub(), "s1"), 100 * kRecordSize);
  EXPECT_EQ(Tail(fleet.agents[0]->stub()), 150 * kRecordSize);
  EXPECT_TRUE(ReleaseFleetSnapshot(fleet.Handles(), "s1", 1s).empty());
  for (auto& a : fleet.agents) EXPECT_EQ(OpenSnapshots(a->stub()), 0u);
}

// x_i is appended to A and acknowledged before y_i goes to B: no snapshot
// may hold y_i without x_i (promise 3). It holds because an agent
// acknowledges an append only once no prepared snapshot hides it.
TEST(FleetSnapshotTest, ACausallyOrderedPairIsNeverCutInTheMiddle) {
  Fleet fleet(2);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> pairs{0};
  std::thread writer([&] {
    for (uint64_t seq = 0; !stop; ++seq) {
      for (auto& a : fleet.agents) {
        v1::AppendBatchRequest req;
        req.set_multilog("events");
        req.set_records(Records(seq, 1));
        v1::AppendResponse resp;
        grpc::ClientContext ctx;
        ASSERT_TRUE(a->stub().AppendBatch(&ctx, req, &resp).ok());
      }
      ++pairs;
    }
  });
  int cut_between = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string id = "causal-" + std::to_string(i);
    Result<FleetSnapshot> snap =
        TakeFleetSnapshot(fleet.Handles(), Options(id));
    ASSERT_TRUE(snap.ok());
    ASSERT_TRUE(snap->committed) << snap->problem;
    const uint64_t a = snap->hosts[0].tails[0].tail() / kRecordSize;
    const uint64_t b = snap->hosts[1].tails[0].tail() / kRecordSize;
    EXPECT_GE(a, b) << "B holds a record whose cause on A is missing";
    if (a == b + 1) ++cut_between;
    ReleaseFleetSnapshot(fleet.Handles(), id, 1s);
  }
  stop = true;
  writer.join();
  EXPECT_GT(pairs.load(), 60u);
  std::printf("snapshots cut between x_i and y_i: %d of 60\n", cut_between);
}

TEST(FleetSnapshotTest, AnAgentThatIsGoneAbortsEveryHost) {
  Fleet fleet(3);
  for (auto& a : fleet.agents) a->Append("events", Records(0, 10));
  fleet.agents[1]->Stop();
  Result<FleetSnapshot> snap =
      TakeFleetSnapshot(fleet.Handles(), Options("gone"));
  ASSERT_TRUE(snap.ok());
  EXPECT_FALSE(snap->committed);
  EXPECT_NE(snap->problem.find("hv1"), std::string::npos) << snap->problem;
  EXPECT_EQ(snap->hosts[0].state, HostSnapshotState::kAborted);
  EXPECT_NE(snap->hosts[1].state, HostSnapshotState::kCommitted);
  EXPECT_EQ(snap->hosts[2].state, HostSnapshotState::kAborted);
  // Nothing is left open or capped on the others.
  for (size_t i : {0u, 2u}) {
    EXPECT_EQ(OpenSnapshots(fleet.agents[i]->stub()), 0u);
    fleet.agents[i]->Append("events", Records(10, 1));
    EXPECT_EQ(Tail(fleet.agents[i]->stub()), 11 * kRecordSize);
  }
  // With allow_partial: the others commit, the gone one is listed.
  FleetSnapshotOptions partial = Options("partly");
  partial.allow_partial = true;
  snap = TakeFleetSnapshot(fleet.Handles(), partial);
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->committed);
  EXPECT_TRUE(snap->partial);
  EXPECT_NE(snap->problem.find("hv1"), std::string::npos) << snap->problem;
  EXPECT_EQ(snap->hosts[0].state, HostSnapshotState::kCommitted);
  EXPECT_EQ(snap->hosts[2].state, HostSnapshotState::kCommitted);
  EXPECT_EQ(Tail(fleet.agents[2]->stub(), "partly"), 11 * kRecordSize);
}

// A TCP listener that accepts and never answers: an agent that hangs.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 16);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { close(fd_); }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(FleetSnapshotTest, AnAgentThatHangsAbortsWithinTheLease) {
  Fleet fleet(2);
  SilentListener silent;
  auto hung = v1::Agent::NewStub(
      grpc::CreateChannel(silent.target(), grpc::InsecureChannelCredentials()));
  std::vector<FleetAgent> agents = fleet.Handles();
  agents.push_back({"hung", hung.get()});
  const auto start = std::chrono::steady_clock::now();
  Result<FleetSnapshot> snap = TakeFleetSnapshot(agents, Options("hang", 400));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(snap.ok());
  EXPECT_FALSE(snap->committed);
  EXPECT_EQ(snap->hosts[2].state, HostSnapshotState::kNoAnswer)
      << snap->hosts[2].error;
  EXPECT_NE(snap->problem.find("hung"), std::string::npos) << snap->problem;
  // 3/4 of the lease for the prepares, the fan-out's grace, and the abort
  // (which waits for the hung one too, bounded).
  EXPECT_LT(took, 300ms + kFanOutGrace + 1000ms + kFanOutGrace + 200ms);
  for (size_t i : {0u, 1u})
    EXPECT_EQ(OpenSnapshots(fleet.agents[i]->stub()), 0u);
}

TEST(FleetSnapshotTest, BadOptionsAreRefusedBeforeAnyCall) {
  Fleet fleet(1);
  EXPECT_EQ(TakeFleetSnapshot({}, Options("x")).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(TakeFleetSnapshot(fleet.Handles(), Options("")).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(TakeFleetSnapshot(fleet.Handles(), Options("x", 5)).status().code(),
            Status::Code::kInvalidArgument);
  FleetSnapshotOptions o = Options("x");
  o.keep_s = 0;
  EXPECT_EQ(TakeFleetSnapshot(fleet.Handles(), o).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(OpenSnapshots(fleet.agents[0]->stub()), 0u);
}

}  // namespace
}  // namespace loupe::coordinator
