// FilterProgram::Matches() cost per record, on packet records as a
// hypervisor's mirror port sees them (a few hundred VMs in 10.0.0.0/16, 10%
// IPv6 in 2001:db8:2a:1::/64, TCP/UDP/ICMP at 85/13/2%, server ports
// against ephemeral ones). Run with `meson test -C build --benchmark` or
// directly.
//
//   matches/<filter>   one thread evaluates the filter on a pool of 4096
//                      records (256 KiB, warm in L2), again and again.
//                      Counters: time/record, match (fraction of records
//                      that pass, so the short-circuit paths are known).
//   hand_written/...   the same test written in C++, for scale.
//   compile/<filter>   ParseFilter + compile, control-path cost.
//
// Five repetitions each; the mean, median and spread are printed. Nothing
// here asserts a time.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "multilog/filter_program.h"
#include "multilog/packet_schema.h"
#include "multilog/status.h"
#include "tests/bench/bench_pool.h"
#include "tests/support/ipv4_mapped.h"

namespace loupe {
namespace {

constexpr size_t kPoolRecords = 4096;

std::vector<PacketRecord> MakePacketPool() {
  bench::PoolRng uniform;
  const auto set_ipv4 = test_support::SetV4;
  const auto set_ipv6 = bench::SetPoolIpv6;
  auto vm = [&] { return bench::SkewedVm(uniform); };
  static constexpr uint16_t kServerPorts[] = {443,  443,  443,  80,   53,  22,
                                              8080, 3306, 5432, 6379, 9092};
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
    const uint16_t server = kServerPorts[uniform(std::size(kServerPorts))];
    const auto client = static_cast<uint16_t>(32768 + uniform(28232));
    const bool to_server = uniform(2) == 0;
    p.proto = kind < 85 ? 6 : kind < 98 ? 17 : 1;
    p.src_port = to_server ? client : server;
    p.dst_port = to_server ? server : client;
    p.ip_len = static_cast<uint16_t>(uniform(2) == 0 ? 52 : 1500);
    p.frame_len = static_cast<uint16_t>(p.ip_len + 14);
    p.ttl = 64;
  }
  return pool;
}

const std::vector<PacketRecord>& Pool() {
  static const auto* const pool =
      new std::vector<PacketRecord>(MakePacketPool());
  return *pool;
}

const uint8_t* Bytes(const PacketRecord& r) {
  return reinterpret_cast<const uint8_t*>(&r);
}

void SetCounters(benchmark::State& state, uint64_t matched) {
  const auto records = static_cast<double>(state.iterations() * kPoolRecords);
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["time/record"] = benchmark::Counter(
      records, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["match"] = static_cast<double>(matched) / records;
}

void Matches(benchmark::State& state, const char* text) {
  Result<FilterProgram> program = FilterProgram::Compile(PacketSchema(), text);
  if (!program.ok()) {
    state.SkipWithError(program.status().ToString().c_str());
    return;
  }
  const std::vector<PacketRecord>& pool = Pool();
  uint64_t matched = 0;
  for (auto _ : state) {
    for (const PacketRecord& r : pool) matched += program->Matches(Bytes(r));
    benchmark::DoNotOptimize(matched);
  }
  SetCounters(state, matched);
}

void Compile(benchmark::State& state, const char* text) {
  for (auto _ : state) {
    Result<FilterProgram> program =
        FilterProgram::Compile(PacketSchema(), text);
    benchmark::DoNotOptimize(program.ok());
  }
}

constexpr const char* kPort = "dst_port == 443";
constexpr const char* kCompound =
    "src_ip in 10.0.0.0/8 && dst_port == 443 || !(proto == udp)";
constexpr const char* kSet10 =
    "dst_port in {22, 53, 80, 443, 3306, 5432, 6379, 8080, 9092, 11211}";
constexpr const char* kIpv6Prefix = "src_ip in 2001:db8:2a::/48";

template <typename Test>
void HandWritten(benchmark::State& state, Test test) {
  const std::vector<PacketRecord>& pool = Pool();
  uint64_t matched = 0;
  for (auto _ : state) {
    for (const PacketRecord& r : pool) {
      benchmark::DoNotOptimize(&r);
      matched += test(r);
    }
    benchmark::DoNotOptimize(matched);
  }
  SetCounters(state, matched);
}

BENCHMARK_CAPTURE(Matches, port, kPort)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK_CAPTURE(Matches, compound, kCompound)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK_CAPTURE(Matches, set10, kSet10)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK_CAPTURE(Matches, ipv6_prefix, kIpv6Prefix)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

BENCHMARK_CAPTURE(HandWritten, port,
                  [](const PacketRecord& r) { return r.dst_port == 443; })
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

BENCHMARK_CAPTURE(Compile, port, kPort);
BENCHMARK_CAPTURE(Compile, compound, kCompound);
BENCHMARK_CAPTURE(Compile, set10, kSet10);

}  // namespace
}  // namespace loupe

BENCHMARK_MAIN();
