// Shell: runs a command line through /bin/sh for integration tests and
// returns its exit code and its stdout and stderr together.
#ifndef LOUPE_TESTS_SUPPORT_SHELL_H_
#define LOUPE_TESTS_SUPPORT_SHELL_H_

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace loupe::test_support {

struct CmdResult {
  int code;  // -1 when it could not run or did not exit
  std::string out;
};

inline CmdResult Shell(const std::string& cmd) {
  CmdResult r{-1, ""};
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_SHELL_H_
