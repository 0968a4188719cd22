#include "agent/time_text.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "multilog/ascii.h"
#include "multilog/units.h"

namespace loupe {
namespace {

constexpr uint64_t kNsPerMs = 1000 * 1000;
constexpr uint64_t kNsPerSecond = 1000 * kNsPerMs;

constexpr std::string_view kTimeForms =
    "expected now, -10s, now-5m, an RFC 3339 time (2026-11-22T04:56:35Z, "
    "2026-11-22 05:56:35.250+01:00) or nanoseconds since the epoch";

// Consumes exactly `digits` decimal digits; their value, or nullopt.
std::optional<int> TakeFixed(std::string_view& s, size_t digits) {
  if (s.size() < digits) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (!IsAsciiDigit(s[i])) return std::nullopt;
    value = value * 10 + (s[i] - '0');
  }
  s.remove_prefix(digits);
  return value;
}

bool TakeChar(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

Status BadTime(std::string_view text, std::string_view why = {}) {
  std::string msg = "time '" + std::string(text) + "': ";
  if (!why.empty()) msg += std::string(why) + "; ";
  msg += kTimeForms;
  return Status::InvalidArgument(std::move(msg));
}

// RFC 3339 and its relaxed forms (see ParseTime).
Result<uint64_t> ParseCalendarTime(std::string_view text) {
  std::string_view s = text;
  const auto year = TakeFixed(s, 4);
  if (!year || !TakeChar(s, '-')) return BadTime(text);
  const auto month = TakeFixed(s, 2);
  if (!month || !TakeChar(s, '-')) return BadTime(text);
  const auto day = TakeFixed(s, 2);
  if (!day) return BadTime(text);
  if (*month < 1 || *month > 12) return BadTime(text, "month out of range");
  if (*day < 1 || *day > DaysInMonth(*year, *month)) {
    return BadTime(text, "day out of range");
  }

  int hour = 0, minute = 0, second = 0;
  uint64_t fraction_ns = 0;
  if (!s.empty() &&
      (s.front() == 'T' || s.front() == 't' || s.front() == ' ')) {
    s.remove_prefix(1);
    const auto h = TakeFixed(s, 2);
    if (!h || !TakeChar(s, ':')) return BadTime(text);
    const auto m = TakeFixed(s, 2);
    if (!m) return BadTime(text);
    hour = *h;
    minute = *m;
    if (TakeChar(s, ':')) {
      const auto sec = TakeFixed(s, 2);
      if (!sec) return BadTime(text);
      second = *sec;
      if (TakeChar(s, '.') || TakeChar(s, ',')) {
        uint64_t scale = kNsPerSecond / 10;
        size_t digits = 0;
        while (!s.empty() && IsAsciiDigit(s.front())) {
          fraction_ns += static_cast<uint64_t>(s.front() - '0') * scale;
          scale /= 10;
          s.remove_prefix(1);
          ++digits;
        }
        if (digits == 0) return BadTime(text);
      }
    }
    // 60: a leap second, which POSIX time folds into the next minute.
    if (hour > 23 || minute > 59 || second > 60) {
      return BadTime(text, "time of day out of range");
    }
  }

  std::optional<int64_t> offset_seconds;  // none: local time
  if (TakeChar(s, 'Z') || TakeChar(s, 'z')) {
    offset_seconds = 0;
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    const int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    const auto oh = TakeFixed(s, 2);
    if (!oh) return BadTime(text);
    TakeChar(s, ':');
    const auto om = TakeFixed(s, 2);
    if (!om || *oh > 23 || *om > 59) return BadTime(text, "bad UTC offset");
    offset_seconds = sign * (*oh * 3600 + *om * 60);
  }
  if (!s.empty()) return BadTime(text);

  int64_t seconds;
  if (offset_seconds) {
    seconds = DaysFromCivil(*year, *month, *day) * 86400 + hour * 3600 +
              minute * 60 + second - *offset_seconds;
  } else {
    std::tm tm = {};
    tm.tm_year = *year - 1900;
    tm.tm_mon = *month - 1;
    tm.tm_mday = *day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;
    const time_t t = mktime(&tm);
    if (t == static_cast<time_t>(-1)) return BadTime(text, "not a local time");
    seconds = t;
  }
  if (seconds < 0) return BadTime(text, "before the Unix epoch");
  if (static_cast<uint64_t>(seconds) >
      (std::numeric_limits<uint64_t>::max() - fraction_ns) / kNsPerSecond) {
    return BadTime(text, "too far in the future");
  }
  return static_cast<uint64_t>(seconds) * kNsPerSecond + fraction_ns;
}

}  // namespace

Result<uint64_t> ParseTime(std::string_view text, uint64_t now_ns) {
  std::string_view s = TrimBlanks(text);
  if (s.empty()) return BadTime(text, "empty");

  // Relative forms.
  bool relative = false;
  if (s.substr(0, 3) == "now") {
    s.remove_prefix(3);
    s = TrimBlanks(s);
    if (s.empty()) return now_ns;
    relative = true;
  }
  if (s.front() == '-' || s.front() == '+') {
    const bool back = s.front() == '-';
    s.remove_prefix(1);
    Result<std::chrono::nanoseconds> parsed = ParseDuration(TrimBlanks(s));
    if (!parsed.ok()) {
      return BadTime(
          text, "bad duration after the sign: " + parsed.status().message());
    }
    const uint64_t d = static_cast<uint64_t>(parsed->count());
    if (back) {
      if (d > now_ns) return BadTime(text, "before the Unix epoch");
      return now_ns - d;
    }
    if (d > std::numeric_limits<uint64_t>::max() - now_ns) {
      return BadTime(text, "too far in the future");
    }
    return now_ns + d;
  }
  if (relative) return BadTime(text);

  // Nanoseconds since the epoch: all digits, but not a bare year.
  bool all_digits = true;
  for (char c : s) all_digits = all_digits && IsAsciiDigit(c);
  if (all_digits && s.size() > 4) {
    uint64_t ns = 0;
    for (char c : s) {
      const uint64_t digit = static_cast<uint64_t>(c - '0');
      if (ns > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
        return BadTime(text, "too large");
      }
      ns = ns * 10 + digit;
    }
    return ns;
  }
  return ParseCalendarTime(s);
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSecond +
         static_cast<uint64_t>(ts.tv_nsec);
}

std::string FormatLocalTime(uint64_t ns) {
  const time_t seconds = static_cast<time_t>(ns / kNsPerSecond);
  const unsigned ms = static_cast<unsigned>(ns % kNsPerSecond / kNsPerMs);
  std::tm tm;
  if (localtime_r(&seconds, &tm) == nullptr) return std::to_string(ns);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  const long offset = tm.tm_gmtoff;
  if (offset == 0) {
    std::snprintf(out, sizeof(out), "%s.%03uZ", date, ms);
  } else {
    const long magnitude = offset < 0 ? -offset : offset;
    std::snprintf(out, sizeof(out), "%s.%03u%c%02ld:%02ld", date, ms,
                  offset < 0 ? '-' : '+', magnitude / 3600,
                  magnitude % 3600 / 60);
  }
  return out;
}

std::string FormatRfc3339Utc(int64_t ns_since_epoch, int fraction_digits) {
  const int digits = fraction_digits < 0 ? 0 : std::min(fraction_digits, 9);
  int64_t seconds = ns_since_epoch / static_cast<int64_t>(kNsPerSecond);
  int64_t fraction = ns_since_epoch % static_cast<int64_t>(kNsPerSecond);
  if (fraction < 0) {
    fraction += static_cast<int64_t>(kNsPerSecond);
    seconds -= 1;
  }
  const time_t t = static_cast<time_t>(seconds);
  std::tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(ns_since_epoch);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (digits > 0) {
    char fbuf[16];
    std::snprintf(fbuf, sizeof(fbuf), ".%09lld",
                  static_cast<long long>(fraction));
    out.append(fbuf, 1 + static_cast<size_t>(digits));
  }
  out += 'Z';
  return out;
}

}  // namespace loupe
