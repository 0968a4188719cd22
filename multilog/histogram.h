// Histogram: a mergeable log-linear histogram of numeric values (negative,
// zero and positive), for HIST aggregates, quantiles and heatmaps.
//
// Buckets: every power of two is split into kSubBuckets = 128 equal-width
// buckets. A bucket is the value's IEEE-754 sign, exponent and top 7
// mantissa bits, so the bucket of a magnitude m in [2^e, 2^(e+1)) is
// [2^e (1 + s/128), 2^e (1 + (s+1)/128)); zero has a bucket of its own. The
// count, sum, min and max of the added values are kept exactly alongside.
//
// Quantiles use the nearest-rank definition: Quantile(q) estimates the
// value of rank NearestRank(q, n) = max(1, ceil(q n)) in the sorted values
// (q = 0 is the min, q = 1 the max, both exact). The estimate is the
// midpoint of the bucket holding that rank, clamped to [min, max], so for
// magnitudes of at least 2^-1022 (every normal double and every integer)
//   |Quantile(q) - exact| <= kMaxRelativeError |exact|,  kMaxRelativeError =
//   1/256 (0.39%),
// and zero is exact. When every value added is an integer (always so
// through AddU64), quantiles below 256 are exact: their buckets are at most
// 1 wide and hold one integer each. Subnormal magnitudes share buckets of
// absolute width 2^-1081 and carry no relative bound. NaN is ignored (not
// counted);
// +-infinity is counted in a bucket of its own.
//
// Memory: counters are allocated per power of two, lazily (1040 bytes each,
// through a two-level directory allocated lazily too), so an empty
// histogram is about 250 bytes (most of it a writer's cache of recent
// octaves) and one of packet sizes (64..1518: five octaves) about 6 KiB.
// Clear keeps the memory.
//
// Thread safety: single writer; not synchronized. Copy or merge under your
// own discipline. One exception, for seqlock readers such as AggregateLog:
// every field is an atomic, stored with release by the writer and loaded
// with acquire by readers (plain moves on x86), and memory is freed only by
// the destructor, assignment and move (never by Add, Merge or Clear). So
// const methods (Merge *from* it, Quantile, copy) may run while the single
// writer calls Add, AddU64 or Merge on it: such a reader sees a mix of old
// and new counts -- it must validate with a sequence counter of its own --
// but it never races or touches freed memory, and because every load is
// acquire, a reader that saw any new count also sees the writer's earlier
// stores, such as a sequence counter made odd before the change (no fences
// needed; GCC's ThreadSanitizer does not support them).
//
// Bins, for merging across processes: the layout is fixed (kLayout names
// it), so a bucket is one integer, its bin index, on every host. Bin 0 is
// zero; a positive magnitude with key k (IEEE-754 biased exponent << 7 |
// top 7 mantissa bits) is bin k + 1, a negative one -(k + 1). Bins from
// several histograms add exactly; a histogram rebuilt from their sum (and
// the summed count, sum, min, max and integrality) answers Quantile as if
// every value had been added to it, with the same bound
// (multilog/histogram_merge.h).
#ifndef LOUPE_MULTILOG_HISTOGRAM_H_
#define LOUPE_MULTILOG_HISTOGRAM_H_

#include <atomic>
#include <bit>
#include <cstdint>
#include <limits>

namespace loupe {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint32_t kSubBuckets = 1u << kSubBucketBits;
  // Bound on the relative error of Quantile for normal magnitudes: half a
  // bucket's width over the bucket's lower bound.
  static constexpr double kMaxRelativeError = 1.0 / (2 * kSubBuckets);

  Histogram() = default;
  ~Histogram();
  Histogram(const Histogram& other);
  Histogram& operator=(const Histogram& other);
  Histogram(Histogram&& other) noexcept;
  Histogram& operator=(Histogram&& other) noexcept;

