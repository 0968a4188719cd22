// The loupectl binary on arguments it refuses before it reaches any agent:
// ambiguous sizes ("1G" names both readings), the one size grammar
// everywhere. The binary comes from LOUPECTL_BIN.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using ::testing::HasSubstr;

struct CmdResult {
  int code = -1;
  std::string out;  // stdout and stderr
};

CmdResult Loupectl(const std::string& args) {
  const char* bin = std::getenv("LOUPECTL_BIN");
  CmdResult r;
  if (bin == nullptr) return r;
  // An address nothing listens on, with a short timeout: a command that got
  // as far as the agent fails with 1, not with the usage error's 2.
  const std::string command = std::string(bin) +
                              " --agent 127.0.0.1:1 --timeout 200ms " + args +
                              " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(LoupectlCliTest, AmbiguousSizesNameBothReadings) {
  ASSERT_NE(std::getenv("LOUPECTL_BIN"), nullptr);
  for (const char* option :
       {"--capacity", "--retention-bytes", "--preallocate"}) {
    const CmdResult r = Loupectl("multilog create m --schema 'a:u32' " +
                                 std::string(option) + " 1G");
    EXPECT_EQ(r.code, 2) << option << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr(std::string(option) + ": ambiguous size"));
    EXPECT_THAT(r.out, HasSubstr("1GiB (powers of 1024)"));
    EXPECT_THAT(r.out, HasSubstr("1GB (powers of 1000)"));
  }
  const CmdResult k =
      Loupectl("multilog create m --schema 'a:u32' --capacity 512k");
  EXPECT_EQ(k.code, 2) << k.out;
  EXPECT_THAT(k.out, HasSubstr("512KiB (powers of 1024) or 512KB"));
}

TEST(LoupectlCliTest, ExplicitUnitsGetAsFarAsTheAgent) {
  ASSERT_NE(std::getenv("LOUPECTL_BIN"), nullptr);
  // Parsed, then the call fails: nothing listens there.
  for (const char* size : {"1GiB", "2GB", "1.5KiB", "4096", "64kB"}) {
    const CmdResult r = Loupectl(
        "multilog create m --schema 'a:u32' --capacity " + std::string(size));
    EXPECT_EQ(r.code, 1) << size << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("cannot reach the agent")) << size;
  }
}

TEST(LoupectlCliTest, DurationsUseTheOneGrammar) {
  ASSERT_NE(std::getenv("LOUPECTL_BIN"), nullptr);
  const CmdResult r = Loupectl("-m m trigger add t 'x > 1' --period 5M");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--period: "));
  const CmdResult t =
      Loupectl("multilog create m --schema 'a:u32' --retention-age 10");
  EXPECT_EQ(t.code, 2) << t.out;
  EXPECT_THAT(t.out, HasSubstr("--retention-age: "));
}

}  // namespace
