// Reserver: claims data-log space on one thread for batches that other
// threads finish -- the dataplane's spray stage.
//
// The reserving thread (an RX lcore) claims the space of a whole burst with
// one fetch_add, writes the burst's records there, and hands the batch to
// one of `lanes` consumers (writer lcores) through a FIFO of its own, e.g. an
// SP/SC ring. A lane's consumer indexes/filters the batch in place and calls
// Complete(lane); lanes complete their batches in the order they were
// handed to them. The Reserver owns one tails slot (see tails.h) and keeps
// it at the start of the oldest incomplete batch, so readTail stops below
// every batch in flight and passes it once it is complete: no hole, and no
// reserved byte ever left unwritten, because Reserve refuses -- rather than
// claims -- when the lane is full or the log has no memory ready.
//
// Threads:
//   | call                                   | thread                     |
//   |----------------------------------------|----------------------------|
//   | Reserve, Write, Retire, in_flight       | the reserving thread only  |
//   | Complete(lane), Records                | lane `lane`'s consumer only|
// (Retire and in_flight may move to another thread once the reserving one
// has stopped and is joined.)
//
// Invariants:
//   1. The slot holds kIdle or a lower bound of every batch in flight; it
//      is set to a claim's lower bound (Announce) before the claim when
//      nothing is in flight, and is otherwise the oldest batch's start.
//   2. A lane's completed count is stored (release) after the consumer's
//      writes; Retire loads it (acquire) before it raises the slot
//      (release), so a reader that computes a readTail above a batch sees
//      the records and everything the consumer recorded for them.
//   3. Reserve never claims what it cannot hand over: at most `lane_depth`
//      batches are in flight per lane, so a consumer FIFO with that
//      capacity never rejects a reserved batch.
// Cost: Reserve is one relaxed load, one acquire load and one fetch_add;
// Retire reads one cache line per lane. No allocation, lock or syscall.
#ifndef LOUPE_MULTILOG_RESERVER_H_
#define LOUPE_MULTILOG_RESERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "multilog/data_log.h"
#include "multilog/status.h"

namespace loupe {

class Reserver {
 public:
  enum class Outcome : uint8_t {
    kOk,
    kLaneFull,  // lane_depth batches of this lane are in flight
    kLogFull,   // no memory ready for it, or the capacity is reached
  };

  // `lanes` in [1, 64], `lane_depth` a power of two in [1, 1 << 20].
  // kFailedPrecondition for a kDurable log: its appends commit before they
  // return, which a reserved batch finished elsewhere cannot promise (use
  // kDurableRelaxed). kResourceExhausted when every writer slot is in use.
  static Result<std::unique_ptr<Reserver>> Create(DataLog* log, uint32_t lanes,
                                                  uint32_t lane_depth);
  ~Reserver();
  Reserver(const Reserver&) = delete;
  Reserver& operator=(const Reserver&) = delete;

  uint32_t lanes() const { return lanes_; }

  // Claims `bytes` (whole records, at most the log's max batch) for `lane`
  // without blocking; on kOk *offset is its first byte, and the caller must
  // Write it and hand it to the lane. On any other outcome nothing is
  // claimed. `stamp` is kept with the batch for oldest_stamp() (the
  // dataplane gives the burst's RX time; stamps must not decrease from one
  // Reserve to the next).
  Outcome Reserve(uint32_t lane, uint64_t bytes, uint64_t* offset,
                  uint64_t stamp = 0);
  // Copies records into space this Reserver claimed.
  void Write(uint64_t offset, const void* records, uint64_t bytes) {
    log_->CopyIn(offset, static_cast<const uint8_t*>(records), bytes);
  }
  // Raises the slot past the batches that lanes completed. Call regularly
  // (every poll, busy or idle): readTail does not pass a completed batch
  // until Retire has seen it.
  void Retire();
  // Batches reserved and not yet seen complete by Retire.
  uint64_t in_flight() const { return in_flight_; }
  // The first byte of the oldest batch that Retire has not seen complete
  // (readTail stays below it), or Tails::kIdle when none is in flight.
  uint64_t oldest_in_flight() const { return slot_value_; }
  // The stamp of that batch; meaningless when none is in flight. Every
  // batch not yet below readTail has this stamp or a later one.
  uint64_t oldest_stamp() const { return oldest_stamp_; }

  // Lane consumer: the records of a batch in flight on its lane, in at
  // most two contiguous pieces (a batch may straddle two blocks):
  // fn(offset, const uint8_t* records, bytes).
  template <typename Fn>
  void Records(uint64_t offset, uint64_t bytes, Fn&& fn) const {
    const uint64_t block = log_->block_bytes_;
    const uint64_t in_block = offset - log_->BlockIndex(offset) * block;
    const uint64_t first = bytes < block - in_block ? bytes : block - in_block;
    fn(offset, log_->BlockFor(offset) + in_block, first);
    if (first < bytes) {
      fn(offset + first, log_->BlockFor(offset + first), bytes - first);
    }
  }
  // Lane consumer: marks the lane's oldest batch in flight complete.
  void Complete(uint32_t lane) {
    LaneShared& l = shared_[lane];
    l.completed.store(l.completed.load(std::memory_order_relaxed) + 1,
                      std::memory_order_release);
  }

 private:
  struct alignas(64) LaneShared {
    std::atomic<uint64_t> completed{0};  // written by the lane's consumer
  };
  struct Lane {  // the reserving thread's own view
    uint64_t pushed = 0;
    uint64_t retired = 0;
    std::unique_ptr<uint64_t[]> starts;  // [pushed & mask]: batch start
    std::unique_ptr<uint64_t[]> stamps;  // [pushed & mask]: its stamp
  };

  Reserver(DataLog* log, uint32_t slot, uint32_t lanes, uint32_t lane_depth);

  DataLog* const log_;
  const uint32_t slot_;
  const uint32_t lanes_;
  const uint64_t mask_;
  uint64_t slot_value_ = Tails::kIdle;  // what the slot holds now
  uint64_t oldest_stamp_ = 0;           // the stamp of that batch
  uint64_t in_flight_ = 0;
  bool stalled_ = false;  // a log-full episode is in progress (woke once)
  std::unique_ptr<Lane[]> lane_;
  std::unique_ptr<LaneShared[]> shared_;
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_RESERVER_H_
