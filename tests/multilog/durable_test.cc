// DataLog's file-backed modes (kDurable, kDurableRelaxed): reopening
// recovers exactly the committed prefix, damaged files are reported by
// name, a truncated block file or bytes past the commit are cut off and
// counted, and an unusable or full directory is a clear error. Each test
// works in its own directory under /tmp (mkdtemp), removed at the end.
// Process crashes at random moments are in crash_test.cc.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "multilog/data_log.h"
#include "multilog/schema.h"
#include "multilog/status.h"
#include "multilog/storage_format.h"
#include "tests/support/temp_dir.h"

namespace loupe {
namespace {

namespace fmt = storage_format;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using Code = Status::Code;

// The layout of kSchemaText, timestamp first. 24 bytes: records straddle
// pages and blocks are not a power of two bytes long.
struct TestRecord {
  uint64_t timestamp;
  uint64_t seq;
  uint64_t check;
};
static_assert(sizeof(TestRecord) == 24);
constexpr std::string_view kSchemaText = "seq:u64, check:u64";
constexpr uint64_t kRecord = sizeof(TestRecord);
constexpr uint32_t kBlockRecords = 1024;
constexpr uint64_t kBlockBytes = kBlockRecords * kRecord;

Schema MakeSchema(std::string_view text) {
  Result<Schema> schema = Schema::Parse(text);
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  return std::move(schema).value();
}

const Schema& TestSchema() {
  static const Schema schema = MakeSchema(kSchemaText);
  return schema;
}

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

TestRecord MakeRecord(uint64_t seq) {
  return {1'700'000'000'000'000'000ull + seq, seq, Mix(seq)};
}

// Deleted with its tree when it goes out of scope.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("loupe-durable") {}
};

std::string Join(const std::string& dir, std::string_view name) {
  return dir + "/" + std::string(name);
}

std::string BlockPath(const std::string& dir, uint64_t index) {
  char name[64];
  std::snprintf(name, sizeof(name), "%016" PRIx64, index);
  return Join(dir, std::string(fmt::kBlockPrefix) + name +
                       std::string(fmt::kBlockSuffix));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAt(const std::string& path, uint64_t offset, const void* data,
             size_t n) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(pwrite(fd, data, n, static_cast<off_t>(offset)),
            static_cast<ssize_t>(n))
      << path << ": " << std::strerror(errno);
  close(fd);
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::string bytes = ReadFile(path);
  ASSERT_LT(offset, bytes.size()) << path;
  uint8_t b = static_cast<uint8_t>(bytes[offset]) ^ 0x01;
  ASSERT_NO_FATAL_FAILURE(WriteAt(path, offset, &b, 1));
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Name -> contents of every file in `dir`.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    files[entry.path().filename().string()] = ReadFile(entry.path().string());
  }
  return files;
}

// One slot of the TAIL file, decoded without checking its crc.
struct CommitSlot {
  bool magic_ok = false;
  uint64_t sequence = 0;
  uint64_t head = 0;
  uint64_t tail = 0;
};

uint64_t DecodeU64(const std::string& bytes, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
  }
  return v;
}

std::array<CommitSlot, 2> ReadCommitSlots(const std::string& dir) {
  const std::string bytes = ReadFile(Join(dir, fmt::kTailName));
  std::array<CommitSlot, 2> slots;
  if (bytes.size() < fmt::kTailFileBytes) return slots;
  for (size_t i = 0; i < 2; ++i) {
    const size_t at = i * fmt::kCommitSlotBytes;
    slots[i].magic_ok = DecodeU64(bytes, at) == fmt::kCommitMagic;
    slots[i].sequence = DecodeU64(bytes, at + 8);
    slots[i].head = DecodeU64(bytes, at + 16);
    slots[i].tail = DecodeU64(bytes, at + 24);
  }
  return slots;
}

