// Times and durations as the operator writes and reads them on loupectl's
// command line: points in time ("now", "-10s", "now-5m", RFC 3339, or
// nanoseconds since the Unix epoch), durations ("10s", "1m30s", "250ms"),
// and timestamps printed as local RFC 3339 with milliseconds. Multilog times
// are u64 nanoseconds since the epoch throughout.
//
// Pure functions; thread-safe (local-time conversion uses the reentrant
// libc calls and the process's TZ).
#ifndef LOUPE_COORDINATOR_TIME_FORMAT_H_
#define LOUPE_COORDINATOR_TIME_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe::ctl {

// Parses a duration: one or more <number><unit> terms, units ns, us, ms, s,
// m, h, d ("10s", "1m30s", "1.5s", "250ms"). A bare "0" is zero. Errors
// (kInvalidArgument) quote the text and show the accepted forms.
Result<uint64_t> ParseDuration(std::string_view text);

// Parses a point in time, relative to `now_ns` where the text says so:
//   now | now-<duration> | now+<duration> | -<duration> | +<duration>
//   RFC 3339: 2026-11-22T04:56:35Z, 2026-11-22T05:56:35.123+01:00
//     (a space may replace the 'T'; without an offset the time is local)
//   a date alone: 2026-11-22 (local midnight)
//   an integer: nanoseconds since the Unix epoch
// Times before the epoch are errors.
Result<uint64_t> ParseTime(std::string_view text, uint64_t now_ns);

// The wall clock, ns since the epoch.
uint64_t NowNs();

// "2026-11-22T05:56:35.123+01:00" in the local time zone ("Z" when local
// time is UTC).
std::string FormatLocalTime(uint64_t ns);

// A short human duration: "0s", "250ms", "1.5s", "2m5s", "3h0m", "2d4h";
// sub-millisecond ones in us or ns.
std::string FormatDuration(uint64_t ns);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_TIME_FORMAT_H_
