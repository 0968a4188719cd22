// TscClock: re-anchoring to the wall clock slews, never steps back, steps
// forward only beyond the slew bound, and stays strictly increasing.
#include "dataplane/tsc_clock.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace loupe::dataplane {
namespace {

constexpr uint64_t kHz = 2'400'000'000;  // a 2.4 GHz TSC
constexpr uint64_t kT0 = 1'000'000;      // the first TSC reading
constexpr uint64_t kWall0 = 1'700'000'000'000'000'000;

// The wall clock when the TSC reads `tsc`, for a TSC that runs `ppm` parts
// per million fast against the nominal kHz.
uint64_t WallAt(uint64_t tsc, double ppm) {
  const double s = static_cast<double>(tsc - kT0) / kHz;
  return kWall0 + static_cast<uint64_t>(s / (1 + ppm * 1e-6) * 1e9);
}

TEST(TscClockTest, NominalRateFromTheAnchor) {
  TscClock c;
  c.Start(kT0, kWall0, kHz);
  EXPECT_EQ(c.ToNs(kT0), kWall0);
  // 32.32 fixed point: within a nanosecond per second.
  EXPECT_NEAR(static_cast<double>(c.ToNs(kT0 + kHz) - kWall0), 1e9, 1);
  EXPECT_NEAR(static_cast<double>(c.ToNs(kT0 + kHz / 1000) - kWall0), 1e6, 1);
  EXPECT_FALSE(c.Due(kT0 + kHz - 1));
  EXPECT_TRUE(c.Due(kT0 + kHz));
}

TEST(TscClockTest, AFastTscIsSlewedBackToTheWallClockWithoutAStepBack) {
  TscClock c;
  c.Start(kT0, kWall0, kHz);
  const double ppm = 200;  // 200 us per second ahead
  uint64_t previous = 0;
  for (int period = 1; period <= 20; ++period) {
    const uint64_t tsc = kT0 + uint64_t(period) * kHz;
    const uint64_t before = c.ToNs(tsc - 1);
    const int64_t offset = c.Reanchor(tsc, WallAt(tsc, ppm));
    // Continuous: the first stamp after the re-anchor follows the last.
    EXPECT_GE(c.ToNs(tsc), before);
    EXPECT_LE(c.ToNs(tsc) - before, 1u);
    // Slewed every period: the drift never accumulates beyond one period's.
    EXPECT_LT(offset, 0);
    EXPECT_LT(-offset, 210'000) << "period " << period;
    // Strictly increasing across the period.
    for (uint64_t t = tsc; t < tsc + kHz; t += kHz / 16) {
      const uint64_t ns = c.ToNs(t);
      EXPECT_GT(ns, previous);
      previous = ns;
    }
  }
  const TscClock::Counters k = c.counters();
  EXPECT_EQ(k.reanchors, 20u);
  EXPECT_EQ(k.steps_forward, 0u);
  EXPECT_LT(k.max_abs_offset_ns, 210'000u);
}

TEST(TscClockTest, WallClockSteppedBackIsCaughtUpSlowlyNeverByAStepBack) {
  TscClock c;
  c.Start(kT0, kWall0, kHz);
  const uint64_t tsc1 = kT0 + kHz;
  const uint64_t ours = c.ToNs(tsc1);
  // The wall clock went back 2 s: the stamps slow to 95% and keep rising.
  EXPECT_EQ(c.Reanchor(tsc1, ours - 2'000'000'000), -2'000'000'000);
  EXPECT_EQ(c.ToNs(tsc1), ours);
  const uint64_t next = c.ToNs(tsc1 + kHz);
  EXPECT_GT(next, ours);
  EXPECT_NEAR(static_cast<double>(next - ours), 0.95e9, 1e3);
  EXPECT_EQ(c.counters().steps_forward, 0u);
}

TEST(TscClockTest, WallClockSteppedForwardIsFollowedByAStepForward) {
  TscClock c;
  c.Start(kT0, kWall0, kHz);
  const uint64_t tsc1 = kT0 + kHz;
  const uint64_t wall = c.ToNs(tsc1) + 3'000'000'000;  // a paused VM
  EXPECT_EQ(c.Reanchor(tsc1, wall), 3'000'000'000);
  EXPECT_EQ(c.ToNs(tsc1), wall);
  EXPECT_NEAR(static_cast<double>(c.ToNs(tsc1 + kHz) - wall), 1e9, 1);
  EXPECT_EQ(c.counters().steps_forward, 1u);
}

TEST(TscClockTest, SmallOffsetIsMadeUpInOnePeriod) {
  TscClock c;
  c.Start(kT0, kWall0, kHz);
  const uint64_t tsc1 = kT0 + kHz;
  const uint64_t ours = c.ToNs(tsc1);
  c.Reanchor(tsc1, ours + 1'000'000);  // 1 ms behind the wall clock
  // One period later the stamps have gained the millisecond back.
  EXPECT_NEAR(static_cast<double>(c.ToNs(tsc1 + kHz) - ours), 1.001e9, 1e3);
  EXPECT_EQ(c.counters().last_offset_ns, 1'000'000);
}

}  // namespace
}  // namespace loupe::dataplane
