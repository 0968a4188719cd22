#include "dataplane/pipeline.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

#include "dataplane/packet_parser.h"
#include "multilog/packet_schema.h"
#include "multilog/tails.h"

namespace loupe::dataplane {
namespace {

__extension__ using U128 = unsigned __int128;

constexpr uint32_t kMaxBurst = 512;
constexpr uint32_t kSpinPolls = 256;
constexpr unsigned kDequeueBurst = 32;

// Relaxed read-modify-write by the counter's only writer: a plain add.
inline void Bump(std::atomic<uint64_t>& c, uint64_t n) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void IdleWait(uint32_t* empty_polls, uint32_t sleep_us) {
  if (++*empty_polls < kSpinPolls || sleep_us == 0) {
    rte_pause();
  } else {
    rte_delay_us_sleep(sleep_us);
  }
}

uint64_t WallNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string LcoreList(const std::vector<unsigned>& v) {
  std::string s;
  for (unsigned l : v) s += (s.empty() ? "" : ",") + std::to_string(l);
  return s;
}

}  // namespace

Result<std::unique_ptr<Pipeline>> Pipeline::Create(Multilog* log,
                                                   const PipelineOptions& o) {
  if (log->schema().record_size() != sizeof(PacketRecord) ||
      log->schema().Serialize() != PacketSchema().Serialize()) {
    return Status::InvalidArgument("dataplane: multilog " + log->name() +
                                   " does not use the packet schema");
  }
  if (o.ports.empty()) {
    return Status::InvalidArgument("dataplane: no port configured");
  }
  if (o.burst == 0 || o.burst > kMaxBurst) {
    return Status::InvalidArgument("dataplane: burst must be in [1, 512]");
  }
  if (o.ring_size < 2 || o.ring_size > (1u << 20) ||
      (o.ring_size & (o.ring_size - 1)) != 0) {
    return Status::InvalidArgument(
        "dataplane: ring_size must be a power of two in [2, 1048576]");
  }
  if (o.writers == 0 || o.writers > 16) {
    return Status::InvalidArgument("dataplane: writers must be in [1, 16]");
  }
  std::unique_ptr<Pipeline> p(new Pipeline(log, o));
  Status s = p->Init();
  if (!s.ok()) return s;
  return p;
}

Pipeline::Pipeline(Multilog* log, const PipelineOptions& o)
    : log_(log), options_(o) {}

Status Pipeline::Init() {
  // Lcore layout.
  std::vector<unsigned> workers;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) { workers.push_back(lcore); }
  std::vector<unsigned> rx = options_.rx_lcores;
  std::vector<unsigned> wr = options_.writer_lcores;
  size_t next = 0;
  if (rx.empty()) {
    if (next < workers.size()) rx.push_back(workers[next++]);
  } else {
    next = workers.size();
  }
  if (wr.empty()) {
    while (wr.size() < options_.writers && next < workers.size()) {
      wr.push_back(workers[next++]);
    }
  }
  const size_t need = std::max<size_t>(rx.size(), 1) + options_.writers;
  if (rx.empty() || wr.size() != options_.writers) {
    return Status::InvalidArgument(
        "dataplane: needs " + std::to_string(need) + " EAL worker lcores (" +
        std::to_string(std::max<size_t>(rx.size(), 1)) + " RX + " +
        std::to_string(options_.writers) + " writer), EAL has " +
        std::to_string(workers.size()) +
        " (give EAL more with -l or --lcores, e.g. "
        "--lcores=0@(0-1),1@0,2@1 on 2 CPUs)");
  }
  std::set<unsigned> used;
  for (unsigned l : rx) used.insert(l);
  for (unsigned l : wr) used.insert(l);
  if (used.size() != rx.size() + wr.size()) {
    return Status::InvalidArgument("dataplane: an lcore is listed twice (RX " +
                                   LcoreList(rx) + ", writers " +
                                   LcoreList(wr) + ")");
  }
  for (unsigned l : used) {
    if (std::find(workers.begin(), workers.end(), l) == workers.end()) {
      return Status::InvalidArgument(
          "dataplane: lcore " + std::to_string(l) +
          " is not an EAL worker lcore (the main lcore cannot poll)");
    }
  }

