// FilterLog: for one named filter, the data-log offsets of the records that
// matched it, bucketed by time (bucket = timestamp_ns / bucket_ns) and
// found through a TimeIndex. It covers records at offsets >=
// start_offset(): a filter installed while writers run starts there.
//
// Layout. Each bucket holds one list per writer (the DataLog::Writer slot,
// in [0, max_writers)), so writers never share a cache line. A list is a
// chain of segments; a segment is a header {next, base offset, units} and
// then 16-bit units encoding the offsets after `base` as deltas from the
// previous one:
//   entry  := short | medium | long
//   short  := u16 < 0x8000                           delta < 2^15 (32 KiB)
//   medium := (0x8000 | delta >> 16) u16             delta < 2^30 (1 GiB)
//   long   := (0xc000 | delta >> 32) u16 u16         delta < 2^46
// (the delta's bits, most significant unit first). A delta of 2^46 or
// more starts a new segment. Segments are carved, one
// after another, from a per-writer arena of blocks (4 KiB growing to 64
// KiB), so a list's memory is exactly what it holds: with 64-byte records
// from a few writers a dense filter costs 2 bytes per matching record, plus
// a 24-byte segment header per (bucket, writer) and per arena block. The
// writer keeps its current bucket's list and open segment, so an append
// that stays in the bucket is a compare, a 2-byte store and a release store
// (no index lookup, no atomic RMW, no allocation).
//
// Reading: ForEach and Count take a snapshot S (a readTail the caller
// loaded); they return the matching offsets below S, per bucket in
// increasing offset order (the writers' lists merged), buckets in time
// order. The writer must append a batch's entries *before* the batch is
// published in the data log; then everything below S is visible.
//
// Concurrency:
//   | operation                 | may run concurrently with               |
//   |---------------------------|-----------------------------------------|
//   | Append(writer w)          | everything except Append(w)             |
//   | ForEach*, Count, memory_* | everything                              |
// Invariants:
//   1. Offsets appended by one writer increase; so does each list.
//   2. A segment's units never change once covered by its `units` count;
//      the writer stores `units` with release after writing them, readers
//      load it with acquire (pairs with that release) and read only below.
//   3. A segment is fully initialized (base, units = 0) before it is linked
//      (release store of `head` or of the previous segment's `next`;
//      acquire loads in the readers). The writer stops writing a segment
//      before it links the next one, so a reader that sees `next` set and
//      then reloads `units` sees the final count.
//   4. Lists, segments and arena blocks are freed only by the destructor.
#ifndef LOUPE_MULTILOG_FILTER_LOG_H_
#define LOUPE_MULTILOG_FILTER_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>

#include "multilog/time_index.h"

namespace loupe {

class FilterLog {
 public:
  FilterLog(uint64_t bucket_ns, uint32_t max_writers, uint64_t start_offset);
  ~FilterLog();
  FilterLog(const FilterLog&) = delete;
  FilterLog& operator=(const FilterLog&) = delete;

  // Covers records at offsets >= this.
  uint64_t start_offset() const { return start_offset_; }
  uint64_t bucket_ns() const { return bucket_ns_; }
  uint32_t max_writers() const { return max_writers_; }

  // Writer side: `writer` (one thread at a time per id) records that the
  // record at `offset` with this timestamp matched. Offsets from one writer
  // must increase (invariant 1).
  void Append(uint32_t writer, uint64_t timestamp_ns, uint64_t offset) {
    WriterState& w = writers_[writer];
    const uint64_t delta = offset - w.last;
    if (timestamp_ns - w.bucket_start < w.bucket_len &&
        delta < kShortDeltaLimit && w.pos != w.limit) [[likely]] {
      *w.pos++ = static_cast<uint16_t>(delta);
      w.last = offset;
      // Invariant 2: release pairs with the acquire loads in Open/Refill.
      w.seg->units.store(++w.units, std::memory_order_release);
      return;
    }
    AppendSlow(w, writer, timestamp_ns, offset);
  }

