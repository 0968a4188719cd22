// AlertLog: sequences and incarnations, ReadAfter with exact loss under
// count and age retention, and the durable file: it survives a reopen
// (sequences continue, old alerts keep their incarnation), a torn tail is
// truncated, and compaction keeps what retention kept.
#include "multilog/alert_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "multilog/alert_log_format.h"
#include "tests/support/temp_dir.h"

namespace loupe {
namespace {

using test_support::TempDir;

constexpr uint64_t kSecond = 1'000'000'000;

Alert At(uint64_t time_ns, std::string trigger = "t") {
  Alert a;
  a.time_ns = time_ns;
  a.trigger = std::move(trigger);
  a.aggregate = "n";
  a.value = 42.5;
  a.op = CompareOp::kGe;
  a.threshold = 10;
  a.window_start_ns = time_ns - kSecond;
  a.window_end_ns = time_ns;
  return a;
}

std::string FileOf(const TempDir& dir) {
  return dir.path() + "/" + std::string(alert_log_format::kAlertLogName);
}

TEST(AlertLogTest, SequencesIncarnationAndReadAfter) {
  AlertLog log({.incarnation = 77});
  for (uint64_t i = 1; i <= 5; ++i) EXPECT_EQ(log.Append(At(i * kSecond)), i);
  AlertPage page = log.ReadAfter(2, 2);
  ASSERT_EQ(page.alerts.size(), 2u);
  EXPECT_EQ(page.alerts[0].sequence, 3u);
  EXPECT_EQ(page.alerts[1].sequence, 4u);
  EXPECT_EQ(page.alerts[0].incarnation, 77u);
  EXPECT_EQ(page.lost, 0u);
  EXPECT_TRUE(log.ReadAfter(5, 10).alerts.empty());
  EXPECT_EQ(log.last_sequence(), 5u);
}

TEST(AlertLogTest, RetentionByCountMakesLossExact) {
  AlertLog log({.max_alerts = 3});
  for (uint64_t i = 1; i <= 10; ++i) log.Append(At(i * kSecond));
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(log.retired(), 7u);
  EXPECT_EQ(log.first_sequence(), 8u);
  AlertPage page = log.ReadAfter(2, 100);  // 3..7 are gone
  EXPECT_EQ(page.lost, 5u);
  ASSERT_EQ(page.alerts.size(), 3u);
  EXPECT_EQ(page.alerts[0].sequence, 8u);
  EXPECT_EQ(log.ReadAfter(8, 100).lost, 0u);
}

TEST(AlertLogTest, RetentionByAgeKeepsTheNewest) {
  AlertLog log({.max_age = std::chrono::seconds(10)});
  log.Append(At(100 * kSecond));
  log.Append(At(105 * kSecond));
  log.Append(At(112 * kSecond));  // 100 is more than 10 s older
  EXPECT_EQ(log.first_sequence(), 2u);
  log.Append(At(500 * kSecond));  // only the newest is young enough
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(log.retired(), 3u);
}

TEST(AlertLogTest, FirstSequenceContinuesAnEarlierLog) {
  AlertLog log({.first_sequence = 8});
  EXPECT_EQ(log.last_sequence(), 7u);
  EXPECT_EQ(log.Append(At(kSecond)), 8u);
  EXPECT_EQ(log.ReadAfter(5, 10).lost, 2u);  // 6 and 7: the earlier log's
}

TEST(AlertLogTest, ADurableLogSurvivesReopen) {
  TempDir dir;
  {
    auto log = AlertLog::Open({.incarnation = 100, .directory = dir.path()});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (uint64_t i = 1; i <= 5; ++i)
      (*log)->Append(At(i * kSecond, "t" + std::to_string(i)));
    EXPECT_EQ((*log)->write_errors(), 0u);
  }
  AlertLogRecovery recovery;
  auto log =
      AlertLog::Open({.incarnation = 200, .directory = dir.path()}, &recovery);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(recovery.recovered, 5u);
  EXPECT_EQ(recovery.torn_bytes, 0u);
  EXPECT_EQ((*log)->origin(), 100u);
  EXPECT_EQ((*log)->opened_sequence(), 5u);
  EXPECT_EQ((*log)->Append(At(6 * kSecond)), 6u);
  AlertPage page = (*log)->ReadAfter(0, 10);
  ASSERT_EQ(page.alerts.size(), 6u);
  EXPECT_EQ(page.alerts[2].trigger, "t3");
  EXPECT_EQ(page.alerts[2].aggregate, "n");
  EXPECT_DOUBLE_EQ(page.alerts[2].value, 42.5);
  EXPECT_EQ(page.alerts[2].op, CompareOp::kGe);
  EXPECT_EQ(page.alerts[2].window_start_ns, 2 * kSecond);
  EXPECT_EQ(page.alerts[4].incarnation, 100u);  // raised in the first life
  EXPECT_EQ(page.alerts[5].incarnation, 200u);
}

TEST(AlertLogTest, ATornTailIsTruncated) {
  TempDir dir;
  {
    auto log = AlertLog::Open({.directory = dir.path()});
    ASSERT_TRUE(log.ok());
    for (uint64_t i = 1; i <= 3; ++i) (*log)->Append(At(i * kSecond));
  }
  const auto whole = std::filesystem::file_size(FileOf(dir));
  // The last record was half written.
  std::filesystem::resize_file(FileOf(dir), whole - 5);
  AlertLogRecovery recovery;
  {
    auto log = AlertLog::Open({.directory = dir.path()}, &recovery);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ(recovery.recovered, 2u);
    EXPECT_GT(recovery.torn_bytes, 0u);
    EXPECT_EQ((*log)->last_sequence(), 2u);
    EXPECT_EQ((*log)->Append(At(9 * kSecond)), 3u);
  }
  // Garbage after whole records (a crc that does not match) goes too.
  {
    const int fd = ::open(FileOf(dir).c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    const char junk[] = "\x10\0\0\0garbage-garbage-garbage";
    ASSERT_EQ(::write(fd, junk, sizeof(junk)),
              static_cast<ssize_t>(sizeof(junk)));
    ::close(fd);
  }
  auto log = AlertLog::Open({.directory = dir.path()}, &recovery);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(recovery.recovered, 3u);
  EXPECT_EQ(recovery.torn_bytes, sizeof("\x10\0\0\0garbage-garbage-garbage"));
  EXPECT_EQ((*log)->ReadAfter(2, 10).alerts.at(0).time_ns, 9 * kSecond);
}

TEST(AlertLogTest, CompactionKeepsWhatRetentionKept) {
  TempDir dir;
  {
    auto log = AlertLog::Open({.max_alerts = 4, .directory = dir.path()});
    ASSERT_TRUE(log.ok());
    for (uint64_t i = 1; i <= 21; ++i) (*log)->Append(At(i * kSecond));
    EXPECT_EQ((*log)->write_errors(), 0u);
  }
  // Compacted every 4 retired alerts: the file holds fewer than 2 x 4.
  AlertLogRecovery recovery;
  auto log =
      AlertLog::Open({.max_alerts = 4, .directory = dir.path()}, &recovery);
  ASSERT_TRUE(log.ok());
  EXPECT_LT(recovery.recovered, 8u);
  EXPECT_EQ((*log)->size(), 4u);
  EXPECT_EQ((*log)->first_sequence(), 18u);
  EXPECT_EQ((*log)->ReadAfter(10, 10).lost, 7u);
  EXPECT_FALSE(std::filesystem::exists(
      dir.path() + "/" + std::string(alert_log_format::kAlertLogTmpName)));
}

TEST(AlertLogTest, AFileThatIsNotAnAlertLogIsRefused) {
  TempDir dir;
  {
    const int fd = ::open(FileOf(dir).c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    const std::string text(64, 'x');
    ASSERT_EQ(::write(fd, text.data(), text.size()), 64);
    ::close(fd);
  }
  auto log = AlertLog::Open({.directory = dir.path()});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace loupe
