// The dataplane end to end: RX -> parse -> spray -> ring -> writer ->
// multilog, on real DPDK lcores without hugepages: one RX/spray lcore on
// CPU 0, one writer lcore on CPU 1, the main thread floating and asleep.
//
// Frames: 4,096 of the project's traffic mix (a few hundred hosts, IPv4
// and IPv6, TCP/UDP/ICMP, VXLAN, VLANs), each cut to at most 128 bytes as
// a header mirror would send it -- small packets, the line-rate case.
// Two sources, both polled by the RX lcore itself (there is no third CPU):
//   pcap: net_pcap replaying a capture of them (infinite_rx=1). The PMD
//         dequeues each stored frame from a ring, copies it into a fresh
//         mbuf and enqueues it back, so the source costs RX time too.
//   prebuilt: net_null (size=128) over a mempool whose every mbuf was
//         written once with one of the frames: net_null hands out mbufs
//         without touching their data, so each carries a real frame at no
//         per-packet cost -- prebuilt mbufs, the source out of the way.
//
// Configurations (the control programs of tests/bench/bench_program.h):
//   a: no index, filter or trigger
//   b: 10 filters, 10 aggregates, 1,000 triggers (the monitor runs)
// Each source runs unpaced (the most it can offer) and, for pcap, also
// paced to 10 GbE line rate for 64-byte frames (14.88 Mpps offered, the
// port's max_pps): the rate the issue asks to record with under 1% drops.
// Each run warms up 0.3 s, then 1.5 s are measured, into a pre-faulted log
// (first touch of fresh memory is slow on this host; the log's capacity
// is pre-faulted so no allocation happens during the measurement).
// Printed: Mpps recorded, Mpps received, drop rate and drops by reason;
// and the parser alone in ns/packet on the same frames. Nothing here
// asserts a rate. Run by `meson test --benchmark` or directly.
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/eal.h"
#include "dataplane/packet_parser.h"
#include "dataplane/pcap_writer.h"
#include "dataplane/pipeline.h"
#include "dataplane/traffic_mix.h"
#include "multilog/multilog.h"
#include "multilog/packet_schema.h"
#include "tests/bench/bench_program.h"

namespace loupe::dataplane {
namespace {

constexpr uint32_t kFrames = 4096;
constexpr uint32_t kMaxCut = 128;
constexpr uint64_t kLogBytes = 5ull << 30;
// 10 GbE line rate with 64-byte frames (84 bytes on the wire each).
constexpr uint64_t kLineRatePps = 14880952;

struct Frames {
  std::vector<std::vector<uint8_t>> frames;
  uint64_t bytes = 0;
};

Frames MakeFrames() {
  MixOptions mo;
  mo.seed = 42;
  mo.packets = kFrames;
  mo.rate_pps = 15e6;
  auto mix = TrafficMix::Create(mo);
  if (!mix.ok()) {
    std::fprintf(stderr, "traffic mix: %s\n", mix.status().ToString().c_str());
    std::exit(1);
  }
  Frames f;
  std::vector<uint8_t> buf(kMixMaxFrameBytes);
  MixFrame mf;
  while (mix->Next(buf.data(), buf.size(), &mf)) {
    const uint32_t len = std::min<uint32_t>(mf.length, kMaxCut);
    f.frames.emplace_back(buf.begin(), buf.begin() + len);
    f.bytes += len;
  }
  return f;
}

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ParserAlone(const Frames& f) {
  PacketRecord r;
  uint64_t ok = 0;
  for (int warm = 0; warm < 10; ++warm) {
    for (const auto& fr : f.frames) {
      ok += ParsePacket(fr.data(), static_cast<uint32_t>(fr.size()), &r) ==
            ParseResult::kOk;
    }
  }
  const int kRounds = 300;
  const double t0 = NowSeconds();
  for (int round = 0; round < kRounds; ++round) {
    for (const auto& fr : f.frames) {
      ok += ParsePacket(fr.data(), static_cast<uint32_t>(fr.size()), &r) ==
            ParseResult::kOk;
      asm volatile("" : : "r"(&r) : "memory");
    }
  }
  const double dt = NowSeconds() - t0;
  std::printf("parser alone (traffic mix): %.2f ns/packet (%llu parsed ok)\n",
              dt * 1e9 / (double{kRounds} * f.frames.size()),
              static_cast<unsigned long long>(ok));
}

// Writes frame i % n into the data room of every mbuf of the port's pool
// (the pipeline's port pools are named loupe_mp*; one is alive).
void Prebuild(const Frames& f) {
  struct Ctx {
    const Frames* f;
    rte_mempool* pool;
  } ctx{&f, nullptr};
  rte_mempool_walk(
      [](rte_mempool* mp, void* arg) {
        if (std::strncmp(mp->name, "loupe_mp", 8) == 0) {
          static_cast<Ctx*>(arg)->pool = mp;
        }
      },
      &ctx);
  if (ctx.pool == nullptr) {
    std::fprintf(stderr, "no port pool found\n");
    std::exit(1);
  }
  rte_mempool_obj_iter(
      ctx.pool,
      [](rte_mempool*, void* arg, void* obj, unsigned idx) {
        const Frames& fr = *static_cast<const Frames*>(arg);
        auto* m = static_cast<rte_mbuf*>(obj);
        const auto& frame = fr.frames[idx % fr.frames.size()];
        std::memset(static_cast<char*>(m->buf_addr) + RTE_PKTMBUF_HEADROOM, 0,
                    kMaxCut);
        std::memcpy(static_cast<char*>(m->buf_addr) + RTE_PKTMBUF_HEADROOM,
                    frame.data(), frame.size());
      },
      const_cast<Frames*>(&f));
}

void RunConfig(const char* name, bool program, const std::string& source,
               const std::string& device, const Frames* prebuild,
               uint64_t max_pps = 0) {
  MultilogOptions mo;
  mo.data.preallocate_bytes = kLogBytes;
  mo.data.capacity_bytes = kLogBytes;
  mo.start_monitor = program;  // the 1,000 triggers run for real
  const double t_open = NowSeconds();
  auto log = Multilog::Open("packets", PacketSchema(), mo);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    std::exit(1);
  }
  if (program && !bench::AddFilterProgram(**log)) {
    std::fprintf(stderr, "cannot add the program\n");
    std::exit(1);
  }
  std::printf("%s, config %s: log of %.1f GiB pre-faulted in %.1f s\n",
              source.c_str(), name, static_cast<double>(kLogBytes) / (1 << 30),
              NowSeconds() - t_open);

