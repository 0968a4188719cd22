// Multilog append and query benchmarks (issue "Indexes, filters,
// aggregates, triggers and queries").
//
//   append/<config>  one writer thread, batch 32, packet records with a
//     realistic spread (thousands of hosts, a few hundred ports), 4 M
//     records per run into a pre-faulted log:
//       a: one index on src_ip
//       b: 10 filters, 10 aggregates on them, 1,000 triggers
//       c: a and b together
//       none: no control (the data log alone, for reference)
//     Counters: records/s, bytes of memory per record (data, index,
//     filter and aggregate logs).
//   query/*  on 10 M records spanning 1 s of data time (config c):
//     GetAggregate over a 1 s window; ExecuteFilter on an indexed src_ip
//     matching ~10,000 records; QueryFilter over 1 s returning ~25,000.
//     Time per query.
//
// Rates vary with the machine; nothing here asserts a time.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "multilog/multilog.h"
#include "multilog/packet_schema.h"
#include "tests/bench/bench_program.h"
#include "tests/support/ipv4_mapped.h"

namespace loupe {
namespace {

constexpr size_t kBatch = 32;
constexpr uint64_t kAppendRecords = 4u << 20;
constexpr uint64_t kQueryRecords = 10'000'000;
constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000ull;

using test_support::SetV4;

// `hosts` sources in 10.0.0.0/8; ports: a few services and a few hundred
// ephemeral ones; 0.25% to port 5201 (the QueryFilter target).
std::vector<PacketRecord> MakePool(size_t n, uint32_t hosts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<PacketRecord> pool(n);
  static const uint16_t kServices[] = {443, 80, 53, 22, 8080, 3389, 123};
  for (PacketRecord& r : pool) {
    r = PacketRecord{};
    const uint32_t h = static_cast<uint32_t>(rng() % hosts);
    SetV4(r.src_ip, (10u << 24) | ((h / 250) << 16) | (h % 250));
    SetV4(r.dst_ip,
          (10u << 24) | (200u << 16) | static_cast<uint32_t>(rng() % 300));
    const uint64_t p = rng() % 400;
    r.dst_port = p == 0 ? 5201
                        : (p < 300 ? kServices[rng() % 7]
                                   : static_cast<uint16_t>(1024 + rng() % 300));
    r.src_port = static_cast<uint16_t>(32768 + rng() % 28000);
    const uint64_t q = rng() % 100;
    r.proto = q < 85 ? 6 : (q < 98 ? 17 : 1);
    r.tcp_flags = r.proto == 6 ? static_cast<uint8_t>(1u << (rng() % 5)) : 0;
    r.ip_len = static_cast<uint16_t>(q % 3 == 0 ? 40 + rng() % 40
                                                : 100 + rng() % 1400);
    r.ttl = 64;
    r.flags = kPacketIpv4;
  }
  return pool;
}

std::unique_ptr<Multilog> OpenConfigured(bool index, bool filters,
                                         uint64_t records) {
  MultilogOptions options;
  options.data.preallocate_bytes = records * sizeof(PacketRecord) + (64u << 20);
  options.data.capacity_bytes = options.data.preallocate_bytes;
  options.start_monitor = filters;  // the 1,000 triggers run for real
  auto log = Multilog::Open("bench", PacketSchema(), options);
  if (!log.ok()) return nullptr;
  if (index && !bench::AddIndexProgram(**log)) return nullptr;
  if (filters && !bench::AddFilterProgram(**log)) return nullptr;
  return std::move(log).value();
}

// Appends `records` records, batch 32, data time 66 ns apart (15 M/s).
void AppendAll(Multilog& log, const std::vector<PacketRecord>& pool,
               uint64_t records, uint64_t spacing_ns) {
  auto writer = log.NewWriter();
  std::vector<PacketRecord> batch(kBatch);
  uint64_t ts = kBaseNs;
  for (uint64_t n = 0; n < records; n += kBatch) {
    for (size_t i = 0; i < kBatch; ++i) {
      batch[i] = pool[(n + i) % pool.size()];
      batch[i].timestamp = ts;
      ts += spacing_ns;
    }
    if (!(*writer)->Append(batch.data(), sizeof(batch[0]) * kBatch).ok()) {
      std::abort();
    }
  }
}

void BM_Append(benchmark::State& state, bool index, bool filters) {
  const auto pool = MakePool(1 << 16, 5000, 1);
  uint64_t memory = 0, total = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto log = OpenConfigured(index, filters, kAppendRecords);
    if (log == nullptr) {
      state.SkipWithError("cannot configure the multilog");
      return;
    }
    // Warm the caches and the filter/aggregate logs' first buckets.
    AppendAll(*log, pool, 64 * kBatch, 66);
    state.ResumeTiming();
    AppendAll(*log, pool, kAppendRecords, 66);
    state.PauseTiming();
    memory = log->memory_bytes();
    total = kAppendRecords + 64 * kBatch;
    log.reset();
    state.ResumeTiming();
  }
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(kAppendRecords) * state.iterations(),
      benchmark::Counter::kIsRate);
  state.counters["bytes/record"] =
      static_cast<double>(memory) / static_cast<double>(total);
}

Multilog& QueryLog() {
  static std::unique_ptr<Multilog> log = [] {
    auto l = OpenConfigured(true, true, kQueryRecords);
    // 10 M records over 1 s of data time; 1,000 hosts: ~10,000 per host.
    AppendAll(*l, MakePool(1 << 16, 1000, 2), kQueryRecords, 100);
    return l;
  }();
  return *log;
}

void BM_GetAggregate(benchmark::State& state) {
  Multilog& log = QueryLog();
  double value = 0;
  for (auto _ : state) {
    auto r = log.GetAggregate("https_count", kBaseNs, kBaseNs + 1'000'000'000);
    value = r.ok() ? r->value : -1;
    benchmark::DoNotOptimize(value);
  }
  state.counters["value"] = value;
}

void BM_ExecuteFilterIndexed(benchmark::State& state) {
  Multilog& log = QueryLog();
  size_t n = 0;
  for (auto _ : state) {
    auto r = log.ExecuteFilter("src_ip == 10.0.0.7", 0, UINT64_MAX);
    n = r.ok() ? r->offsets.size() : 0;
    benchmark::DoNotOptimize(n);
  }
  state.counters["records"] = static_cast<double>(n);
}

void BM_QueryFilter(benchmark::State& state) {
  Multilog& log = QueryLog();
  size_t n = 0;
  for (auto _ : state) {
    auto r = log.QueryFilter("iperf", kBaseNs, kBaseNs + 1'000'000'000);
    n = r.ok() ? r->offsets.size() : 0;
    benchmark::DoNotOptimize(n);
  }
  state.counters["records"] = static_cast<double>(n);
}

BENCHMARK_CAPTURE(BM_Append, none, false, false)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Append, a_index_src_ip, true, false)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Append, b_10f_10a_1000t, false, true)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Append, c_both, true, true)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_GetAggregate)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ExecuteFilterIndexed)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QueryFilter)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace loupe

BENCHMARK_MAIN();
