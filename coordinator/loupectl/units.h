// Quantities as loupectl shows them, for people: byte amounts in binary
// units ("1.50 KiB", "64.0 MiB": KiB is 1024 bytes; a "KB" would be 1000,
// as multilog/units.h reads it), counts and rates with SI prefixes
// ("1.25M", "980k/s"), bit rates for link-style throughput ("1.20 Gbit/s").
// Display only: every size and duration loupectl reads goes through
// multilog/units.h (ParseSize, ParseDuration), the grammar every layer
// shares; the two wrappers below only change the type to u64 nanoseconds,
// the unit of the agent's API. Pure functions; thread-safe.
#ifndef LOUPE_COORDINATOR_LOUPECTL_UNITS_H_
#define LOUPE_COORDINATOR_LOUPECTL_UNITS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe::ctl {

inline constexpr uint64_t kNsPerMs = 1'000'000;
inline constexpr uint64_t kNsPerS = 1'000'000'000;

// multilog/units.h's ParseDuration, in nanoseconds.
Result<uint64_t> ParseDurationNs(std::string_view text);
// multilog/units.h's FormatDuration of `ns` nanoseconds ("1.5s", "2m5s").
std::string DurationText(uint64_t ns);

// "512 B", "1.50 KiB", "64.0 MiB", "2.00 GiB" (three significant digits).
std::string FormatBytes(double bytes);
// "980", "1.25k", "3.40M", "1.20G": counts and per-second rates.
std::string FormatCount(double count);
// "0 bit/s", "840 kbit/s", "1.20 Gbit/s" from bytes per second.
std::string FormatBitRate(double bytes_per_second);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_UNITS_H_
