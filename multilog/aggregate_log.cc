#include "multilog/aggregate_log.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

namespace loupe {

std::string_view AggregateKindName(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::kCount:
      return "COUNT";
    case AggregateKind::kSum:
      return "SUM";
    case AggregateKind::kMin:
      return "MIN";
    case AggregateKind::kMax:
      return "MAX";
    case AggregateKind::kHist:
      return "HIST";
  }
  return "?";
}

// AggregateValue.

AggregateValue::AggregateValue(const AggregateValue& other)
    : count(other.count),
      sum(other.sum),
      min(other.min),
      max(other.max),
      hist(other.hist ? std::make_unique<Histogram>(*other.hist) : nullptr) {}

AggregateValue& AggregateValue::operator=(const AggregateValue& other) {
  if (this != &other) {
    AggregateValue copy(other);
    *this = std::move(copy);
  }
  return *this;
}

AggregateValue AggregateValue::Empty(AggregateKind kind) {
  AggregateValue v;
  if (kind == AggregateKind::kHist) v.hist = std::make_unique<Histogram>();
  return v;
}

void AggregateValue::Add(AggregateKind kind, double v) {
  switch (kind) {
    case AggregateKind::kCount:
      ++count;
      return;
    case AggregateKind::kSum:
      ++count;
      sum += v;
      return;
    case AggregateKind::kMin:
      ++count;
      if (v < min) min = v;
      return;
    case AggregateKind::kMax:
      ++count;
      if (v > max) max = v;
      return;
    case AggregateKind::kHist:
      if (std::isnan(v)) return;  // as Histogram
      if (!hist) hist = std::make_unique<Histogram>();
      hist->Add(v);
      ++count;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
      return;
  }
}

void AggregateValue::AddU64(AggregateKind kind, uint64_t v) {
  if (kind != AggregateKind::kHist) {
    Add(kind, static_cast<double>(v));
    return;
  }
  if (!hist) hist = std::make_unique<Histogram>();
  hist->AddU64(v);
  const double d = static_cast<double>(v);
  ++count;
  sum += d;
  if (d < min) min = d;
  if (d > max) max = d;
}

void AggregateValue::Merge(const AggregateValue& other) {
  count += other.count;
  sum += other.sum;
  if (other.min < min) min = other.min;
  if (other.max > max) max = other.max;
  if (other.hist) {
    if (hist) {
      hist->Merge(*other.hist);
    } else {
      hist = std::make_unique<Histogram>(*other.hist);
    }
  }
}

double AggregateValue::Quantile(double q) const {
  return hist ? hist->Quantile(q) : std::numeric_limits<double>::quiet_NaN();
}

// AggregateLog.

AggregateLog::Cell::Cell(AggregateKind kind) {
  if (kind == AggregateKind::kMin) {
    value = std::numeric_limits<double>::infinity();
  } else if (kind == AggregateKind::kMax) {
    value = -std::numeric_limits<double>::infinity();
  } else if (kind == AggregateKind::kHist) {
    hist = std::make_unique<Histogram>();
  }
}

AggregateLog::Bucket::Bucket(uint32_t max_writers)
    : writers(max_writers), cells(new std::atomic<Cell*>[max_writers]()) {}

AggregateLog::Bucket::~Bucket() {
  for (uint32_t w = 0; w < writers; ++w) {
    delete cells[w].load(std::memory_order_relaxed);
  }
}

AggregateLog::AggregateLog(AggregateKind kind, uint64_t bucket_ns,
                           uint32_t max_writers, uint64_t start_offset)
    : kind_(kind),
      bucket_ns_(bucket_ns),
      max_writers_(max_writers),
      start_offset_(start_offset),
      writers_(new WriterState[max_writers]) {
  assert(bucket_ns > 0 && max_writers > 0);
  for (uint32_t w = 0; w < max_writers; ++w) writers_[w].dirty.reserve(16);
}

