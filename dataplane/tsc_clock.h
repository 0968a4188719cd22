// TscClock: TSC readings as ns since the epoch, re-anchored to the wall
// clock every period without ever stepping back -- the RX lcore's stamp.
//
//   ns(tsc) = ns0 + ((tsc - tsc0) * mult) >> 32
//
// Start anchors the TSC to one wall-clock reading at the nominal rate
// (mult = 2^32 * 1e9 / hz). Reanchor(tsc, wall_ns), called once Due(tsc)
// says a period has passed, measures offset = wall_ns - ns(tsc) and takes
// a new anchor at (tsc, ns(tsc)) -- continuous, so a stamp never steps back
// -- whose rate makes up the offset over the next period:
//   |offset| <= kMaxSlewNs        rate 1e9 + offset ns per second
//   offset < -kMaxSlewNs          rate 1e9 - kMaxSlewNs (the TSC ran ahead,
//                                 e.g. the wall clock was stepped back:
//                                 caught up slowly, never by a step back)
//   offset > kMaxSlewNs           a step forward to wall_ns (the wall clock
//                                 was stepped forward or the VM was paused)
// The rate stays within 1e9 +- 5% ns per second, so ns() is strictly
// increasing in tsc. Between re-anchors the stamps drift from the wall
// clock by at most the TSC's frequency error over one period (plus what
// is left of a slew).
//
// Cost: ToNs is one 64x64->128 multiply; Due is one compare. No
// allocation, lock or syscall: the caller reads the wall clock (the vDSO's
// clock_gettime) once per period. One thread uses an object; counters()
// may be read from any thread.
#ifndef LOUPE_DATAPLANE_TSC_CLOCK_H_
#define LOUPE_DATAPLANE_TSC_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace loupe::dataplane {

class TscClock {
  __extension__ using U128 = unsigned __int128;

 public:
  static constexpr int64_t kMaxSlewNs = 50'000'000;  // per period: 5%
  static constexpr uint64_t kNsPerS = 1'000'000'000;

  struct Counters {
    uint64_t reanchors = 0;
    int64_t last_offset_ns = 0;  // wall - ours at the last re-anchor
    uint64_t max_abs_offset_ns = 0;
    uint64_t steps_forward = 0;
  };

  // `hz` > 0: TSC ticks per second; the period is one second of ticks.
  void Start(uint64_t tsc, uint64_t wall_ns, uint64_t hz) {
    hz_ = hz;
    tsc0_ = tsc;
    ns0_ = wall_ns;
    mult_ = RateMult(kNsPerS);
    next_ = tsc + hz;
  }

  uint64_t ToNs(uint64_t tsc) const {
    return ns0_ + static_cast<uint64_t>(
                      (static_cast<U128>(tsc - tsc0_) * mult_) >> 32);
  }

  bool Due(uint64_t tsc) const { return tsc >= next_; }

  // Returns the offset measured (wall_ns - ToNs(tsc)).
  int64_t Reanchor(uint64_t tsc, uint64_t wall_ns) {
    const uint64_t ours = ToNs(tsc);
    const int64_t offset = static_cast<int64_t>(wall_ns - ours);
    tsc0_ = tsc;
    next_ = tsc + hz_;
    if (offset > kMaxSlewNs) {
      ns0_ = wall_ns;
      mult_ = RateMult(kNsPerS);
      steps_forward_.store(steps_forward_.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
    } else {
      ns0_ = ours;
      const int64_t slew = offset < -kMaxSlewNs ? -kMaxSlewNs : offset;
      mult_ =
          RateMult(static_cast<uint64_t>(static_cast<int64_t>(kNsPerS) + slew));
    }
    const uint64_t abs = offset < 0 ? 0 - static_cast<uint64_t>(offset)
                                    : static_cast<uint64_t>(offset);
    last_offset_ns_.store(offset, std::memory_order_relaxed);
    if (abs > max_abs_offset_ns_.load(std::memory_order_relaxed)) {
      max_abs_offset_ns_.store(abs, std::memory_order_relaxed);
    }
    reanchors_.store(reanchors_.load(std::memory_order_relaxed) + 1,
                     std::memory_order_relaxed);
    return offset;
  }

  Counters counters() const {
    Counters c;
    c.reanchors = reanchors_.load(std::memory_order_relaxed);
    c.last_offset_ns = last_offset_ns_.load(std::memory_order_relaxed);
    c.max_abs_offset_ns = max_abs_offset_ns_.load(std::memory_order_relaxed);
    c.steps_forward = steps_forward_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  // 2^32 * ns_per_period / hz: ns per tick in 32.32 fixed point.
  uint64_t RateMult(uint64_t ns_per_period) const {
    return static_cast<uint64_t>((static_cast<U128>(ns_per_period) << 32) /
                                 hz_);
  }

  uint64_t hz_ = 1;
  uint64_t tsc0_ = 0;
  uint64_t ns0_ = 0;
  uint64_t mult_ = 0;
  uint64_t next_ = 0;
  std::atomic<uint64_t> reanchors_{0};
  std::atomic<int64_t> last_offset_ns_{0};
  std::atomic<uint64_t> max_abs_offset_ns_{0};
  std::atomic<uint64_t> steps_forward_{0};
};

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_TSC_CLOCK_H_