// The committed tail as the TAIL file says (the newer slot).
uint64_t CommittedTailOnDisk(const std::string& dir) {
  std::array<CommitSlot, 2> s = ReadCommitSlots(dir);
  if (s[0].magic_ok && (!s[1].magic_ok || s[0].sequence > s[1].sequence)) {
    return s[0].tail;
  }
  return s[1].magic_ok ? s[1].tail : 0;
}

DataLogOptions Options(StorageMode mode, const std::string& dir) {
  DataLogOptions options;
  options.mode = mode;
  options.directory = dir;
  options.block_records = kBlockRecords;
  options.preallocate_bytes = 4 * kBlockBytes;
  options.max_batch_records = 256;
  return options;
}

void OpenLog(const DataLogOptions& options, std::unique_ptr<DataLog>* log,
             OpenReport* report, const Schema& schema = TestSchema()) {
  Result<std::unique_ptr<DataLog>> opened =
      DataLog::Open(schema, options, report);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  *log = std::move(opened).value();
}

// Appends records seq = first .. first+count-1 through one Writer, in
// batches of varied sizes, and expects them at offset seq * kRecord.
void AppendRecords(DataLog& log, uint64_t first, uint64_t count) {
  Result<std::unique_ptr<DataLog::Writer>> writer = log.NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  static constexpr size_t kBatchSizes[] = {1, 7, 64, 3, 100, 33, 256};
  std::vector<TestRecord> batch;
  size_t round = 0;
  for (uint64_t seq = first; seq < first + count;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(
        kBatchSizes[round++ % std::size(kBatchSizes)], first + count - seq));
    batch.clear();
    for (size_t i = 0; i < n; ++i) batch.push_back(MakeRecord(seq + i));
    Result<uint64_t> offset = (*writer)->Append(batch.data(), n * kRecord);
    ASSERT_TRUE(offset.ok())
        << "seq " << seq << ": " << offset.status().ToString();
    ASSERT_EQ(*offset, seq * kRecord);
    seq += n;
  }
}

// Expects exactly records 0 .. count-1, intact, through all three read
// paths.
void ExpectRecords(const DataLog& log, uint64_t count) {
  ASSERT_EQ(log.read_tail(), count * kRecord);
  uint64_t next = 0;
  std::string bad;
  Status s =
      log.ForEach(0, count * kRecord, [&](uint64_t offset, const uint8_t* p) {
        TestRecord r;
        std::memcpy(&r, p, sizeof(r));
        const TestRecord want = MakeRecord(next);
        if (offset != next * kRecord || r.seq != want.seq ||
            r.check != want.check || r.timestamp != want.timestamp) {
          bad = "record at offset " + std::to_string(offset) + " has seq " +
                std::to_string(r.seq) + ", expected " + std::to_string(next);
          return false;
        }
        ++next;
        return true;
      });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(bad.empty()) << bad;
  ASSERT_EQ(next, count);
  if (count == 0) return;
  TestRecord last;
  ASSERT_TRUE(log.Read((count - 1) * kRecord, &last).ok());
  EXPECT_EQ(last.seq, count - 1);
  EXPECT_EQ(last.check, Mix(count - 1));
  std::vector<TestRecord> batch(300);
  size_t got = 0;
  const uint64_t from = count > 300 ? count - 300 : 0;
  ASSERT_TRUE(log.ReadBatch(from * kRecord, count * kRecord, batch.size(),
                            batch.data(), &got)
                  .ok());
  ASSERT_EQ(got, count - from);
  for (size_t i = 0; i < got; ++i) {
    EXPECT_EQ(batch[i].seq, from + i);
    EXPECT_EQ(batch[i].check, Mix(from + i));
  }
}

// Opens a new log in `dir`, appends `count` records and closes it.
void CreateLog(const DataLogOptions& options, uint64_t count) {
  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options, &log, &report));
  EXPECT_FALSE(report.reopened);
  ASSERT_NO_FATAL_FAILURE(AppendRecords(*log, 0, count));
}

class DurableTest : public ::testing::TestWithParam<StorageMode> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp: " << std::strerror(errno);
  }

  DataLogOptions options() const { return Options(GetParam(), dir_.path()); }
  const std::string& dir() const { return dir_.path(); }

  TempDir dir_;
};

