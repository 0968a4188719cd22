// Tails: the write tail and the read tail of one data log, and the
// per-writer slots that let readTail advance without any writer waiting for
// another.
//
// writeTail is the end of the claimed space; a writer claims a batch with one
// fetch_add (or, near the end of allocated space, one CAS). readTail is the
// end of the published prefix: every byte below it is written, and it moves
// only forward. Confluo publishes by making each writer spin until readTail
// reaches the start of its batch and then CAS it forward, so one slow writer
// stalls every later one. Here a writer never waits and never touches
// another writer's state: it owns a slot holding the lowest offset it may
// still be writing (kIdle when it writes nothing), announces a lower bound
// there before it claims, and clears it when its batch is written. The
// *reader* publishes: read_tail() computes min(writeTail, every slot) --
// everything below is complete -- and CAS-maxes readTail up to it. A slow
// writer holds readTail back (there must be no holes) but nobody waits for
// it, and the writers share one cache line (writeTail) instead of bouncing
// each other's slots and readTail on every batch.
//
// Concurrency:
//   | operation                   | may run concurrently with       |
//   |-----------------------------|---------------------------------|
//   | Announce/Claim*/Complete(s) | every operation on other slots  |
//   | read_tail, published        | everything                      |
// A slot is used by one thread at a time (its Writer).
//
// Invariants:
//   1. writeTail and readTail never decrease; readTail <= writeTail.
//   2. A writer stores a lower bound of its claim in its slot (seq_cst)
//      *before* its claim RMW (seq_cst); read_tail loads writeTail before
//      the slots (seq_cst). So a claim that read_tail does not see in a slot
//      starts at or above the writeTail value it loaded.
//   3. Clearing a slot (release) follows the batch's data writes, and the
//      slot loads are seq_cst (so acquire): data written before a clear is
//      visible to the thread that computes a readTail above it; other
//      threads get it through readTail itself (release CAS, acquire load).
//   4. A writer's next announcement follows its clear in modification
//      order, so a slot load that comes after the announcement in the
//      seq_cst order cannot return the older clear.
#ifndef LOUPE_MULTILOG_TAILS_H_
#define LOUPE_MULTILOG_TAILS_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

namespace loupe {

class Tails {
 public:
  static constexpr uint64_t kIdle = std::numeric_limits<uint64_t>::max();

  // Both tails start at `start` (0, or the recovered tail of a reopened log).
  Tails(uint64_t start, uint32_t max_slots);
  Tails(const Tails&) = delete;
  Tails& operator=(const Tails&) = delete;

  uint32_t max_slots() const { return max_slots_; }
  // Moves both tails to `start`. Only while no writer exists (recovery).
  void Reset(uint64_t start) {
    write_tail_.store(start, std::memory_order_relaxed);
    read_tail_.store(start, std::memory_order_relaxed);
  }
  // Slots [0, n) are scanned by Publish; raise it before using slot n-1.
  void SetSlotsInUse(uint32_t n);

  // Publishes and returns the end of the complete prefix. Records below it
  // are complete and visible to the caller. Cost: one load per slot in use.
  uint64_t read_tail() { return Publish(); }
  // The last published readTail, without publishing (acquire: pairs with
  // the release CAS in Publish). May lag read_tail().
  uint64_t published() const {
    return read_tail_.load(std::memory_order_acquire);
  }
  uint64_t write_tail() const {
    return write_tail_.load(std::memory_order_relaxed);
  }
  // writeTail in the seq_cst order of claims (for protocols that order
  // themselves against claims, like the multilog's arming of new filters).
  uint64_t write_tail_seq_cst() const {
    return write_tail_.load(std::memory_order_seq_cst);
  }

  // Announces that `slot` is about to claim (invariant 2); returns the
  // lower bound it stored.
  uint64_t Announce(uint32_t slot) {
    // The claim RMW follows: fetch the line for writing now, so the load
    // and the fetch_add cost one line transfer, not two. (PREFETCHW is a
    // NOP on x86 CPUs without it.)
#if defined(__x86_64__)
    asm volatile("prefetchw %0" : : "m"(write_tail_));
#endif
    uint64_t lower = write_tail_.load(std::memory_order_relaxed);
    slots_[slot].start.store(lower, std::memory_order_seq_cst);
    return lower;
  }
  // The fast claim: one fetch_add. Call after Announce. Returns the offset.
  uint64_t ClaimFetchAdd(uint32_t slot, uint64_t bytes) {
    uint64_t offset = write_tail_.fetch_add(bytes, std::memory_order_seq_cst);
    // Raising the bound is always safe; plain store suffices (invariant 2
    // needs only the announced lower bound).
    slots_[slot].start.store(offset, std::memory_order_relaxed);
    return offset;
  }
  // A claim that leaves the slot alone, for a claimer whose slot already
  // holds a lower bound of this claim (DataLog::Reserver: the start of its
  // oldest batch in flight). Returns the offset.
  uint64_t ClaimKeepSlot(uint64_t bytes) {
    return write_tail_.fetch_add(bytes, std::memory_order_seq_cst);
  }
  // Sets the slot to a new lower bound that is at or below every byte its
  // owner still writes (kIdle: none). Release: the data below it, and
  // whatever the owner learned was complete, is visible with it.
  void SetSlot(uint32_t slot, uint64_t lower) {
    slots_[slot].start.store(lower, std::memory_order_release);
  }
  // The bounded claim: claims [x, x+bytes) only if x+bytes <= limit. Call
  // after Announce. On success returns true and sets *offset; on failure
  // the slot is left announced (call Abandon or retry).
  bool ClaimBounded(uint32_t slot, uint64_t bytes, uint64_t limit,
                    uint64_t* offset);
  // Withdraws an announcement that claimed nothing.
  void Abandon(uint32_t slot) {
    slots_[slot].start.store(kIdle, std::memory_order_seq_cst);
  }
  // Marks the slot's batch complete (invariant 3). Publishes nothing:
  // the next read_tail() will.
  void Complete(uint32_t slot) {
    slots_[slot].start.store(kIdle, std::memory_order_release);
  }
  // Advances readTail to the end of the complete prefix; returns it.
  uint64_t Publish();

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> start{kIdle};
  };

  // Writers share only write_tail_'s line; readers publish read_tail_.
  alignas(64) std::atomic<uint64_t> write_tail_;
  alignas(64) std::atomic<uint64_t> read_tail_;
  alignas(64) std::atomic<uint32_t> slots_in_use_{0};
  const uint32_t max_slots_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_TAILS_H_
