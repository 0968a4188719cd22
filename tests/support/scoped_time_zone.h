// ScopedTimeZone: sets TZ for the scope of the object, then restores it,
// for tests of local-time output. Not thread-safe (TZ is process-wide).
#ifndef LOUPE_TESTS_SUPPORT_SCOPED_TIME_ZONE_H_
#define LOUPE_TESTS_SUPPORT_SCOPED_TIME_ZONE_H_

#include <cstdlib>
#include <ctime>
#include <string>

namespace loupe::test_support {

class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    const char* old = std::getenv("TZ");
    if (old != nullptr) old_ = old, had_ = true;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTimeZone() {
    if (had_) {
      setenv("TZ", old_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::string old_;
  bool had_ = false;
};

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_SCOPED_TIME_ZONE_H_
