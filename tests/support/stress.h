// The knobs every stress test reads from the environment, so that
// scripts/test.sh can scale a run (down under ThreadSanitizer, up for a
// soak) without rebuilding, and the record every multi-writer stress test
// appends: it carries its writer, that writer's sequence number and a
// checksum, so a reader can tell a torn, missing or reordered record.
//
//   LOUPE_STRESS_RECORDS  records per writer   StressRecordsPerWriter()
//   LOUPE_STRESS_SECONDS  how long writers run StressSeconds()
//
// Pure functions and a plain struct; thread-safe.
#ifndef LOUPE_TESTS_SUPPORT_STRESS_H_
#define LOUPE_TESTS_SUPPORT_STRESS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loupe::test_support {

// LOUPE_STRESS_RECORDS when set to a positive number, else `default_records`.
uint64_t StressRecordsPerWriter(uint64_t default_records);
// LOUPE_STRESS_SECONDS when set to a positive number, else `default_seconds`.
double StressSeconds(double default_seconds);

// Nanoseconds since the epoch by the system clock (record timestamps).
uint64_t WallClockNs();

// The layout of kStressSchemaText (timestamp first); `check` is FNV-1a over
// the bytes before it.
struct StressRecord {
  uint64_t timestamp;
  uint64_t seq;
  uint32_t writer;
  char payload[36];
  uint64_t check;
};
static_assert(sizeof(StressRecord) == 64);
inline constexpr std::string_view kStressSchemaText =
    "seq:u64, writer:u32, payload:string(36), check:u64";
inline constexpr size_t kStressChecked = offsetof(StressRecord, check);

// 64-bit FNV-1a.
uint64_t Fnv1a(const uint8_t* p, size_t n);
// Sets r->check.
void Seal(StressRecord* r);
// Whether the record's check matches its bytes.
bool Intact(const uint8_t* record);

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_STRESS_H_
