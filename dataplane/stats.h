// Dataplane counters as the agent sees them: per port, summed over the
// lcores that serve it, taken on demand (Pipeline::stats()).
//
// Accounting invariant (tested): for every port
//   received == recorded + sum(drops)
// exactly, where received counts every packet the port saw: those delivered
// by rte_eth_rx_burst plus those the NIC reported missed (imissed) or could
// not place for lack of mbufs (rx_nombuf). Each packet is in exactly one of
// recorded or one drop reason.
//
// Drop reasons, in this order (stable names, used in metrics and RPC):
//   nic_missed  the NIC dropped it (rte_eth_stats.imissed)
//   rx_nombuf   no mbuf to receive it into (rte_eth_stats.rx_nombuf)
//   ring_full   the writer lcore's ring was full: the RX lcore never waits
//   log_full    the data log had no memory ready or reached its capacity
//   parse_*     one per ParseResult other than kOk (dataplane/packet_parser.h)
#ifndef LOUPE_DATAPLANE_STATS_H_
#define LOUPE_DATAPLANE_STATS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/packet_parser.h"

namespace loupe::dataplane {

enum DropReason : uint8_t {
  kDropNicMissed = 0,
  kDropRxNoMbuf,
  kDropRingFull,
  kDropLogFull,
  kDropParseFirst,  // + (ParseResult - 1) for each parse error
};

inline constexpr size_t kNumDropReasons =
    kDropParseFirst + kNumParseResults - 1;

inline constexpr size_t ParseDrop(ParseResult r) {
  return kDropParseFirst + static_cast<size_t>(r) - 1;
}

// "nic_missed", "rx_nombuf", "ring_full", "log_full", "parse_runt", ...
const char* DropReasonName(size_t reason);

struct PortStats {
  std::string name;    // from the configuration, e.g. "mirror0"
  std::string device;  // the DPDK device string
  uint16_t port_id = 0;
  uint64_t received = 0;
  uint64_t received_bytes = 0;  // of packets delivered by rx_burst
  uint64_t recorded = 0;
  uint64_t recorded_bytes = 0;  // frame bytes of recorded packets
  std::array<uint64_t, kNumDropReasons> drops{};

  uint64_t dropped() const {
    uint64_t n = 0;
    for (uint64_t d : drops) n += d;
    return n;
  }
};

struct WriterStats {
  unsigned lcore = 0;
  uint64_t batches = 0;  // bursts written
  uint64_t records = 0;
  uint64_t ring_used = 0;  // descriptors waiting in its ring now
};

// The RX lcores' TSC-to-wall-clock anchors (TscClock), over all RX lcores.
struct ClockStats {
  uint64_t reanchors = 0;
  int64_t last_offset_ns = 0;  // the largest in magnitude of the lcores'
                               // last offsets (wall - TSC stamp)
  uint64_t max_abs_offset_ns = 0;
  uint64_t steps_forward = 0;
};

struct PipelineStats {
  bool running = false;
  std::string multilog;  // the multilog packets are recorded into
  std::vector<PortStats> ports;
  std::vector<WriterStats> writers;
  PortStats total;  // the sum over ports (name "total")
  ClockStats clock;
};

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_STATS_H_
