// Flight-recorder retention on an in-memory DataLog: by bytes, by record
// age, and both. Retirement runs on the log's maintenance thread, so the
// tests wait (bounded) for head() to reach what they expect.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "multilog/data_log.h"
#include "multilog/schema.h"
#include "multilog/status.h"
#include "tests/support/stress.h"
#include "tests/support/test_record.h"

namespace loupe {
namespace {

using Code = Status::Code;
using std::chrono::milliseconds;

using test_support::TestRecord;
constexpr std::string_view kSchemaText = test_support::kTestSchemaText;
constexpr uint32_t kBlockRecords = 1024;
constexpr uint64_t kRecord = sizeof(TestRecord);
constexpr uint64_t kBlockBytes = kBlockRecords * kRecord;
constexpr uint32_t kBatch = 256;
constexpr auto kMaxWait = std::chrono::seconds(5);

uint64_t NowNs() { return test_support::WallClockNs(); }

DataLogOptions RetentionOptions() {
  DataLogOptions options;
  options.block_records = kBlockRecords;
  options.preallocate_bytes = 2 * kBlockBytes;
  options.max_batch_records = kBatch;
  options.max_writers = 2;
  return options;
}

std::unique_ptr<DataLog> OpenLog(const DataLogOptions& options) {
  Result<Schema> schema = Schema::Parse(kSchemaText);
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  if (!schema.ok()) return nullptr;
  Result<std::unique_ptr<DataLog>> log = DataLog::Open(*schema, options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return nullptr;
  return std::move(log).value();
}

std::unique_ptr<DataLog::Writer> NewWriter(DataLog& log) {
  Result<std::unique_ptr<DataLog::Writer>> writer = log.NewWriter();
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) std::abort();  // every test needs one
  return std::move(writer).value();
}

// Appends records seq [first, first + n), with timestamps from `timestamp`
// on (one ns apart).
void AppendRecords(DataLog::Writer& writer, uint64_t first, uint64_t n,
                   uint64_t timestamp) {
  std::vector<TestRecord> batch(kBatch);
  for (uint64_t done = 0; done < n;) {
    const uint64_t k = std::min<uint64_t>(kBatch, n - done);
    for (uint64_t i = 0; i < k; ++i) {
      TestRecord& r = batch[i];
      std::memset(&r, 0, sizeof(r));
      r.seq = first + done + i;
      r.timestamp = timestamp + done + i;
      r.value = static_cast<uint32_t>(r.seq);
    }
    Result<uint64_t> offset = writer.Append(batch.data(), k * kRecord);
    ASSERT_TRUE(offset.ok()) << offset.status().ToString();
    ASSERT_EQ(*offset, (first + done) * kRecord);
    done += k;
  }
}

// Waits until pred() holds or kMaxWait passes; returns pred().
template <typename Pred>
bool WaitFor(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kMaxWait;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

void ExpectExpired(const Status& s, const std::string& what) {
  EXPECT_EQ(s.code(), Code::kExpired) << what << ": " << s.ToString();
  EXPECT_TRUE(s.message().find("retired") != std::string::npos ||
              s.message().find("retention") != std::string::npos)
      << what << ": " << s.message();
}

// Reads below head() are kExpired, reads from head() on return the records
// that were written there.
void CheckWindow(const DataLog& log) {
  const uint64_t head = log.head();
  const uint64_t tail = log.read_tail();
  TestRecord out;
  if (head > 0) {
    ExpectExpired(log.Read(0, &out), "Read(0)");
    ExpectExpired(log.Read(head - kRecord, &out), "Read(head - 1 record)");
    std::vector<TestRecord> buffer(4);
    size_t count = 99;
    ExpectExpired(
        log.ReadBatch(head - 2 * kRecord, tail, 4, buffer.data(), &count),
        "ReadBatch below head");
    EXPECT_EQ(count, 0u);
    uint64_t calls = 0;
    ExpectExpired(log.ForEach(0, tail,
                              [&](uint64_t, const uint8_t*) {
                                ++calls;
                                return true;
                              }),
                  "ForEach from 0");
    EXPECT_EQ(calls, 0u);
  }
  if (head < tail) {
    for (uint64_t off :
         {head, head + kRecord, (head + tail) / 2 / kRecord * kRecord,
          tail - kRecord}) {
      Status s = log.Read(off, &out);
      ASSERT_TRUE(s.ok()) << "Read(" << off << "): " << s.ToString();
      EXPECT_EQ(out.seq, off / kRecord);
    }
    uint64_t next = head / kRecord;
    Status s = log.ForEach(head, tail, [&](uint64_t off, const uint8_t* r) {
      TestRecord rec;
      std::memcpy(&rec, r, sizeof(rec));
      if (rec.seq != next || off != next * kRecord) return false;
      ++next;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(next, tail / kRecord) << "ForEach over the window";
  }
}

TEST(RetentionTest, ByBytesKeepsABoundedWindow) {
  DataLogOptions options = RetentionOptions();
  options.retention.max_bytes = 4 * kBlockBytes;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto writer = NewWriter(*log);
  const uint64_t memory_at_open = log->stats().memory_bytes;
  // The window, the blocks kept ahead of the writers (plus a batch of slack
  // for each writer) and a few warm blocks kept for reuse.
  const uint64_t memory_bound = memory_at_open + options.retention.max_bytes +
                                options.preallocate_bytes + 6 * kBlockBytes;

  uint64_t last_head = 0;
  constexpr uint64_t kBlocks = 50;
  for (uint64_t b = 0; b < kBlocks; ++b) {
    AppendRecords(*writer, b * kBlockRecords, kBlockRecords, NowNs());
    const uint64_t tail = log->read_tail();
    ASSERT_EQ(tail, (b + 1) * kBlockBytes);
    const uint64_t want = tail > options.retention.max_bytes
                              ? tail - options.retention.max_bytes
                              : 0;
    ASSERT_TRUE(WaitFor([&] {
      return log->head() >= want &&
             log->stats().blocks_retired == want / kBlockBytes;
    })) << "after "
        << b + 1 << " blocks: head " << log->head() << ", expected " << want
        << ", blocks_retired " << log->stats().blocks_retired;
    const uint64_t head = log->head();
    EXPECT_EQ(head % kBlockBytes, 0u) << "head moves in whole blocks";
    EXPECT_GE(head, last_head);
    // readTail is at a block boundary: exactly max_bytes stay.
    EXPECT_EQ(head, want) << "after " << b + 1 << " blocks";
    last_head = head;

    DataLogStats stats = log->stats();
    EXPECT_EQ(stats.head, head);
    EXPECT_LE(stats.memory_bytes, memory_bound)
        << "after " << b + 1 << " blocks";
    EXPECT_LE(stats.blocks_live * kBlockBytes, options.retention.max_bytes +
                                                   options.preallocate_bytes +
                                                   4 * kBlockBytes);
  }
  DataLogStats stats = log->stats();
  EXPECT_EQ(stats.head, (kBlocks - 4) * kBlockBytes);
  EXPECT_EQ(stats.blocks_retired, kBlocks - 4);
  EXPECT_GT(stats.blocks_recycled, 0u) << "retired blocks are reused warm";
  // Far fewer fresh blocks than were written.
  EXPECT_LT(stats.blocks_allocated, kBlocks / 2);
  CheckWindow(*log);
}

// max_bytes is a memory bound: the oldest block goes while more than
// max_bytes lie between its start and readTail, so with readTail inside a
// block between max_bytes - one block and max_bytes stay.
TEST(RetentionTest, ByBytesIsAMemoryBound) {
  DataLogOptions options = RetentionOptions();
  const uint64_t max_bytes = 4 * kBlockBytes;
  options.retention.max_bytes = max_bytes;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto writer = NewWriter(*log);

  AppendRecords(*writer, 0, 10 * kBlockRecords, NowNs());
  ASSERT_TRUE(WaitFor([&] { return log->head() >= 6 * kBlockBytes; }))
      << "head " << log->head();
  EXPECT_EQ(log->head(), 6 * kBlockBytes);

  // Quarter blocks more at a time: readTail is inside a block.
  uint64_t seq = 10 * kBlockRecords;
  for (int step = 0; step < 8; ++step) {
    AppendRecords(*writer, seq, kBlockRecords / 4, NowNs());
    seq += kBlockRecords / 4;
    const uint64_t tail = log->read_tail();
    ASSERT_EQ(tail, seq * kRecord);
    // The first block start with at most max_bytes up to the tail.
    const uint64_t want =
        (tail - max_bytes + kBlockBytes - 1) / kBlockBytes * kBlockBytes;
    ASSERT_TRUE(WaitFor([&] { return log->head() >= want; }))
        << "readTail " << tail << ": head " << log->head() << ", expected "
        << want;
    std::this_thread::sleep_for(milliseconds(20));
    const uint64_t head = log->head();
    EXPECT_EQ(head, want) << "readTail " << tail;
    EXPECT_LE(tail - head, max_bytes);
    EXPECT_GE(tail - head, max_bytes - kBlockBytes);
    TestRecord out;
    ExpectExpired(log->Read(head - kRecord, &out), "just below head");
    Status s = log->Read(head, &out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(out.seq, head / kRecord);
  }
  CheckWindow(*log);
}

TEST(RetentionTest, ByAgeRetiresOldCompleteBlocks) {
  DataLogOptions options = RetentionOptions();
  options.retention.max_age = std::chrono::minutes(10);
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto writer = NewWriter(*log);
  const uint64_t now = NowNs();
  const uint64_t an_hour_ago = now - 3600ull * 1'000'000'000ull;

  // 3.5 blocks of hour-old records: the three complete blocks go; the
  // fourth is not complete (not all below read_tail) and stays.
  const uint64_t old_records = 3 * kBlockRecords + kBlockRecords / 2;
  AppendRecords(*writer, 0, old_records, an_hour_ago);
  ASSERT_TRUE(WaitFor([&] { return log->head() >= 3 * kBlockBytes; }))
      << "head " << log->head();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(log->head(), 3 * kBlockBytes);
  EXPECT_EQ(log->stats().blocks_retired, 3u);
  CheckWindow(*log);

  // Complete the fourth block with old records, then add fresh ones: the
  // fourth goes, the fresh ones stay.
  AppendRecords(*writer, old_records, kBlockRecords / 2,
                an_hour_ago + old_records);
  AppendRecords(*writer, 4 * kBlockRecords, 3 * kBlockRecords, NowNs());
  ASSERT_TRUE(WaitFor([&] { return log->head() >= 4 * kBlockBytes; }))
      << "head " << log->head();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(log->head(), 4 * kBlockBytes);
  EXPECT_EQ(log->read_tail(), 7 * kBlockBytes);
  CheckWindow(*log);
}

// A block holding one fresh record among old ones is not entirely old.
TEST(RetentionTest, ByAgeKeepsABlockWithAnyFreshRecord) {
  DataLogOptions options = RetentionOptions();
  options.retention.max_age = std::chrono::minutes(10);
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto writer = NewWriter(*log);
  const uint64_t an_hour_ago = NowNs() - 3600ull * 1'000'000'000ull;
  AppendRecords(*writer, 0, kBlockRecords, an_hour_ago);
  AppendRecords(*writer, kBlockRecords, kBlockRecords - 1, an_hour_ago);
  AppendRecords(*writer, 2 * kBlockRecords - 1, 1, NowNs());
  AppendRecords(*writer, 2 * kBlockRecords, kBlockRecords, an_hour_ago);
  ASSERT_TRUE(WaitFor([&] { return log->head() >= kBlockBytes; }));
  std::this_thread::sleep_for(milliseconds(200));
  // Block 1 ends with a fresh record: it stays, and so does everything
  // after it (the window is a suffix).
  EXPECT_EQ(log->head(), kBlockBytes);
  CheckWindow(*log);
}

// The age of a block is judged by its newest records (records arrive in
// time order, give or take the writers' skew): a fresh record a few
// records before the end keeps the block.
TEST(RetentionTest, ByAgeJudgesABlockByItsNewestRecords) {
  DataLogOptions options = RetentionOptions();
  options.retention.max_age = std::chrono::minutes(10);
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto writer = NewWriter(*log);
  const uint64_t an_hour_ago = NowNs() - 3600ull * 1'000'000'000ull;
  constexpr uint64_t kFresh = 2 * kBlockRecords - 20;
  AppendRecords(*writer, 0, kFresh, an_hour_ago);
  AppendRecords(*writer, kFresh, 1, NowNs());
  AppendRecords(*writer, kFresh + 1, 3 * kBlockRecords - kFresh - 1,
                an_hour_ago + kFresh);
  ASSERT_TRUE(WaitFor([&] { return log->head() >= kBlockBytes; }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(log->head(), kBlockBytes)
      << "block 1 holds a record younger than max_age at offset "
      << kFresh * kRecord;
  CheckWindow(*log);
}

TEST(RetentionTest, ByAgeKeepsRecentRecords) {
  DataLogOptions options = RetentionOptions();
  options.retention.max_age = std::chrono::minutes(10);
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto writer = NewWriter(*log);
  AppendRecords(*writer, 0, 8 * kBlockRecords, NowNs());
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(log->head(), 0u);
  EXPECT_EQ(log->stats().blocks_retired, 0u);
  CheckWindow(*log);
}

TEST(RetentionTest, EitherLimitRetires) {
  DataLogOptions options = RetentionOptions();
  options.retention.max_bytes = 8 * kBlockBytes;
  options.retention.max_age = std::chrono::minutes(10);
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto writer = NewWriter(*log);
  const uint64_t an_hour_ago = NowNs() - 3600ull * 1'000'000'000ull;

  // By age: the two old blocks go although the window is far from full.
  AppendRecords(*writer, 0, 2 * kBlockRecords, an_hour_ago);
  AppendRecords(*writer, 2 * kBlockRecords, 2 * kBlockRecords, NowNs());
  ASSERT_TRUE(WaitFor([&] { return log->head() >= 2 * kBlockBytes; }))
      << "head " << log->head();
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(log->head(), 2 * kBlockBytes);

  // By bytes: fresh records beyond the window go too.
  AppendRecords(*writer, 4 * kBlockRecords, 9 * kBlockRecords, NowNs());
  ASSERT_EQ(log->read_tail(), 13 * kBlockBytes);
  ASSERT_TRUE(WaitFor([&] { return log->head() >= 5 * kBlockBytes; }))
      << "head " << log->head();
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(log->head(), 5 * kBlockBytes);
  CheckWindow(*log);
}

TEST(RetentionTest, NoRetentionRetiresNothing) {
  auto log = OpenLog(RetentionOptions());
  ASSERT_NE(log, nullptr);
  auto writer = NewWriter(*log);
  const uint64_t an_hour_ago = NowNs() - 3600ull * 1'000'000'000ull;
  AppendRecords(*writer, 0, 20 * kBlockRecords, an_hour_ago);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(log->head(), 0u);
  DataLogStats stats = log->stats();
  EXPECT_EQ(stats.blocks_retired, 0u);
  EXPECT_GE(stats.blocks_live, 20u);
  CheckWindow(*log);
}

}  // namespace
}  // namespace loupe