  // Ports, then per-lcore state.
  for (const PortOptions& po : options_.ports) {
    Result<std::unique_ptr<Port>> port = Port::Open(po);
    if (!port.ok()) return port.status();
    ports_.push_back(std::move(*port));
  }
  counters_.reset(new RxCounters[ports_.size()]);
  for (size_t i = 0; i < rx.size(); ++i) {
    auto r = std::make_unique<RxLcore>();
    r->pipeline = this;
    r->lcore = rx[i];
    Result<std::unique_ptr<Reserver>> res =
        log_->NewReserver(options_.writers, options_.ring_size);
    if (!res.ok()) return res.status();
    r->reserver = std::move(*res);
    for (uint32_t w = 0; w < options_.writers; ++w) {
      static std::atomic<int> rings{0};
      const std::string name = "loupe_ring" + std::to_string(rings++);
      rte_ring* ring = rte_ring_create_elem(
          name.c_str(), sizeof(Descriptor), options_.ring_size,
          static_cast<int>(rte_lcore_to_socket_id(rx[i])),
          RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
      if (ring == nullptr) {
        return Status::ResourceExhausted("dataplane: cannot create ring " +
                                         name + ": " + rte_strerror(rte_errno) +
                                         " (give EAL more memory with -m)");
      }
      r->rings.push_back(ring);
    }
    rx_.push_back(std::move(r));
  }
  for (size_t p = 0; p < ports_.size(); ++p) {
    RxLcore& r = *rx_[p % rx_.size()];
    r.queues.push_back({ports_[p]->id(), static_cast<uint16_t>(p),
                        &counters_[p], options_.ports[p].max_pps, 0, 0});
  }
  for (uint32_t w = 0; w < options_.writers; ++w) {
    auto wl = std::make_unique<WriterLcore>();
    wl->pipeline = this;
    wl->lcore = wr[w];
    wl->lane = w;
    Result<std::unique_ptr<Multilog::Writer>> mw = log_->NewWriter();
    if (!mw.ok()) return mw.status();
    wl->writer = std::move(*mw);
    writers_.push_back(std::move(wl));
  }
  return Status::Ok();
}

Pipeline::~Pipeline() {
  Stop();
  for (auto& r : rx_) {
    for (rte_ring* ring : r->rings) rte_ring_free(ring);
  }
  rx_.clear();
  writers_.clear();
  ports_.clear();
}

Status Pipeline::Start() {
  if (running_) return Status::FailedPrecondition("dataplane: already running");
  // Anchor every RX lcore's TSC clock to the same wall-clock reading; each
  // re-anchors itself every second. Nothing is received before now.
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t tsc = rte_rdtsc();
  const uint64_t wall = WallNs();
  for (auto& r : rx_) {
    r->clock.Start(tsc, wall, hz);
    r->settled_ns.store(wall, std::memory_order_relaxed);
    for (RxQueue& q : r->queues) {
      q.start_tsc = tsc;
      q.taken = 0;
    }
  }
  live_.store(true, std::memory_order_release);
  stop_rx_.store(false);
  stop_writers_.store(false);
  for (auto& w : writers_) {
    int rc = rte_eal_remote_launch(&Pipeline::WriterMain, w.get(), w->lcore);
    if (rc != 0) {
      Stop();
      return Status::Internal("dataplane: cannot launch writer on lcore " +
                              std::to_string(w->lcore) + ": " +
                              rte_strerror(-rc));
    }
    running_ = true;
  }
  for (auto& r : rx_) {
    int rc = rte_eal_remote_launch(&Pipeline::RxMain, r.get(), r->lcore);
    if (rc != 0) {
      Stop();
      return Status::Internal("dataplane: cannot launch RX on lcore " +
                              std::to_string(r->lcore) + ": " +
                              rte_strerror(-rc));
    }
  }
  running_ = true;
  return Status::Ok();
}

void Pipeline::Stop() {
  if (!running_) return;
  stop_rx_.store(true, std::memory_order_release);
  for (auto& r : rx_) rte_eal_wait_lcore(r->lcore);
  // RX is done: rings only drain from here.
  stop_writers_.store(true, std::memory_order_release);
  for (auto& w : writers_) rte_eal_wait_lcore(w->lcore);
  // The RX lcores have returned (wait_lcore orders us after them): retire
  // what the writers completed, so readTail covers every recorded packet.
  for (auto& r : rx_) r->reserver->Retire();
  live_.store(false, std::memory_order_release);
  running_ = false;
}

int Pipeline::RxMain(void* arg) {
  auto* rx = static_cast<RxLcore*>(arg);
  rx->pipeline->RunRx(*rx);
  return 0;
}

int Pipeline::WriterMain(void* arg) {
  auto* w = static_cast<WriterLcore*>(arg);
  w->pipeline->RunWriter(*w);
  return 0;
}

void Pipeline::RunRx(RxLcore& rx) {
  alignas(64) PacketRecord stage[kMaxBurst];
  rte_mbuf* mbufs[kMaxBurst];
  const uint16_t burst = static_cast<uint16_t>(options_.burst);
  const uint64_t hz = rte_get_tsc_hz();
  uint32_t empty_polls = 0;
  while (!stop_rx_.load(std::memory_order_relaxed)) {
    // One TSC reading per poll: this poll's bursts are stamped poll_ns,
    // every later one later (TscClock never steps back).
    const uint64_t poll_tsc = rte_rdtsc();
    if (rx.clock.Due(poll_tsc)) [[unlikely]] {
      rx.clock.Reanchor(poll_tsc, WallNs());
    }
    const uint64_t poll_ns = rx.clock.ToNs(poll_tsc);
    bool busy = false;
    for (RxQueue& q : rx.queues) {
      if (q.max_pps != 0) {
        // Whole bursts at the average rate, as a NIC at that rate would
        // deliver them: wait until a burst's worth is allowed.
        const uint64_t allowed = static_cast<uint64_t>(
            U128{rte_rdtsc() - q.start_tsc} * q.max_pps / hz);
        if (allowed < q.taken + burst) continue;
      }
      const uint16_t n = rte_eth_rx_burst(q.port_id, 0, mbufs, burst);
      if (n == 0) continue;
      q.taken += n;
      busy = true;
      RxCounters& c = *q.counters;
      uint32_t good = 0;
      uint64_t bytes = 0;
      uint64_t good_bytes = 0;
      for (uint16_t i = 0; i < n; ++i) {
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(mbufs[i + 1], void*));
        const rte_mbuf* m = mbufs[i];
        const uint32_t len = m->pkt_len;
        bytes += len;
        PacketRecord* r = &stage[good];
        // Headers live in the first segment.
        ParseResult pr =
            ParsePacket(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, r);
        if (pr == ParseResult::kOk) [[likely]] {
          r->timestamp = poll_ns;
          r->port = q.record_port;
          r->frame_len = static_cast<uint16_t>(std::min<uint32_t>(len, 65535));
          good_bytes += len;
          ++good;
        } else {
          Bump(c.drops[ParseDrop(pr)], 1);
        }
      }
      rte_pktmbuf_free_bulk(mbufs, n);
      Bump(c.delivered, n);
      Bump(c.delivered_bytes, bytes);
      if (good != 0) Spray(rx, q, stage, good, good_bytes, poll_ns);
    }
    rx.reserver->Retire();
    // Release after Retire raised the slot: a reader that sees this
    // settled time loads a read tail above every burst stamped before it.
    rx.settled_ns.store(rx.reserver->oldest_in_flight() == Tails::kIdle
                            ? poll_ns
                            : rx.reserver->oldest_stamp(),
                        std::memory_order_release);
    if (busy) {
      empty_polls = 0;
    } else {
      IdleWait(&empty_polls, options_.idle_sleep_us);
    }
  }
}