AggregateLog::~AggregateLog() = default;

AggregateLog::Cell* AggregateLog::CellAt(TimeIndex<Bucket>& index, uint64_t key,
                                         WriterState& w, uint32_t writer) {
  Bucket* b = index.GetOrCreate(key, max_writers_);
  std::atomic<Cell*>& slot = b->cells[writer];
  Cell* c = slot.load(std::memory_order_relaxed);  // only this writer stores
  if (c == nullptr) {
    c = new Cell(kind_);
    // Invariant 4: release pairs with the acquire loads in ReadBucket and
    // ReadHistRange.
    slot.store(c, std::memory_order_release);
    w.cells.store(w.cells.load(std::memory_order_relaxed) + 1,
                  std::memory_order_relaxed);
  }
  return c;
}

void AggregateLog::SwitchCell(WriterState& w, uint32_t writer,
                              uint64_t timestamp_ns) {
  const uint64_t bucket = timestamp_ns / bucket_ns_;
  w.bucket_start = bucket * bucket_ns_;
  w.bucket_len = bucket_ns_;
  if (kind_ == AggregateKind::kHist) {
    // Invariant 5: group cells before the fine cell.
    for (int level = kHistLevels - 1; level >= 1; --level) {
      const uint64_t group = bucket >> kHistLevelShift[level];
      Cell*& coarse = w.coarse[level - 1];
      if (coarse == nullptr || w.coarse_group[level - 1] != group) {
        coarse = CellAt(coarse_[level - 1], group, w, writer);
        w.coarse_group[level - 1] = group;
      }
    }
  }
  w.cell = CellAt(index_, bucket, w, writer);
  if (kind_ == AggregateKind::kHist) {
    for (int i = 0; i < kHistLevels - 1; ++i) w.cell->groups[i] = w.coarse[i];
  }
}

void AggregateLog::MarkDirty(WriterState& w, Cell& c) {
  auto mark = [&](Cell& x) {
    x.dirty = true;
    w.dirty.push_back(&x);
    if (kind_ == AggregateKind::kHist) {
      // Invariant 2: odd before the first change of the batch. Release
      // lets a reader that sees it also see first_offset; the histogram's
      // stores that follow are release too.
      x.hist_seq.store(x.hist_seq.load(std::memory_order_relaxed) + 1,
                       std::memory_order_release);
    }
  };
  mark(c);
  // A fine cell's groups change with it (invariant 5): once it is dirty in
  // a batch, so are they, until Publish.
  for (Cell* coarse : w.coarse) {
    if (coarse != nullptr && !coarse->dirty) mark(*coarse);
  }
}

void AggregateLog::Publish(uint32_t writer, uint64_t batch_end_offset) {
  WriterState& w = writers_[writer];
  if (kind_ == AggregateKind::kHist) {
    // Invariant 5: group cells got this batch's values bucket-only; bring
    // their totals up to date before any is published.
    for (Cell* c : w.dirty) {
      if (c->groups[0] == nullptr) continue;  // a group cell itself
      const Histogram& h = *c->hist;
      const uint64_t count = h.count();
      const double sum = h.sum();
      for (Cell* g : c->groups) {
        g->hist->AddTotals(count - c->totals_count, sum - c->totals_sum,
                           h.min(), h.max(), h.integral());
      }
      c->totals_count = count;
      c->totals_sum = sum;
    }
  }
  for (Cell* c : w.dirty) {
    if (kind_ == AggregateKind::kHist) {
      c->hist_offset.store(batch_end_offset, std::memory_order_release);
      if (c->first_offset.load(std::memory_order_relaxed) == kNoOffset) {
        c->first_offset.store(batch_end_offset, std::memory_order_relaxed);
      }
      // Invariant 2: even again; release pairs with the acquire load of
      // hist_seq in ReadHist.
      c->hist_seq.store(c->hist_seq.load(std::memory_order_relaxed) + 1,
                        std::memory_order_release);
      const uint64_t bytes = c->hist->memory_bytes();
      if (bytes != c->hist_bytes) {
        w.hist_bytes.store(w.hist_bytes.load(std::memory_order_relaxed) +
                               bytes - c->hist_bytes,
                           std::memory_order_relaxed);
        c->hist_bytes = bytes;
      }
    } else {
      // Invariant 1.
      const uint64_t n = c->versions;
      if (n == 0) {
        c->first_offset.store(batch_end_offset, std::memory_order_relaxed);
      }
      Version& s = c->ring[n % kVersions];
      s.seq.store(2 * n + 1, std::memory_order_relaxed);
      // Release: a reader that loads any of these (acquire) then sees seq
      // odd or later.
      s.offset.store(batch_end_offset, std::memory_order_release);
      s.count.store(c->count, std::memory_order_release);
      s.value.store(c->value, std::memory_order_release);
      // Release pairs with the acquire load of seq in ReadScalar.
      s.seq.store(2 * n + 2, std::memory_order_release);
      c->versions = n + 1;
      // Release pairs with the acquire load of head in ReadScalar.
      c->head.store(n + 1, std::memory_order_release);
    }
    c->dirty = false;
  }
  w.dirty.clear();
}