  // Adds one value (int64 values may come through here: exact below 2^53).
  void Add(double v) {
    if (v != v) return;  // NaN
    AddTotals(v);
    if (v == 0) {
      Increment(zeros_, 1);
      return;
    }
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    if (integral_.load(std::memory_order_relaxed) && !IsIntegral(bits)) {
      integral_.store(false, std::memory_order_release);
    }
    BumpKey(static_cast<uint32_t>(bits >> 63),
            static_cast<uint32_t>(bits >> kMantissaShift) & kKeyMask, 1);
  }
  // Adds one unsigned value; buckets it from the integer (exact for all
  // of uint64).
  void AddU64(uint64_t v) {
    AddTotals(static_cast<double>(v));
    if (v == 0) {
      Increment(zeros_, 1);
      return;
    }
    BumpKey(0, KeyOfU64(v), 1);
  }

  // Bucket-only adds, for a writer that keeps each value in several
  // histograms (AggregateLog's HIST levels): these count v in its bucket
  // and leave count, sum, min, max and integrality to AddTotals, which the
  // writer calls later (once per batch). Until it does, count() disagrees
  // with the buckets, so readers must not look in between.
  void AddBucket(double v) {
    if (v != v) return;
    if (v == 0) {
      Increment(zeros_, 1);
      return;
    }
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    BumpKey(static_cast<uint32_t>(bits >> 63),
            static_cast<uint32_t>(bits >> kMantissaShift) & kKeyMask, 1);
  }
  void AddU64Bucket(uint64_t v) {
    if (v == 0) {
      Increment(zeros_, 1);
      return;
    }
    BumpKey(0, KeyOfU64(v), 1);
  }
  void AddTotals(uint64_t count, double sum, double min, double max,
                 bool integral);
  // Whether every value added so far was an integer.
  bool integral() const { return integral_.load(std::memory_order_acquire); }

  // Adds every value of `other` (which may be *this).
  void Merge(const Histogram& other);
  // Forgets every value; keeps the allocated counters for reuse.
  void Clear();

  uint64_t count() const { return count_.load(std::memory_order_acquire); }
  double sum() const { return sum_.load(std::memory_order_acquire); }
  // +inf and -inf when empty.
  double min() const { return min_.load(std::memory_order_acquire); }
  double max() const { return max_.load(std::memory_order_acquire); }
  bool empty() const { return count() == 0; }

  // The nearest-rank q-quantile, q in [0, 1] (clamped), within
  // kMaxRelativeError; NaN when empty.
  double Quantile(double q) const;
  // max(1, ceil(q n)) clamped to [1, n]: the rank Quantile(q) estimates.
  static uint64_t NearestRank(double q, uint64_t n);

  // Calls fn(double lower, double upper, uint64_t count) for every
  // non-empty bucket in increasing order of value. Positive buckets are
  // [lower, upper), negative ones (lower, upper], the zero bucket is
  // (0, 0) and infinities (+-inf, +-inf). The counts sum to count().
  template <typename Fn>
  void ForEachBucket(Fn&& fn) const;

  // The bucket layout of every Histogram: log-linear, kSubBucketBits
  // sub-buckets per power of two, bins as in the header comment. A new
  // layout gets a new number.
  static constexpr uint32_t kLayout = 1;
  // The largest |bin| of kLayout (+-infinity).
  static constexpr int64_t kMaxBin = (int64_t{2047} << kSubBucketBits) + 1;
  // Calls fn(int64_t bin, uint64_t count) for every non-empty bucket in
  // increasing order of value.
  template <typename Fn>
  void ForEachBin(Fn&& fn) const {
    Walk([&](uint32_t sign, uint32_t key, uint64_t count) {
      const int64_t k = int64_t{key} + 1;
      fn(sign == 2 ? int64_t{0} : sign == 0 ? k : -k, count);
      return true;
    });
  }
  // Bucket-only add of `count` values to `bin` (see AddBucket: call
  // AddTotals for them too). False, changing nothing, when `bin` is no bin
  // of kLayout.
  bool AddBinCount(int64_t bin, uint64_t count);

  // Bytes this histogram holds, itself included.
  uint64_t memory_bytes() const {
    return sizeof(*this) + bytes_.load(std::memory_order_relaxed);
  }

