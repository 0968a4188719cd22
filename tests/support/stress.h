// The knobs every stress test reads from the environment, so that
// scripts/test.sh can scale a run (down under ThreadSanitizer, up for a
// soak) without rebuilding, and the record every multi-writer stress test
// appends: it carries its writer, that writer's sequence number and a
// checksum, so a reader can tell a torn, missing or reordered record
// (StressChecker).
//
//   LOUPE_STRESS_RECORDS  records per writer   StressRecordsPerWriter()
//   LOUPE_STRESS_SECONDS  how long writers run StressSeconds()
//
// Pure functions and plain types; a StressChecker belongs to one reader.
#ifndef LOUPE_TESTS_SUPPORT_STRESS_H_
#define LOUPE_TESTS_SUPPORT_STRESS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// One reader's view of the StressRecords it was handed, in offset order:
// each is intact, names one of the writers, and each writer's sequence
// numbers go 0, 1, 2, ... -- except that after Skipped() (records expired
// before the reader got to them) the next one of each writer may jump up.
class StressChecker {
 public:
  explicit StressChecker(uint32_t writers) : next_(writers, 0) {
    contiguous_.assign(writers, true);
  }

  // Returns false (and describes the problem in error()) on a bad record.
  bool Check(uint64_t offset, const uint8_t* record);
  void Skipped();

  // The sequence number expected next from `writer`.
  uint64_t next(uint32_t writer) const { return next_[writer]; }
  uint64_t records() const { return records_; }
  const std::string& error() const { return error_; }

 private:
  std::vector<uint64_t> next_;
  std::vector<bool> contiguous_;
  uint64_t records_ = 0;
  std::string error_;
};

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_STRESS_H_
