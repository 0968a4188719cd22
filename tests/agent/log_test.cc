// The log (library loupe_log): one line per event on standard error with
// the time, the level and the program's name, which is a parameter; levels
// filter. Standard error is redirected to a pipe the test reads.
#include "agent/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace loupe::agent {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// What `fn` writes to standard error.
template <typename Fn>
std::string Stderr(Fn fn) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  close(fds[1]);
  fn();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
  close(fds[0]);
  return out;
}

TEST(LogTest, TheProgramNameIsAParameter) {
  EXPECT_EQ(LogProgram(), "log_test");  // the process's own name by default
  SetLogProgram("loupe-coordinator");
  const std::string line =
      Stderr([] { Log(LogLevel::kInfo, "listening on 127.0.0.1:7071"); });
  EXPECT_THAT(line,
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}"
                           " info loupe-coordinator: listening on "
                           "127\\.0\\.0\\.1:7071\n"));
  SetLogProgram("loupe-agent");
  EXPECT_THAT(Stderr([] { Log(LogLevel::kError, "x"); }),
              EndsWith(" error loupe-agent: x\n"));
}

TEST(LogTest, LevelsFilter) {
  SetLogLevel(LogLevel::kWarn);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  EXPECT_EQ(Stderr([] { Log(LogLevel::kInfo, "quiet"); }), "");
  EXPECT_THAT(Stderr([] { Log(LogLevel::kWarn, "loud"); }),
              HasSubstr(" warn "));
  SetLogLevel(LogLevel::kInfo);
  ASSERT_TRUE(ParseLogLevel("debug").ok());
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_THAT(ParseLogLevel("loud").status().message(),
              HasSubstr("expected error, warn, info or debug"));
}

}  // namespace
}  // namespace loupe::agent
