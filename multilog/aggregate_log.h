// AggregateLog: one named aggregate (COUNT, SUM(f), MIN(f), MAX(f) or
// HIST(f), whose quantiles answer P50/P99/QUANTILE) over the records of one
// filter, kept per time bucket (timestamp_ns / bucket_ns) and per writer
// (the DataLog::Writer slot, in [0, max_writers)), and *versioned by
// data-log offset*: a reader with snapshot S (a readTail it loaded)
// combines, for each (bucket, writer) cell, the newest version at an offset
// <= S. A version at offset V is the cell's value over its records below V.
// The log covers records at offsets >= start_offset().
//
// Writing (one thread per writer id): Add/AddU64 per matching record
// accumulate into the writer's current cell (cached: no index lookup while
// the bucket stays the same); Publish(writer, batch_end) at the end of a
// batch versions every cell the batch touched, at batch_end (one past the
// batch's last record). The writer must Publish a batch *before* the batch
// is published in the data log, and a batch must be one contiguous range
// of offsets that readTail covers all at once (one DataLog append): then a
// snapshot S never splits it, and every version <= S is visible to a
// reader that loaded S.
//
// Versions. COUNT/SUM/MIN/MAX cells keep the last kVersions versions
// {offset, count, value} in a ring whose slots are seqlocks of their own.
// A HIST cell keeps one histogram updated in place under a seqlock, plus
// the offset of its last Publish: it can answer only snapshots >= that
// offset, and none while the writer is inside a batch that touches it. A
// cell that cannot answer for S -- its version <= S was overwritten, or
// its histogram moved past S or is being written -- is reported *stale*:
// the caller (the multilog) recomputes it exactly from the filter log
// (FilterLog::ForEachOfWriter(bucket, writer, S)) and merges it in. In
// practice only cells written around S are stale: one bucket per writer
// (a HIST cell under load is almost always mid-batch). A cell whose first
// version is above S is empty for S, not stale.
//
// HIST levels. Merging 1 ms histograms is memory-bound (a second of
// packet sizes from two writers is ~2000 cells, ~10 MB of counters: ~3 ms),
// so the writer also counts each HIST value in a cell of its 8-bucket
// group and one of its 128-bucket group (levels 1 and 2), versioned with
// the fine cell in the same batches (about 2 ns more per Add). A group
// cell at version V equals the sum of its writer's fine cells at V, so Get
// takes the coarsest cells that lie inside the range and can answer S, and
// descends (per writer) only at the range's edges and where a group cell
// is stale (the writer's current group): ~10 us for a second. Staleness is
// still reported for fine cells only. A group's sum adds up its fine
// cells' per-batch changes, so with non-integer values Get's sum may
// differ from the sum of ForEachBucket's in the last bits.
//
// Reading: Get combines buckets [t0_ns / bucket_ns, (t1_ns - 1) /
// bucket_ns] (whole buckets); ForEachBucket gives them one by one. Both
// append the stale cells to *stale (which may be null when the caller
// accepts a partial value). For COUNT/SUM/MIN/MAX both read buckets newest
// first: the ring of the bucket being written is read within microseconds
// of the call, before the writer can overwrite the version it needs.
//
// AggregateValue fields by kind: kCount: count. kSum: count, sum (NaN
// propagates). kMin/kMax: count, min/max. kHist: count, sum, min, max and
// hist (NaN ignored, as Histogram does).
//
// Concurrency:
//   | operation                          | may run concurrently with       |
//   |------------------------------------|---------------------------------|
//   | Add, AddU64, Publish (writer w)    | everything but the same on w    |
//   | Get, ForEachBucket, memory_bytes   | everything                      |
// Invariants:
//   1. Version n of a scalar cell lives in slot n % kVersions. The writer
//      stores the slot's seq = 2n+1 (relaxed), the fields (release),
//      seq = 2n+2 (release), then head = n+1 (release). A reader loads
//      head (acquire, pairs with that store), and for slot j seq (acquire,
//      pairs with the 2j+2 store) == 2j+2, the fields (acquire), seq again:
//      a field from a newer version makes the second load see a newer seq,
//      so the same value means the fields are version j's. (Release/acquire
//      fields instead of fences: GCC's TSan does not support fences; on x86
//      both are plain moves.) The offset of version 0 is also kept apart
//      (first_offset), so a snapshot below a cell's first batch finds it empty
//      even after the ring has wrapped.
//   2. A HIST cell's seq is odd while a batch modifies its histogram: the
//      writer stores it odd (release) before its first change in a batch,
//      changes the histogram (release stores, histogram.h), and in Publish
//      stores the offset (release) and seq even (release). Readers: seq
//      (acquire), the offset and the histogram (acquire loads), seq again.
//   3. Offsets of one cell's versions increase (Publish offsets of a
//      writer do).
//   4. Cells are created by their writer, stored once (release; acquire in
//      readers), and freed only by the destructor.
//   5. HIST: a writer creates its cells of a bucket's groups (levels 2, 1)
//      before the bucket's own cell, and a batch that changes a fine cell
//      marks its group cells dirty too and publishes them at the same
//      offset. Group cells take values bucket-only (histogram.h); Publish
//      adds each fine cell's change of count and sum (and its min, max) to
//      its groups before publishing any of them. So a group cell at
//      version V is the sum of its writer's fine cells of the group at V,
//      and a reader that finds no group cell for a writer finds no fine
//      cell of it that has data below S.
#ifndef LOUPE_MULTILOG_AGGREGATE_LOG_H_
#define LOUPE_MULTILOG_AGGREGATE_LOG_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "multilog/histogram.h"
#include "multilog/time_index.h"

