#include "multilog/filter_log.h"

#include <algorithm>
#include <cassert>
#include <new>

namespace loupe {

FilterLog::FilterLog(uint64_t bucket_ns, uint32_t max_writers,
                     uint64_t start_offset)
    : bucket_ns_(bucket_ns),
      max_writers_(max_writers),
      start_offset_(start_offset),
      writers_(new WriterState[max_writers]) {
  assert(bucket_ns > 0 && max_writers > 0);
}

FilterLog::~FilterLog() {
  for (uint32_t i = 0; i < max_writers_; ++i) {
    for (ArenaBlock* b = writers_[i].blocks; b != nullptr;) {
      ArenaBlock* next = b->next;
      ::operator delete(b);
      b = next;
    }
  }
}

void FilterLog::AppendSlow(WriterState& w, uint32_t writer,
                           uint64_t timestamp_ns, uint64_t offset) {
  assert(w.bucket_len == 0 || offset > w.last);
  if (timestamp_ns - w.bucket_start >= w.bucket_len) {
    // Another bucket: find (or make) its list for this writer.
    const uint64_t bucket = timestamp_ns / bucket_ns_;
    w.bucket_start = bucket * bucket_ns_;
    w.bucket_len = bucket_ns_;
    Bucket* b = index_.GetOrCreate(bucket, max_writers_);
    std::atomic<List*>& slot = b->lists[writer];
    List* list = slot.load(std::memory_order_relaxed);  // only we store it
    if (list == nullptr) {
      list = new (Allocate(w, sizeof(List), 0)) List();
      // Release pairs with the acquire loads in ForEach*/Count.
      slot.store(list, std::memory_order_release);
    }
    w.list = list;
    StartSegment(w, offset);
    return;
  }
  const uint64_t delta = offset - w.last;
  if (delta < kLongDeltaLimit && w.limit - w.pos >= 3) {
    if (delta < kShortDeltaLimit) {
      *w.pos++ = static_cast<uint16_t>(delta);
      ++w.units;
    } else if (delta < kMediumDeltaLimit) {
      w.pos[0] = static_cast<uint16_t>(kMediumTag | (delta >> 16));
      w.pos[1] = static_cast<uint16_t>(delta);
      w.pos += 2;
      w.units += 2;
    } else {
      w.pos[0] = static_cast<uint16_t>(kLongTag | (delta >> 32));
      w.pos[1] = static_cast<uint16_t>(delta >> 16);
      w.pos[2] = static_cast<uint16_t>(delta);
      w.pos += 3;
      w.units += 3;
    }
    w.last = offset;
    w.seg->units.store(w.units, std::memory_order_release);  // invariant 2
    return;
  }
  StartSegment(w, offset);  // a huge gap, or the arena block is full
}

void FilterLog::StartSegment(WriterState& w, uint64_t offset) {
  // Room for the header and a few entries, or the segment would be all
  // header.
  void* memory = Allocate(w, sizeof(Segment), 16 * sizeof(uint16_t));
  Segment* seg = new (memory) Segment();
  seg->base = offset;
  w.seg = seg;
  w.units = 0;
  w.last = offset;
  w.pos = seg->data();
  // Invariant 3: the segment is complete before it is linked; release
  // pairs with the acquire loads of head/next in Open/Refill.
  if (w.list->tail != nullptr) {
    w.list->tail->next.store(seg, std::memory_order_release);
  } else {
    w.list->head.store(seg, std::memory_order_release);
  }
  w.list->tail = seg;
}

void* FilterLog::Allocate(WriterState& w, size_t bytes, size_t room_after) {
  constexpr uintptr_t kAlign = 8;
  uintptr_t p =
      (reinterpret_cast<uintptr_t>(w.pos) + kAlign - 1) & ~(kAlign - 1);
  const uintptr_t limit = reinterpret_cast<uintptr_t>(w.limit);
  if (w.pos == nullptr || p + bytes + room_after > limit) {
    const size_t need = sizeof(ArenaBlock) + bytes + room_after;
    const size_t size = std::max(w.next_block_bytes, need);
    auto* block = static_cast<ArenaBlock*>(::operator new(size));
    block->next = w.blocks;
    block->bytes = size;
    w.blocks = block;
    w.next_block_bytes = std::min(w.next_block_bytes * 2, kMaxBlockBytes);
    w.arena_bytes.store(w.arena_bytes.load(std::memory_order_relaxed) + size,
                        std::memory_order_relaxed);
    p = reinterpret_cast<uintptr_t>(block + 1);
    w.limit = reinterpret_cast<uint16_t*>(reinterpret_cast<uintptr_t>(block) +
                                          (size & ~(kAlign - 1)));
  }
  w.pos = reinterpret_cast<uint16_t*>(p + bytes);
  return reinterpret_cast<void*>(p);
}

uint64_t FilterLog::Count(uint64_t t0_ns, uint64_t t1_ns,
                          uint64_t snapshot) const {
  if (t1_ns <= t0_ns) return 0;
  uint64_t n = 0;
  index_.ForEach(t0_ns / bucket_ns_, (t1_ns - 1) / bucket_ns_,
                 [&](uint64_t, const Bucket& bucket) {
                   for (uint32_t w = 0; w < max_writers_; ++w) {
                     const List* list =
                         bucket.lists[w].load(std::memory_order_acquire);
                     Cursor c;
                     if (list == nullptr || !Open(*list, snapshot, c)) {
                       continue;
                     }
                     do {
                       ++n;
                     } while (Next(c, snapshot));
                   }
                 });
  return n;
}

uint64_t FilterLog::memory_bytes() const {
  uint64_t bytes =
      sizeof(*this) + uint64_t{max_writers_} * sizeof(WriterState) +
      index_.memory_bytes() +
      index_.size() *
          (sizeof(Bucket) + max_writers_ * sizeof(std::atomic<List*>));
  for (uint32_t i = 0; i < max_writers_; ++i) {
    bytes += writers_[i].arena_bytes.load(std::memory_order_relaxed);
  }
  return bytes;
}

}  // namespace loupe
