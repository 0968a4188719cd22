// DataLog append throughput with 64-byte packet records, and the memory a
// record costs. Run with `meson test -C build --benchmark` or directly.
//
//   append/<storage>/<warmth>/batch:B/.../threads:T
//     T writer threads (each with its own Writer on one shared log) append
//     batches of B records taken from a pool of packet records prepared
//     before timing. Every iteration count is fixed, so a run is bounded
//     (one to three minutes in all) and the log can be warm before timing
//     starts:
//       memory/prefaulted          Open pre-faults room for every record of
//                                  the run (capacity_bytes stops the
//                                  allocator there, so nothing else runs).
//       memory/flight_recorder     a 256 MiB retention window, filled twice
//                                  before timing, so blocks come back warm
//                                  from retention.
//       durable_relaxed/prefaulted memory-mapped files under /tmp, flushed
//                                  every 100 ms, pre-faulted as above.
//     Counters: records/s and time/record over all threads, by wall time;
//     mem_bytes/record = stats().memory_bytes / records appended to the
//     log, alloc_stalls = appends that waited for a block (0 when warm).
//   memory_per_record_100M
//     One thread appends 100 million records (batch 32) to an in-memory log
//     with default options, once; memory per record from stats() and from
//     the process RSS delta (about 6.4 GB). Its rate includes faulting in
//     fresh memory (on a VM, also the hypervisor backing it on first
//     touch), so it is not the append rate of a warm log.
//
// Rates vary with the machine; nothing here asserts a time.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "multilog/data_log.h"
#include "multilog/packet_schema.h"
#include "multilog/status.h"
#include "tests/bench/bench_main.h"
#include "tests/bench/bench_pool.h"
#include "tests/support/ipv4_mapped.h"