TEST_P(DurableTest, NewLogReportsNothingRecovered) {
  std::unique_ptr<DataLog> log;
  OpenReport report;
  report.reopened = true;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  EXPECT_FALSE(report.reopened);
  EXPECT_EQ(report.recovered_bytes, 0u);
  EXPECT_EQ(report.dropped_bytes, 0u);
  EXPECT_EQ(log->read_tail(), 0u);
  EXPECT_TRUE(FileExists(Join(dir(), fmt::kManifestName)));
  EXPECT_TRUE(FileExists(Join(dir(), fmt::kTailName)));
  EXPECT_EQ(FileSize(Join(dir(), fmt::kTailName)), fmt::kTailFileBytes);
}

TEST_P(DurableTest, ReopenRecoversEveryRecord) {
  constexpr uint64_t kCount = 5000;  // five blocks, the last one partly
  ASSERT_NO_FATAL_FAILURE(CreateLog(options(), kCount));
  EXPECT_EQ(CommittedTailOnDisk(dir()), kCount * kRecord);

  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  EXPECT_TRUE(report.reopened);
  EXPECT_EQ(report.head, 0u);
  EXPECT_EQ(report.recovered_bytes, kCount * kRecord);
  EXPECT_EQ(report.dropped_bytes, 0u);
  EXPECT_EQ(report.detail, "") << "a clean reopen has nothing to say";
  EXPECT_EQ(log->write_tail(), kCount * kRecord);
  EXPECT_EQ(log->head(), 0u);
  EXPECT_EQ(log->stats().durable_tail, kCount * kRecord);
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCount));
  // Every block file is whole.
  for (uint64_t b = 0; b * kBlockBytes < kCount * kRecord; ++b) {
    EXPECT_EQ(FileSize(BlockPath(dir(), b)), kBlockBytes) << "block " << b;
  }
}

TEST_P(DurableTest, AppendingContinuesAfterTheReopenedTail) {
  constexpr uint64_t kFirst = 3000;
  constexpr uint64_t kSecond = 2500;
  ASSERT_NO_FATAL_FAILURE(CreateLog(options(), kFirst));
  {
    std::unique_ptr<DataLog> log;
    OpenReport report;
    ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
    ASSERT_EQ(report.recovered_bytes, kFirst * kRecord);
    // AppendRecords expects the first new batch at kFirst * kRecord.
    ASSERT_NO_FATAL_FAILURE(AppendRecords(*log, kFirst, kSecond));
    ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kFirst + kSecond));
  }
  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  EXPECT_TRUE(report.reopened);
  EXPECT_EQ(report.recovered_bytes, (kFirst + kSecond) * kRecord);
  EXPECT_EQ(report.dropped_bytes, 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kFirst + kSecond));
}

TEST_P(DurableTest, ReopenWithAnotherSchemaFailsAndChangesNothing) {
  constexpr uint64_t kCount = 1500;
  ASSERT_NO_FATAL_FAILURE(CreateLog(options(), kCount));
  const auto before = Snapshot(dir());

  // Same record size, other names; then another record size.
  for (std::string_view text : {"seq:u64, sum:u64", "seq:u64"}) {
    SCOPED_TRACE(std::string("schema ") + std::string(text));
    Result<std::unique_ptr<DataLog>> log =
        DataLog::Open(MakeSchema(text), options());
    ASSERT_FALSE(log.ok());
    EXPECT_THAT(log.status().code(),
                AnyOf(Code::kFailedPrecondition, Code::kInvalidArgument))
        << log.status().ToString();
    EXPECT_THAT(log.status().message(), HasSubstr("schema"));
    EXPECT_TRUE(Snapshot(dir()) == before) << "the failed Open changed files";
  }

  // The right schema still opens it, untouched.
  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  EXPECT_EQ(report.dropped_bytes, 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCount));
}