  // Reader side: fn(uint64_t offset, uint64_t bucket) -> bool (continue?)
  // or void, for each matching offset < snapshot in buckets
  // [t0_ns / bucket_ns, (t1_ns - 1) / bucket_ns] (whole buckets: a range
  // that starts inside a bucket includes all of it), per bucket in
  // increasing offset order, buckets in time order. Nothing if t1 <= t0.
  template <class Fn>
  void ForEach(uint64_t t0_ns, uint64_t t1_ns, uint64_t snapshot,
               Fn&& fn) const;
  // fn(uint64_t offset) -> bool or void for the offsets < snapshot that
  // `writer` appended to `bucket`, in increasing order: what an aggregate
  // needs to recompute one (bucket, writer) cell.
  template <class Fn>
  void ForEachOfWriter(uint64_t bucket, uint32_t writer, uint64_t snapshot,
                       Fn&& fn) const;
  // The number of offsets ForEach would visit.
  uint64_t Count(uint64_t t0_ns, uint64_t t1_ns, uint64_t snapshot) const;

  // Bytes held: arenas (allocated, used or not), buckets, index, writers.
  uint64_t memory_bytes() const;

 private:
  static constexpr uint64_t kShortDeltaLimit = uint64_t{1} << 15;
  static constexpr uint64_t kMediumDeltaLimit = uint64_t{1} << 30;
  static constexpr uint64_t kLongDeltaLimit = uint64_t{1} << 46;
  static constexpr uint16_t kMediumTag = 0x8000;
  static constexpr uint16_t kLongTag = 0xc000;
  static constexpr uint64_t kTagPayload = 0x3fff;  // bits under a tag
  static constexpr size_t kFirstBlockBytes = size_t{4} << 10;
  static constexpr size_t kMaxBlockBytes = size_t{64} << 10;

  struct Segment {
    std::atomic<Segment*> next{nullptr};
    uint64_t base = 0;               // the first entry
    std::atomic<uint32_t> units{0};  // units published after the header
    const uint16_t* data() const {
      return reinterpret_cast<const uint16_t*>(this + 1);
    }
    uint16_t* data() { return reinterpret_cast<uint16_t*>(this + 1); }
  };
  static_assert(sizeof(Segment) % alignof(Segment) == 0);

  struct List {
    std::atomic<Segment*> head{nullptr};
    Segment* tail = nullptr;  // writer-private
  };

  struct Bucket {
    explicit Bucket(uint32_t max_writers)
        : lists(new std::atomic<List*>[max_writers]()) {}
    // Stored (release) once, by the writer of that slot.
    std::unique_ptr<std::atomic<List*>[]> lists;
  };

  struct ArenaBlock {
    ArenaBlock* next;
    size_t bytes;
  };

  struct alignas(64) WriterState {
    // Touched by every Append.
    uint64_t bucket_start = 0;
    uint64_t bucket_len = 0;  // 0 until the first Append: forces AppendSlow
    uint64_t last = 0;        // the last offset appended
    uint16_t* pos = nullptr;  // next free unit in the arena block
    uint16_t* limit = nullptr;
    Segment* seg = nullptr;  // the open segment
    uint32_t units = 0;      // units written to seg
    // Touched when the bucket or the block changes.
    List* list = nullptr;
    ArenaBlock* blocks = nullptr;
    size_t next_block_bytes = kFirstBlockBytes;
    std::atomic<uint64_t> arena_bytes{0};  // read by memory_bytes
  };

  // A reader's position in one list: the entry at `offset`, with the units
  // after it in [p, end).
  struct Cursor {
    const Segment* seg;
    const uint16_t* p;
    const uint16_t* end;
    uint64_t offset;
  };

  void AppendSlow(WriterState& w, uint32_t writer, uint64_t timestamp_ns,
                  uint64_t offset);
  void StartSegment(WriterState& w, uint64_t offset);
  void* Allocate(WriterState& w, size_t bytes, size_t room_after);

