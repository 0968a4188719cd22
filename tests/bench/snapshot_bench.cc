// Leased snapshots over loopback gRPC: a real AgentService on 127.0.0.1 (a
// free port) and real client stubs in this process.
//
//   prepare_commit  PrepareSnapshot + CommitSnapshot of one multilog, round
//     trips on one channel (each snapshot released afterwards, untimed);
//     p50, p99 and mean in us (goal p99 < 200 us).
//   health_pair     two Health calls, timed the same way: the floor of two
//     gRPC round trips on this machine, to read prepare_commit against.
//   append          AppendBatch of 4,096 14-byte records from one client
//     thread, records/s, with no snapshots and with 100 snapshots/s
//     (prepare, commit, release every 10 ms from another thread); three
//     rounds each, alternating (goal: within 5% of none); and, as a
//     control, with 300 Health calls/s (the same number of RPCs as 100
//     snapshots/s make), which tells the cost of any three RPCs every 10 ms
//     on this machine from the cost of the snapshots themselves.
//
// Its own main; prints, never asserts a time.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"

namespace loupe::agent {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRoundTrips = 5000;
constexpr size_t kRecordSize = 14;
constexpr size_t kBatchRecords = 4096;
constexpr int kAppendCalls = 1000;
constexpr int kRounds = 4;
constexpr uint64_t kLogBytes = 1ull << 30;
constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000ull;

struct Loopback {
  Loopback() {
    registry = std::make_unique<MultilogRegistry>(RegistryOptions{});
    service = std::make_unique<AgentService>(registry.get(), "bench");
    std::string error;
    int port = 0;
    server = StartServer("127.0.0.1:0", service.get(), &error, &port);
    if (server == nullptr) {
      std::fprintf(stderr, "snapshot_bench: %s\n", error.c_str());
      std::abort();
    }
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    args.SetMaxReceiveMessageSize(-1);
    channel =
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                  grpc::InsecureChannelCredentials(), args);
    MultilogSpec spec;
    spec.name = "flows";
    spec.schema = "bytes:u32, port:u16";
    spec.preallocate_bytes = kLogBytes;
    spec.capacity_bytes = kLogBytes;
    if (!registry->Create(spec).ok()) std::abort();
  }
  ~Loopback() {
    service->Shutdown();
    server->Shutdown();
  }

  std::unique_ptr<MultilogRegistry> registry;
  std::unique_ptr<AgentService> service;
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
};

bool PrepareCommitRelease(v1::Agent::Stub& stub, const std::string& id,
                          std::chrono::nanoseconds* timed) {
  const auto start = Clock::now();
  v1::PrepareSnapshotRequest prepare;
  prepare.set_id(id);
  prepare.add_multilogs("flows");
  prepare.set_lease_ms(1000);
  v1::PrepareSnapshotResponse prepared;
  grpc::ClientContext c1;
  if (!stub.PrepareSnapshot(&c1, prepare, &prepared).ok()) return false;
  v1::CommitSnapshotRequest commit;
  commit.set_id(id);
  v1::CommitSnapshotResponse committed;
  grpc::ClientContext c2;
  if (!stub.CommitSnapshot(&c2, commit, &committed).ok()) return false;
  if (timed != nullptr) *timed = Clock::now() - start;
  v1::ReleaseSnapshotRequest release;
  release.set_id(id);
  v1::ReleaseSnapshotResponse released;
  grpc::ClientContext c3;
  return stub.ReleaseSnapshot(&c3, release, &released).ok();
}

void PrintLatencies(const char* what, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  std::printf(
      "%s: %zu round trips: p50 %.1f us, p99 %.1f us, mean %.1f us, max "
      "%.1f us\n",
      what, us.size(), us[us.size() / 2], us[us.size() * 99 / 100],
      sum / static_cast<double>(us.size()), us.back());
}

void RoundTrips(Loopback& lb) {
  auto stub = v1::Agent::NewStub(lb.channel);
  std::vector<double> us;
  us.reserve(kRoundTrips);
  for (int i = 0; i < kRoundTrips + 100; ++i) {
    std::chrono::nanoseconds t{0};
    if (!PrepareCommitRelease(*stub, "rt-" + std::to_string(i), &t)) {
      std::fprintf(stderr, "snapshot_bench: round trip failed\n");
      std::abort();
    }
    if (i >= 100) us.push_back(static_cast<double>(t.count()) / 1000.0);
  }
  PrintLatencies("prepare_commit", std::move(us));
}