AggregateLog::Read AggregateLog::ReadScalar(const Cell& c, uint64_t snapshot,
                                            uint64_t* count,
                                            double* value) const {
  const uint64_t head = c.head.load(std::memory_order_acquire);
  // The cell's first batch lies at or above the snapshot (which never
  // splits a batch): nothing below it. first_offset is stored before the
  // head's release store.
  if (head == 0 || c.first_offset.load(std::memory_order_relaxed) > snapshot) {
    return Read::kEmpty;
  }
  const uint64_t oldest = head > kVersions ? head - kVersions : 0;
  for (uint64_t j = head; j-- > oldest;) {
    const Version& s = c.ring[j % kVersions];
    const uint64_t seq = s.seq.load(std::memory_order_acquire);
    if (seq != 2 * j + 2) return Read::kStale;  // overwritten since
    // Acquire pairs with the release stores in Publish: if any is from a
    // newer version, the second load of seq sees it odd or newer.
    const uint64_t offset = s.offset.load(std::memory_order_acquire);
    const uint64_t n = s.count.load(std::memory_order_acquire);
    const double v = s.value.load(std::memory_order_acquire);
    if (s.seq.load(std::memory_order_relaxed) != seq) return Read::kStale;
    if (offset <= snapshot) {
      *count = n;
      *value = v;
      return n == 0 ? Read::kEmpty : Read::kValue;
    }
  }
  // Every version kept is above the snapshot, and the first one is not:
  // the answer was dropped from the ring.
  return Read::kStale;
}

AggregateLog::Read AggregateLog::ReadHist(const Cell& c, uint64_t snapshot,
                                          bool careful, Histogram* into,
                                          Histogram* scratch) const {
  // Acquire pairs with the release stores of hist_seq (invariant 2).
  const uint64_t seq = c.hist_seq.load(std::memory_order_acquire);
  if (seq < 2) return Read::kEmpty;  // never published: all above snapshot
  if (c.first_offset.load(std::memory_order_relaxed) > snapshot) {
    return Read::kEmpty;
  }
  if (seq & 1) return Read::kStale;  // a batch is changing it
  if (c.hist_offset.load(std::memory_order_acquire) > snapshot) {
    return Read::kStale;  // it moved past the snapshot
  }
  Histogram* target = into;
  if (careful) {
    scratch->Clear();
    target = scratch;
  }
  // Merge loads with acquire (histogram.h): if it saw any store of a newer
  // batch, the second load of hist_seq sees that batch's odd value or more.
  target->Merge(*c.hist);
  if (c.hist_seq.load(std::memory_order_relaxed) != seq) {
    return careful ? Read::kStale : Read::kTorn;
  }
  if (careful) into->Merge(*scratch);
  return Read::kValue;
}