namespace loupe {

enum class AggregateKind : uint8_t { kCount, kSum, kMin, kMax, kHist };

// "COUNT", "SUM", "MIN", "MAX", "HIST".
std::string_view AggregateKindName(AggregateKind kind);

// The value of an aggregate over some records; see AggregateLog for the
// fields each kind sets. A value type (copies deep-copy the histogram).
struct AggregateValue {
  uint64_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::unique_ptr<Histogram> hist;  // kHist only

  AggregateValue() = default;
  AggregateValue(const AggregateValue& other);
  AggregateValue& operator=(const AggregateValue& other);
  AggregateValue(AggregateValue&&) noexcept = default;
  AggregateValue& operator=(AggregateValue&&) noexcept = default;

  // The value of no records (with an empty histogram for kHist).
  static AggregateValue Empty(AggregateKind kind);
  // Adds one record's value exactly as AggregateLog::Add does: what a
  // caller recomputing a stale cell uses.
  void Add(AggregateKind kind, double v);
  void AddU64(AggregateKind kind, uint64_t v);
  void Merge(const AggregateValue& other);
  // hist->Quantile(q), or NaN without a histogram.
  double Quantile(double q) const;
};

// A (bucket, writer) cell whose versions could not answer a snapshot.
using StaleCell = std::pair<uint64_t, uint32_t>;

class AggregateLog {
 public:
  // Versions kept per COUNT/SUM/MIN/MAX cell.
  static constexpr uint32_t kVersions = 4;

  AggregateLog(AggregateKind kind, uint64_t bucket_ns, uint32_t max_writers,
               uint64_t start_offset);
  ~AggregateLog();
  AggregateLog(const AggregateLog&) = delete;
  AggregateLog& operator=(const AggregateLog&) = delete;

  AggregateKind kind() const { return kind_; }
  uint64_t bucket_ns() const { return bucket_ns_; }
  uint32_t max_writers() const { return max_writers_; }
  uint64_t start_offset() const { return start_offset_; }