 private:
  // A key is a magnitude's biased exponent and top mantissa bits.
  static constexpr int kMantissaShift = 52 - kSubBucketBits;
  static constexpr uint32_t kKeyMask = (1u << (11 + kSubBucketBits)) - 1;
  static constexpr uint32_t kExponents = 2048;
  static constexpr uint32_t kInfExponent = 2047;
  static constexpr int kGroupBits = 6;  // octaves per directory group: 64
  static constexpr uint32_t kGroupOctaves = 1u << kGroupBits;
  static constexpr uint32_t kGroups = kExponents / kGroupOctaves;

  struct Octave {
    std::atomic<uint64_t> nonzero[kSubBuckets / 64];  // bit s: counts[s] > 0
    std::atomic<uint64_t> counts[kSubBuckets];
  };
  struct Group {
    std::atomic<Octave*> octaves[kGroupOctaves];
  };
  struct Directory {
    std::atomic<Group*> groups[kGroups];
  };

  static uint32_t KeyOfU64(uint64_t v) {  // v > 0
    const uint32_t e = 63 - static_cast<uint32_t>(std::countl_zero(v));
    const uint64_t top = e >= kSubBucketBits ? v >> (e - kSubBucketBits)
                                             : v << (kSubBucketBits - e);
    return ((e + 1023) << kSubBucketBits) |
           static_cast<uint32_t>(top & (kSubBuckets - 1));
  }
  // Whether the non-zero double with these bits is an integer (or inf).
  static bool IsIntegral(uint64_t bits) {
    const int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
    if (e >= 52) return true;
    if (e < 0) return false;
    return (bits & ((uint64_t{1} << (52 - e)) - 1)) == 0;
  }
  // The smallest magnitude with this key; Lower(key + 1) bounds it above.
  static double Lower(uint32_t key) {
    return std::bit_cast<double>(uint64_t{key} << kMantissaShift);
  }
  // Single-writer increment: a relaxed load and store, no RMW.
  static void Increment(std::atomic<uint64_t>& a, uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }
  void AddTotals(double v) {
    Increment(count_, 1);
    sum_.store(sum_.load(std::memory_order_relaxed) + v,
               std::memory_order_release);
    if (v < min_.load(std::memory_order_relaxed)) {
      min_.store(v, std::memory_order_release);
    }
    if (v > max_.load(std::memory_order_relaxed)) {
      max_.store(v, std::memory_order_release);
    }
  }
  void BumpKey(uint32_t sign, uint32_t key, uint64_t n) {
    const uint32_t exponent = key >> kSubBucketBits;
    const uint32_t slot = exponent % kCachedOctaves;
    Octave* o = cached_exponent_[sign][slot] == exponent
                    ? cached_octave_[sign][slot]
                    : OctaveFor(sign, exponent);
    const uint32_t s = key & (kSubBuckets - 1);
    const uint64_t c = o->counts[s].load(std::memory_order_relaxed);
    if (c == 0) {
      std::atomic<uint64_t>& mask = o->nonzero[s >> 6];
      mask.store(
          mask.load(std::memory_order_relaxed) | (uint64_t{1} << (s & 63)),
          std::memory_order_release);
    }
    o->counts[s].store(c + n, std::memory_order_release);
  }
  // Writer side: the octave, allocated (and published) if need be.
  Octave* OctaveFor(uint32_t sign, uint32_t exponent);
  // Reader side: the octave or nullptr. Acquire pairs with the release
  // stores in OctaveFor.
  const Octave* FindOctave(uint32_t sign, uint32_t exponent) const;
  // Calls fn(sign, key, count) -> bool (continue?) for non-empty buckets in
  // increasing order of value; the zero bucket has sign 2. Returns false if
  // fn stopped it.
  template <typename Fn>
  bool Walk(Fn&& fn) const;
  void Swap(Histogram& other) noexcept;
  void FreeAll();

  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> zeros_{0};
  std::atomic<double> sum_{0};
  std::atomic<double> min_{std::numeric_limits<double>::infinity()};
  std::atomic<double> max_{-std::numeric_limits<double>::infinity()};
  // [0]: positive magnitudes, [1]: negative ones.
  std::atomic<Directory*> directory_[2] = {};
  // Allocated exponents lie in [exponent_lo_, exponent_hi_] (empty if lo >
  // hi). Relaxed: the pointers they lead to are loaded with acquire.
  std::atomic<uint32_t> exponent_lo_[2] = {kExponents, kExponents};
  std::atomic<uint32_t> exponent_hi_[2] = {0, 0};
  std::atomic<uint64_t> bytes_{0};  // directories, groups and octaves
  // Every value added was an integer: then a bucket narrower than 1 holds
  // a single integer, and Quantile returns it exactly.
  std::atomic<bool> integral_{true};
  // Writer-private: recently used octaves of each sign, direct-mapped by
  // exponent, so values that alternate between a few octaves (bimodal
  // packet sizes) find theirs without walking the directory.
  static constexpr uint32_t kCachedOctaves = 8;
  static constexpr uint16_t kNoCachedExponent = 0xffff;
  uint16_t cached_exponent_[2][kCachedOctaves] = {
      {kNoCachedExponent, kNoCachedExponent, kNoCachedExponent,
       kNoCachedExponent, kNoCachedExponent, kNoCachedExponent,
       kNoCachedExponent, kNoCachedExponent},
      {kNoCachedExponent, kNoCachedExponent, kNoCachedExponent,
       kNoCachedExponent, kNoCachedExponent, kNoCachedExponent,
       kNoCachedExponent, kNoCachedExponent}};
  Octave* cached_octave_[2][kCachedOctaves] = {};
};