  PipelineOptions po;
  po.ports.push_back({source, device, 4096, 32767, 512, max_pps});
  po.idle_sleep_us = 0;
  po.ring_size =
      8192;  // 8192 bursts: ~17 ms of line rate, to ride out preemption
  auto p = Pipeline::Create(log->get(), po);
  if (!p.ok()) {
    std::fprintf(stderr, "pipeline: %s\n", p.status().ToString().c_str());
    std::exit(1);
  }
  if (prebuild != nullptr) Prebuild(*prebuild);
  if (Status s = (*p)->Start(); !s.ok()) {
    std::fprintf(stderr, "start: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  PipelineStats a = (*p)->stats();
  const double t0 = NowSeconds();
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    PipelineStats s = (*p)->stats();
    std::printf("  %.1f s: %.2f M records\n", NowSeconds() - t0,
                static_cast<double>(s.total.recorded - a.total.recorded) / 1e6);
    std::fflush(stdout);
  }
  PipelineStats b = (*p)->stats();
  const double dt = NowSeconds() - t0;
  (*p)->Stop();
  const double rec = static_cast<double>(b.total.recorded - a.total.recorded);
  const double recv = static_cast<double>(b.total.received - a.total.received);
  const double drop =
      static_cast<double>(b.total.dropped() - a.total.dropped());
  std::printf(
      "%s, config %s: %.3f Mpps recorded, %.3f Mpps received, drops "
      "%.4f%%\n",
      source.c_str(), name, rec / dt / 1e6, recv / dt / 1e6,
      recv > 0 ? 100 * drop / recv : 0);
  for (size_t d = 0; d < kNumDropReasons; ++d) {
    const uint64_t n = b.total.drops[d] - a.total.drops[d];
    if (n != 0) {
      std::printf("  drops %s: %llu\n", DropReasonName(d),
                  static_cast<unsigned long long>(n));
    }
  }
  const DataLogStats ds = (*log)->data_log().stats();
  std::printf("  alloc_stalls %llu, writer batches %llu\n",
              static_cast<unsigned long long>(ds.alloc_stalls),
              static_cast<unsigned long long>(b.writers[0].batches));
  std::fflush(stdout);
}

}  // namespace
}  // namespace loupe::dataplane

int main() {
  using namespace loupe::dataplane;
  Frames frames = MakeFrames();
  const std::string pcap =
      (std::filesystem::temp_directory_path() /
       ("loupe_dataplane_bench_" + std::to_string(getpid()) + ".pcap"))
          .string();
  {
    auto w = PcapWriter::Create(pcap);
    if (!w.ok()) {
      std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
      return 1;
    }
    uint64_t t = 1700000000000000000ull;
    for (const auto& f : frames.frames) {
      (void)w->Write(t += 66, f.data(), static_cast<uint32_t>(f.size()));
    }
    if (!w->Close().ok()) return 1;
  }
  std::printf("capture: %zu frames, %.1f bytes on average (cut at %u)\n",
              frames.frames.size(),
              static_cast<double>(frames.bytes) / frames.frames.size(),
              kMaxCut);
  ParserAlone(frames);
  const std::string prefix =
      "--file-prefix=loupe_dataplane_bench_" + std::to_string(getpid());
  loupe::Status s =
      InitEal({"--no-huge", "-m", "1024", "--no-pci", prefix,
               "--lcores=0@(0-1),1@0,2@1", "--log-level=*:warning"});
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  int run = 0;
  for (bool program : {false, true}) {
    const char* config = program ? "b" : "a";
    RunConfig(config, program, "pcap",
              "net_pcap_" + std::to_string(run++) + ",rx_pcap=" + pcap +
                  ",infinite_rx=1",
              nullptr);
    RunConfig(config, program, "pcap at 14.88 Mpps",
              "net_pcap_" + std::to_string(run++) + ",rx_pcap=" + pcap +
                  ",infinite_rx=1",
              nullptr, kLineRatePps);
    RunConfig(config, program, "prebuilt",
              "net_null_" + std::to_string(run++) + ",size=128", &frames);
  }
  std::filesystem::remove(pcap);
  CleanupEal();
  return 0;
}