void HealthPairs(Loopback& lb) {
  auto stub = v1::Agent::NewStub(lb.channel);
  std::vector<double> us;
  us.reserve(kRoundTrips);
  for (int i = 0; i < kRoundTrips + 100; ++i) {
    const auto start = Clock::now();
    for (int call = 0; call < 2; ++call) {
      v1::HealthResponse r;
      grpc::ClientContext ctx;
      if (!stub->Health(&ctx, v1::HealthRequest(), &r).ok()) {
        std::fprintf(stderr, "snapshot_bench: Health failed\n");
        std::abort();
      }
    }
    const auto t = Clock::now() - start;
    if (i >= 100) {
      us.push_back(
          static_cast<double>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(t).count()) /
          1000.0);
    }
  }
  PrintLatencies("health_pair", std::move(us));
}

enum class Beside { kNothing, kSnapshots, kHealthCalls };

// Records/s of kAppendCalls batches; beside them, every 10 ms, a snapshot
// (prepare, commit, release) or three Health calls.
double AppendRate(Loopback& lb, Beside beside, uint64_t* first, int round) {
  auto stub = v1::Agent::NewStub(lb.channel);
  std::string batch(kBatchRecords * kRecordSize, '\0');
  std::atomic<bool> stop{false};
  std::atomic<int> taken{0};
  std::thread snapshotter;
  if (beside != Beside::kNothing) {
    snapshotter = std::thread([&] {
      auto sstub = v1::Agent::NewStub(lb.channel);
      auto next = Clock::now();
      for (int i = 0; !stop.load(); ++i) {
        next += std::chrono::milliseconds(10);
        if (beside == Beside::kSnapshots) {
          if (PrepareCommitRelease(
                  *sstub,
                  "a-" + std::to_string(round) + "-" + std::to_string(i),
                  nullptr)) {
            ++taken;
          }
        } else {
          for (int call = 0; call < 3; ++call) {
            v1::HealthResponse r;
            grpc::ClientContext ctx;
            if (sstub->Health(&ctx, v1::HealthRequest(), &r).ok()) ++taken;
          }
        }
        std::this_thread::sleep_until(next);
      }
    });
  }
  const auto start = Clock::now();
  for (int c = 0; c < kAppendCalls; ++c) {
    for (size_t r = 0; r < kBatchRecords; ++r) {
      const uint64_t ts = kBaseNs + (*first + r) * 100;
      std::memcpy(batch.data() + r * kRecordSize, &ts, sizeof(ts));
    }
    *first += kBatchRecords;
    v1::AppendBatchRequest req;
    req.set_multilog("flows");
    req.set_records(batch);
    v1::AppendResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub->AppendBatch(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "snapshot_bench: append: %s\n",
                   s.error_message().c_str());
      std::abort();
    }
  }
  const double secs =
      std::chrono::duration<double>(Clock::now() - start).count();
  stop.store(true);
  if (snapshotter.joinable()) snapshotter.join();
  const double rate = static_cast<double>(kAppendCalls * kBatchRecords) / secs;
  const char* what = beside == Beside::kNothing     ? "nothing beside"
                     : beside == Beside::kSnapshots ? "100 snapshots/s"
                                                    : "300 Health calls/s";
  std::printf("append: round %d, %s: %.2f M records/s (%.0f %s/s)\n", round,
              what, rate / 1e6, static_cast<double>(taken.load()) / secs,
              beside == Beside::kHealthCalls ? "calls" : "snapshots");
  return rate;
}

}  // namespace
}  // namespace loupe::agent

int main() {
  using namespace loupe::agent;
  Loopback lb;
  RoundTrips(lb);
  HealthPairs(lb);
  uint64_t first = 0;
  double none = 0, with = 0, health = 0;
  for (int round = 0; round < kRounds; ++round) {
    none += AppendRate(lb, Beside::kNothing, &first, round);
    with += AppendRate(lb, Beside::kSnapshots, &first, round);
    health += AppendRate(lb, Beside::kHealthCalls, &first, round);
  }
  std::printf(
      "append: mean over %d rounds: none %.2f M records/s, with 100 "
      "snapshots/s %.2f M records/s (%+.1f%%), with 300 Health calls/s "
      "%.2f M records/s (%+.1f%%)\n",
      kRounds, none / kRounds / 1e6, with / kRounds / 1e6,
      (with - none) / none * 100.0, health / kRounds / 1e6,
      (health - none) / none * 100.0);
  return 0;
}