void Pipeline::Spray(RxLcore& rx, const RxQueue& q, const void* records,
                     uint32_t count, uint64_t bytes, uint64_t rx_ns) {
  RxCounters& c = *q.counters;
  const uint64_t n = uint64_t{count} * sizeof(PacketRecord);
  const uint32_t lanes = static_cast<uint32_t>(rx.rings.size());
  for (uint32_t tries = 0; tries < lanes; ++tries) {
    const uint32_t lane = rx.next_lane;
    rx.next_lane = lane + 1 == lanes ? 0 : lane + 1;
    uint64_t offset;
    switch (rx.reserver->Reserve(lane, n, &offset, rx_ns)) {
      case Reserver::Outcome::kOk: {
        rx.reserver->Write(offset, records, n);
        Descriptor d{offset, n};
        // Cannot fail: the ring holds ring_size descriptors and the
        // reserver admits at most ring_size batches in flight per lane.
        rte_ring_sp_enqueue_elem(rx.rings[lane], &d, sizeof(d));
        Bump(c.recorded, count);
        Bump(c.recorded_bytes, bytes);
        return;
      }
      case Reserver::Outcome::kLaneFull:
        continue;
      case Reserver::Outcome::kLogFull:
        Bump(c.drops[kDropLogFull], count);
        return;
    }
  }
  Bump(c.drops[kDropRingFull], count);
}