TEST_P(DurableTest, ReopenWithAnotherBlockSizeFailsAndChangesNothing) {
  constexpr uint64_t kCount = 1500;
  ASSERT_NO_FATAL_FAILURE(CreateLog(options(), kCount));
  const auto before = Snapshot(dir());

  DataLogOptions other = options();
  other.block_records = 2 * kBlockRecords;
  Result<std::unique_ptr<DataLog>> log = DataLog::Open(TestSchema(), other);
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().code(),
              AnyOf(Code::kFailedPrecondition, Code::kInvalidArgument))
      << log.status().ToString();
  EXPECT_THAT(log.status().message(), HasSubstr("block_records"));
  EXPECT_TRUE(Snapshot(dir()) == before) << "the failed Open changed files";
}

TEST_P(DurableTest, CorruptManifestIsCorruptionNamingTheFile) {
  ASSERT_NO_FATAL_FAILURE(CreateLog(options(), 100));
  const std::string manifest = Join(dir(), fmt::kManifestName);
  const std::string original = ReadFile(manifest);
  ASSERT_THAT(original, HasSubstr("crc32c "));
  // The magic, the middle (geometry or schema), and the stored crc itself.
  const std::vector<size_t> positions = {0, original.size() / 2,
                                         original.rfind("crc32c ") + 7};
  for (size_t at : positions) {
    SCOPED_TRACE("flipped byte " + std::to_string(at) + " of " +
                 std::to_string(original.size()));
    ASSERT_NO_FATAL_FAILURE(FlipByte(manifest, at));
    Result<std::unique_ptr<DataLog>> log =
        DataLog::Open(TestSchema(), options());
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), Code::kCorruption)
        << log.status().ToString();
    EXPECT_THAT(log.status().message(), HasSubstr(std::string(manifest)));
    ASSERT_NO_FATAL_FAILURE(
        WriteAt(manifest, 0, original.data(), original.size()));
  }
  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, 100));
}

TEST_P(DurableTest, BothCommitSlotsCorruptIsCorruption) {
  {
    std::unique_ptr<DataLog> log;
    OpenReport report;
    ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
    ASSERT_NO_FATAL_FAILURE(AppendRecords(*log, 0, 100));
    ASSERT_TRUE(log->Flush().ok());
    ASSERT_NO_FATAL_FAILURE(AppendRecords(*log, 100, 100));
    ASSERT_TRUE(log->Flush().ok());
  }
  std::array<CommitSlot, 2> slots = ReadCommitSlots(dir());
  ASSERT_TRUE(slots[0].magic_ok && slots[1].magic_ok)
      << "two commits should have filled both slots";
  const std::string tail_file = Join(dir(), fmt::kTailName);
  // Flip a bit of each slot's sequence: the crc no longer matches.
  ASSERT_NO_FATAL_FAILURE(FlipByte(tail_file, 8));
  ASSERT_NO_FATAL_FAILURE(FlipByte(tail_file, fmt::kCommitSlotBytes + 8));
  Result<std::unique_ptr<DataLog>> log = DataLog::Open(TestSchema(), options());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Code::kCorruption) << log.status().ToString();
  EXPECT_THAT(log.status().message(), HasSubstr(std::string(fmt::kTailName)));
}

