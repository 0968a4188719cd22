// Port: one DPDK ethdev opened by device string, with one RX queue and its
// mbuf pool. The same code serves a NIC ("0000:01:00.0"), an OVS mirror
// port through af_packet ("net_af_packet0,iface=mirror0,framecnt=16384"),
// a vhost-user port ("net_virtio_user0,path=/run/x.sock,server=1"), a
// capture file ("net_pcap0,rx_pcap=/tmp/x.pcap,infinite_rx=1") and test
// devices (net_ring, net_null).
//
// Open probes the device (or finds it if EAL arguments already created it),
// configures one RX queue, starts it, and enables promiscuous mode where the
// driver has one. RX queues are not flushed at start (a capture file would
// be consumed). Thread-safety: Open/Close on the control thread; rx_burst
// on the port's RX lcore; NicCounters from any thread.
#ifndef LOUPE_DATAPLANE_PORT_H_
#define LOUPE_DATAPLANE_PORT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "multilog/status.h"

struct rte_mempool;

namespace loupe::dataplane {

struct PortOptions {
  std::string name;    // for stats and messages, e.g. "mirror0"
  std::string device;  // DPDK device string (see above)
  uint16_t rx_descriptors = 1024;
  uint32_t mbufs = 8191;  // pool size; a power of two minus one is best
  uint32_t mbuf_cache = 256;
  // Receive at most this many packets per second (0: as fast as they
  // come). For replaying a capture at about its own rate: a net_pcap port
  // with infinite_rx=1 otherwise replays as fast as the lcore can read.
  uint64_t max_pps = 0;
};

struct NicCounters {
  uint64_t missed = 0;  // imissed: dropped by the NIC
  uint64_t nombuf = 0;  // rx_nombuf: no mbuf to receive into
};

class Port {
 public:
  // EAL must be initialized. Errors name the device and DPDK's reason.
  static Result<std::unique_ptr<Port>> Open(const PortOptions& options);
  ~Port();  // stops and closes the device
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  uint16_t id() const { return id_; }
  const PortOptions& options() const { return options_; }
  NicCounters nic_counters() const;

 private:
  Port(const PortOptions& options, uint16_t id, rte_mempool* pool, bool probed);

  const PortOptions options_;
  const uint16_t id_;
  rte_mempool* const pool_;
  const bool probed_;  // we hot-plugged it, so we remove it
};

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_PORT_H_
