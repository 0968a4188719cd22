#include "coordinator/units.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

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

Result<uint64_t> ParseByteSize(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(
        "size '" + std::string(text) +
        "': expected bytes such as 4096, 64MiB, 1.5G or 512k");
  };
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0) return bad();
  const std::string number(s.substr(0, i));
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) return bad();
  std::string_view unit = s.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);

  struct Unit {
    std::string_view name;
    double bytes;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"B", 1},
      {"k", 1024.0},
      {"K", 1024.0},
      {"KiB", 1024.0},
      {"kiB", 1024.0},
      {"kB", 1e3},
      {"KB", 1e3},
      {"M", 1024.0 * 1024},
      {"MiB", 1024.0 * 1024},
      {"MB", 1e6},
      {"G", 1024.0 * 1024 * 1024},
      {"GiB", 1024.0 * 1024 * 1024},
      {"GB", 1e9},
      {"T", 1024.0 * 1024 * 1024 * 1024},
      {"TiB", 1024.0 * 1024 * 1024 * 1024},
      {"TB", 1e12},
  };
  for (const Unit& u : kUnits) {
    if (unit != u.name) continue;
    const double bytes = std::round(value * u.bytes);
    // 2^64 is exactly representable; anything at or above it overflows.
    if (!(bytes < 18446744073709551616.0)) return bad();
    return static_cast<uint64_t>(bytes);
  }
  return bad();
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
