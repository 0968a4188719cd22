// ParsePacket cost per packet, on frames warm in cache. Run with
// `meson test -C build --benchmark` or directly.
//
//   parse/<kind>
//     One thread parses bursts of 32 frames into 32 records (2 KiB, as the
//     RX stage does per burst), walking a pool of 1024 frames built before
//     timing, each in its own 256-byte slot (256 KiB: warm in L2, so this
//     is the parser's cost, not the cost of the first touch of a frame
//     DMA'd by the NIC). Addresses and ports vary from frame to frame;
//     payloads are short, since nothing past the headers is read. Kinds:
//       ipv4_tcp         Ethernet, IPv4 (no options), TCP: the headline
//       ipv6_tcp         Ethernet, IPv6 (no extension headers), TCP
//       ipv4_udp         Ethernet, IPv4, UDP
//       vxlan_ipv4_tcp   outer Ethernet/IPv4/UDP/VXLAN, inner IPv4/TCP
//       mix              in random order: IPv4 TCP 62%, UDP 15%; IPv6 TCP
//                        8%, UDP 2%; VXLAN inner TCP 5%; 802.1Q IPv4 TCP
//                        4%; ICMP 1%; ICMPv6 1%; ARP 1%; IPv4 later
//                        fragments 0.5%; IPv6 hop-by-hop + ICMPv6 0.5%
//     Counters: time/packet and packets/s (by CPU time), ok (the fraction
//     of frames parsed to a record: 1, the pools hold valid frames only).
//
// 1 M bursts (32 M packets) per run, five repetitions; the mean, median and
// spread are printed. Rates vary with the machine; nothing here asserts a
// time.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <random>
#include <vector>

#include "dataplane/packet_parser.h"
#include "multilog/packet_schema.h"
#include "tests/bench/bench_main.h"
#include "tests/support/frame_bytes.h"

namespace loupe::dataplane {
namespace {

constexpr size_t kPoolFrames = 1024;
constexpr size_t kSlotBytes = 256;
constexpr size_t kBurst = 32;
constexpr int64_t kBursts = 1'000'000;

using test_support::Bytes;

// ---- frames ----

using test_support::Append;
using test_support::Put16;
using test_support::Put32;

Bytes Ether(uint16_t type, const Bytes& payload, uint16_t vlan = 0) {
  Bytes b = {0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0xab, 0xcd, 0xef};
  if (vlan != 0) {
    Put16(b, 0x8100);
    Put16(b, vlan);
  }
  Put16(b, type);
  Append(b, payload);
  return b;
}

Bytes Ipv4(uint8_t proto, uint32_t src, uint32_t dst, const Bytes& payload,
           uint16_t fragment = 0x4000) {
  Bytes b = {0x45, 0};
  Put16(b, static_cast<uint16_t>(20 + payload.size()));
  Put16(b, 0x1234);
  Put16(b, fragment);
  b.push_back(64);
  b.push_back(proto);
  Put16(b, 0);
  Put32(b, src);
  Put32(b, dst);
  Append(b, payload);
  return b;
}

Bytes Ipv6(uint8_t next, uint64_t src_host, uint64_t dst_host,
           const Bytes& payload) {
  Bytes b;
  Put32(b, 0x60000000u | 0x12345);
  Put16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(64);
  for (uint64_t host : {src_host, dst_host}) {
    Put32(b, 0x20010db8);
    Put32(b, 0x002a0001);
    Put32(b, static_cast<uint32_t>(host >> 32));
    Put32(b, static_cast<uint32_t>(host));
  }
  Append(b, payload);
  return b;
}

Bytes Tcp(uint16_t src, uint16_t dst, uint8_t flags, size_t data) {
  Bytes b;
  Put16(b, src);
  Put16(b, dst);
  Put32(b, 1);
  Put32(b, 2);
  b.push_back(0x50);
  b.push_back(flags);
  Put16(b, 65535);
  Put32(b, 0);
  b.resize(b.size() + data, 'x');
  return b;
}

Bytes Udp(uint16_t src, uint16_t dst, const Bytes& payload) {
  Bytes b;
  Put16(b, src);
  Put16(b, dst);
  Put16(b, static_cast<uint16_t>(8 + payload.size()));
  Put16(b, 0);
  Append(b, payload);
  return b;
}

Bytes Icmp(uint8_t type) { return {type, 0, 0, 0, 0, 1, 0, 1}; }

Bytes Vxlan(uint32_t vni, const Bytes& inner) {
  Bytes b = {0x08, 0, 0, 0};
  Put32(b, vni << 8);
  Append(b, inner);
  return b;
}

enum class Kind { kIpv4Tcp, kIpv6Tcp, kIpv4Udp, kVxlanIpv4Tcp, kMix };

class FrameMaker {
 public:
  explicit FrameMaker(uint64_t seed) : rng_(seed) {}

  Bytes Make(Kind kind) {
    switch (kind) {
      case Kind::kIpv4Tcp:
        return Ether(0x0800, Ipv4(6, Vm(), Vm(),
                                  Tcp(Ephemeral(), Server(), 0x10, Data())));
      case Kind::kIpv6Tcp:
        return Ether(0x86dd, Ipv6(6, Below(4096), Below(64),
                                  Tcp(Ephemeral(), Server(), 0x18, Data())));
      case Kind::kIpv4Udp:
        return Ether(0x0800, Ipv4(17, Vm(), Vm(),
                                  Udp(Ephemeral(), 53, Bytes(Data(), 'u'))));
      case Kind::kVxlanIpv4Tcp:
        return Ether(0x0800,
                     Ipv4(17, 0xc0a80001 + Below(8), 0xc0a80001 + Below(8),
                          Udp(Ephemeral(), kVxlanPort,
                              Vxlan(5000 + Below(16), Make(Kind::kIpv4Tcp)))));
      case Kind::kMix:
        return MixFrame();
    }
    return {};
  }