template <typename Fn>
bool Histogram::Walk(Fn&& fn) const {
  auto walk_octave = [&](uint32_t sign, uint32_t exponent, bool down) {
    const Octave* o = FindOctave(sign, exponent);
    if (o == nullptr) return true;
    for (uint32_t i = 0; i < kSubBuckets / 64; ++i) {
      const uint32_t word = down ? kSubBuckets / 64 - 1 - i : i;
      uint64_t mask = o->nonzero[word].load(std::memory_order_acquire);
      while (mask != 0) {
        uint32_t bit;
        if (down) {
          bit = 63 - static_cast<uint32_t>(std::countl_zero(mask));
          mask &= ~(uint64_t{1} << bit);
        } else {
          bit = static_cast<uint32_t>(std::countr_zero(mask));
          mask &= mask - 1;
        }
        const uint32_t s = word * 64 + bit;
        const uint64_t c = o->counts[s].load(std::memory_order_acquire);
        if (c != 0 && !fn(sign, (exponent << kSubBucketBits) | s, c)) {
          return false;
        }
      }
    }
    return true;
  };
  // Negative values: largest magnitude first.
  uint32_t lo = exponent_lo_[1].load(std::memory_order_acquire);
  uint32_t hi = exponent_hi_[1].load(std::memory_order_acquire);
  if (hi >= kExponents) hi = kExponents - 1;
  for (uint32_t e = hi + 1; e-- > lo;) {
    if (!walk_octave(1, e, true)) return false;
  }
  const uint64_t zeros = zeros_.load(std::memory_order_acquire);
  if (zeros != 0 && !fn(2u, 0u, zeros)) return false;
  lo = exponent_lo_[0].load(std::memory_order_acquire);
  hi = exponent_hi_[0].load(std::memory_order_acquire);
  if (hi >= kExponents) hi = kExponents - 1;
  for (uint32_t e = lo; e <= hi; ++e) {
    if (!walk_octave(0, e, false)) return false;
  }
  return true;
}

template <typename Fn>
void Histogram::ForEachBucket(Fn&& fn) const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Walk([&](uint32_t sign, uint32_t key, uint64_t count) {
    if (sign == 2) {
      fn(0.0, 0.0, count);
      return true;
    }
    double lower = Lower(key);
    double upper =
        (key >> kSubBucketBits) == kInfExponent ? kInf : Lower(key + 1);
    if (sign == 0) {
      fn(lower, upper, count);
    } else {
      fn(-upper, -lower, count);
    }
    return true;
  });
}

}  // namespace loupe

#endif  // LOUPE_MULTILOG_HISTOGRAM_H_