  // Positions c at the list's first entry; false if it has none below
  // the snapshot.
  static bool Open(const List& list, uint64_t snapshot, Cursor& c) {
    const Segment* s = list.head.load(std::memory_order_acquire);
    if (s == nullptr) return false;
    c.seg = s;
    c.p = s->data();
    c.end = c.p + s->units.load(std::memory_order_acquire);
    c.offset = s->base;
    return c.offset < snapshot;
  }
  // Moves c to the next entry; false at the end or at an offset >=
  // snapshot.
  static bool Next(Cursor& c, uint64_t snapshot) {
    if (c.p == c.end) [[unlikely]] {
      const int r = Refill(c);
      if (r == 0) return false;
      if (r == 2) return c.offset < snapshot;
    }
    uint64_t delta = *c.p++;
    if (delta >= kMediumTag) [[unlikely]] {
      if (delta < kLongTag) {
        delta = ((delta & kTagPayload) << 16) | c.p[0];
        c.p += 1;
      } else {
        delta =
            ((delta & kTagPayload) << 32) | (uint64_t{c.p[0]} << 16) | c.p[1];
        c.p += 2;
      }
    }
    c.offset += delta;
    return c.offset < snapshot;
  }
  // At the end of c's units: 1 if the segment grew, 2 if c moved to the
  // next segment's base entry, 0 if there is nothing more (invariant 3).
  static int Refill(Cursor& c) {
    const Segment* next = c.seg->next.load(std::memory_order_acquire);
    const uint16_t* end =
        c.seg->data() + c.seg->units.load(std::memory_order_acquire);
    if (end != c.end) {
      c.end = end;
      return 1;
    }
    if (next == nullptr) return 0;
    c.seg = next;
    c.p = next->data();
    c.end = c.p + next->units.load(std::memory_order_acquire);
    c.offset = next->base;
    return 2;
  }

  template <class Fn, class... Args>
  static bool Call(Fn& fn, Args... args) {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn&, Args...>, bool>) {
      return fn(args...);
    } else {
      fn(args...);
      return true;
    }
  }

  // Emits the entries of n open cursors in increasing order. Writers
  // append whole batches, so runs are long: the smallest cursor emits
  // until it passes the second smallest.
  template <class Fn>
  static bool Merge(Cursor* c, uint32_t n, uint64_t snapshot, uint64_t bucket,
                    Fn& fn) {
    while (n > 0) {
      uint32_t m = 0;
      uint64_t second = std::numeric_limits<uint64_t>::max();
      for (uint32_t i = 1; i < n; ++i) {
        if (c[i].offset < c[m].offset) {
          second = c[m].offset;
          m = i;
        } else if (c[i].offset < second) {
          second = c[i].offset;
        }
      }
      Cursor& cur = c[m];
      for (;;) {
        if (!Call(fn, cur.offset, bucket)) return false;
        if (!Next(cur, snapshot)) {
          cur = c[--n];
          break;
        }
        if (cur.offset > second) break;
      }
    }
    return true;
  }

  const uint64_t bucket_ns_;
  const uint32_t max_writers_;
  const uint64_t start_offset_;
  std::unique_ptr<WriterState[]> writers_;
  TimeIndex<Bucket> index_;
};

template <class Fn>
void FilterLog::ForEach(uint64_t t0_ns, uint64_t t1_ns, uint64_t snapshot,
                        Fn&& fn) const {
  if (t1_ns <= t0_ns) return;
  constexpr uint32_t kInlineCursors = 16;
  Cursor inline_cursors[kInlineCursors];
  std::unique_ptr<Cursor[]> heap_cursors;
  Cursor* cursors = inline_cursors;
  if (max_writers_ > kInlineCursors) {
    heap_cursors.reset(new Cursor[max_writers_]);
    cursors = heap_cursors.get();
  }
  index_.ForEach(t0_ns / bucket_ns_, (t1_ns - 1) / bucket_ns_,
                 [&](uint64_t b, const Bucket& bucket) {
                   uint32_t n = 0;
                   for (uint32_t w = 0; w < max_writers_; ++w) {
                     const List* list =
                         bucket.lists[w].load(std::memory_order_acquire);
                     if (list != nullptr && Open(*list, snapshot, cursors[n])) {
                       ++n;
                     }
                   }
                   return Merge(cursors, n, snapshot, b, fn);
                 });
}

template <class Fn>
void FilterLog::ForEachOfWriter(uint64_t bucket, uint32_t writer,
                                uint64_t snapshot, Fn&& fn) const {
  const Bucket* b = index_.Find(bucket);
  if (b == nullptr) return;
  const List* list = b->lists[writer].load(std::memory_order_acquire);
  Cursor c;
  if (list == nullptr || !Open(*list, snapshot, c)) return;
  do {
    if (!Call(fn, c.offset)) return;
  } while (Next(c, snapshot));
}

}  // namespace loupe

#endif  // LOUPE_MULTILOG_FILTER_LOG_H_