TEST_P(DurableTest, OneTornCommitSlotFallsBackToTheOther) {
  {
    std::unique_ptr<DataLog> log;
    OpenReport report;
    ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
    ASSERT_NO_FATAL_FAILURE(AppendRecords(*log, 0, 1000));
    ASSERT_TRUE(log->Flush().ok());
    ASSERT_NO_FATAL_FAILURE(AppendRecords(*log, 1000, 1000));
    ASSERT_TRUE(log->Flush().ok());
  }
  std::array<CommitSlot, 2> slots = ReadCommitSlots(dir());
  ASSERT_TRUE(slots[0].magic_ok && slots[1].magic_ok);
  const size_t newer = slots[0].sequence > slots[1].sequence ? 0 : 1;
  const uint64_t older_tail = slots[1 - newer].tail;
  ASSERT_EQ(slots[newer].tail, 2000 * kRecord);
  ASSERT_LE(older_tail, slots[newer].tail);
  ASSERT_EQ(older_tail % kRecord, 0u);
  // A commit torn in the middle of its write.
  ASSERT_NO_FATAL_FAILURE(FlipByte(Join(dir(), fmt::kTailName),
                                   newer * fmt::kCommitSlotBytes + 24));

  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  EXPECT_TRUE(report.reopened);
  EXPECT_EQ(report.recovered_bytes, older_tail);
  if (older_tail < slots[newer].tail) {
    // The records past the older commit are on disk but not committed.
    EXPECT_GT(report.dropped_bytes, 0u);
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, older_tail / kRecord));
}

TEST_P(DurableTest, TruncatedLastBlockFileCutsBackToItsLastWholeRecord) {
  constexpr uint64_t kCount = 2560;  // 2.5 blocks: the tail is in block 2
  constexpr uint64_t kCommitted = kCount * kRecord;
  ASSERT_NO_FATAL_FAILURE(CreateLog(options(), kCount));
  // 5000 bytes hold 208 whole records (4992 bytes) and 8 bytes of one more.
  ASSERT_EQ(truncate(BlockPath(dir(), 2).c_str(), 5000), 0)
      << std::strerror(errno);
  constexpr uint64_t kCut = 2 * kBlockBytes + 208 * kRecord;
  static_assert(kCut < kCommitted);

  {
    std::unique_ptr<DataLog> log;
    OpenReport report;
    ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
    EXPECT_TRUE(report.reopened);
    EXPECT_EQ(report.recovered_bytes, kCut);
    EXPECT_EQ(report.dropped_bytes, kCommitted - kCut);
    EXPECT_NE(report.detail, "") << "the report says why bytes were dropped";
    EXPECT_EQ(log->read_tail(), kCut);
    ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCut / kRecord));
    // The log goes on from the cut.
    ASSERT_NO_FATAL_FAILURE(AppendRecords(*log, kCut / kRecord, 700));
    ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCut / kRecord + 700));
  }
  EXPECT_EQ(FileSize(BlockPath(dir(), 2)), kBlockBytes)
      << "block files are exactly block_bytes long";
  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  EXPECT_EQ(report.recovered_bytes, kCut + 700 * kRecord);
  EXPECT_EQ(report.dropped_bytes, 0u) << report.detail;
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCut / kRecord + 700));
}

TEST_P(DurableTest, TruncatedEarlierBlockFileCutsTheLogBackToIt) {
  constexpr uint64_t kCount = 4500;  // the tail is in block 4
  constexpr uint64_t kCommitted = kCount * kRecord;
  ASSERT_NO_FATAL_FAILURE(CreateLog(options(), kCount));
  // 1000 bytes of block 1 hold 41 whole records.
  ASSERT_EQ(truncate(BlockPath(dir(), 1).c_str(), 1000), 0)
      << std::strerror(errno);
  constexpr uint64_t kCut = kBlockBytes + 41 * kRecord;

  {
    std::unique_ptr<DataLog> log;
    OpenReport report;
    ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
    EXPECT_EQ(report.recovered_bytes, kCut);
    EXPECT_EQ(report.dropped_bytes, kCommitted - kCut) << report.detail;
    EXPECT_NE(report.detail, "");
    ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCut / kRecord));
  }
  // The blocks after the cut were emptied: nothing more to drop.
  {
    std::unique_ptr<DataLog> log;
    OpenReport report;
    ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
    EXPECT_EQ(report.recovered_bytes, kCut);
    EXPECT_EQ(report.dropped_bytes, 0u) << report.detail;
    ASSERT_NO_FATAL_FAILURE(AppendRecords(*log, kCut / kRecord, 3000));
    ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCut / kRecord + 3000));
  }
  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  EXPECT_EQ(report.dropped_bytes, 0u) << report.detail;
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCut / kRecord + 3000));
}

