// The coordinator across four in-process agents on loopback (real gRPC
// servers, one in-process Coordinator): how long a distributed snapshot
// takes (CreateSnapshot, then ReleaseSnapshot), a merged GetAggregate, an
// exact GetTopK (TPUT, at a snapshot, and with the query's own snapshot),
// a merged GetGroupBy, and paging ExecuteFilter by timestamp. Each agent
// holds kRecords records. Prints p50/p99 of fixed numbers of calls; never
// asserts a time. Its own main (meson `benchmark`).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/coordinator.h"
#include "coordinator/proto/coordinator.grpc.pb.h"
#include "tests/support/loopback_agent.h"

namespace loupe::coordinator {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kAgents = 4;
constexpr int kRecords = 250'000;   // per agent
constexpr size_t kRecordSize = 14;  // ts, src:u16, bytes:u32

std::string Records(int first, int n, int host) {
  std::string out(kRecordSize * static_cast<size_t>(n), '\0');
  for (int i = 0; i < n; ++i) {
    const uint64_t k = static_cast<uint64_t>(first + i);
    const uint64_t ts = 1'000'000'000 + k * 1000;
    // 5,000 sources, skewed per host.
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
  double p50_us, p99_us, mean_us;
};

template <typename F>
Spread Time(int calls, F&& call) {
  std::vector<double> us;
  us.reserve(static_cast<size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    const auto t = Clock::now();
    if (!call(i)) {
      std::fprintf(stderr, "fleet_bench: a call failed\n");
      std::exit(1);
    }
    us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  return {us[us.size() / 2], us[(us.size() * 99) / 100], sum / us.size()};
}

void Print(const char* what, int calls, const Spread& s) {
  std::printf("%s: %d calls: p50 %.1f us, p99 %.1f us, mean %.1f us\n", what,
              calls, s.p50_us, s.p99_us, s.mean_us);
}

int Run() {
  std::vector<std::unique_ptr<test_support::LoopbackAgent>> agents;
  CoordinatorConfig config;
  config.name = "bench";
  config.listen = "127.0.0.1:0";
  config.metrics_listen = "";
  char dir[] = "/tmp/loupe-fleet-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  config.state_directory = dir;
  for (int i = 0; i < kAgents; ++i) {
    agents.push_back(std::make_unique<test_support::LoopbackAgent>(
        "hv" + std::to_string(i)));
    test_support::LoopbackAgent& a = *agents.back();
    a.Create("flows", "src:u16, bytes:u32");
    a.Add("flows", v1::CONTROL_KIND_FILTER, "big", "bytes >= 1000");
    a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "p99", "P99(bytes)", "big");
    for (int at = 0; at < kRecords; at += 4096) {
      a.Append("flows", Records(at, std::min(4096, kRecords - at), i));
    }
    AgentEntry e;
    e.name = "hv" + std::to_string(i);
    e.address = a.target();
    config.agents.push_back(e);
  }
  Result<std::unique_ptr<Coordinator>> c = Coordinator::Start(config);
  if (!c.ok()) {
    std::fprintf(stderr, "fleet_bench: %s\n", c.status().ToString().c_str());
    return 1;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto stub = v1::Coordinator::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string((*c)->grpc_port()),
      grpc::InsecureChannelCredentials(), args));
  for (;;) {  // every agent UP
    v1::ListAgentsResponse r;
    grpc::ClientContext ctx;
    if (stub->ListAgents(&ctx, v1::ListAgentsRequest(), &r).ok() &&
        r.up() == kAgents) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("%d agents on loopback, %d records each (%d in all)\n", kAgents,
              kRecords, kAgents * kRecords);

  const int kSnapshots = 200;
  Print("create+release snapshot", kSnapshots, Time(kSnapshots, [&](int i) {
          v1::CreateSnapshotRequest req;
          req.set_id("s" + std::to_string(i));
          req.set_keep_s(60);
          v1::CreateSnapshotResponse resp;
          grpc::ClientContext ctx;
          if (!stub->CreateSnapshot(&ctx, req, &resp).ok()) return false;
          v1::ReleaseFleetSnapshotRequest rel;
          rel.set_id(resp.snapshot().id());
          v1::ReleaseFleetSnapshotResponse released;
          grpc::ClientContext ctx2;
          return stub->ReleaseSnapshot(&ctx2, rel, &released).ok();
        }));

  v1::CreateSnapshotRequest held;
  held.set_id("held");
  held.set_keep_s(600);
  v1::CreateSnapshotResponse made;
  {
    grpc::ClientContext ctx;
    if (!stub->CreateSnapshot(&ctx, held, &made).ok()) return 1;
  }
  const int kQueries = 200;
  Print("GetAggregate P99 merged from bins", kQueries, Time(kQueries, [&](int) {
          v1::FleetAggregateRequest req;
          req.mutable_fleet()->set_snapshot_id("held");
          req.mutable_request()->set_multilog("flows");
          req.mutable_request()->set_name("p99");
          v1::FleetAggregateResponse resp;
          grpc::ClientContext ctx;
          return stub->GetAggregate(&ctx, req, &resp).ok();
        }));
  auto topk = [&](const std::string& snapshot, uint32_t k) {
    v1::FleetTopKRequest req;
    req.mutable_fleet()->set_snapshot_id(snapshot);
    req.mutable_request()->set_multilog("flows");
    req.mutable_request()->add_key_columns("src");
    req.mutable_request()->set_value("bytes");
    req.mutable_request()->set_k(k);
    v1::FleetTopKResponse resp;
    grpc::ClientContext ctx;
    return stub->GetTopK(&ctx, req, &resp).ok();
  };
  const int kTopK = 20;
  Print("GetTopK k=10 by src, SUM(bytes), at a snapshot", kTopK,
        Time(kTopK, [&](int) { return topk("held", 10); }));
  Print("GetTopK k=10 by src, SUM(bytes), its own snapshot", kTopK,
        Time(kTopK, [&](int) { return topk("", 10); }));
  Print("GetGroupBy by src, COUNT SUM MAX (5000 rows)", kTopK,
        Time(kTopK, [&](int) {
          v1::FleetGroupByRequest req;
          req.mutable_fleet()->set_snapshot_id("held");
          v1::GetGroupByRequest* one = req.mutable_request();
          one->set_multilog("flows");
          one->add_key_columns("src");
          one->add_aggregates("COUNT()");
          one->add_aggregates("SUM(bytes)");
          one->add_aggregates("MAX(bytes)");
          v1::FleetGroupByResponse resp;
          grpc::ClientContext ctx;
          return stub->GetGroupBy(&ctx, req, &resp).ok();
        }));

  // Paging: every record with bytes >= 1000 of the four hosts, 10,000 a
  // page, merged by timestamp.
  const auto start = Clock::now();
  std::string token;
  uint64_t records = 0;
  int pages = 0;
  do {
    v1::FleetFilterRequest req;
    req.mutable_fleet()->set_snapshot_id("held");
    req.set_multilog("flows");
    req.set_filter("big");
    req.set_limit(10'000);
    req.set_page_token(token);
    v1::FleetFilterResponse resp;
    grpc::ClientContext ctx;
    if (!stub->QueryFilter(&ctx, req, &resp).ok()) return 1;
    records += static_cast<uint64_t>(resp.records_size());
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "QueryFilter paged by timestamp: %llu records in %d pages of 10000: "
      "%.1f ms, %.2f M records/s\n",
      static_cast<unsigned long long>(records), pages, s * 1e3,
      static_cast<double>(records) / s / 1e6);
  (*c)->Stop();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace loupe::coordinator

int main() { return loupe::coordinator::Run(); }