namespace loupe {
namespace {

constexpr uint64_t kRecord = sizeof(PacketRecord);
constexpr size_t kPoolRecords = 4096;  // 256 KiB: stays in L2
constexpr uint64_t kMemoryRecordsPerThread = uint64_t{16} << 20;  // 1 GiB
constexpr uint64_t kDurableRecordsPerThread = uint64_t{4} << 20;  // 256 MiB
constexpr uint64_t kWindowBytes = uint64_t{256} << 20;
constexpr uint64_t kSlackBytes = uint64_t{16} << 20;  // claim slack, blocks
constexpr uint64_t kRecords100M = 100'000'000;

// Packets as a hypervisor's mirror port sees them: a few hundred VMs in
// 10.0.0.0/16 talking to each other and to a handful of services, 10%
// IPv6, TCP/UDP/ICMP at 85/13/2%, well-known server ports against
// ephemeral client ports, frame sizes bimodal (ACKs and full MTU).
std::vector<PacketRecord> MakePacketPool() {
  bench::PoolRng uniform;
  const auto set_ipv4 = test_support::SetV4;
  const auto set_ipv6 = bench::SetPoolIpv6;
  // Skewed: a few VMs carry most of the traffic.
  auto vm = [&] { return bench::SkewedVm(uniform); };
  static constexpr uint16_t kServerPorts[] = {443,  443,  443,  80,   53,  22,
                                              8080, 3306, 5432, 6379, 9092};
  std::vector<PacketRecord> pool(kPoolRecords);
  uint64_t ts = 1'717'200'000'000'000'000ull;
  for (PacketRecord& p : pool) {
    std::memset(&p, 0, sizeof(p));
    ts += 200 + uniform(2000);
    p.timestamp = ts;
    const bool v6 = uniform(10) == 0;
    if (v6) {
      set_ipv6(p.src_ip, uniform(4096));
      set_ipv6(p.dst_ip, uniform(64));
      p.ether_type = 0x86dd;
      p.flags = kPacketIpv6;
    } else {
      set_ipv4(p.src_ip, vm());
      set_ipv4(p.dst_ip,
               uniform(5) == 0
                   ? (203u << 24 | 113u) + static_cast<uint32_t>(uniform(64))
                   : vm());
      p.ether_type = 0x0800;
      p.flags = kPacketIpv4;
    }
    const uint64_t kind = uniform(100);
    const uint16_t server =
        kServerPorts[uniform(sizeof(kServerPorts) / sizeof(kServerPorts[0]))];
    const uint16_t client = static_cast<uint16_t>(32768 + uniform(28232));
    const bool to_server = uniform(2) == 0;
    if (kind < 85) {
      p.proto = 6;
      p.tcp_flags = uniform(50) == 0 ? 0x02 : (uniform(4) == 0 ? 0x18 : 0x10);
    } else if (kind < 98) {
      p.proto = 17;
    } else {
      p.proto = v6 ? 58 : 1;
    }
    if (p.proto == 6 || p.proto == 17) {
      p.src_port = to_server ? client : server;
      p.dst_port = to_server ? server : client;
    } else {
      p.src_port = 8;  // echo request
    }
    const uint64_t size = uniform(10);
    p.frame_len = static_cast<uint16_t>(size < 6   ? 1514
                                        : size < 9 ? 66
                                                   : 64 + uniform(1450));
    p.ip_len = static_cast<uint16_t>(p.frame_len - 14);
    if (uniform(5) == 0) {
      p.vni = 5000 + static_cast<uint32_t>(uniform(16));
      p.flags |= kPacketVxlan;
    }
    p.vlan = uniform(4) == 0 ? static_cast<uint16_t>(100 + uniform(8)) : 0;
    p.port = static_cast<uint16_t>(uniform(4));
    p.ttl = static_cast<uint8_t>((uniform(2) == 0 ? 64 : 128) - uniform(4));
    p.tos = uniform(20) == 0 ? 0xb8 : 0;
  }
  return pool;
}

const PacketRecord* Pool() {
  static const std::vector<PacketRecord> pool = MakePacketPool();
  return pool.data();
}

uint64_t RssBytes() {
  unsigned long long size = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// The log the threads of one append run share. Setup functions run on the
// main thread before the benchmark's threads start, Teardown after they
// have all finished, so the threads only read these.
struct SharedLog {
  std::unique_ptr<DataLog> log;
  std::string dir;    // durable runs: removed by TearDownLog
  std::string error;  // why there is no log
};
SharedLog shared;

void OpenShared(const DataLogOptions& options) {
  Result<std::unique_ptr<DataLog>> log = DataLog::Open(PacketSchema(), options);
  if (!log.ok()) {
    shared.error = log.status().ToString();
    return;
  }
  shared.log = std::move(log).value();
}

// Room for every record the run appends, pre-faulted by Open; capacity
// keeps the allocator from faulting more while the run is timed.
DataLogOptions Prefaulted(const benchmark::State& state,
                          uint64_t records_per_thread) {
  DataLogOptions options;
  const uint64_t run_bytes =
      static_cast<uint64_t>(state.threads()) * records_per_thread * kRecord;
  options.preallocate_bytes = run_bytes + kSlackBytes;
  options.capacity_bytes = run_bytes + kSlackBytes;
  return options;
}

void SetUpMemoryPrefaulted(const benchmark::State& state) {
  shared = SharedLog();
  OpenShared(Prefaulted(state, kMemoryRecordsPerThread));
}

void SetUpMemoryFlightRecorder(const benchmark::State&) {
  shared = SharedLog();
  DataLogOptions options;
  options.retention.max_bytes = kWindowBytes;
  OpenShared(options);
  if (shared.log == nullptr) return;
  // Fill the window twice: from then on every block is a recycled one.
  Result<std::unique_ptr<DataLog::Writer>> writer = shared.log->NewWriter();
  if (!writer.ok()) {
    shared.error = writer.status().ToString();
    shared.log.reset();
    return;
  }
  constexpr size_t kBatch = 1024;
  for (uint64_t bytes = 0; bytes < 2 * kWindowBytes;
       bytes += kBatch * kRecord) {
    const size_t at = (bytes / kRecord) % kPoolRecords;
    Result<uint64_t> r = (*writer)->Append(Pool() + at, kBatch * kRecord);
    if (!r.ok()) {
      shared.error = "warming up: " + r.status().ToString();
      writer->reset();
      shared.log.reset();
      return;
    }
  }
}

void SetUpDurableRelaxed(const benchmark::State& state) {
  shared = SharedLog();
  char name[] = "/tmp/loupe-bench-XXXXXX";
  if (mkdtemp(name) == nullptr) {
    shared.error = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  shared.dir = name;
  DataLogOptions options = Prefaulted(state, kDurableRecordsPerThread);
  options.mode = StorageMode::kDurableRelaxed;
  options.directory = shared.dir;
  OpenShared(options);
}

void TearDownLog(const benchmark::State&) {
  shared.log.reset();
  if (!shared.dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(shared.dir, ec);
  }
  shared = SharedLog();
}

void SetThroughputCounters(benchmark::State& state, double records) {
  using benchmark::Counter;
  state.counters["records/s"] = Counter(records, Counter::kIsRate);
  // The inverted rate: seconds per record, printed with its unit ("13.6ns").
  state.counters["time/record"] =
      Counter(records, Counter::kIsRate | Counter::kInvert);
}

void BM_Append(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  std::unique_ptr<DataLog::Writer> writer;
  if (shared.log == nullptr) {
    state.SkipWithError(shared.error.c_str());
  } else if (Result<std::unique_ptr<DataLog::Writer>> w =
                 shared.log->NewWriter();
             w.ok()) {
    writer = std::move(w).value();
  } else {
    state.SkipWithError(w.status().ToString().c_str());
  }
  const PacketRecord* pool = Pool();
  size_t at = (static_cast<size_t>(state.thread_index()) * 1024) % kPoolRecords;
  // After SkipWithError the loop runs no iteration.
  for (auto _ : state) {
    Result<uint64_t> offset = writer->Append(pool + at, batch * kRecord);
    if (!offset.ok()) [[unlikely]] {
      state.SkipWithError(offset.status().ToString().c_str());
      break;
    }
    at = (at + batch) % kPoolRecords;
  }
  SetThroughputCounters(state, static_cast<double>(state.iterations()) *
                                   static_cast<double>(batch));
  if (state.thread_index() == 0 && shared.log != nullptr) {
    // Only thread 0 sets these, so the sum over threads is its value.
    const DataLogStats stats = shared.log->stats();
    const double appended = static_cast<double>(stats.write_tail / kRecord);
    state.counters["mem_bytes/record"] =
        appended > 0 ? static_cast<double>(stats.memory_bytes) / appended : 0;
    state.counters["alloc_stalls"] = static_cast<double>(stats.alloc_stalls);
  }
  writer.reset();
}

void BM_MemoryPerRecord100M(benchmark::State& state) {
  constexpr size_t kBatch = 32;
  static_assert(kRecords100M % kBatch == 0);
  const uint64_t rss_before = RssBytes();
  std::unique_ptr<DataLog> log;
  std::unique_ptr<DataLog::Writer> writer;
  if (Result<std::unique_ptr<DataLog>> opened =
          DataLog::Open(PacketSchema(), DataLogOptions());
      !opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
  } else {
    log = std::move(opened).value();
    Result<std::unique_ptr<DataLog::Writer>> w = log->NewWriter();
    if (w.ok()) {
      writer = std::move(w).value();
    } else {
      state.SkipWithError(w.status().ToString().c_str());
    }
  }
  const PacketRecord* pool = Pool();
  uint64_t appended = 0;
  for (auto _ : state) {
    size_t at = 0;
    for (appended = 0; appended < kRecords100M; appended += kBatch) {
      Result<uint64_t> offset = writer->Append(pool + at, kBatch * kRecord);
      if (!offset.ok()) [[unlikely]] {
        state.SkipWithError(offset.status().ToString().c_str());
        break;
      }
      at = (at + kBatch) % kPoolRecords;
    }
  }
  if (log == nullptr || appended == 0) return;
  const DataLogStats stats = log->stats();
  const uint64_t rss_after = RssBytes();
  const double records = static_cast<double>(appended);
  SetThroughputCounters(state, records);
  state.counters["mem_bytes/record"] =
      static_cast<double>(stats.memory_bytes) / records;
  state.counters["rss_bytes/record"] =
      static_cast<double>(rss_after - rss_before) / records;
  state.counters["alloc_stalls"] = static_cast<double>(stats.alloc_stalls);
}

void RegisterBenchmarks() {
  struct Variant {
    const char* name;
    void (*setup)(const benchmark::State&);
    uint64_t records_per_thread;
  };
  const Variant variants[] = {
      {"append/memory/prefaulted", SetUpMemoryPrefaulted,
       kMemoryRecordsPerThread},
      {"append/memory/flight_recorder", SetUpMemoryFlightRecorder,
       kMemoryRecordsPerThread},
      {"append/durable_relaxed/prefaulted", SetUpDurableRelaxed,
       kDurableRecordsPerThread},
  };
  for (const Variant& v : variants) {
    for (int64_t batch : {1, 32}) {
      benchmark::RegisterBenchmark(v.name, BM_Append)
          ->Arg(batch)
          ->ArgName("batch")
          ->Threads(1)
          ->Threads(2)
          ->Iterations(
              static_cast<benchmark::IterationCount>(v.records_per_thread) /
              batch)
          ->Setup(v.setup)
          ->Teardown(TearDownLog)
          ->UseRealTime()
          ->Repetitions(3)
          ->DisplayAggregatesOnly(true);
    }
  }
  benchmark::RegisterBenchmark("memory_per_record_100M", BM_MemoryPerRecord100M)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace loupe

int main(int argc, char** argv) {
  // The pool is prepared before anything is timed.
  return loupe::bench::BenchmarkMain(
      argc, argv, [] { loupe::Pool(); }, loupe::RegisterBenchmarks);
}
