// Times as text: ParseTime's absolute and relative forms, FormatLocalTime
// and FormatRfc3339Utc.
#include "agent/time_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>

#include "tests/support/scoped_time_zone.h"

namespace loupe {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1'000'000'000;
// 2026-11-22T04:56:35Z
constexpr uint64_t kNow = 1'795'323'395 * kSecond;

using test_support::ScopedTimeZone;

TEST(ParseTimeTest, RelativeForms) {
  EXPECT_EQ(*ParseTime("now", kNow), kNow);
  EXPECT_EQ(*ParseTime(" now ", kNow), kNow);
  EXPECT_EQ(*ParseTime("-10s", kNow), kNow - 10 * kSecond);
  EXPECT_EQ(*ParseTime("now-5m", kNow), kNow - 300 * kSecond);
  EXPECT_EQ(*ParseTime("now - 1h", kNow), kNow - 3600 * kSecond);
  EXPECT_EQ(*ParseTime("+1s", kNow), kNow + kSecond);
  EXPECT_EQ(*ParseTime("now+250ms", kNow), kNow + 250'000'000);
  EXPECT_EQ(*ParseTime("now-1m30s", kNow), kNow - 90 * kSecond);
  EXPECT_EQ(*ParseTime("-1.5s", kNow), kNow - 1'500'000'000);
  EXPECT_EQ(*ParseTime("-1d", kNow), kNow - 86400 * kSecond);
}

TEST(ParseTimeTest, RelativeFormsUseTheOneDurationGrammar) {
  // "M" is not minutes, and a bare number has no unit: as everywhere else.
  for (const char* bad : {"now-5M", "-10", "now+5x", "now-", "-"}) {
    const Result<uint64_t> t = ParseTime(bad, kNow);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_THAT(t.status().message(), HasSubstr("bad duration after the sign"))
        << bad;
  }
  EXPECT_THAT(ParseTime("-20s", 5 * kSecond).status().message(),
              HasSubstr("before the Unix epoch"));
  EXPECT_THAT(ParseTime("+1s", UINT64_MAX).status().message(),
              HasSubstr("too far in the future"));
}

TEST(ParseTimeTest, Rfc3339WithOffsets) {
  EXPECT_EQ(*ParseTime("2026-11-22T04:56:35Z", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22t04:56:35z", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22 04:56:35Z", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22T05:56:35.123+01:00", 0), kNow + 123'000'000);
  EXPECT_EQ(*ParseTime("2026-11-22T05:56:35.123+0100", 0), kNow + 123'000'000);
  EXPECT_EQ(*ParseTime("2026-11-21T23:56:35.000000001-05:00", 0), kNow + 1);
  EXPECT_EQ(*ParseTime("2026-11-22T10:26:35+05:30", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22T04:56:35,5Z", 0), kNow + kSecond / 2);
  EXPECT_EQ(*ParseTime("1970-01-01T00:00:00Z", 0), 0u);
  EXPECT_EQ(*ParseTime("2024-02-29T00:00:00Z", 0), 1'709'164'800 * kSecond);
}

TEST(ParseTimeTest, DatesAndLocalTimeWithoutOffset) {
  ScopedTimeZone tz("CET-1");
  EXPECT_EQ(*ParseTime("2026-11-22T05:56:35", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22 05:56", 0), kNow - 35 * kSecond);
  EXPECT_EQ(*ParseTime("2026-11-22", 0),
            kNow - (4 * 3600 + 56 * 60 + 35) * kSecond - 3600 * kSecond);
  EXPECT_EQ(*ParseTime("2026-11-22Z", 0),
            kNow - (4 * 3600 + 56 * 60 + 35) * kSecond);
}

TEST(ParseTimeTest, Nanoseconds) {
  EXPECT_EQ(*ParseTime("1795323395000000000", 0), kNow);
  EXPECT_EQ(*ParseTime("12345", 0), 12345u);
}

TEST(ParseTimeTest, PreEpochIsRefused) {
  for (const char* bad :
       {"1969-12-31T23:59:59Z", "1970-01-01T00:00:00+01:00", "1900-01-01"}) {
    const Result<uint64_t> t = ParseTime(bad, kNow);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_THAT(t.status().message(), HasSubstr("before the Unix epoch"))
        << bad;
  }
}

TEST(ParseTimeTest, Errors) {
  for (const char* bad :
       {"", "yesterday", "now-", "now-5", "-x", "2026-13-01T00:00:00Z",
        "2026-02-30", "2026-11-22T24:00:00Z", "2026-11-22T04:56:35+1",
        "2026-11-22T04:56:35Zjunk", "1969-12-31T23:59:59Z", "nowish",
        "99999999999999999999999", "2026-11-22T04:56:35.Z",
        "2026-11-22T04:56:35+24:00"}) {
    const Result<uint64_t> t = ParseTime(bad, kNow);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("expected now, -10s"));
    EXPECT_THAT(t.status().message(), HasSubstr("time '"));
  }
}

TEST(FormatLocalTimeTest, UtcAndOffsets) {
  {
    ScopedTimeZone tz("UTC0");
    EXPECT_EQ(FormatLocalTime(kNow + 123'456'789), "2026-11-22T04:56:35.123Z");
  }
  {
    ScopedTimeZone tz("CET-1");
    EXPECT_EQ(FormatLocalTime(kNow), "2026-11-22T05:56:35.000+01:00");
  }
  {
    ScopedTimeZone tz("XST+5:30");
    EXPECT_EQ(FormatLocalTime(kNow), "2026-11-21T23:26:35.000-05:30");
  }
}

TEST(FormatLocalTimeTest, RoundTripsThroughParseTime) {
  ScopedTimeZone tz("CET-1CEST,M3.5.0,M10.5.0/3");
  for (uint64_t t :
       {kNow, kNow + 999'000'000, uint64_t{1'750'000'000} * kSecond}) {
    EXPECT_EQ(*ParseTime(FormatLocalTime(t), 0), t) << FormatLocalTime(t);
  }
}

TEST(FormatRfc3339UtcTest, FractionDigits) {
  const int64_t t = static_cast<int64_t>(kNow) + 123'456'789;
  EXPECT_EQ(FormatRfc3339Utc(t, 0), "2026-11-22T04:56:35Z");
  EXPECT_EQ(FormatRfc3339Utc(t, 3), "2026-11-22T04:56:35.123Z");
  EXPECT_EQ(FormatRfc3339Utc(t, 6), "2026-11-22T04:56:35.123456Z");
  EXPECT_EQ(FormatRfc3339Utc(t, 9), "2026-11-22T04:56:35.123456789Z");
  EXPECT_EQ(FormatRfc3339Utc(t, 12), "2026-11-22T04:56:35.123456789Z");
  EXPECT_EQ(FormatRfc3339Utc(t, -1), "2026-11-22T04:56:35Z");
  EXPECT_EQ(FormatRfc3339Utc(0, 3), "1970-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339UtcTest, IgnoresTheLocalZoneAndRoundTrips) {
  ScopedTimeZone tz("XST+5:30");
  const int64_t t = static_cast<int64_t>(kNow) + 7;
  EXPECT_EQ(FormatRfc3339Utc(t, 9), "2026-11-22T04:56:35.000000007Z");
  EXPECT_EQ(*ParseTime(FormatRfc3339Utc(t, 9), 0), static_cast<uint64_t>(t));
}

TEST(FormatRfc3339UtcTest, BeforeTheEpoch) {
  EXPECT_EQ(FormatRfc3339Utc(-1, 9), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339Utc(-1'500'000'000, 3), "1969-12-31T23:59:58.500Z");
}

}  // namespace
}  // namespace loupe