void AggregateLog::MergeScalar(uint64_t count, double v,
                               AggregateValue* value) const {
  value->count += count;
  switch (kind_) {
    case AggregateKind::kSum:
      value->sum += v;
      break;
    case AggregateKind::kMin:
      if (v < value->min) value->min = v;
      break;
    case AggregateKind::kMax:
      if (v > value->max) value->max = v;
      break;
    default:
      break;
  }
}

bool AggregateLog::ReadBucket(uint64_t bucket, const Bucket& b,
                              uint64_t snapshot, bool careful,
                              AggregateValue* value, Histogram* scratch,
                              std::vector<StaleCell>* stale) const {
  for (uint32_t w = 0; w < max_writers_; ++w) {
    // Acquire pairs with the release store in SwitchCell (invariant 4).
    const Cell* c = b.cells[w].load(std::memory_order_acquire);
    if (c == nullptr) continue;
    Read r;
    if (kind_ == AggregateKind::kHist) {
      r = ReadHist(*c, snapshot, careful, value->hist.get(), scratch);
    } else {
      uint64_t n;
      double v;
      r = ReadScalar(*c, snapshot, &n, &v);
      if (r == Read::kValue) MergeScalar(n, v, value);
    }
    if (r == Read::kTorn) return false;
    if (r == Read::kStale && stale != nullptr) stale->push_back({bucket, w});
  }
  return true;
}

bool AggregateLog::ReadHistRange(int level, uint64_t lo, uint64_t hi,
                                 uint32_t writer, uint64_t snapshot,
                                 bool careful, AggregateValue* value,
                                 Histogram* scratch,
                                 std::vector<StaleCell>* stale) const {
  const uint32_t w_lo = writer == kAllWriters ? 0 : writer;
  const uint32_t w_hi = writer == kAllWriters ? max_writers_ : writer + 1;
  if (level == 0) {
    return index_.ForEach(lo, hi, [&](uint64_t bucket, const Bucket& b) {
      for (uint32_t w = w_lo; w < w_hi; ++w) {
        const Cell* c = b.cells[w].load(std::memory_order_acquire);
        if (c == nullptr) continue;
        const Read r =
            ReadHist(*c, snapshot, careful, value->hist.get(), scratch);
        if (r == Read::kTorn) return false;
        if (r == Read::kStale && stale != nullptr) {
          stale->push_back({bucket, w});
        }
      }
      return true;
    });
  }
  const int shift = kHistLevelShift[level];
  return coarse_[level - 1].ForEach(
      lo >> shift, hi >> shift, [&](uint64_t group, const Bucket& g) {
        const uint64_t g_lo = group << shift;
        const uint64_t g_hi = g_lo + (uint64_t{1} << shift) - 1;
        if (g_lo < lo || g_hi > hi) {  // the range's edge: finer cells
          return ReadHistRange(level - 1, std::max(lo, g_lo),
                               std::min(hi, g_hi), writer, snapshot, careful,
                               value, scratch, stale);
        }
        for (uint32_t w = w_lo; w < w_hi; ++w) {
          // Invariant 5: no group cell, no fine cell of w in the group
          // below the snapshot.
          const Cell* c = g.cells[w].load(std::memory_order_acquire);
          if (c == nullptr) continue;
          const Read r =
              ReadHist(*c, snapshot, careful, value->hist.get(), scratch);
          if (r == Read::kTorn) return false;
          if (r == Read::kStale &&
              !ReadHistRange(level - 1, g_lo, g_hi, w, snapshot, careful, value,
                             scratch, stale)) {
            return false;
          }
        }
        return true;
      });
}

namespace {

// A HIST value's scalar fields come from its histogram.
void FillFromHist(AggregateValue* v) {
  if (!v->hist) return;
  v->count = v->hist->count();
  v->sum = v->hist->sum();
  v->min = v->hist->min();
  v->max = v->hist->max();
}

}  // namespace

