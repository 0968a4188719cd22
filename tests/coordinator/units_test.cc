// loupectl's display units, and its two type wrappers over multilog/units.h.
#include "coordinator/loupectl/units.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace loupe::ctl {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

TEST(UnitsTest, Formatting) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(64.0 * 1024 * 1024), "64.0 MiB");
  EXPECT_EQ(FormatCount(980), "980");
  EXPECT_EQ(FormatCount(1250), "1.25k");
  EXPECT_EQ(FormatCount(3'400'000), "3.40M");
  EXPECT_EQ(FormatCount(999'700), "1.00M");
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatBitRate(150'000'000), "1.20 Gbit/s");
  EXPECT_EQ(FormatBitRate(0), "0 bit/s");
}

TEST(UnitsTest, DurationsAreMultilogsGrammarInNanoseconds) {
  EXPECT_EQ(*ParseDurationNs("10s"), 10 * kSecond);
  EXPECT_EQ(*ParseDurationNs("250ms"), 250'000'000u);
  EXPECT_EQ(*ParseDurationNs("1m30s"), 90 * kSecond);
  EXPECT_EQ(*ParseDurationNs("1.5s"), 1'500'000'000u);
  EXPECT_EQ(*ParseDurationNs("2h"), 7200 * kSecond);
  EXPECT_EQ(*ParseDurationNs("1d"), 86400 * kSecond);
  EXPECT_EQ(*ParseDurationNs("7us"), 7000u);
  EXPECT_EQ(*ParseDurationNs("9ns"), 9u);
  EXPECT_EQ(*ParseDurationNs("0"), 0u);
  for (const char* bad : {"", "10", "s", "10x", "-5s", "5M"}) {
    EXPECT_FALSE(ParseDurationNs(bad).ok()) << bad;
  }
}

TEST(UnitsTest, DurationText) {
  EXPECT_EQ(DurationText(0), "0s");
  EXPECT_EQ(DurationText(12), "12ns");
  EXPECT_EQ(DurationText(1500), "1.5us");
  EXPECT_EQ(DurationText(250'000'000), "250ms");
  EXPECT_EQ(DurationText(1'500'000'000), "1.5s");
  EXPECT_EQ(DurationText(125 * kSecond), "2m5s");
  EXPECT_EQ(DurationText(3 * 3600 * kSecond), "3h0m");
  EXPECT_EQ(DurationText(52 * 3600 * kSecond), "2d4h");
  EXPECT_FALSE(DurationText(UINT64_MAX).empty());
}

}  // namespace
}  // namespace loupe::ctl
