#include "multilog/tails.h"

#include <algorithm>

namespace loupe {

Tails::Tails(uint64_t start, uint32_t max_slots)
    : write_tail_(start),
      read_tail_(start),
      max_slots_(max_slots),
      slots_(new Slot[max_slots]) {}

void Tails::SetSlotsInUse(uint32_t n) {
  uint32_t cur = slots_in_use_.load(std::memory_order_relaxed);
  while (n > cur && !slots_in_use_.compare_exchange_weak(
                        cur, n, std::memory_order_seq_cst)) {
  }
}

bool Tails::ClaimBounded(uint32_t slot, uint64_t bytes, uint64_t limit,
                         uint64_t* offset) {
  uint64_t cur = write_tail_.load(std::memory_order_seq_cst);
  while (cur + bytes <= limit) {
    if (write_tail_.compare_exchange_weak(cur, cur + bytes,
                                          std::memory_order_seq_cst)) {
      slots_[slot].start.store(cur, std::memory_order_relaxed);
      *offset = cur;
      return true;
    }
  }
  return false;
}

uint64_t Tails::Publish() {
  // Invariant 2: writeTail first, then the slots, all seq_cst.
  uint64_t bound = write_tail_.load(std::memory_order_seq_cst);
  uint32_t n = slots_in_use_.load(std::memory_order_seq_cst);
  for (uint32_t i = 0; i < n; ++i) {
    bound = std::min(bound, slots_[i].start.load(std::memory_order_seq_cst));
  }
  uint64_t cur = read_tail_.load(std::memory_order_acquire);
  while (bound > cur) {
    // Release pairs with the acquire in read_tail().
    if (read_tail_.compare_exchange_weak(cur, bound, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      return bound;
    }
  }
  return cur;  // acquire (load or failed CAS): data below is visible
}

}  // namespace loupe