TEST_P(DurableTest, BytesPastTheCommitAreDroppedAndZeroed) {
  constexpr uint64_t kCount = 5000;
  constexpr uint64_t kCommitted = kCount * kRecord;
  ASSERT_NO_FATAL_FAILURE(CreateLog(options(), kCount));
  ASSERT_EQ(CommittedTailOnDisk(dir()), kCommitted);

  // An unacknowledged batch: ten whole records and a torn one, written
  // after the tail but never committed.
  std::vector<TestRecord> batch;
  for (uint64_t i = 0; i < 11; ++i) batch.push_back(MakeRecord(kCount + i));
  const uint64_t block = kCommitted / kBlockBytes;
  const uint64_t at = kCommitted % kBlockBytes;
  const size_t garbage = 10 * kRecord + kRecord / 2;
  ASSERT_LE(at + garbage, kBlockBytes);
  ASSERT_NO_FATAL_FAILURE(
      WriteAt(BlockPath(dir(), block), at, batch.data(), garbage));
  // And junk at the start of the next block, if it was preallocated.
  const std::string next_block = BlockPath(dir(), block + 1);
  const bool has_next = FileExists(next_block);
  const std::string junk(100, '\xab');
  if (has_next) {
    ASSERT_NO_FATAL_FAILURE(WriteAt(next_block, 0, junk.data(), junk.size()));
  }

  {
    std::unique_ptr<DataLog> log;
    OpenReport report;
    ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
    EXPECT_TRUE(report.reopened);
    EXPECT_GT(report.dropped_bytes, 0u);
    EXPECT_GE(report.dropped_bytes, garbage);
    EXPECT_NE(report.detail, "");
    EXPECT_EQ(report.recovered_bytes, kCommitted);
    EXPECT_EQ(log->read_tail(), kCommitted);
    EXPECT_EQ(log->write_tail(), kCommitted);
    ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCount));
  }
  // Recovery zeroed what it dropped.
  const std::string data = ReadFile(BlockPath(dir(), block));
  ASSERT_EQ(data.size(), kBlockBytes);
  EXPECT_EQ(data.substr(at, garbage), std::string(garbage, '\0'));
  if (has_next) {
    EXPECT_EQ(ReadFile(next_block).substr(0, junk.size()),
              std::string(junk.size(), '\0'));
  }

  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options(), &log, &report));
  EXPECT_EQ(report.dropped_bytes, 0u) << report.detail;
  EXPECT_EQ(report.detail, "");
  EXPECT_EQ(report.recovered_bytes, kCommitted);
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, kCount));
}

TEST_P(DurableTest, DirectoryUnderARegularFileIsAClearError) {
  const std::string file = Join(dir(), "file");
  { std::ofstream(file) << "not a directory\n"; }
  const std::string bad = file + "/sub";
  Result<std::unique_ptr<DataLog>> log =
      DataLog::Open(TestSchema(), Options(GetParam(), bad));
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(), HasSubstr(bad));
  EXPECT_THAT(log.status().message(), HasSubstr(std::strerror(ENOTDIR)));
  EXPECT_EQ(ReadFile(file), "not a directory\n");
}

TEST_P(DurableTest, DurableModesNeedADirectory) {
  Result<std::unique_ptr<DataLog>> log =
      DataLog::Open(TestSchema(), Options(GetParam(), ""));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Code::kInvalidArgument)
      << log.status().ToString();
  EXPECT_THAT(log.status().message(), HasSubstr("directory"));
}

// Mounts a tmpfs of `size` on `dir` for the scope, with mount(8).
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, std::string_view size) : dir_(dir) {
    const std::string cmd = "mount -t tmpfs -o size=" + std::string(size) +
                            " tmpfs '" + dir + "' 2>/dev/null";
    mounted_ = std::system(cmd.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (!mounted_) return;
    const std::string cmd = "umount '" + dir_ + "'";
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << "cannot unmount " << dir_;
    }
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }

 private:
  const std::string dir_;
  bool mounted_ = false;
};

