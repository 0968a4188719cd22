#include "coordinator/loupectl/units.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>

#include "multilog/units.h"

namespace loupe::ctl {
namespace {

// `value` with three significant digits ("1.25", "12.5", "125").
std::string ThreeDigits(double value) {
  char buf[32];
  const double magnitude = std::fabs(value);
  const int decimals = magnitude < 10 ? 2 : magnitude < 100 ? 1 : 0;
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

// Scales `value` by `base` until it is below base; the prefix used.
std::string Scaled(double value, double base, const char* const* prefixes,
                   int count, std::string_view separator) {
  if (!std::isfinite(value)) return "?";
  int i = 0;
  while (std::fabs(value) >= base && i + 1 < count) {
    value /= base;
    ++i;
  }
  // 999.6 rounds to "1000": move to the next prefix instead.
  if (i + 1 < count && std::fabs(value) >= base - 0.5 && i > 0) {
    value /= base;
    ++i;
  }
  std::string out =
      i == 0 ? std::to_string(static_cast<int64_t>(std::llround(value)))
             : ThreeDigits(value);
  out += separator;
  out += prefixes[i];
  return out;
}

}  // namespace

Result<uint64_t> ParseDurationNs(std::string_view text) {
  Result<std::chrono::nanoseconds> d = ParseDuration(text);
  if (!d.ok()) return d.status();
  return static_cast<uint64_t>(d->count());
}

std::string DurationText(uint64_t ns) {
  return FormatDuration(std::chrono::nanoseconds(static_cast<int64_t>(
      std::min<uint64_t>(ns, std::numeric_limits<int64_t>::max()))));
}

std::string FormatBytes(double bytes) {
  static constexpr const char* kPrefixes[] = {"B",   "KiB", "MiB",
                                              "GiB", "TiB", "PiB"};
  return Scaled(bytes, 1024, kPrefixes, 6, " ");
}

std::string FormatCount(double count) {
  static constexpr const char* kPrefixes[] = {"", "k", "M", "G", "T", "P"};
  return Scaled(count, 1000, kPrefixes, 6, "");
}

std::string FormatBitRate(double bytes_per_second) {
  static constexpr const char* kPrefixes[] = {"bit/s",  "kbit/s", "Mbit/s",
                                              "Gbit/s", "Tbit/s", "Pbit/s"};
  return Scaled(bytes_per_second * 8, 1000, kPrefixes, 6, " ");
}

}  // namespace loupe::ctl