  // Writer side: adds one matching record's value (COUNT ignores v).
  void Add(uint32_t writer, uint64_t timestamp_ns, double v) {
    WriterState& w = writers_[writer];
    Cell& c = CellFor(w, writer, timestamp_ns);
    switch (kind_) {
      case AggregateKind::kCount:
        ++c.count;
        break;
      case AggregateKind::kSum:
        ++c.count;
        c.value += v;
        break;
      case AggregateKind::kMin:
        ++c.count;
        if (v < c.value) c.value = v;
        break;
      case AggregateKind::kMax:
        ++c.count;
        if (v > c.value) c.value = v;
        break;
      case AggregateKind::kHist:
        c.hist->Add(v);
        for (Cell* coarse : w.coarse) coarse->hist->AddBucket(v);
        break;
    }
  }
  // As Add, for unsigned columns (HIST buckets the integer exactly).
  void AddU64(uint32_t writer, uint64_t timestamp_ns, uint64_t v) {
    if (kind_ == AggregateKind::kHist) {
      WriterState& w = writers_[writer];
      CellFor(w, writer, timestamp_ns).hist->AddU64(v);
      for (Cell* coarse : w.coarse) coarse->hist->AddU64Bucket(v);
    } else {
      Add(writer, timestamp_ns, static_cast<double>(v));
    }
  }
  // End of a batch: versions, at batch_end_offset, every cell this writer
  // touched since its last Publish. Offsets of one writer must increase.
  void Publish(uint32_t writer, uint64_t batch_end_offset);

  // Reader side: the combined value over the range at `snapshot`, without
  // the stale cells, which are appended to *stale (if not null).
  AggregateValue Get(uint64_t t0_ns, uint64_t t1_ns, uint64_t snapshot,
                     std::vector<StaleCell>* stale) const;
  // fn(uint64_t bucket, const AggregateValue&) for each bucket in the range
  // with a non-empty value at `snapshot`, in increasing order; stale cells
  // are left out of the values and appended to *stale (a bucket whose only
  // records are in stale cells gets no call).
  template <class Fn>
  void ForEachBucket(uint64_t t0_ns, uint64_t t1_ns, uint64_t snapshot, Fn&& fn,
                     std::vector<StaleCell>* stale) const {
    using F = std::remove_reference_t<Fn>;
    ForEachBucketImpl(
        t0_ns, t1_ns, snapshot,
        [](void* ctx, uint64_t bucket, const AggregateValue& value) {
          (*static_cast<F*>(ctx))(bucket, value);
        },
        const_cast<void*>(static_cast<const void*>(&fn)), stale);
  }

  // Bytes held: cells, histograms, buckets, index, writer state.
  uint64_t memory_bytes() const;

 private:
  static constexpr uint64_t kNoOffset = std::numeric_limits<uint64_t>::max();
  static constexpr uint32_t kAllWriters = ~0u;
  // HIST cells also exist for groups of 8 and 128 buckets (see above).
  static constexpr int kHistLevels = 3;
  static constexpr int kHistLevelShift[kHistLevels] = {0, 3, 7};

  struct Version {
    std::atomic<uint64_t> seq{0};  // 2n+1 while version n is written; 2n+2
    std::atomic<uint64_t> offset{0};
    std::atomic<uint64_t> count{0};
    std::atomic<double> value{0};
  };

  struct Cell {
    explicit Cell(AggregateKind kind);
    // Writer-private: the running value since the cell was created.
    uint64_t count = 0;
    double value = 0;         // sum, min or max
    bool dirty = false;       // touched since the writer's last Publish
    uint64_t versions = 0;    // head, as the writer knows it
    uint64_t hist_bytes = 0;  // hist memory already accounted
    // kHist, fine cells: the group cells (levels 1, 2) that take its
    // values bucket-only, and its totals when they last caught up.
    Cell* groups[kHistLevels - 1] = {};
    uint64_t totals_count = 0;
    double totals_sum = 0;
    // Scalar kinds (invariant 1).
    std::atomic<uint64_t> head{0};
    Version ring[kVersions];
    // kHist (invariant 2).
    std::unique_ptr<Histogram> hist;
    std::atomic<uint64_t> hist_seq{0};
    std::atomic<uint64_t> hist_offset{kNoOffset};  // of the last Publish
    // Every kind: the offset of the first Publish, stored before that
    // Publish's release store (head or hist_seq).
    std::atomic<uint64_t> first_offset{kNoOffset};
  };

