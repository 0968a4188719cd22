// IndexLog on the packet schema's src_ip: insert rate per writer thread,
// Equal and Prefix lookup latency on a 10-million-record index, and the
// memory an indexed record costs. Run with `meson test --benchmark` or
// directly.
//
//   insert/src_ip/batch:32/threads:T
//     T writer threads insert batches of 32 packet records into one shared
//     IndexLog, 10 M records per thread, as DataLog writers do before they
//     publish a batch: the records come from a pool of 16 Ki packets (a
//     few thousand source hosts, skewed: half the IPv4 packets come from 16
//     VMs; 10% IPv6) and each batch gets the next offsets of a shared
//     claim counter. Counters: inserts/s (all threads), inserts/s/thread,
//     mem_bytes/record at the end of the run, hosts = leaves.
//   lookup/equal/src_ip/10M
//     Equal on the host whose records are closest to 10,000 of 10 M, in an
//     index built before timing; the time covers the lookup and collecting
//     the offsets into a (reused) vector. Counters: matches, ns/offset.
//   lookup/prefix/src_ip/v4_slash24/10M
//     Prefix ::ffff:10.0.1.0/120 (a /24 of VMs) on the same index.
//   memory/src_ip/10M
//     The built index's memory_bytes / records, once.
//
// Rates vary with the machine; nothing here asserts a time.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "multilog/index_log.h"
#include "multilog/packet_schema.h"
#include "multilog/status.h"
#include "tests/bench/bench_main.h"
#include "tests/bench/bench_pool.h"
#include "tests/support/ipv4_mapped.h"

