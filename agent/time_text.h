// Points in time as operators write and read them, in every program of
// loupe: parsing ("now", "-10s", "now-5m", RFC 3339, a date, or nanoseconds
// since the Unix epoch) and formatting (local RFC 3339 with milliseconds for
// people, UTC RFC 3339 with a chosen precision for machines: sinks, logs).
// Relative times take their durations from multilog/units.h's
// ParseDuration, the one duration grammar. Multilog times are u64
// nanoseconds since the epoch throughout.
//
// Pure functions; thread-safe (local-time conversion uses the reentrant
// libc calls and the process's TZ).
#ifndef LOUPE_AGENT_TIME_TEXT_H_
#define LOUPE_AGENT_TIME_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe {

// Parses a point in time, relative to `now_ns` where the text says so:
//   now | now-<duration> | now+<duration> | -<duration> | +<duration>
//     (<duration> as multilog/units.h's ParseDuration: 10s, 1m30s, 250ms)
//   RFC 3339: 2026-11-22T04:56:35Z, 2026-11-22T05:56:35.123+01:00
//     (a space may replace the 'T'; without an offset the time is local)
//   a date alone: 2026-11-22 (local midnight)
//   an integer: nanoseconds since the Unix epoch
// Times before the epoch are errors (kInvalidArgument, quoting the text
// and showing the accepted forms).
Result<uint64_t> ParseTime(std::string_view text, uint64_t now_ns);

// The wall clock, ns since the epoch.
uint64_t NowNs();

// "2026-11-22T05:56:35.123+01:00" in the local time zone ("Z" when local
// time is UTC).
std::string FormatLocalTime(uint64_t ns);

// "2026-11-22T04:56:35.123456789Z": UTC with `fraction_digits` (0..9,
// clamped) digits of the second, truncated; none and no '.' for 0. Times
// before the epoch are formatted too (the fraction counts forward from the
// whole second below).
std::string FormatRfc3339Utc(int64_t ns_since_epoch, int fraction_digits);

}  // namespace loupe

#endif  // LOUPE_AGENT_TIME_TEXT_H_