  struct Bucket {
    explicit Bucket(uint32_t max_writers);
    ~Bucket();
    uint32_t writers;
    std::unique_ptr<std::atomic<Cell*>[]> cells;  // invariant 4
  };

  struct alignas(64) WriterState {
    uint64_t bucket_start = 0;
    uint64_t bucket_len = 0;  // 0 until the first Add: forces SwitchCell
    Cell* cell = nullptr;
    // kHist: the cells of the current bucket's groups at levels 1, 2.
    Cell* coarse[kHistLevels - 1] = {};
    uint64_t coarse_group[kHistLevels - 1] = {};
    std::vector<Cell*> dirty;
    std::atomic<uint64_t> cells{0};       // created (memory_bytes)
    std::atomic<uint64_t> hist_bytes{0};  // in its cells' histograms
  };

  enum class Read { kEmpty, kValue, kStale, kTorn };
  using BucketFn = void (*)(void* ctx, uint64_t bucket,
                            const AggregateValue& value);

  Cell& CellFor(WriterState& w, uint32_t writer, uint64_t timestamp_ns) {
    if (timestamp_ns - w.bucket_start >= w.bucket_len) [[unlikely]] {
      SwitchCell(w, writer, timestamp_ns);
    }
    Cell& c = *w.cell;
    if (!c.dirty) [[unlikely]] {
      MarkDirty(w, c);
    }
    return c;
  }
  void SwitchCell(WriterState& w, uint32_t writer, uint64_t timestamp_ns);
  // The writer's cell in `index` at `key`, created if need be.
  Cell* CellAt(TimeIndex<Bucket>& index, uint64_t key, WriterState& w,
               uint32_t writer);
  void MarkDirty(WriterState& w, Cell& c);

  void ForEachBucketImpl(uint64_t t0_ns, uint64_t t1_ns, uint64_t snapshot,
                         BucketFn fn, void* ctx,
                         std::vector<StaleCell>* stale) const;
  // Adds the bucket's cells at `snapshot` to *value; false if a histogram
  // read was torn (then *value and *stale are partly updated). `careful`
  // reads each histogram into *scratch first and never returns false.
  bool ReadBucket(uint64_t bucket, const Bucket& b, uint64_t snapshot,
                  bool careful, AggregateValue* value, Histogram* scratch,
                  std::vector<StaleCell>* stale) const;
  // kHist: merges buckets [lo, hi] (of `writer` only, unless it is
  // kAllWriters) using the coarsest usable cells from `level` down; false
  // if a histogram read was torn, as ReadBucket.
  bool ReadHistRange(int level, uint64_t lo, uint64_t hi, uint32_t writer,
                     uint64_t snapshot, bool careful, AggregateValue* value,
                     Histogram* scratch, std::vector<StaleCell>* stale) const;
  Read ReadScalar(const Cell& c, uint64_t snapshot, uint64_t* count,
                  double* value) const;
  Read ReadHist(const Cell& c, uint64_t snapshot, bool careful, Histogram* into,
                Histogram* scratch) const;
  void MergeScalar(uint64_t count, double v, AggregateValue* value) const;

  const AggregateKind kind_;
  const uint64_t bucket_ns_;
  const uint32_t max_writers_;
  const uint64_t start_offset_;
  std::unique_ptr<WriterState[]> writers_;
  TimeIndex<Bucket> index_;  // level 0: one bucket per key
  // kHist: levels 1.. (key = bucket >> kHistLevelShift[level]).
  TimeIndex<Bucket> coarse_[kHistLevels - 1];
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_AGGREGATE_LOG_H_
