// A temporary directory for a test, deleted with everything in it when the
// TempDir goes out of scope.
//
// Not copyable; one owner. path() is empty if the directory could not be
// made (the test should fail on it).
#ifndef LOUPE_TESTS_SUPPORT_TEMP_DIR_H_
#define LOUPE_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace loupe::test_support {

class TempDir {
 public:
  // Makes /tmp/<prefix>-XXXXXX.
  explicit TempDir(std::string_view prefix = "loupe-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_TEMP_DIR_H_
