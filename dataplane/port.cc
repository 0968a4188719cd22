#include "dataplane/port.h"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <cstring>

namespace loupe::dataplane {
namespace {

std::string Reason(int rc) { return rte_strerror(rc < 0 ? -rc : rc); }

// The device name is the part of the string before the first comma.
std::string DeviceName(const std::string& device) {
  return device.substr(0, device.find(','));
}

}  // namespace

Result<std::unique_ptr<Port>> Port::Open(const PortOptions& o) {
  const std::string what = "port " + o.name + " (" + o.device + ")";
  if (o.device.empty()) {
    return Status::InvalidArgument("port " + o.name + ": empty device string");
  }
  if (o.mbufs <
      static_cast<uint32_t>(o.rx_descriptors) + 2 * o.mbuf_cache + 512) {
    return Status::InvalidArgument(
        what + ": " + std::to_string(o.mbufs) + " mbufs cannot fill " +
        std::to_string(o.rx_descriptors) +
        " RX descriptors plus the caches and a burst in flight; raise mbufs");
  }
  const std::string name = DeviceName(o.device);
  bool probed = false;
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
    int rc = rte_dev_probe(o.device.c_str());
    if (rc < 0 && rc != -EEXIST) {
      return Status::InvalidArgument(
          what + ": cannot probe the device: " + Reason(rc) +
          " (check the driver name and its "
          "arguments)");
    }
    probed = rc == 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
      return Status::NotFound(what + ": probed, but no ethdev named \"" + name +
                              "\" appeared");
    }
  }

  rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(id, &info);
  if (rc != 0) {
    return Status::Internal(what + ": device info: " + Reason(rc));
  }
  int socket = rte_eth_dev_socket_id(id);
  if (socket < 0) socket = static_cast<int>(rte_socket_id());

  static std::atomic<int> pools{0};
  const std::string pool_name = "loupe_mp" + std::to_string(pools++);
  rte_mempool* pool =
      rte_pktmbuf_pool_create(pool_name.c_str(), o.mbufs, o.mbuf_cache, 0,
                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) {
    if (probed) rte_dev_remove(info.device);
    return Status::ResourceExhausted(
        what + ": cannot create a pool of " + std::to_string(o.mbufs) +
        " mbufs: " + Reason(rte_errno) +
        " (give EAL more memory with -m, or lower mbufs)");
  }
  auto fail = [&](const std::string& step, int code) -> Status {
    rte_eth_dev_close(id);
    if (probed) rte_dev_remove(info.device);
    rte_mempool_free(pool);
    return Status::Internal(what + ": " + step + ": " + Reason(code));
  };

  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof(conf));
  rc = rte_eth_dev_configure(id, 1, 0, &conf);
  if (rc != 0) return fail("configure", rc);
  uint16_t rx_desc = o.rx_descriptors;
  uint16_t tx_desc = 0;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_desc, &tx_desc);
  if (rc != 0) return fail("adjust descriptors", rc);
  rc = rte_eth_rx_queue_setup(id, 0, rx_desc, static_cast<unsigned>(socket),
                              nullptr, pool);
  if (rc != 0) return fail("RX queue set-up", rc);
  rc = rte_eth_dev_start(id);
  if (rc != 0) return fail("start", rc);
  // Not every driver has a promiscuous mode (capture files, rings).
  (void)rte_eth_promiscuous_enable(id);
  rte_eth_stats_reset(id);
  return std::unique_ptr<Port>(new Port(o, id, pool, probed));
}

Port::Port(const PortOptions& options, uint16_t id, rte_mempool* pool,
           bool probed)
    : options_(options), id_(id), pool_(pool), probed_(probed) {}

Port::~Port() {
  rte_eth_dev_info info;
  const bool have_info = rte_eth_dev_info_get(id_, &info) == 0;
  (void)rte_eth_dev_stop(id_);
  rte_eth_dev_close(id_);
  if (probed_ && have_info && info.device != nullptr) {
    rte_dev_remove(info.device);
  }
  rte_mempool_free(pool_);
}

NicCounters Port::nic_counters() const {
  rte_eth_stats s;
  NicCounters c;
  if (rte_eth_stats_get(id_, &s) == 0) {
    c.missed = s.imissed;
    c.nombuf = s.rx_nombuf;
  }
  return c;
}

}  // namespace loupe::dataplane
