#include "multilog/units.h"

#include <cstdio>
#include <limits>

#include "multilog/ascii.h"
namespace loupe {
namespace {

using std::chrono::nanoseconds;

__extension__ typedef unsigned __int128 Wide;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }
// Digits with an optional fraction: *whole, *fraction and its *digits.
// Returns the characters read, 0 if none.
size_t ReadDecimal(std::string_view s, Wide* whole, Wide* fraction,
                   int* fraction_digits) {
  size_t i = 0;
  *whole = 0;
  *fraction = 0;
  *fraction_digits = 0;
  while (i < s.size() && IsAsciiDigit(s[i])) {
    if (i >= 20) return 0;  // more than fits a u64 with any unit
    *whole = *whole * 10 + static_cast<unsigned>(s[i] - '0');
    ++i;
  }
  if (i == 0) return 0;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && IsAsciiDigit(s[j])) {
      if (*fraction_digits >= 18) return 0;
      *fraction = *fraction * 10 + static_cast<unsigned>(s[j] - '0');
      ++*fraction_digits;
      ++j;
    }
    if (j == i + 1) return 0;
    i = j;
  }
  return i;
}

Wide Pow10(int n) {
  Wide p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

// "12.500" with trailing zeros (and a bare '.') removed.
std::string Trimmed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  const std::string expected =
      "expected a size like \"2GiB\", got " + Quoted(text);
  const std::string_view s = TrimBlanks(text);
  Wide whole;
  Wide fraction;
  int digits;
  const size_t n = ReadDecimal(s, &whole, &fraction, &digits);
  if (n == 0) return Status::InvalidArgument(expected);
  std::string unit(TrimBlanks(s.substr(n)));
  for (char& c : unit) c = Lower(c);
  struct Unit {
    std::string_view name;
    Wide scale;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"b", 1},
      {"kib", Wide{1} << 10},
      {"mib", Wide{1} << 20},
      {"gib", Wide{1} << 30},
      {"tib", Wide{1} << 40},
      {"pib", Wide{1} << 50},
      {"eib", Wide{1} << 60},
      {"kb", 1000},
      {"mb", 1000'000},
      {"gb", 1000'000'000},
      {"tb", 1000'000'000'000},
      {"pb", 1000'000'000'000'000},
      {"eb", 1000'000'000'000'000'000},
  };
  const Unit* found = nullptr;
  for (const Unit& u : kUnits) {
    if (u.name == unit) found = &u;
  }
  if (found == nullptr) {
    if (unit.size() == 1 &&
        std::string_view("kmgtpe").find(unit[0]) != std::string_view::npos) {
      std::string upper = unit;
      upper[0] = static_cast<char>(upper[0] - 'a' + 'A');
      const std::string number(s.substr(0, n));
      return Status::InvalidArgument(
          "ambiguous size " + Quoted(text) + ": write " + number + upper +
          "iB (powers of 1024) or " + number + upper + "B (powers of 1000)");
    }
    return Status::InvalidArgument(
        expected + " (units: B, KiB, MiB, GiB, TiB, or kB, MB, GB, TB)");
  }
  const Wide scaled_fraction = fraction * found->scale;
  const Wide divisor = Pow10(digits);
  if (scaled_fraction % divisor != 0) {
    return Status::InvalidArgument("size " + Quoted(text) +
                                   " is not a whole number of bytes");
  }
  const Wide bytes = whole * found->scale + scaled_fraction / divisor;
  if (bytes > std::numeric_limits<uint64_t>::max()) {
    return Status::InvalidArgument("size " + Quoted(text) +
                                   " is too large (at most 16EiB)");
  }
  return static_cast<uint64_t>(bytes);
}

Result<nanoseconds> ParseDuration(std::string_view text) {
  const std::string expected =
      "expected a duration like \"500ms\" or \"1h30m\" (units: ns, us, ms, "
      "s, m, h, d), got " +
      Quoted(text);
  std::string_view s = TrimBlanks(text);
  if (s == "0") return nanoseconds(0);
  if (s.empty()) return Status::InvalidArgument(expected);
  struct Unit {
    std::string_view name;
    Wide ns;
  };
  static constexpr Unit kUnits[] = {
      {"ns", 1},
      {"us", 1000},
      {"\xc2\xb5s", 1000},  // µs
      {"ms", 1000'000},
      {"s", 1000'000'000},
      {"m", Wide{60} * 1000'000'000},
      {"h", Wide{3600} * 1000'000'000},
      {"d", Wide{86400} * 1000'000'000},
  };
  Wide total = 0;
  while (!s.empty()) {
    Wide whole;
    Wide fraction;
    int digits;
    const size_t n = ReadDecimal(s, &whole, &fraction, &digits);
    if (n == 0) return Status::InvalidArgument(expected);
    s = TrimBlanks(s.substr(n));
    size_t u = 0;
    while (u < s.size() && !IsAsciiDigit(s[u]) && s[u] != ' ' && s[u] != '.')
      ++u;
    const std::string_view unit = s.substr(0, u);
    const Unit* found = nullptr;
    for (const Unit& x : kUnits) {
      if (x.name == unit) found = &x;
    }
    if (found == nullptr) {
      if (unit.empty()) {
        return Status::InvalidArgument("duration " + Quoted(text) +
                                       " needs a unit; " + expected);
      }
      return Status::InvalidArgument(expected);
    }
    const Wide divisor = Pow10(digits);
    if (fraction * found->ns % divisor != 0) {
      return Status::InvalidArgument("duration " + Quoted(text) +
                                     " is not a whole number of nanoseconds");
    }
    total += whole * found->ns + fraction * found->ns / divisor;
    if (total > static_cast<Wide>(std::numeric_limits<int64_t>::max())) {
      return Status::InvalidArgument("duration " + Quoted(text) +
                                     " is too long (at most about 292 years)");
    }
    s = TrimBlanks(s.substr(u));
  }
  return nanoseconds(static_cast<int64_t>(total));
}

std::string FormatSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  std::string out = std::to_string(bytes) + " bytes";
  uint64_t scale = 1;
  for (const char* unit : kUnits) {
    scale <<= 10;
    if (bytes >= scale && bytes % scale == 0) {
      out = std::to_string(bytes / scale) + unit;
    }
  }
  return out;
}

std::string FormatDuration(nanoseconds duration) {
  constexpr uint64_t kUs = 1000;
  constexpr uint64_t kMs = 1000 * kUs;
  constexpr uint64_t kSecond = 1000 * kMs;
  constexpr uint64_t kMinute = 60 * kSecond;
  constexpr uint64_t kHour = 60 * kMinute;
  constexpr uint64_t kDay = 24 * kHour;
  if (duration.count() < 0) return "-" + FormatDuration(-duration);
  const uint64_t ns = static_cast<uint64_t>(duration.count());
  if (ns == 0) return "0s";
  if (ns < kUs) return std::to_string(ns) + "ns";
  if (ns < kMs) return Trimmed(ns / 1e3, 1) + "us";
  if (ns < kSecond) return Trimmed(ns / 1e6, 1) + "ms";
  if (ns < kMinute) return Trimmed(ns / 1e9, 3) + "s";
  if (ns < kHour) {
    return std::to_string(ns / kMinute) + "m" +
           std::to_string(ns % kMinute / kSecond) + "s";
  }
  if (ns < kDay) {
    return std::to_string(ns / kHour) + "h" +
           std::to_string(ns % kHour / kMinute) + "m";
  }
  return std::to_string(ns / kDay) + "d" + std::to_string(ns % kDay / kHour) +
         "h";
}

}  // namespace loupe
