#include "tests/support/stress.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

namespace loupe::test_support {

uint64_t StressRecordsPerWriter(uint64_t default_records) {
  if (const char* env = std::getenv("LOUPE_STRESS_RECORDS")) {
    const uint64_t n = std::strtoull(env, nullptr, 10);
    if (n > 0) return n;
  }
  return default_records;
}

double StressSeconds(double default_seconds) {
  if (const char* env = std::getenv("LOUPE_STRESS_SECONDS")) {
    const double s = std::strtod(env, nullptr);
    if (s > 0) return s;
  }
  return default_seconds;
}

uint64_t WallClockNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

uint64_t Fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

void Seal(StressRecord* r) {
  r->check = Fnv1a(reinterpret_cast<const uint8_t*>(r), kStressChecked);
}

bool Intact(const uint8_t* record) {
  uint64_t check;
  std::memcpy(&check, record + kStressChecked, sizeof(check));
  return check == Fnv1a(record, kStressChecked);
}

bool StressChecker::Check(uint64_t offset, const uint8_t* record) {
  if (!Intact(record)) {
    error_ = "torn or missing record at offset " + std::to_string(offset);
    return false;
  }
  StressRecord r;
  std::memcpy(&r, record, sizeof(r));
  if (r.writer >= next_.size()) {
    error_ = "record at offset " + std::to_string(offset) + " names writer " +
             std::to_string(r.writer);
    return false;
  }
  const uint64_t expected = next_[r.writer];
  const bool contiguous = contiguous_[r.writer];
  if (contiguous ? r.seq != expected : r.seq < expected) {
    error_ = "writer " + std::to_string(r.writer) + ": expected seq " +
             (contiguous ? "" : "at least ") + std::to_string(expected) +
             " at offset " + std::to_string(offset) + ", found " +
             std::to_string(r.seq) +
             (r.seq < expected ? " (duplicate or out of order)" : " (hole)");
    return false;
  }
  contiguous_[r.writer] = true;
  next_[r.writer] = r.seq + 1;
  ++records_;
  return true;
}

void StressChecker::Skipped() { contiguous_.assign(contiguous_.size(), false); }

}  // namespace loupe::test_support
