#include "multilog/histogram.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace loupe {

Histogram::~Histogram() { FreeAll(); }

Histogram::Histogram(const Histogram& other) { Merge(other); }

Histogram& Histogram::operator=(const Histogram& other) {
  if (this != &other) {
    Histogram copy(other);
    Swap(copy);
  }
  return *this;
}

Histogram::Histogram(Histogram&& other) noexcept { Swap(other); }

Histogram& Histogram::operator=(Histogram&& other) noexcept {
  if (this != &other) {
    Histogram empty;
    Swap(empty);  // our old contents die with `empty`
    Swap(other);
  }
  return *this;
}

void Histogram::Swap(Histogram& other) noexcept {
  auto swap_atomic = [](auto& a, auto& b) {
    auto x = a.load(std::memory_order_relaxed);
    a.store(b.load(std::memory_order_relaxed), std::memory_order_relaxed);
    b.store(x, std::memory_order_relaxed);
  };
  swap_atomic(count_, other.count_);
  swap_atomic(zeros_, other.zeros_);
  swap_atomic(sum_, other.sum_);
  swap_atomic(min_, other.min_);
  swap_atomic(max_, other.max_);
  swap_atomic(bytes_, other.bytes_);
  swap_atomic(integral_, other.integral_);
  for (int sign = 0; sign < 2; ++sign) {
    swap_atomic(directory_[sign], other.directory_[sign]);
    swap_atomic(exponent_lo_[sign], other.exponent_lo_[sign]);
    swap_atomic(exponent_hi_[sign], other.exponent_hi_[sign]);
    std::swap(cached_exponent_[sign], other.cached_exponent_[sign]);
    std::swap(cached_octave_[sign], other.cached_octave_[sign]);
  }
}

void Histogram::FreeAll() {
  for (auto& slot : directory_) {
    Directory* d = slot.load(std::memory_order_relaxed);
    if (d == nullptr) continue;
    for (auto& g_slot : d->groups) {
      Group* g = g_slot.load(std::memory_order_relaxed);
      if (g == nullptr) continue;
      for (auto& o_slot : g->octaves)
        delete o_slot.load(std::memory_order_relaxed);
      delete g;
    }
    delete d;
    slot.store(nullptr, std::memory_order_relaxed);
  }
}

Histogram::Octave* Histogram::OctaveFor(uint32_t sign, uint32_t exponent) {
  // Only the writer stores these pointers, so its own loads may be relaxed;
  // each release store pairs with the acquire loads in FindOctave and
  // publishes the zeroed memory behind it.
  Directory* d = directory_[sign].load(std::memory_order_relaxed);
  if (d == nullptr) {
    d = new Directory();
    Increment(bytes_, sizeof(Directory));
    directory_[sign].store(d, std::memory_order_release);
  }
  std::atomic<Group*>& g_slot = d->groups[exponent >> kGroupBits];
  Group* g = g_slot.load(std::memory_order_relaxed);
  if (g == nullptr) {
    g = new Group();
    Increment(bytes_, sizeof(Group));
    g_slot.store(g, std::memory_order_release);
  }
  std::atomic<Octave*>& o_slot = g->octaves[exponent & (kGroupOctaves - 1)];
  Octave* o = o_slot.load(std::memory_order_relaxed);
  if (o == nullptr) {
    o = new Octave();
    Increment(bytes_, sizeof(Octave));
    o_slot.store(o, std::memory_order_release);
    if (exponent < exponent_lo_[sign].load(std::memory_order_relaxed)) {
      exponent_lo_[sign].store(exponent, std::memory_order_release);
    }
    if (exponent > exponent_hi_[sign].load(std::memory_order_relaxed)) {
      exponent_hi_[sign].store(exponent, std::memory_order_release);
    }
  }
  cached_exponent_[sign][exponent % kCachedOctaves] =
      static_cast<uint16_t>(exponent);
  cached_octave_[sign][exponent % kCachedOctaves] = o;
  return o;
}

const Histogram::Octave* Histogram::FindOctave(uint32_t sign,
                                               uint32_t exponent) const {
  const Directory* d = directory_[sign].load(std::memory_order_acquire);
  if (d == nullptr) return nullptr;
  const Group* g =
      d->groups[exponent >> kGroupBits].load(std::memory_order_acquire);
  if (g == nullptr) return nullptr;
  return g->octaves[exponent & (kGroupOctaves - 1)].load(
      std::memory_order_acquire);
}