void Pipeline::RunWriter(WriterLcore& w) {
  Descriptor batch[kDequeueBurst];
  uint32_t empty_polls = 0;
  for (;;) {
    // Load the stop flag before polling: once it is seen, an empty poll
    // of every ring means the RX side put nothing more in.
    const bool stopping = stop_writers_.load(std::memory_order_acquire);
    bool busy = false;
    for (auto& rx : rx_) {
      const unsigned n = rte_ring_sc_dequeue_burst_elem(
          rx->rings[w.lane], batch, sizeof(Descriptor), kDequeueBurst, nullptr);
      if (n == 0) continue;
      busy = true;
      uint64_t records = 0;
      for (unsigned i = 0; i < n; ++i) {
        w.writer->Adopt(*rx->reserver, batch[i].offset, batch[i].bytes);
        rx->reserver->Complete(w.lane);
        records += batch[i].bytes / sizeof(PacketRecord);
      }
      Bump(w.batches, n);
      Bump(w.records, records);
    }
    if (busy) {
      empty_polls = 0;
    } else if (stopping) {
      return;
    } else {
      IdleWait(&empty_polls, options_.idle_sleep_us);
    }
  }
}

PipelineStats Pipeline::stats() const {
  PipelineStats s;
  s.running = running_;
  s.multilog = log_->name();
  s.total.name = "total";
  for (size_t p = 0; p < ports_.size(); ++p) {
    const RxCounters& c = counters_[p];
    PortStats ps;
    ps.name = ports_[p]->options().name;
    ps.device = ports_[p]->options().device;
    ps.port_id = ports_[p]->id();
    // Load the outcomes before `delivered`: the RX lcore bumps delivered
    // before spraying, so a racing read can only see delivered ahead --
    // taken last, it would be. Exactness holds once traffic stops.
    for (size_t d = kDropRingFull; d < kNumDropReasons; ++d) {
      ps.drops[d] = c.drops[d].load(std::memory_order_relaxed);
    }
    ps.recorded = c.recorded.load(std::memory_order_relaxed);
    ps.recorded_bytes = c.recorded_bytes.load(std::memory_order_relaxed);
    const uint64_t delivered = c.delivered.load(std::memory_order_relaxed);
    ps.received_bytes = c.delivered_bytes.load(std::memory_order_relaxed);
    const NicCounters nic = ports_[p]->nic_counters();
    ps.drops[kDropNicMissed] = nic.missed;
    ps.drops[kDropRxNoMbuf] = nic.nombuf;
    ps.received = delivered + nic.missed + nic.nombuf;
    s.total.received += ps.received;
    s.total.received_bytes += ps.received_bytes;
    s.total.recorded += ps.recorded;
    s.total.recorded_bytes += ps.recorded_bytes;
    for (size_t d = 0; d < kNumDropReasons; ++d)
      s.total.drops[d] += ps.drops[d];
    s.ports.push_back(std::move(ps));
  }
  for (const auto& w : writers_) {
    WriterStats ws;
    ws.lcore = w->lcore;
    ws.batches = w->batches.load(std::memory_order_relaxed);
    ws.records = w->records.load(std::memory_order_relaxed);
    for (const auto& rx : rx_)
      ws.ring_used += rte_ring_count(rx->rings[w->lane]);
    s.writers.push_back(ws);
  }
  for (const auto& rx : rx_) {
    const TscClock::Counters c = rx->clock.counters();
    s.clock.reanchors += c.reanchors;
    s.clock.steps_forward += c.steps_forward;
    s.clock.max_abs_offset_ns =
        std::max(s.clock.max_abs_offset_ns, c.max_abs_offset_ns);
    const auto magnitude = [](int64_t v) {
      return v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    };
    if (magnitude(c.last_offset_ns) >= magnitude(s.clock.last_offset_ns)) {
      s.clock.last_offset_ns = c.last_offset_ns;
    }
  }
  return s;
}

std::optional<uint64_t> Pipeline::settled_ns() const {
  if (!live_.load(std::memory_order_acquire)) return std::nullopt;
  uint64_t settled = UINT64_MAX;
  for (const auto& rx : rx_) {
    settled = std::min(settled, rx->settled_ns.load(std::memory_order_acquire));
  }
  return settled;
}

}  // namespace loupe::dataplane
