// The coordinator at fleet sizes (issue 14's benchmarks): 8, 16 and 64
// RPC-only agents, each an in-process agent on its own loopback gRPC
// server (tests/support/loopback_agent.h), and one in-process Coordinator.
// For each size: CreateSnapshot (prepare and commit on every agent) and a
// 12-statement program apply (dry run, then apply, on every agent), p50 and
// p99. At 16 agents, each holding 1 M records over 1 s: a merged
// GetAggregate and an exact GetTopK (TPUT) over that second. And the time
// from a trigger's window end on one agent to its line in the coordinator's
// NOC sink (JSON lines). Prints rates and percentiles; asserts nothing.
//
//   fleet_scale_bench [SIZES]   (default 8,16,64)
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/coordinator.h"
#include "coordinator/proto/coordinator.grpc.pb.h"
#include "tests/support/loopback_agent.h"

namespace loupe::coordinator {
namespace {

using Clock = std::chrono::steady_clock;
using test_support::LoopbackAgent;
constexpr size_t kRecordSize = 14;  // ts, src:u16, bytes:u32
constexpr int kRecordsPerHost = 1'000'000;
constexpr uint64_t kSecondStart = 1'000'000'000'000'000'000ull;

uint64_t WallNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Records first..first+n of host `host`, spread evenly over the second
// from kSecondStart; 5,000 sources, skewed per host.
std::string Records(int first, int n, int host) {
  std::string out(kRecordSize * static_cast<size_t>(n), '\0');
  for (int i = 0; i < n; ++i) {
    const uint64_t k = static_cast<uint64_t>(first + i);
    const uint64_t ts = kSecondStart + k * (1'000'000'000 / kRecordsPerHost);
    const uint16_t src =
        static_cast<uint16_t>((k * 2654435761u + host * 977u) % 5000);
    const uint32_t bytes = static_cast<uint32_t>(40 + (k * 31) % 1460);
    char* r = out.data() + i * kRecordSize;
    std::memcpy(r, &ts, 8);
    std::memcpy(r + 8, &src, 2);
    std::memcpy(r + 10, &bytes, 4);
  }
  return out;
}

struct Spread {
  double p50_ms, p99_ms, max_ms;
};

Spread SpreadOf(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[(ms.size() * 99) / 100], ms.back()};
}

template <typename F>
Spread Time(int calls, F&& call) {
  std::vector<double> ms;
  for (int i = 0; i < calls; ++i) {
    const auto t = Clock::now();
    if (!call(i)) {
      std::fprintf(stderr, "fleet_scale_bench: a call failed\n");
      std::exit(1);
    }
    ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  return SpreadOf(std::move(ms));
}

void Print(int agents, const char* what, int calls, const Spread& s) {
  std::printf(
      "%2d agents: %s: %d calls: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      agents, what, calls, s.p50_ms, s.p99_ms, s.max_ms);
  std::fflush(stdout);
}

// 2 indexes, 4 filters, 4 aggregates, 2 triggers; `v` changes every
// threshold, so each version is a real change.
std::string TwelveStatements(int v) {
  std::ostringstream p;
  p << "[[multilog]]\nname = \"flows\"\nindexes = [\"src\", \"bytes\"]\n"
    << "filters = [\n";
  for (int i = 0; i < 4; ++i) {
    p << "  { name = \"f" << i << "\", expression = \"bytes > " << (100 * i + v)
      << "\" },\n";
  }
  p << "]\naggregates = [\n";
  for (int i = 0; i < 4; ++i) {
    p << "  { name = \"a" << i << "\", filter = \"f" << i
      << "\", expression = \"SUM(bytes)\" },\n";
  }
  p << "]\ntriggers = [\n";
  for (int i = 0; i < 2; ++i) {
    p << "  { name = \"t" << i << "\", condition = \"a" << i << " > "
      << (1'000'000'000 + v) << "\", period = \"1s\" },\n";
  }
  p << "]\n";
  return p.str();
}

class Fleet {
 public:
  explicit Fleet(int n, bool with_sink) {
    char dir[] = "/tmp/loupe-fleet-scale-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::exit(1);
    dir_ = dir;
    CoordinatorConfig config;
    config.name = "bench";
    config.listen = "127.0.0.1:0";
    config.metrics_listen = "";
    config.state_directory = dir_;
    for (int i = 0; i < n; ++i) {
      agents_.push_back(
          std::make_unique<LoopbackAgent>("hv" + std::to_string(i)));
      agents_.back()->Create("flows", "src:u16, bytes:u32");
      AgentEntry e;
      e.name = "hv" + std::to_string(i);
      e.address = agents_.back()->target();
      config.agents.push_back(e);
    }
    if (with_sink) {
      agent::AlertSinkConfig sink;
      sink.type = agent::SinkType::kJsonl;
      sink.path = dir_ + "/noc.jsonl";
      config.alert_sinks.push_back(sink);
    }
    Result<std::unique_ptr<Coordinator>> c = Coordinator::Start(config);
    if (!c.ok()) {
      std::fprintf(stderr, "fleet_scale_bench: %s\n",
                   c.status().ToString().c_str());
      std::exit(1);
    }
    coordinator_ = std::move(*c);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    stub_ = v1::Coordinator::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(coordinator_->grpc_port()),
        grpc::InsecureChannelCredentials(), args));
    for (;;) {  // every agent UP
      v1::ListAgentsResponse r;
      grpc::ClientContext ctx;
      if (stub_->ListAgents(&ctx, v1::ListAgentsRequest(), &r).ok() &&
          r.up() == static_cast<uint32_t>(n)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~Fleet() {
    coordinator_.reset();
    agents_.clear();
    std::filesystem::remove_all(dir_);
  }

  v1::Coordinator::Stub& stub() { return *stub_; }
  std::vector<std::unique_ptr<LoopbackAgent>>& agents() { return agents_; }
  std::string sink() const { return dir_ + "/noc.jsonl"; }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<LoopbackAgent>> agents_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

void SnapshotsAndApplies(int n) {
  Fleet fleet(n, false);
  const int snapshots = n >= 64 ? 100 : 200;
  Print(n, "CreateSnapshot", snapshots, Time(snapshots, [&](int i) {
          v1::CreateSnapshotRequest req;
          req.set_id("s" + std::to_string(i));
          req.set_keep_s(60);
          v1::CreateSnapshotResponse resp;
          grpc::ClientContext ctx;
          const bool ok = fleet.stub().CreateSnapshot(&ctx, req, &resp).ok();
          // Released outside the timing.
          v1::ReleaseFleetSnapshotRequest rel;
          rel.set_id(resp.snapshot().id());
          v1::ReleaseFleetSnapshotResponse released;
          grpc::ClientContext ctx2;
          (void)fleet.stub().ReleaseSnapshot(&ctx2, rel, &released);
          return ok;
        }));
  const int applies = n >= 64 ? 10 : 20;
  Print(n, "ApplyProgram, 12 statements", applies, Time(applies, [&](int i) {
          v1::FleetApplyProgramRequest req;
          req.set_name("twelve");
          req.set_version(static_cast<uint64_t>(i) + 1);
          req.set_program(TwelveStatements(i + 1));
          v1::FleetApplyProgramResponse resp;
          grpc::ClientContext ctx;
          return fleet.stub().ApplyProgram(&ctx, req, &resp).ok() &&
                 resp.outcome() == v1::FLEET_PROGRAM_APPLIED;
        }));
}

void QueriesAt16() {
  const int n = 16;
  Fleet fleet(n, false);
  const auto load = Clock::now();
  for (int h = 0; h < n; ++h) {
    LoopbackAgent& a = *fleet.agents()[h];
    a.Add("flows", v1::CONTROL_KIND_FILTER, "big", "bytes >= 1000");
    a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "sum", "SUM(bytes)", "big");
    for (int at = 0; at < kRecordsPerHost; at += 65'536) {
      a.Append("flows", Records(at, std::min(65'536, kRecordsPerHost - at), h));
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - load).count();
  std::printf(
      "%2d agents: loaded %d records each over 1 s of data time "
      "(%.1f M records/s through AppendBatch)\n",
      n, kRecordsPerHost, static_cast<double>(n) * kRecordsPerHost / s / 1e6);
  v1::CreateSnapshotRequest held;
  held.set_id("held");
  held.set_keep_s(600);
  v1::CreateSnapshotResponse made;
  {
    grpc::ClientContext ctx;
    if (!fleet.stub().CreateSnapshot(&ctx, held, &made).ok()) std::exit(1);
  }
  Print(n, "GetAggregate SUM(bytes) merged, over the second", 200,
        Time(200, [&](int) {
          v1::FleetAggregateRequest req;
          req.mutable_fleet()->set_snapshot_id("held");
          req.mutable_request()->set_multilog("flows");
          req.mutable_request()->set_name("sum");
          req.mutable_request()->set_t0_ns(kSecondStart);
          req.mutable_request()->set_t1_ns(kSecondStart + 1'000'000'000);
          v1::FleetAggregateResponse resp;
          grpc::ClientContext ctx;
          return fleet.stub().GetAggregate(&ctx, req, &resp).ok();
        }));
  Print(n, "GetTopK k=10 by src, SUM(bytes), exact (TPUT), over the second", 10,
        Time(10, [&](int) {
          v1::FleetTopKRequest req;
          req.mutable_fleet()->set_snapshot_id("held");
          req.mutable_request()->set_multilog("flows");
          req.mutable_request()->add_key_columns("src");
          req.mutable_request()->set_value("bytes");
          req.mutable_request()->set_k(10);
          req.mutable_request()->set_t0_ns(kSecondStart);
          req.mutable_request()->set_t1_ns(kSecondStart + 1'000'000'000);
          v1::FleetTopKResponse resp;
          grpc::ClientContext ctx;
          return fleet.stub().GetTopK(&ctx, req, &resp).ok();
        }));
}

// A trigger on one of 16 agents fires every 10 ms window while records
// arrive; each alert's line in the NOC sink is timed against its window's
// end (wall clock: the agent's trigger windows are on it).
void AlertToSink() {
  const int n = 16;
  Fleet fleet(n, true);
  LoopbackAgent& a = *fleet.agents()[0];
  a.Add("flows", v1::CONTROL_KIND_FILTER, "every", "bytes >= 0");
  a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "n", "COUNT()", "every");
  a.Add("flows", v1::CONTROL_KIND_TRIGGER, "busy", "n > 0", "", 10);
  std::atomic<bool> feeding{true};
  std::thread feeder([&] {
    while (feeding.load()) {
      v1::AppendBatchRequest req;
      req.set_multilog("flows");
      req.set_records(std::string(kRecordSize, '\0'));
      req.set_timestamp_now(true);
      v1::AppendResponse resp;
      grpc::ClientContext ctx;
      (void)a.stub().AppendBatch(&ctx, req, &resp);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::vector<double> ms;
  std::ifstream in;
  std::string line, partial;
  const auto until = Clock::now() + std::chrono::seconds(20);
  while (ms.size() < 300 && Clock::now() < until) {
    if (!in.is_open()) in.open(fleet.sink());
    if (in.is_open() && std::getline(in, line)) {
      if (in.eof()) {  // a line being written: read it again later
        partial += line;
        in.clear();
        continue;
      }
      line = partial + line;
      partial.clear();
      const uint64_t now = WallNs();
      const size_t at = line.find("\"window_end_ns\":");
      if (at == std::string::npos) continue;
      const uint64_t end = std::strtoull(line.c_str() + at + 16, nullptr, 10);
      if (now > end) ms.push_back(static_cast<double>(now - end) / 1e6);
    } else {
      in.clear();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  feeding = false;
  feeder.join();
  if (ms.size() < 10) {
    std::fprintf(stderr,
                 "fleet_scale_bench: only %zu alerts reached the sink\n",
                 ms.size());
    std::exit(1);
  }
  const Spread s = SpreadOf(ms);
  std::printf(
      "%2d agents: trigger window end -> NOC sink line (10 ms windows, "
      "the agent's evaluation grace included): %zu alerts: p50 %.2f "
      "ms, p99 %.2f ms, max %.2f ms\n",
      n, ms.size(), s.p50_ms, s.p99_ms, s.max_ms);
}

int Run(int argc, char** argv) {
  std::vector<int> sizes = {8, 16, 64};
  if (argc > 1) {
    sizes.clear();
    std::stringstream list(argv[1]);
    for (std::string item; std::getline(list, item, ',');) {
      sizes.push_back(std::atoi(item.c_str()));
    }
  }
  for (int n : sizes) {
    if (n < 1 || n > 256) {
      std::fprintf(stderr, "fleet_scale_bench: sizes are 1 to 256\n");
      return 2;
    }
    SnapshotsAndApplies(n);
  }
  QueriesAt16();
  AlertToSink();
  return 0;
}

}  // namespace
}  // namespace loupe::coordinator

int main(int argc, char** argv) { return loupe::coordinator::Run(argc, argv); }
