// Quantities as loupectl writes and reads them: byte sizes ("64MiB",
// "1.5G"), counts and rates with SI prefixes ("1.25M", "980k/s"), bit rates
// for link-style throughput ("1.20 Gbit/s"). Pure functions; thread-safe.
#ifndef LOUPE_COORDINATOR_UNITS_H_
#define LOUPE_COORDINATOR_UNITS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe::ctl {

// A byte size: an integer or decimal with an optional unit, B, k/K/KB/KiB,
// M/MB/MiB, G/GB/GiB, T/TB/TiB. Binary (1024) multiples for every unit
// except the explicit decimal "kB", "MB", "GB", "TB" (1000); "0" is zero.
Result<uint64_t> ParseByteSize(std::string_view text);

// "512 B", "1.5 KiB", "64.0 MiB", "2.00 GiB" (three significant digits).
std::string FormatBytes(double bytes);
// "980", "1.25k", "3.40M", "1.20G": counts and per-second rates.
std::string FormatCount(double count);
// "0 bit/s", "840 kbit/s", "1.20 Gbit/s" from bytes per second.
std::string FormatBitRate(double bytes_per_second);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_UNITS_H_
