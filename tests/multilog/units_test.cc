#include "multilog/units.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace loupe {
namespace {

using std::chrono::nanoseconds;
using ::testing::AllOf;
using ::testing::HasSubstr;

uint64_t Size(std::string_view text) {
  Result<uint64_t> r = ParseSize(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : 0;
}

std::string SizeError(std::string_view text) {
  Result<uint64_t> r = ParseSize(text);
  EXPECT_FALSE(r.ok()) << text << " gave " << (r.ok() ? *r : 0);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

int64_t Ns(std::string_view text) {
  Result<nanoseconds> r = ParseDuration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? r->count() : -1;
}

std::string DurationError(std::string_view text) {
  Result<nanoseconds> r = ParseDuration(text);
  EXPECT_FALSE(r.ok()) << text << " gave " << (r.ok() ? r->count() : 0);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

TEST(ParseSizeTest, EverySpelling) {
  EXPECT_EQ(Size("4096"), 4096u);
  EXPECT_EQ(Size("0"), 0u);
  EXPECT_EQ(Size("7B"), 7u);
  EXPECT_EQ(Size("7b"), 7u);
  EXPECT_EQ(Size("1KiB"), 1024u);
  EXPECT_EQ(Size("1MiB"), 1024u * 1024);
  EXPECT_EQ(Size("1GiB"), uint64_t{1} << 30);
  EXPECT_EQ(Size("1TiB"), uint64_t{1} << 40);
  EXPECT_EQ(Size("1PiB"), uint64_t{1} << 50);
  EXPECT_EQ(Size("1EiB"), uint64_t{1} << 60);
  EXPECT_EQ(Size("1kB"), 1000u);
  EXPECT_EQ(Size("1KB"), 1000u);  // decimal, as the config always had it
  EXPECT_EQ(Size("1MB"), 1000'000u);
  EXPECT_EQ(Size("1GB"), 1000'000'000u);
  EXPECT_EQ(Size("1TB"), 1000'000'000'000u);
  EXPECT_EQ(Size("1PB"), 1000'000'000'000'000u);
  EXPECT_EQ(Size("1EB"), 1000'000'000'000'000'000u);
  // Sizes ignore case.
  EXPECT_EQ(Size("64mib"), 64u << 20);
  EXPECT_EQ(Size("64MIB"), 64u << 20);
  EXPECT_EQ(Size("2gb"), 2000'000'000u);
}

TEST(ParseSizeTest, Spaces) {
  EXPECT_EQ(Size(" 64MiB "), 64u << 20);
  EXPECT_EQ(Size("64 MiB"), 64u << 20);
  EXPECT_EQ(Size("\t2 KiB\t"), 2048u);
  SizeError("");
  SizeError("   ");
  SizeError("6 4MiB");
}

TEST(ParseSizeTest, SingleLettersAreAmbiguousAndBothReadingsAreOffered) {
  EXPECT_THAT(SizeError("1G"), AllOf(HasSubstr("ambiguous"), HasSubstr("1GiB"),
                                     HasSubstr("1GB")));
  EXPECT_THAT(
      SizeError("512k"),
      AllOf(HasSubstr("ambiguous"), HasSubstr("512KiB"), HasSubstr("512KB")));
  for (std::string_view s : {"1K", "1m", "1M", "1t", "1P", "1e", "1E"}) {
    EXPECT_THAT(SizeError(s), HasSubstr("ambiguous")) << s;
  }
}

TEST(ParseSizeTest, FractionsMustComeToWholeBytes) {
  EXPECT_EQ(Size("1.5KiB"), 1536u);
  EXPECT_EQ(Size("0.5MiB"), 512u * 1024);
  EXPECT_EQ(Size("2.5kB"), 2500u);
  EXPECT_EQ(Size("1.000B"), 1u);
  EXPECT_THAT(SizeError("1.5B"), HasSubstr("not a whole number of bytes"));
  EXPECT_THAT(SizeError("0.0001KiB"), HasSubstr("not a whole number of bytes"));
  SizeError("1.");
  SizeError(".5KiB");
}

TEST(ParseSizeTest, Overflow) {
  EXPECT_EQ(Size("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  EXPECT_THAT(SizeError("18446744073709551616"), HasSubstr("too large"));
  EXPECT_THAT(SizeError("16EiB"), HasSubstr("too large"));
  EXPECT_EQ(Size("15EiB"), uint64_t{15} << 60);
  EXPECT_THAT(SizeError("100000000000000000000000GiB"),
              HasSubstr("expected a size"));
}

TEST(ParseSizeTest, BadInput) {
  EXPECT_THAT(SizeError("lots"), HasSubstr("expected a size like"));
  EXPECT_THAT(SizeError("-1KiB"), HasSubstr("expected a size like"));
  EXPECT_THAT(SizeError("4 parsecs"), HasSubstr("units: B, KiB"));
  EXPECT_THAT(SizeError("4KiBB"), HasSubstr("units: B, KiB"));
}

TEST(ParseDurationTest, EveryUnit) {
  EXPECT_EQ(Ns("0"), 0);
  EXPECT_EQ(Ns("7ns"), 7);
  EXPECT_EQ(Ns("7us"), 7000);
  EXPECT_EQ(Ns("7\xc2\xb5s"), 7000);  // µs
  EXPECT_EQ(Ns("7ms"), 7000'000);
  EXPECT_EQ(Ns("7s"), 7000'000'000);
  EXPECT_EQ(Ns("2m"), 120'000'000'000);
  EXPECT_EQ(Ns("1h"), 3600'000'000'000);
  EXPECT_EQ(Ns("1d"), 86400'000'000'000);
  EXPECT_EQ(Ns("0s"), 0);
  EXPECT_EQ(Ns(" 5s "), 5000'000'000);
  EXPECT_EQ(Ns("5 s"), 5000'000'000);
}

TEST(ParseDurationTest, UnitsAreCaseSensitive) {
  DurationError("1M");  // "m" is minutes; "M" is nothing
  DurationError("1S");
  DurationError("1MS");
}

TEST(ParseDurationTest, SeveralTerms) {
  EXPECT_EQ(Ns("1h30m"), 5400'000'000'000);
  EXPECT_EQ(Ns("1h 30m"), 5400'000'000'000);
  EXPECT_EQ(Ns("2m5s"), 125'000'000'000);
  EXPECT_EQ(Ns("1s500ms"), 1500'000'000);
  EXPECT_EQ(Ns("1d2h3m4s5ms6us7ns"), 93784'005'006'007);
  EXPECT_THAT(DurationError("1h30"), HasSubstr("needs a unit"));
}

TEST(ParseDurationTest, FractionsMustComeToWholeNanoseconds) {
  EXPECT_EQ(Ns("1.5s"), 1500'000'000);
  EXPECT_EQ(Ns("0.5ms"), 500'000);
  EXPECT_EQ(Ns("1.5us"), 1500);
  EXPECT_THAT(DurationError("1.5ns"),
              HasSubstr("not a whole number of nanoseconds"));
  EXPECT_THAT(DurationError("0.0000000001s"),
              HasSubstr("not a whole number of nanoseconds"));
}

TEST(ParseDurationTest, MissingUnitAndBadInput) {
  EXPECT_THAT(DurationError("5"), HasSubstr("needs a unit"));
  EXPECT_THAT(DurationError("1.5"), HasSubstr("needs a unit"));
  EXPECT_THAT(DurationError(""), HasSubstr("expected a duration"));
  EXPECT_THAT(DurationError("soon"), HasSubstr("expected a duration"));
  EXPECT_THAT(DurationError("5 fortnights"), HasSubstr("expected a duration"));
  EXPECT_THAT(DurationError("-1s"), HasSubstr("expected a duration"));
}

TEST(ParseDurationTest, Overflow) {
  EXPECT_EQ(Ns("9223372036854775807ns"), std::numeric_limits<int64_t>::max());
  EXPECT_THAT(DurationError("9223372036854775808ns"), HasSubstr("too long"));
  EXPECT_THAT(DurationError("300y"), HasSubstr("expected a duration"));
  EXPECT_THAT(DurationError("110000d"), HasSubstr("too long"));
  EXPECT_EQ(Ns("100000d"), int64_t{100000} * 86400'000'000'000);
}

TEST(FormatSizeTest, ExactInTheLargestDividingUnit) {
  EXPECT_EQ(FormatSize(0), "0 bytes");
  EXPECT_EQ(FormatSize(1234), "1234 bytes");
  EXPECT_EQ(FormatSize(1024), "1KiB");
  EXPECT_EQ(FormatSize(1536), "1536 bytes");
  EXPECT_EQ(FormatSize(4u << 20), "4MiB");
  EXPECT_EQ(FormatSize(uint64_t{3} << 30), "3GiB");
  EXPECT_EQ(FormatSize(uint64_t{2} << 40), "2TiB");
  EXPECT_EQ(FormatSize(uint64_t{1} << 50), "1024TiB");
  EXPECT_EQ(FormatSize(1000), "1000 bytes");
}

TEST(FormatSizeTest, ReadsBackThroughParseSize) {
  for (uint64_t v : {uint64_t{1024}, uint64_t{4} << 20, uint64_t{3} << 30,
                     uint64_t{2} << 40}) {
    EXPECT_EQ(Size(FormatSize(v)), v) << FormatSize(v);
  }
}

TEST(FormatDurationTest, Human) {
  EXPECT_EQ(FormatDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(nanoseconds(999)), "999ns");
  EXPECT_EQ(FormatDuration(nanoseconds(1500)), "1.5us");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(125)), "2m5s");
  EXPECT_EQ(FormatDuration(std::chrono::hours(3)), "3h0m");
  EXPECT_EQ(FormatDuration(std::chrono::hours(52)), "2d4h");
  EXPECT_EQ(FormatDuration(-std::chrono::seconds(1)), "-1s");
}

}  // namespace
}  // namespace loupe