 private:
  uint32_t Below(uint64_t n) { return static_cast<uint32_t>(rng_() % n); }
  uint32_t Vm() { return (10u << 24) | (Below(4096) + 2); }
  uint16_t Ephemeral() { return static_cast<uint16_t>(32768 + Below(28232)); }
  uint16_t Server() {
    static constexpr uint16_t kPorts[] = {443, 443, 443, 80, 22, 8080, 5432};
    return kPorts[Below(std::size(kPorts))];
  }
  size_t Data() { return Below(4) == 0 ? 0 : 8 + Below(32); }

  Bytes MixFrame() {
    const uint32_t r = Below(1000);
    if (r < 620) return Make(Kind::kIpv4Tcp);
    if (r < 770) return Make(Kind::kIpv4Udp);
    if (r < 850) return Make(Kind::kIpv6Tcp);
    if (r < 870) {
      return Ether(0x86dd, Ipv6(17, Below(4096), Below(64),
                                Udp(Ephemeral(), 443, Bytes(Data(), 'u'))));
    }
    if (r < 920) return Make(Kind::kVxlanIpv4Tcp);
    if (r < 960) {
      return Ether(0x0800,
                   Ipv4(6, Vm(), Vm(), Tcp(Ephemeral(), Server(), 0x10, 0)),
                   static_cast<uint16_t>(100 + Below(4)));
    }
    if (r < 970) return Ether(0x0800, Ipv4(1, Vm(), Vm(), Icmp(8)));
    if (r < 980) return Ether(0x86dd, Ipv6(58, Below(4096), 1, Icmp(135)));
    if (r < 990) return Ether(0x0806, Bytes(28, 0));
    if (r < 995) {
      return Ether(0x0800, Ipv4(17, Vm(), Vm(), Bytes(64, 'f'),
                                static_cast<uint16_t>(185 * (1 + Below(4)))));
    }
    Bytes hop = {58, 0, 5, 2, 0, 0, 1, 0};  // router alert, as MLD sends
    Append(hop, Icmp(143));
    return Ether(0x86dd, Ipv6(0, Below(4096), 0x16, hop));
  }

  std::mt19937_64 rng_;
};

// Frames in fixed-size slots, as mbufs hold them.
struct Pool {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> lengths;
  const uint8_t* frame(size_t i) const { return bytes.data() + i * kSlotBytes; }
};

Pool MakePool(Kind kind) {
  FrameMaker maker(20240601 + static_cast<uint64_t>(kind));
  Pool pool;
  pool.bytes.assign(kPoolFrames * kSlotBytes, 0);
  for (size_t i = 0; i < kPoolFrames; ++i) {
    const Bytes frame = maker.Make(kind);
    if (frame.size() > kSlotBytes) std::abort();
    std::memcpy(pool.bytes.data() + i * kSlotBytes, frame.data(), frame.size());
    pool.lengths.push_back(static_cast<uint32_t>(frame.size()));
  }
  return pool;
}

void BM_Parse(benchmark::State& state, Kind kind) {
  const Pool pool = MakePool(kind);
  alignas(64) PacketRecord records[kBurst];
  std::memset(records, 0, sizeof(records));
  size_t at = 0;
  uint64_t ok = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < kBurst; ++i) {
      ok += ParsePacket(pool.frame(at + i), pool.lengths[at + i],
                        &records[i]) == ParseResult::kOk;
    }
    benchmark::DoNotOptimize(records);
    benchmark::ClobberMemory();
    at = (at + kBurst) % kPoolFrames;
  }
  const double packets =
      static_cast<double>(state.iterations()) * static_cast<double>(kBurst);
  using benchmark::Counter;
  state.counters["time/packet"] =
      Counter(packets, Counter::kIsRate | Counter::kInvert);
  state.counters["packets/s"] = Counter(packets, Counter::kIsRate);
  state.counters["ok"] = static_cast<double>(ok) / packets;
}

void RegisterBenchmarks() {
  static constexpr struct {
    const char* name;
    Kind kind;
  } kKinds[] = {
      {"parse/ipv4_tcp", Kind::kIpv4Tcp},
      {"parse/ipv6_tcp", Kind::kIpv6Tcp},
      {"parse/ipv4_udp", Kind::kIpv4Udp},
      {"parse/vxlan_ipv4_tcp", Kind::kVxlanIpv4Tcp},
      {"parse/mix", Kind::kMix},
  };
  static_assert(kPoolFrames % kBurst == 0);
  for (const auto& k : kKinds) {
    benchmark::RegisterBenchmark(k.name, BM_Parse, k.kind)
        ->Iterations(kBursts)
        ->Repetitions(5)
        ->DisplayAggregatesOnly(true);
  }
}

}  // namespace
}  // namespace loupe::dataplane

int main(int argc, char** argv) {
  return loupe::bench::BenchmarkMain(argc, argv, nullptr,
                                     loupe::dataplane::RegisterBenchmarks);
}