namespace loupe {
namespace {

constexpr uint64_t kRecord = sizeof(PacketRecord);
constexpr size_t kPoolRecords = 16384;  // 1 MiB, about the L2 of a core
constexpr size_t kBatch = 32;
constexpr uint64_t kInsertRecordsPerThread = 10'000'000;
constexpr uint64_t kLookupIndexRecords = 10'000'000;
constexpr uint64_t kTargetMatches = 10'000;

using test_support::SetV4;

// The addresses of data_log_bench's pool: a few thousand VMs in 10.0.0.0/16
// (skewed: a few carry most of the traffic) talking to each other and to
// 203.0.113.0/26, and 10% IPv6 from 4096 hosts in 2001:db8:2a:1::/64.
std::vector<PacketRecord> MakePacketPool() {
  bench::PoolRng uniform;
  auto set_ipv6 = [](uint8_t* a, uint64_t host) {
    static constexpr uint8_t kPrefix[8] = {0x20, 0x01, 0x0d, 0xb8,
                                           0x00, 0x2a, 0x00, 0x01};
    std::memcpy(a, kPrefix, 8);
    for (int i = 0; i < 8; ++i) {
      a[15 - i] = static_cast<uint8_t>(host >> (8 * i));
    }
  };
  auto vm = [&] { return bench::SkewedVm(uniform); };
  std::vector<PacketRecord> pool(kPoolRecords);
  uint64_t ts = 1'717'200'000'000'000'000ull;
  for (PacketRecord& p : pool) {
    std::memset(&p, 0, sizeof(p));
    ts += 200 + uniform(2000);
    p.timestamp = ts;
    if (uniform(10) == 0) {
      set_ipv6(p.src_ip, uniform(4096));
      set_ipv6(p.dst_ip, uniform(64));
      p.ether_type = 0x86dd;
      p.flags = kPacketIpv6;
      p.proto = 6;
    } else {
      SetV4(p.src_ip, vm());
      SetV4(p.dst_ip, uniform(5) == 0 ? (203u << 24 | 113u) +
                                            static_cast<uint32_t>(uniform(64))
                                      : vm());
      p.ether_type = 0x0800;
      p.flags = kPacketIpv4;
      p.proto = uniform(100) < 85 ? 6 : 17;
    }
    p.src_port = static_cast<uint16_t>(32768 + uniform(28232));
    p.dst_port = 443;
    p.frame_len = static_cast<uint16_t>(uniform(10) < 6 ? 1514 : 66);
    p.ip_len = static_cast<uint16_t>(p.frame_len - 14);
  }
  return pool;
}

const PacketRecord* Pool() {
  static const std::vector<PacketRecord> pool = MakePacketPool();
  return pool.data();
}

const uint8_t* PoolBytes(size_t at) {
  return reinterpret_cast<const uint8_t*>(Pool() + at);
}

std::unique_ptr<IndexLog> NewSrcIpIndex() {
  Result<std::unique_ptr<IndexLog>> index =
      IndexLog::Create(PacketSchema(), {"src_ip", 0}, 0);
  if (!index.ok()) {
    std::fprintf(stderr, "%s\n", index.status().ToString().c_str());
    std::abort();
  }
  return std::move(index).value();
}

// ---- insert ----

// Shared by the threads of one insert run; set up on the main thread.
std::unique_ptr<IndexLog> insert_index;
std::atomic<uint64_t> claim{0};  // the writers' stand-in for writeTail

void SetUpInsert(const benchmark::State&) {
  insert_index = NewSrcIpIndex();
  claim.store(0);
}

void TearDownInsert(const benchmark::State&) { insert_index.reset(); }

void BM_Insert(benchmark::State& state) {
  IndexLog& index = *insert_index;
  size_t at = (static_cast<size_t>(state.thread_index()) * 4096) % kPoolRecords;
  for (auto _ : state) {
    const uint64_t offset =
        claim.fetch_add(kBatch * kRecord, std::memory_order_relaxed);
    index.InsertBatch(PoolBytes(at), kBatch, kRecord, offset);
    at = (at + kBatch) % kPoolRecords;
  }
  using benchmark::Counter;
  const double records =
      static_cast<double>(state.iterations()) * static_cast<double>(kBatch);
  state.counters["inserts/s"] = Counter(records, Counter::kIsRate);
  state.counters["inserts/s/thread"] =
      Counter(records, Counter::kIsRate | Counter::kAvgThreads);
  if (state.thread_index() == 0) {
    // Set by thread 0 only, so the sum over threads is its value. Other
    // threads may still be finishing their last batch: close enough.
    const double total = static_cast<double>(claim.load() / kRecord);
    state.counters["mem_bytes/record"] =
        static_cast<double>(index.memory_bytes()) / total;
    state.counters["hosts"] = static_cast<double>(index.tree().leaves());
  }
}

// ---- lookups on a 10 M index ----

struct Built {
  std::unique_ptr<IndexLog> index;
  uint64_t snapshot = 0;
  PacketRecord target;  // src_ip with about kTargetMatches records
  uint64_t target_count = 0;
};

const Built& BuiltIndex() {
  static const Built built = [] {
    Built b;
    b.index = NewSrcIpIndex();
    std::map<std::string, uint64_t> counts;
    uint64_t offset = 0;
    size_t at = 0;
    for (uint64_t n = 0; n < kLookupIndexRecords; n += kBatch) {
      b.index->InsertBatch(PoolBytes(at), kBatch, kRecord, offset);
      for (size_t i = 0; i < kBatch; ++i) {
        ++counts[std::string(
            reinterpret_cast<const char*>(Pool()[at + i].src_ip), 16)];
      }
      offset += kBatch * kRecord;
      at = (at + kBatch) % kPoolRecords;
    }
    b.snapshot = offset;
    uint64_t best_gap = UINT64_MAX;
    for (const auto& [ip, count] : counts) {
      const uint64_t gap = count > kTargetMatches ? count - kTargetMatches
                                                  : kTargetMatches - count;
      if (gap < best_gap) {
        best_gap = gap;
        std::memcpy(b.target.src_ip, ip.data(), 16);
        b.target_count = count;
      }
    }
    return b;
  }();
  return built;
}

void BM_LookupEqual(benchmark::State& state) {
  const Built& b = BuiltIndex();
  std::vector<uint64_t> offsets;
  offsets.reserve(2 * kTargetMatches);
  for (auto _ : state) {
    offsets.clear();
    b.index->Equal(b.target.src_ip, b.snapshot,
                   [&](uint64_t o) { offsets.push_back(o); });
    benchmark::DoNotOptimize(offsets.data());
  }
  if (offsets.size() != b.target_count) {
    state.SkipWithError("Equal found the wrong number of records");
  }
  using benchmark::Counter;
  state.counters["matches"] = static_cast<double>(offsets.size());
  state.counters["time/offset"] =
      Counter(static_cast<double>(state.iterations()) *
                  static_cast<double>(offsets.size()),
              Counter::kIsRate | Counter::kInvert);
}

void BM_LookupPrefix(benchmark::State& state) {
  const Built& b = BuiltIndex();
  uint8_t block[16];
  SetV4(block, (10u << 24) | (1u << 8));
  std::vector<uint64_t> offsets;
  for (auto _ : state) {
    offsets.clear();
    b.index->Prefix(block, 96 + 24, b.snapshot,
                    [&](uint64_t o) { offsets.push_back(o); });
    benchmark::DoNotOptimize(offsets.data());
  }
  using benchmark::Counter;
  state.counters["matches"] = static_cast<double>(offsets.size());
  state.counters["time/offset"] =
      Counter(static_cast<double>(state.iterations()) *
                  static_cast<double>(offsets.size()),
              Counter::kIsRate | Counter::kInvert);
}

void BM_Memory(benchmark::State& state) {
  const Built& b = BuiltIndex();
  for (auto _ : state) {
    benchmark::DoNotOptimize(b.index->memory_bytes());
  }
  const double records = static_cast<double>(kLookupIndexRecords);
  state.counters["mem_bytes/record"] =
      static_cast<double>(b.index->memory_bytes()) / records;
  state.counters["mem_MiB"] =
      static_cast<double>(b.index->memory_bytes()) / (1 << 20);
  state.counters["hosts"] = static_cast<double>(b.index->tree().leaves());
  state.counters["entries"] = static_cast<double>(b.index->entries());
}

void RegisterBenchmarks() {
  benchmark::RegisterBenchmark("insert/src_ip/batch:32", BM_Insert)
      ->Threads(1)
      ->Threads(2)
      ->Iterations(kInsertRecordsPerThread / kBatch)
      ->Setup(SetUpInsert)
      ->Teardown(TearDownInsert)
      ->UseRealTime()
      ->Repetitions(3)
      ->DisplayAggregatesOnly(true);
  benchmark::RegisterBenchmark("lookup/equal/src_ip/10M", BM_LookupEqual)
      ->Iterations(2000)
      ->Unit(benchmark::kMicrosecond)
      ->Repetitions(3)
      ->DisplayAggregatesOnly(true);
  benchmark::RegisterBenchmark("lookup/prefix/src_ip/v4_slash24/10M",
                               BM_LookupPrefix)
      ->Iterations(200)
      ->Unit(benchmark::kMicrosecond)
      ->Repetitions(3)
      ->DisplayAggregatesOnly(true);
  benchmark::RegisterBenchmark("memory/src_ip/10M", BM_Memory)->Iterations(1);
}

}  // namespace
}  // namespace loupe

int main(int argc, char** argv) {
  // The pool is prepared before anything is timed.
  return loupe::bench::BenchmarkMain(
      argc, argv, [] { loupe::Pool(); }, loupe::RegisterBenchmarks);
}