AggregateValue AggregateLog::Get(uint64_t t0_ns, uint64_t t1_ns,
                                 uint64_t snapshot,
                                 std::vector<StaleCell>* stale) const {
  AggregateValue value = AggregateValue::Empty(kind_);
  if (t1_ns <= t0_ns) return value;
  const size_t mark = stale != nullptr ? stale->size() : 0;
  Histogram scratch;
  // Histograms are merged straight into the result; if one turns out torn
  // (its writer came back to it meanwhile: rare), start again carefully.
  const uint64_t b0 = t0_ns / bucket_ns_;
  const uint64_t b1 = (t1_ns - 1) / bucket_ns_;
  for (bool careful : {false, true}) {
    const bool done =
        kind_ == AggregateKind::kHist
            ? ReadHistRange(kHistLevels - 1, b0, b1, kAllWriters, snapshot,
                            careful, &value, &scratch, stale)
            : index_.ForEachReverse(
                  b0, b1, [&](uint64_t bucket, const Bucket& b) {
                    return ReadBucket(bucket, b, snapshot, careful, &value,
                                      &scratch, stale);
                  });
    if (done) break;
    value = AggregateValue::Empty(kind_);
    if (stale != nullptr) stale->resize(mark);
  }
  FillFromHist(&value);
  return value;
}

void AggregateLog::ForEachBucketImpl(uint64_t t0_ns, uint64_t t1_ns,
                                     uint64_t snapshot, BucketFn fn, void* ctx,
                                     std::vector<StaleCell>* stale) const {
  if (t1_ns <= t0_ns) return;
  const uint64_t b0 = t0_ns / bucket_ns_;
  const uint64_t b1 = (t1_ns - 1) / bucket_ns_;
  Histogram scratch;
  if (kind_ != AggregateKind::kHist) {
    // Newest first, as Get (rings of busy cells are read early), then
    // handed out in time order.
    std::vector<std::pair<uint64_t, AggregateValue>> values;
    index_.ForEachReverse(b0, b1, [&](uint64_t bucket, const Bucket& b) {
      AggregateValue v;
      ReadBucket(bucket, b, snapshot, false, &v, &scratch, stale);
      if (v.count != 0) values.emplace_back(bucket, std::move(v));
    });
    for (auto it = values.rbegin(); it != values.rend(); ++it) {
      fn(ctx, it->first, it->second);
    }
    return;
  }
  index_.ForEach(b0, b1, [&](uint64_t bucket, const Bucket& b) {
    AggregateValue v = AggregateValue::Empty(kind_);
    const size_t mark = stale != nullptr ? stale->size() : 0;
    if (!ReadBucket(bucket, b, snapshot, false, &v, &scratch, stale)) {
      v = AggregateValue::Empty(kind_);
      if (stale != nullptr) stale->resize(mark);
      ReadBucket(bucket, b, snapshot, true, &v, &scratch, stale);
    }
    FillFromHist(&v);
    if (v.count != 0) fn(ctx, bucket, v);
  });
}

uint64_t AggregateLog::memory_bytes() const {
  const uint64_t bucket_bytes =
      sizeof(Bucket) + max_writers_ * sizeof(std::atomic<Cell*>);
  uint64_t bytes =
      sizeof(*this) + index_.memory_bytes() + index_.size() * bucket_bytes;
  for (const TimeIndex<Bucket>& level : coarse_) {
    bytes += level.memory_bytes() + level.size() * bucket_bytes;
  }
  for (uint32_t w = 0; w < max_writers_; ++w) {
    const WriterState& s = writers_[w];
    bytes += sizeof(WriterState) +
             s.cells.load(std::memory_order_relaxed) * sizeof(Cell) +
             s.hist_bytes.load(std::memory_order_relaxed);
  }
  return bytes;
}

}  // namespace loupe
