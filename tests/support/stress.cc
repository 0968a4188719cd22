#include "tests/support/stress.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

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

}  // namespace loupe::test_support
