#include "multilog/reserver.h"

#include <algorithm>
#include <string>

namespace loupe {

Result<std::unique_ptr<Reserver>> Reserver::Create(DataLog* log, uint32_t lanes,
                                                   uint32_t lane_depth) {
  if (lanes == 0 || lanes > 64) {
    return Status::InvalidArgument("reserver: lanes must be in [1, 64], got " +
                                   std::to_string(lanes));
  }
  if (lane_depth == 0 || lane_depth > (1u << 20) ||
      (lane_depth & (lane_depth - 1)) != 0) {
    return Status::InvalidArgument(
        "reserver: lane depth must be a power of two in [1, 1048576], got " +
        std::to_string(lane_depth));
  }
  if (log->options().mode == StorageMode::kDurable) {
    return Status::FailedPrecondition(
        "reserver: a durable log commits every append before it returns, "
        "which batches finished on other threads cannot promise; use "
        "durable-relaxed storage for packet multilogs");
  }
  Result<uint32_t> slot = log->AcquireSlot();
  if (!slot.ok()) return slot.status();
  return std::unique_ptr<Reserver>(new Reserver(log, *slot, lanes, lane_depth));
}

Reserver::Reserver(DataLog* log, uint32_t slot, uint32_t lanes,
                   uint32_t lane_depth)
    : log_(log),
      slot_(slot),
      lanes_(lanes),
      mask_(lane_depth - 1),
      lane_(new Lane[lanes]),
      shared_(new LaneShared[lanes]) {
  for (uint32_t i = 0; i < lanes; ++i) {
    lane_[i].starts.reset(new uint64_t[lane_depth]);
    lane_[i].stamps.reset(new uint64_t[lane_depth]);
  }
}

Reserver::~Reserver() {
  log_->tails_.SetSlot(slot_, Tails::kIdle);
  log_->ReleaseSlot(slot_);
}

Reserver::Outcome Reserver::Reserve(uint32_t lane, uint64_t bytes,
                                    uint64_t* offset, uint64_t stamp) {
  Lane& l = lane_[lane];
  if (l.pushed - l.retired > mask_) {
    Retire();
    if (l.pushed - l.retired > mask_) return Outcome::kLaneFull;
  }
  // Admission against the memory installed and the capacity; a miss is a
  // refusal, not a wait: the RX side never blocks. Without the slack of
  // Writer::Append's fast path: only a claimer racing this one can push
  // the claim past the limit, and then AwaitMemory below covers it.
  const uint64_t tail = log_->tails_.write_tail();
  if (tail + bytes > log_->ready_limit_.load(std::memory_order_acquire))
      [[unlikely]] {
    if (!stalled_) {
      stalled_ = true;
      log_->alloc_stalls_.fetch_add(1, std::memory_order_relaxed);
      log_->Wake();
    }
    return Outcome::kLogFull;
  }
  stalled_ = false;
  if (slot_value_ == Tails::kIdle) {
    log_->tails_.Announce(slot_);  // invariant 1
    *offset = log_->tails_.ClaimKeepSlot(bytes);
    log_->tails_.SetSlot(slot_, *offset);  // raising is always safe
    slot_value_ = *offset;
    oldest_stamp_ = stamp;
  } else {
    *offset = log_->tails_.ClaimKeepSlot(bytes);
  }
  // Only a claimer racing this one (another Reserver or Writer) can push
  // the claim past installed memory; the allocator always covers claims.
  if (*offset + bytes > log_->installed_end_.load(std::memory_order_acquire))
      [[unlikely]] {
    log_->AwaitMemory(*offset + bytes);
  }
  l.starts[l.pushed & mask_] = *offset;
  l.stamps[l.pushed & mask_] = stamp;
  ++l.pushed;
  ++in_flight_;
  return Outcome::kOk;
}

void Reserver::Retire() {
  uint64_t oldest = Tails::kIdle;
  uint64_t stamp = 0;
  for (uint32_t i = 0; i < lanes_; ++i) {
    Lane& l = lane_[i];
    if (l.retired == l.pushed) continue;
    // Acquire pairs with the release in Complete (invariant 2).
    const uint64_t done = shared_[i].completed.load(std::memory_order_acquire);
    in_flight_ -= done - l.retired;
    l.retired = done;
    if (done != l.pushed && l.starts[done & mask_] < oldest) {
      oldest = l.starts[done & mask_];
      stamp = l.stamps[done & mask_];
    }
  }
  if (oldest != slot_value_) {
    log_->tails_.SetSlot(slot_, oldest);
    slot_value_ = oldest;
    oldest_stamp_ = stamp;
  }
}

}  // namespace loupe