void ExpectNoSpaceError(const Status& s, const std::string& dir) {
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
  EXPECT_THAT(s.message(), AnyOf(HasSubstr(dir), HasSubstr("space")))
      << "the message should say where space ran out";
}

TEST_P(DurableTest, BlockLargerThanTheFilesystemIsResourceExhausted) {
  TmpfsMount mount(dir(), "2m");
  if (!mount.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs (needs root outside a restricted "
                    "container)";
  }
  DataLogOptions options = this->options();
  options.block_records = 1 << 17;  // 3 MiB blocks on a 2 MiB filesystem
  options.max_batch_records = 1024;
  options.preallocate_bytes = 1;
  Result<std::unique_ptr<DataLog>> log = DataLog::Open(TestSchema(), options);
  if (!log.ok()) {
    ExpectNoSpaceError(log.status(), dir());
    return;
  }
  // Allowed: Open succeeds and the first append reports it.
  Result<std::unique_ptr<DataLog::Writer>> writer = (*log)->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  TestRecord r = MakeRecord(0);
  Result<uint64_t> offset = (*writer)->Append(&r, sizeof(r));
  ASSERT_FALSE(offset.ok()) << "appended to a block that cannot exist";
  ExpectNoSpaceError(offset.status(), dir());
}

TEST_P(DurableTest, FillingTheFilesystemIsResourceExhausted) {
  TmpfsMount mount(dir(), "2m");
  if (!mount.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs (needs root outside a restricted "
                    "container)";
  }
  constexpr uint32_t kBigBlockRecords = 1 << 14;  // 384 KiB: five fit
  constexpr uint32_t kBatch = 1024;
  DataLogOptions options = this->options();
  options.block_records = kBigBlockRecords;
  options.max_batch_records = kBatch;
  options.preallocate_bytes = uint64_t{kBigBlockRecords} * kRecord;
  std::unique_ptr<DataLog> log;
  {
    Result<std::unique_ptr<DataLog>> opened =
        DataLog::Open(TestSchema(), options);
    if (!opened.ok()) {
      // Open may reserve more ahead than fits; then it must say so.
      ExpectNoSpaceError(opened.status(), dir());
      return;
    }
    log = std::move(opened).value();
  }
  Result<std::unique_ptr<DataLog::Writer>> writer = log->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::vector<TestRecord> batch(kBatch);
  uint64_t seq = 0;
  Status failure;
  // 2 MiB hold fewer than 90,000 records; the loop must stop well before.
  for (int i = 0; i < 200 && failure.ok(); ++i) {
    for (uint32_t j = 0; j < kBatch; ++j) batch[j] = MakeRecord(seq + j);
    Result<uint64_t> offset = (*writer)->Append(batch.data(), kBatch * kRecord);
    if (!offset.ok()) {
      failure = offset.status();
      break;
    }
    ASSERT_EQ(*offset, seq * kRecord);
    seq += kBatch;
  }
  ASSERT_FALSE(failure.ok())
      << "appended " << seq << " records to a 2 MiB filesystem";
  ExpectNoSpaceError(failure, dir());
  EXPECT_GT(seq, 0u);
  // A failed append changes nothing; what was appended stays readable.
  EXPECT_EQ(log->read_tail(), seq * kRecord);
  EXPECT_EQ(log->write_tail(), seq * kRecord);
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, seq));
  TestRecord r = MakeRecord(seq);
  Result<uint64_t> again = (*writer)->Append(&r, sizeof(r));
  if (!again.ok()) {
    EXPECT_EQ(again.status().code(), Code::kResourceExhausted);
    EXPECT_EQ(log->write_tail(), seq * kRecord);
  }
  writer->reset();
  EXPECT_TRUE(log->Flush().ok());
  log.reset();
  // The committed part is intact.
  OpenReport report;
  Result<std::unique_ptr<DataLog>> reopened =
      DataLog::Open(TestSchema(), options, &report);
  if (reopened.ok()) {
    EXPECT_GE(report.recovered_bytes, seq * kRecord);
  } else {
    ExpectNoSpaceError(reopened.status(), dir());
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, DurableTest,
                         ::testing::Values(StorageMode::kDurable,
                                           StorageMode::kDurableRelaxed),
                         [](const auto& info) {
                           return info.param == StorageMode::kDurable
                                      ? "Durable"
                                      : "DurableRelaxed";
                         });

// Runs `child` in a forked process that ends with _exit(its return value),
// skipping every destructor, as a crash would; returns its wait status.
template <typename Fn>
int RunAndDieInChild(Fn child) {
  const pid_t pid = fork();
  if (pid == 0) _exit(child());
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

// The child's side of the process-death tests: appends `count` records
// then calls `after`; the DataLog is never destroyed.
template <typename After>
int AppendThenDie(const DataLogOptions& options, uint64_t count, After after) {
  Result<std::unique_ptr<DataLog>> log = DataLog::Open(TestSchema(), options);
  if (!log.ok()) return 10;
  Result<std::unique_ptr<DataLog::Writer>> writer = (*log)->NewWriter();
  if (!writer.ok()) return 11;
  for (uint64_t seq = 0; seq < count; seq += 50) {
    std::vector<TestRecord> batch;
    for (uint64_t i = seq; i < std::min(count, seq + 50); ++i) {
      batch.push_back(MakeRecord(i));
    }
    if (!(*writer)->Append(batch.data(), batch.size() * kRecord).ok()) {
      return 12;
    }
  }
  int code = after(**log);
  // The log stays open: its destructor would commit, a crash does not.
  std::_Exit(code);
}

void ExpectReopensWith(const DataLogOptions& options, uint64_t count) {
  std::unique_ptr<DataLog> log;
  OpenReport report;
  ASSERT_NO_FATAL_FAILURE(OpenLog(options, &log, &report));
  EXPECT_TRUE(report.reopened);
  EXPECT_EQ(report.recovered_bytes, count * kRecord);
  EXPECT_EQ(report.dropped_bytes, 0u) << report.detail;
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(*log, count));
}

TEST(DurableProcessDeathTest, DurableAppendIsCommittedWhenItReturns) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const DataLogOptions options = Options(StorageMode::kDurable, dir.path());
  constexpr uint64_t kCount = 2200;
  const int status = RunAndDieInChild([&] {
    return AppendThenDie(options, kCount, [](DataLog&) { return 0; });
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(CommittedTailOnDisk(dir.path()), kCount * kRecord);
  ASSERT_NO_FATAL_FAILURE(ExpectReopensWith(options, kCount));
}

TEST(DurableProcessDeathTest, RelaxedFlushPutsEverythingOnDisk) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  DataLogOptions options = Options(StorageMode::kDurableRelaxed, dir.path());
  // Only the explicit Flush() can have committed.
  options.flush_interval = std::chrono::hours(1);
  constexpr uint64_t kCount = 3300;
  const int status = RunAndDieInChild([&] {
    return AppendThenDie(options, kCount, [](DataLog& log) {
      return log.Flush().ok() ? 0 : 20;
    });
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(CommittedTailOnDisk(dir.path()), kCount * kRecord);
  options.flush_interval = std::chrono::milliseconds(100);
  ASSERT_NO_FATAL_FAILURE(ExpectReopensWith(options, kCount));
}

TEST(DurableProcessDeathTest, RelaxedFlushesWithinTheInterval) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  DataLogOptions options = Options(StorageMode::kDurableRelaxed, dir.path());
  options.flush_interval = std::chrono::milliseconds(20);
  constexpr uint64_t kCount = 1700;
  const int status = RunAndDieInChild([&] {
    return AppendThenDie(options, kCount, [](DataLog&) {
      // Ten intervals; a loaded machine may need a few.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return 0;
    });
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_NO_FATAL_FAILURE(ExpectReopensWith(options, kCount));
}

}  // namespace
}  // namespace loupe
