// Breakdowns and paging (issue 13, section 3), printed, never asserted:
//   - GetTopK k=10 over 1 s of 10 M records (an in-process Multilog,
//     multilog/breakdown.h: what the handler runs), by count and by sum;
//     goal < 50 ms.
//   - Paging through 1 M records in 64 pages of ExecuteFilter against one
//     query of 1 M, over an in-process AgentService on loopback (offsets
//     only); goal: under 2x.
// Its own main: each measurement is a few whole runs, best and median.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"
#include "multilog/breakdown.h"
#include "multilog/multilog.h"
#include "multilog/schema.h"

namespace loupe {
namespace {

constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000;
constexpr char kSchema[] = "src:u32, port:u16, bytes:u32";

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

template <typename Fn>
void Report(const char* what, int runs, Fn&& fn) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    ms.push_back(Ms(std::chrono::steady_clock::now() - start));
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-58s best %9.2f ms  median %9.2f ms  (%d runs)\n", what,
              ms.front(), ms[ms.size() / 2], runs);
  std::fflush(stdout);
}

// n records over 1 s of data time from kBaseNs, 10,000 sources (Zipf-ish:
// a few heavy ones), 5 ports, bytes 64..1500.
void Fill(Multilog& ml, uint64_t n) {
  const Schema& schema = ml.schema();
  const size_t rs = schema.record_size();
  const Column& src = *schema.Find("src");
  const Column& port = *schema.Find("port");
  const Column& bytes = *schema.Find("bytes");
  auto writer = ml.NewWriter();
  if (!writer.ok()) std::abort();
  std::mt19937_64 rng(1);
  constexpr uint64_t kBatch = 1024;
  std::vector<uint8_t> batch(kBatch * rs);
  for (uint64_t i = 0; i < n; i += kBatch) {
    const uint64_t count = std::min(kBatch, n - i);
    for (uint64_t j = 0; j < count; ++j) {
      uint8_t* rec = batch.data() + j * rs;
      const uint64_t ts = kBaseNs + (i + j) * 1'000'000'000 / n;
      const uint64_t r = rng();
      const uint32_t s = (r & 7) == 0 ? static_cast<uint32_t>(r >> 8) % 16
                                      : static_cast<uint32_t>(r >> 8) % 10000;
      const uint16_t p = static_cast<uint16_t>(80 + (r >> 40) % 5);
      const uint32_t b = 64 + static_cast<uint32_t>(r >> 44) % 1437;
      std::memcpy(rec, &ts, 8);
      std::memcpy(rec + src.offset, &s, 4);
      std::memcpy(rec + port.offset, &p, 2);
      std::memcpy(rec + bytes.offset, &b, 4);
    }
    if (!(*writer)->Append(batch.data(), count * rs).ok()) std::abort();
  }
}

MultilogOptions Options(uint64_t records, size_t rs) {
  MultilogOptions o;
  o.start_monitor = false;
  o.data.preallocate_bytes = records * rs + (64u << 20);
  return o;
}

void TopKOver10M() {
  constexpr uint64_t kRecords = 10'000'000;
  const Schema schema = *Schema::Parse(kSchema);
  auto ml =
      Multilog::Open("bench", schema, Options(kRecords, schema.record_size()));
  if (!ml.ok()) {
    std::printf("open: %s\n", ml.status().ToString().c_str());
    return;
  }
  Fill(**ml, kRecords);
  TopKQuery q;
  q.window.key_columns = {"src"};
  q.window.t0_ns = kBaseNs;
  q.window.t1_ns = kBaseNs + 1'000'000'000;
  q.k = 10;
  uint64_t seen = 0;
  Report("GetTopK k=10 by src, count, 1 s of 10 M records", 3, [&] {
    Result<TopKResult> r = TopK(**ml, q);
    if (!r.ok()) std::abort();
    seen = r->info.records;
  });
  q.value = "bytes";
  Report("GetTopK k=10 by src, SUM(bytes), 1 s of 10 M records", 3, [&] {
    if (!TopK(**ml, q).ok()) std::abort();
  });
  q.value.clear();
  q.window.key_columns = {"src", "port"};
  Report("GetTopK k=10 by src,port (50 k keys), 1 s of 10 M records", 3, [&] {
    if (!TopK(**ml, q).ok()) std::abort();
  });
  q.window.key_columns = {"src"};
  q.window.filter = "port == 80";
  Report("GetTopK k=10 by src, filter port == 80 (1/5 pass)", 3, [&] {
    if (!TopK(**ml, q).ok()) std::abort();
  });
  std::printf("  (records in the window: %llu)\n",
              static_cast<unsigned long long>(seen));
}

void Paging1M() {
  constexpr uint64_t kRecords = 1'000'000;
  const Schema schema = *Schema::Parse(kSchema);
  agent::RegistryOptions ro;
  agent::MultilogRegistry registry(ro);
  auto ml =
      registry.Create("bench", schema, Options(kRecords, schema.record_size()));
  if (!ml.ok()) {
    std::printf("create: %s\n", ml.status().ToString().c_str());
    return;
  }
  Fill(**ml, kRecords);
  agent::AgentService service(
      &registry, "bench",
      []() -> std::optional<dataplane::PipelineStats> { return {}; });
  std::string error;
  int port = 0;
  auto server = agent::StartServer("127.0.0.1:0", &service, &error, &port);
  if (server == nullptr) {
    std::printf("server: %s\n", error.c_str());
    return;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto stub = v1::Agent::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                grpc::InsecureChannelCredentials(), args));
  auto run = [&](uint32_t limit, int* pages) {
    v1::ExecuteFilterRequest req;
    req.set_multilog("bench");
    req.set_expression("bytes >= 0");
    req.set_offsets_only(true);
    req.set_limit(limit);
    uint64_t got = 0;
    *pages = 0;
    for (;;) {
      grpc::ClientContext ctx;
      auto reader = stub->ExecuteFilter(&ctx, req);
      v1::QueryResponse chunk;
      std::string next;
      while (reader->Read(&chunk)) {
        got += static_cast<uint64_t>(chunk.offsets_size());
        if (chunk.has_summary()) next = chunk.summary().next_page_token();
      }
      if (!reader->Finish().ok()) std::abort();
      ++*pages;
      if (next.empty()) break;
      req.set_page_token(next);
    }
    if (got != kRecords) std::abort();
  };
  int pages = 0;
  Report("ExecuteFilter: one query of 1 M records (offsets only)", 3,
         [&] { run(1'000'000, &pages); });
  Report("ExecuteFilter: 1 M records in 64 pages of 15625", 3,
         [&] { run(15'625, &pages); });
  std::printf("  (pages: %d)\n", pages);
  service.Shutdown();
  server->Shutdown();
}

}  // namespace
}  // namespace loupe

int main() {
  loupe::TopKOver10M();
  loupe::Paging1M();
  return 0;
}
