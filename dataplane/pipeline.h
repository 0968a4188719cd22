// Pipeline: the packet path from mirror ports into one packet multilog.
//
//   RX lcore (one or more; each serves some ports):
//     rte_eth_rx_burst -> one TSC reading per poll, converted to ns since
//     the epoch (TscClock: re-anchored to the wall clock every second,
//     slewed, never stepping back) -> ParsePacket into a staging burst (parse
//     errors counted)
//     -> free the mbufs -> spray: Reserver::Reserve claims the burst's
//     data-log space with one fetch_add, the records are written in place,
//     and a 16-byte descriptor {offset, bytes} goes round-robin to one
//     writer's SP/SC rte_ring. A full ring (lane) is skipped for the next;
//     if all are full the burst is counted ring_full, if the log has no
//     memory ready it is counted log_full -- the RX lcore never waits, and
//     nothing is claimed that is not written (no hole stops readTail).
//   Writer lcores: dequeue descriptors, Multilog::Writer::Adopt (indexes,
//     filters, aggregates of the batch in place, inside an RCU read-side
//     section: control changes reach writers only through the multilog's
//     RCU-published set), then Reserver::Complete. The RX lcore's next
//     Retire lets readTail pass the batch.
//
// Records cross the ring by reference: only descriptors do, which saves
// the writer lcore a copy (it is the busier stage with filters). The
// accounting invariant of stats.h holds exactly: each delivered packet is
// recorded, or counted as one parse error, ring_full or log_full.
//
// Lcores: EAL worker lcores, from the options or, if empty, the first
// workers in order (RX lcores first). On a 2-CPU machine:
// --lcores=0@(0-1),1@0,2@1: the main lcore floats and only sleeps, RX on
// CPU 0, one writer on CPU 1. Polling lcores spin while busy; after 256
// empty polls in a row they sleep idle_sleep_us per poll (0: always spin).
//
// Thread-safety: Create/Start/Stop/destructor on one control thread;
// stats() from any thread.
#ifndef LOUPE_DATAPLANE_PIPELINE_H_
#define LOUPE_DATAPLANE_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/port.h"
#include "dataplane/stats.h"
#include "dataplane/tsc_clock.h"
#include "multilog/multilog.h"
#include "multilog/status.h"

struct rte_ring;

namespace loupe::dataplane {

struct PipelineOptions {
  std::vector<PortOptions> ports;
  uint32_t writers = 1;
  std::vector<unsigned> rx_lcores;      // empty: one, the first worker
  std::vector<unsigned> writer_lcores;  // empty: the next `writers` workers
  uint32_t burst = 32;                  // 1..512
  // Descriptors (one per burst) per RX-to-writer ring, a power of 2; 8192
  // bursts ride out ~17 ms of a writer preempted at 14.88 Mpps.
  uint32_t ring_size = 8192;
  uint32_t idle_sleep_us = 20;
};

class Pipeline {
 public:
  // EAL must be initialized and `log` must use the packet schema and
  // outlive the pipeline. Opens the ports; starts nothing.
  static Result<std::unique_ptr<Pipeline>> Create(Multilog* log,
                                                  const PipelineOptions& o);
  ~Pipeline();  // Stop()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Launches the RX and writer lcores.
  Status Start();
  // RX lcores stop polling; writers drain their rings; every recorded
  // packet is then published (below read_tail()). Idempotent.
  void Stop();
  bool running() const { return running_; }

  PipelineStats stats() const;

  // Settled time (the fleet API's SnapshotTail::settled_ns): every packet
  // this pipeline will record with an earlier timestamp is below the
  // multilog's read tail now. The minimum over RX lcores of the RX time of
  // the oldest burst not yet published, or of the last poll when none is
  // pending; nullopt when the pipeline is not running (all it recorded is
  // published). Any thread; two loads per RX lcore.
  std::optional<uint64_t> settled_ns() const;

 private:
  struct Descriptor {
    uint64_t offset;
    uint64_t bytes;
  };
  static_assert(sizeof(Descriptor) == 16);

  // Written by one RX lcore only; read by stats().
  struct alignas(64) RxCounters {
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> delivered_bytes{0};
    std::atomic<uint64_t> recorded{0};
    std::atomic<uint64_t> recorded_bytes{0};
    std::atomic<uint64_t> drops[kNumDropReasons] = {};
  };
  struct RxQueue {
    uint16_t port_id;
    uint16_t record_port;  // index in options_.ports
    RxCounters* counters;
    // Pacing (PortOptions::max_pps): packets allowed since start_tsc.
    uint64_t max_pps;
    uint64_t start_tsc;
    uint64_t taken;
  };
  struct RxLcore {
    Pipeline* pipeline;
    unsigned lcore;
    std::vector<RxQueue> queues;
    std::unique_ptr<Reserver> reserver;  // bursts stamped with their RX time
    std::vector<rte_ring*> rings;        // one per writer (lane)
    uint32_t next_lane = 0;
    TscClock clock;  // this lcore's stamps, re-anchored every second
    // Written by this lcore after every poll; read by settled_ns().
    alignas(64) std::atomic<uint64_t> settled_ns{0};
  };
  struct alignas(64) WriterLcore {
    Pipeline* pipeline;
    unsigned lcore;
    uint32_t lane;
    std::unique_ptr<Multilog::Writer> writer;
    std::atomic<uint64_t> batches{0};
    std::atomic<uint64_t> records{0};
  };

  Pipeline(Multilog* log, const PipelineOptions& o);
  Status Init();
  static int RxMain(void* arg);
  static int WriterMain(void* arg);
  void RunRx(RxLcore& rx);
  void RunWriter(WriterLcore& w);
  void Spray(RxLcore& rx, const RxQueue& q, const void* records, uint32_t count,
             uint64_t bytes, uint64_t rx_ns);

  Multilog* const log_;
  const PipelineOptions options_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::unique_ptr<RxCounters[]> counters_;  // per port
  std::vector<std::unique_ptr<RxLcore>> rx_;
  std::vector<std::unique_ptr<WriterLcore>> writers_;
  bool running_ = false;
  std::atomic<bool> stop_rx_{false};
  std::atomic<bool> stop_writers_{false};
  // Start to Stop's last Retire: settled_ns() reads the RX lcores.
  std::atomic<bool> live_{false};
};

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_PIPELINE_H_
