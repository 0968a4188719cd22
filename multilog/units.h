// Sizes and durations as operators write them, in every layer: the agent's
// and the coordinator's configuration, control programs, RPC arguments and
// loupectl's flags all accept exactly these spellings and no others.
//
//   size      := number unit?          "4096", "64MiB", "1.5KiB", "2GB"
//   unit      := B | KiB MiB GiB TiB PiB EiB   (powers of 1024)
//              | kB KB MB GB TB PB EB          (powers of 1000)
//   duration  := "0" | (number dunit)+ "500ms", "1h30m", "1.5s"
//   dunit     := ns | us | µs | ms | s | m | h | d
//   number    := digits ('.' digits)?
//
// Units ignore case for sizes and not for durations ("m" is minutes, "M" is
// nothing). A single-letter size unit (k, M, G, ...) is refused as
// ambiguous, with both readings offered. A fraction must come to whole
// bytes or nanoseconds; a size is at most 16EiB, a duration at most about
// 292 years. Error messages read well after "<key>: ".
//
// Pure functions; thread-safe.
#ifndef LOUPE_MULTILOG_UNITS_H_
#define LOUPE_MULTILOG_UNITS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe {

Result<uint64_t> ParseSize(std::string_view text);
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// "4MiB" when a whole number of the largest unit that divides it, else
// "1234 bytes": exact, for messages that quote a limit.
std::string FormatSize(uint64_t bytes);
// "0s", "250ms", "1.5s", "2m5s", "3h0m", "2d4h"; below a millisecond in
// us or ns. Short and human; not always exact.
std::string FormatDuration(std::chrono::nanoseconds duration);

}  // namespace loupe

#endif  // LOUPE_MULTILOG_UNITS_H_