void Histogram::Merge(const Histogram& other) {
  if (&other == this) {
    Histogram copy(other);
    Merge(copy);
    return;
  }
  const uint64_t n = other.count();
  if (n == 0) return;
  Increment(count_, n);
  Increment(zeros_, other.zeros_.load(std::memory_order_acquire));
  sum_.store(sum() + other.sum(), std::memory_order_release);
  if (other.min() < min()) min_.store(other.min(), std::memory_order_release);
  if (other.max() > max()) max_.store(other.max(), std::memory_order_release);
  if (!other.integral_.load(std::memory_order_acquire)) {
    integral_.store(false, std::memory_order_release);
  }
  // Octave by octave: one mask OR per 64 buckets, then one add per
  // non-empty bucket.
  for (uint32_t sign = 0; sign < 2; ++sign) {
    const uint32_t lo =
        other.exponent_lo_[sign].load(std::memory_order_acquire);
    const uint32_t hi =
        std::min(other.exponent_hi_[sign].load(std::memory_order_acquire),
                 kExponents - 1);
    for (uint32_t e = lo; e <= hi; ++e) {
      const Octave* from = other.FindOctave(sign, e);
      if (from == nullptr) continue;
      Octave* to = nullptr;
      for (uint32_t w = 0; w < kSubBuckets / 64; ++w) {
        uint64_t mask = from->nonzero[w].load(std::memory_order_acquire);
        if (mask == 0) continue;
        if (to == nullptr) to = OctaveFor(sign, e);
        to->nonzero[w].store(
            to->nonzero[w].load(std::memory_order_relaxed) | mask,
            std::memory_order_release);
        for (; mask != 0; mask &= mask - 1) {
          const uint32_t s =
              w * 64 + static_cast<uint32_t>(std::countr_zero(mask));
          to->counts[s].store(
              to->counts[s].load(std::memory_order_relaxed) +
                  from->counts[s].load(std::memory_order_acquire),
              std::memory_order_release);
        }
      }
    }
  }
}

bool Histogram::AddBinCount(int64_t bin, uint64_t count) {
  if (bin < -kMaxBin || bin > kMaxBin) return false;
  if (count == 0) return true;
  if (bin == 0) {
    Increment(zeros_, count);
    return true;
  }
  const uint32_t sign = bin < 0 ? 1 : 0;
  const uint32_t key = static_cast<uint32_t>((bin < 0 ? -bin : bin) - 1);
  BumpKey(sign, key, count);
  return true;
}

void Histogram::AddTotals(uint64_t count, double sum, double min, double max,
                          bool integral) {
  Increment(count_, count);
  sum_.store(this->sum() + sum, std::memory_order_release);
  if (min < this->min()) min_.store(min, std::memory_order_release);
  if (max > this->max()) max_.store(max, std::memory_order_release);
  if (!integral) integral_.store(false, std::memory_order_release);
}

void Histogram::Clear() {
  count_.store(0, std::memory_order_release);
  zeros_.store(0, std::memory_order_release);
  sum_.store(0, std::memory_order_release);
  min_.store(std::numeric_limits<double>::infinity(),
             std::memory_order_release);
  max_.store(-std::numeric_limits<double>::infinity(),
             std::memory_order_release);
  integral_.store(true, std::memory_order_release);
  for (uint32_t sign = 0; sign < 2; ++sign) {
    const uint32_t lo = exponent_lo_[sign].load(std::memory_order_relaxed);
    const uint32_t hi = exponent_hi_[sign].load(std::memory_order_relaxed);
    for (uint32_t e = lo; e <= hi && e < kExponents; ++e) {
      Octave* o = const_cast<Octave*>(FindOctave(sign, e));
      if (o == nullptr) continue;
      for (uint32_t w = 0; w < kSubBuckets / 64; ++w) {
        uint64_t mask = o->nonzero[w].load(std::memory_order_relaxed);
        while (mask != 0) {
          const uint32_t s =
              w * 64 + static_cast<uint32_t>(std::countr_zero(mask));
          mask &= mask - 1;
          o->counts[s].store(0, std::memory_order_release);
        }
        o->nonzero[w].store(0, std::memory_order_release);
      }
    }
  }
}

uint64_t Histogram::NearestRank(double q, uint64_t n) {
  if (n == 0) return 0;
  if (!(q > 0)) return 1;  // also NaN
  if (q >= 1) return n;
  const double r = std::ceil(q * static_cast<double>(n));
  if (r < 1) return 1;
  if (r >= static_cast<double>(n)) return n;
  return static_cast<uint64_t>(r);
}

double Histogram::Quantile(double q) const {
  const uint64_t n = count();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  const uint64_t rank = NearestRank(q, n);
  if (rank <= 1) return min();
  if (rank >= n) return max();
  const bool integral = integral_.load(std::memory_order_acquire);
  uint64_t seen = 0;
  double result = max();
  Walk([&](uint32_t sign, uint32_t key, uint64_t count) {
    seen += count;
    if (seen < rank) return true;
    if (sign == 2) {
      result = 0;
    } else if ((key >> kSubBucketBits) == kInfExponent) {
      result = std::numeric_limits<double>::infinity();
      if (sign == 1) result = -result;
    } else {
      const double lower = Lower(key);
      const double upper = Lower(key + 1);
      const double whole = std::ceil(lower);
      // The midpoint is within half a bucket of every value in it; with
      // integers only, a bucket narrower than 1 holds just one.
      const double v = integral && upper - lower <= 1 && whole < upper
                           ? whole
                           : lower + (upper - lower) / 2;
      result = sign == 1 ? -v : v;
    }
    return false;
  });
  // A torn read (see the header) may see min > max; clamp only if sane.
  const double lo = min();
  const double hi = max();
  return lo <= hi ? std::clamp(result, lo, hi) : result;
}

}  // namespace loupe
