// DataLog in memory mode, on one thread: appends, reads, errors, limits and
// stats. Concurrency is in data_log_stress_test.cc, retention in
// retention_test.cc.
#include "multilog/data_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "multilog/packet_schema.h"
#include "multilog/schema.h"
#include "multilog/status.h"
#include "tests/support/test_record.h"

namespace loupe {
namespace {

using Code = Status::Code;

using test_support::TestRecord;
constexpr std::string_view kSchemaText = test_support::kTestSchemaText;
constexpr uint32_t kBlockRecords = 1024;
constexpr uint64_t kBlockBytes = kBlockRecords * sizeof(TestRecord);
constexpr uint64_t kRecord = sizeof(TestRecord);

Schema TestSchema() { return test_support::TestRecordSchema(); }

DataLogOptions SmallOptions() {
  DataLogOptions options;
  options.block_records = kBlockRecords;
  options.preallocate_bytes = 4 * kBlockBytes;
  options.max_batch_records = 256;
  options.max_writers = 4;
  return options;
}

std::unique_ptr<DataLog> OpenLog(const DataLogOptions& options,
                                 const Schema& schema = TestSchema()) {
  Result<std::unique_ptr<DataLog>> log = DataLog::Open(schema, options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return nullptr;
  return std::move(log).value();
}

std::unique_ptr<DataLog::Writer> NewWriter(DataLog& log) {
  Result<std::unique_ptr<DataLog::Writer>> writer = log.NewWriter();
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) return nullptr;
  return std::move(writer).value();
}

TestRecord MakeRecord(uint64_t seq) {
  TestRecord r;
  std::memset(&r, 0, sizeof(r));
  r.timestamp = 1'700'000'000'000'000'000ull + seq;
  r.seq = seq;
  r.value = static_cast<uint32_t>(seq * 2654435761u);
  char name[32];
  const int len = std::snprintf(name, sizeof(name), "r%llu",
                                static_cast<unsigned long long>(seq));
  std::memcpy(r.name, name, std::min(static_cast<size_t>(len), sizeof(r.name)));
  return r;
}

std::vector<TestRecord> MakeRecords(uint64_t first_seq, size_t n) {
  std::vector<TestRecord> records;
  records.reserve(n);
  for (size_t i = 0; i < n; ++i) records.push_back(MakeRecord(first_seq + i));
  return records;
}

bool SameRecord(const void* a, const TestRecord& b) {
  return std::memcmp(a, &b, sizeof(b)) == 0;
}

// Appends records seq [0, n) in batches of 1..max_batch records, checking
// that each lands right after the previous one.
void AppendSequence(DataLog::Writer& writer, uint64_t n, uint32_t max_batch,
                    uint32_t seed = 1) {
  std::mt19937 rng(seed);
  uint64_t seq = 0;
  while (seq < n) {
    uint64_t batch = std::min<uint64_t>(n - seq, 1 + rng() % max_batch);
    std::vector<TestRecord> records = MakeRecords(seq, batch);
    Result<uint64_t> offset =
        writer.Append(records.data(), batch * sizeof(TestRecord));
    ASSERT_TRUE(offset.ok()) << offset.status().ToString();
    ASSERT_EQ(*offset, seq * kRecord);
    seq += batch;
  }
}

TEST(DataLogTest, SchemaMatchesTestRecord) {
  Schema schema = TestSchema();
  ASSERT_EQ(schema.record_size(), sizeof(TestRecord));
  EXPECT_EQ(schema.Find("seq")->offset, offsetof(TestRecord, seq));
  EXPECT_EQ(schema.Find("value")->offset, offsetof(TestRecord, value));
  EXPECT_EQ(schema.Find("name")->offset, offsetof(TestRecord, name));
}

TEST(DataLogTest, OpenStartsEmpty) {
  OpenReport report;
  report.reopened = true;
  Result<std::unique_ptr<DataLog>> opened =
      DataLog::Open(TestSchema(), SmallOptions(), &report);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  DataLog& log = **opened;
  EXPECT_FALSE(report.reopened);
  EXPECT_EQ(report.dropped_bytes, 0u);
  EXPECT_EQ(log.record_size(), kRecord);
  EXPECT_EQ(log.block_bytes(), kBlockBytes);
  EXPECT_EQ(log.schema(), TestSchema());
  EXPECT_EQ(log.options().block_records, kBlockRecords);
  EXPECT_EQ(log.read_tail(), 0u);
  EXPECT_EQ(log.write_tail(), 0u);
  EXPECT_EQ(log.head(), 0u);

  DataLogStats stats = log.stats();
  EXPECT_EQ(stats.write_tail, 0u);
  EXPECT_EQ(stats.read_tail, 0u);
  EXPECT_EQ(stats.head, 0u);
  // Open pre-allocates before it returns.
  EXPECT_GE(stats.blocks_live * kBlockBytes, SmallOptions().preallocate_bytes);
  EXPECT_GE(stats.memory_bytes, stats.blocks_live * kBlockBytes);
  EXPECT_EQ(stats.blocks_retired, 0u);
  EXPECT_EQ(stats.blocks_recycled, 0u);
}

TEST(DataLogTest, AppendReturnsConsecutiveOffsets) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  uint64_t expected = 0;
  uint64_t seq = 0;
  for (size_t batch : {1u, 2u, 7u, 256u, 1u, 100u}) {
    std::vector<TestRecord> records = MakeRecords(seq, batch);
    Result<uint64_t> offset =
        writer->Append(records.data(), batch * sizeof(TestRecord));
    ASSERT_TRUE(offset.ok()) << offset.status().ToString();
    EXPECT_EQ(*offset, expected);
    expected += batch * kRecord;
    seq += batch;
    // One writer: its batch is published when Append returns.
    EXPECT_EQ(log->write_tail(), expected);
    EXPECT_EQ(log->read_tail(), expected);
  }
}

TEST(DataLogTest, TwoWritersShareTheOffsetSpace) {
  auto log = OpenLog(SmallOptions());
  auto a = NewWriter(*log);
  auto b = NewWriter(*log);
  std::vector<TestRecord> records = MakeRecords(0, 8);
  uint64_t expected = 0;
  for (int i = 0; i < 10; ++i) {
    DataLog::Writer& w = i % 3 == 0 ? *b : *a;
    Result<uint64_t> offset = w.Append(records.data(), 3 * kRecord);
    ASSERT_TRUE(offset.ok()) << offset.status().ToString();
    EXPECT_EQ(*offset, expected);
    expected += 3 * kRecord;
    EXPECT_EQ(log->read_tail(), expected);
  }
}

TEST(DataLogTest, ReadRoundTrips) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  constexpr uint64_t kRecords = 3000;  // crosses two block boundaries
  AppendSequence(*writer, kRecords, 256);
  ASSERT_EQ(log->read_tail(), kRecords * kRecord);
  for (uint64_t seq = 0; seq < kRecords; ++seq) {
    TestRecord out;
    Status s = log->Read(seq * kRecord, &out);
    ASSERT_TRUE(s.ok()) << seq << ": " << s.ToString();
    ASSERT_TRUE(SameRecord(&out, MakeRecord(seq))) << "record " << seq;
  }
}

TEST(DataLogTest, BatchStraddlingABlockBoundary) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  // 1000 records, then a batch of 100 that crosses into block 1, batches
  // up to one that ends exactly at the end of block 1, then one in block 2.
  AppendSequence(*writer, 1000, 250);
  uint64_t seq = 1000;
  for (uint64_t n : {100u, 256u, 256u, 236u, 200u, 5u}) {
    std::vector<TestRecord> records = MakeRecords(seq, n);
    Result<uint64_t> offset = writer->Append(records.data(), n * kRecord);
    ASSERT_TRUE(offset.ok()) << offset.status().ToString();
    EXPECT_EQ(*offset, seq * kRecord);
    seq += n;
    if (n == 200) {
      EXPECT_EQ(seq, 2 * kBlockRecords);
    }
  }
  ASSERT_EQ(log->read_tail(), seq * kRecord);
  for (uint64_t i = 990; i < seq; ++i) {
    TestRecord out;
    ASSERT_TRUE(log->Read(i * kRecord, &out).ok());
    ASSERT_TRUE(SameRecord(&out, MakeRecord(i))) << "record " << i;
  }
}

TEST(DataLogTest, ReadErrors) {
  auto log = OpenLog(SmallOptions());
  TestRecord out;
  // Empty log: nothing is readable.
  EXPECT_EQ(log->Read(0, &out).code(), Code::kOutOfRange);

  auto writer = NewWriter(*log);
  AppendSequence(*writer, 10, 4);
  const uint64_t tail = log->read_tail();
  ASSERT_EQ(tail, 10 * kRecord);

  Status s = log->Read(1, &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_FALSE(s.message().empty());
  EXPECT_EQ(log->Read(kRecord + kRecord / 2, &out).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(log->Read(tail - 1, &out).code(), Code::kInvalidArgument);

  s = log->Read(tail, &out);
  EXPECT_EQ(s.code(), Code::kOutOfRange) << s.ToString();
  EXPECT_FALSE(s.message().empty());
  EXPECT_EQ(log->Read(tail + kRecord, &out).code(), Code::kOutOfRange);
  EXPECT_EQ(log->Read(100 * kBlockBytes, &out).code(), Code::kOutOfRange);
  EXPECT_EQ(log->Read(UINT64_MAX - kRecord + 1, &out).code(),
            Code::kOutOfRange);

  // The last record is fine.
  EXPECT_TRUE(log->Read(tail - kRecord, &out).ok());
  EXPECT_TRUE(SameRecord(&out, MakeRecord(9)));
}

TEST(DataLogTest, AppendErrorsChangeNothing) {
  DataLogOptions options = SmallOptions();
  auto log = OpenLog(options);
  auto writer = NewWriter(*log);
  AppendSequence(*writer, 5, 5);
  const uint64_t tail = log->write_tail();
  ASSERT_EQ(tail, 5 * kRecord);
  ASSERT_EQ(log->read_tail(), tail);

  std::vector<TestRecord> records =
      MakeRecords(100, options.max_batch_records + 1);
  auto expect_rejected = [&](size_t bytes, const char* what) {
    Result<uint64_t> r = writer->Append(records.data(), bytes);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument)
        << what << ": " << r.status().ToString();
    EXPECT_FALSE(r.status().message().empty()) << what;
    EXPECT_EQ(log->write_tail(), tail) << what;
    EXPECT_EQ(log->read_tail(), tail) << what;
    DataLogStats stats = log->stats();
    EXPECT_EQ(stats.write_tail, tail) << what;
    EXPECT_EQ(stats.read_tail, tail) << what;
  };
  expect_rejected(0, "empty batch");
  expect_rejected(1, "one byte");
  expect_rejected(kRecord - 1, "record of the wrong size (short)");
  expect_rejected(kRecord + 1, "record of the wrong size (long)");
  expect_rejected(3 * kRecord + kRecord / 2, "partial record at the end");
  expect_rejected((options.max_batch_records + 1) * kRecord,
                  "more than max_batch_records");

  // The log still works, from where it was; max_batch_records itself is
  // accepted.
  Result<uint64_t> r =
      writer->Append(records.data(), options.max_batch_records * kRecord);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, tail);
  EXPECT_EQ(log->read_tail(), tail + options.max_batch_records * kRecord);
  TestRecord out;
  ASSERT_TRUE(log->Read(tail, &out).ok());
  EXPECT_TRUE(SameRecord(&out, records[0]));
}

TEST(DataLogTest, ReadBatchAcrossBlocks) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  constexpr uint64_t kRecords = 5 * kBlockRecords + 123;
  AppendSequence(*writer, kRecords, 256, 7);
  const uint64_t tail = log->read_tail();
  ASSERT_EQ(tail, kRecords * kRecord);

  auto check = [&](uint64_t first, uint64_t end_record, size_t max_records,
                   size_t expected_count) {
    std::vector<TestRecord> out(max_records + 1);
    size_t count = 12345;
    Status s = log->ReadBatch(first * kRecord, end_record * kRecord,
                              max_records, out.data(), &count);
    ASSERT_TRUE(s.ok()) << first << ": " << s.ToString();
    ASSERT_EQ(count, expected_count) << "from record " << first;
    for (size_t i = 0; i < count; ++i) {
      ASSERT_TRUE(SameRecord(&out[i], MakeRecord(first + i)))
          << "record " << first + i;
    }
  };
  // Within one block.
  check(0, kRecords, 100, 100);
  check(10, 20, 100, 10);
  // Straddling one boundary, then several.
  check(kBlockRecords - 50, kRecords, 100, 100);
  check(kBlockRecords - 1, kRecords, 2, 2);
  check(kBlockRecords / 2, kRecords, 3 * kBlockRecords, 3 * kBlockRecords);
  // Starting exactly at a boundary.
  check(2 * kBlockRecords, kRecords, kBlockRecords, kBlockRecords);
  // Stopped by `end` rather than max_records, across a boundary.
  check(3 * kBlockRecords - 5, 3 * kBlockRecords + 5, 1000, 10);
  // Up to the read tail.
  check(kRecords - 200, kRecords, 1000, 200);
  // The whole log in one call.
  check(0, kRecords, kRecords, kRecords);
  // An empty range and a zero-sized request copy nothing.
  check(kRecords, kRecords, 10, 0);
  check(5, kRecords, 0, 0);
}

// max_records only caps the count; a huge value (the caller sized `out` by
// `end`) must not wrap around.
TEST(DataLogTest, ReadBatchWithHugeMaxRecords) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  AppendSequence(*writer, 100, 10);
  std::vector<TestRecord> out(10);
  size_t count = 0;
  Status s =
      log->ReadBatch(5 * kRecord, 15 * kRecord, SIZE_MAX, out.data(), &count);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(count, 10u);
  for (size_t i = 0; i < count; ++i) {
    EXPECT_TRUE(SameRecord(&out[i], MakeRecord(5 + i))) << i;
  }
}

TEST(DataLogTest, ReadBatchErrors) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  AppendSequence(*writer, 100, 10);
  const uint64_t tail = log->read_tail();
  std::vector<TestRecord> out(200);
  size_t count = 0;
  Status s = log->ReadBatch(3, tail, 10, out.data(), &count);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  s = log->ReadBatch(0, tail + kRecord, 200, out.data(), &count);
  EXPECT_EQ(s.code(), Code::kOutOfRange) << s.ToString();
  s = log->ReadBatch(tail + kRecord, tail + 2 * kRecord, 1, out.data(), &count);
  EXPECT_EQ(s.code(), Code::kOutOfRange) << s.ToString();
}

TEST(DataLogTest, ForEachAcrossBlocks) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  constexpr uint64_t kRecords = 4 * kBlockRecords + 77;
  AppendSequence(*writer, kRecords, 256, 3);
  const uint64_t tail = log->read_tail();
  ASSERT_EQ(tail, kRecords * kRecord);

  auto visit = [&](uint64_t first, uint64_t end_record) {
    uint64_t next = first;
    uint64_t bad = 0;
    Status s = log->ForEach(first * kRecord, end_record * kRecord,
                            [&](uint64_t offset, const uint8_t* record) {
                              if (offset != next * kRecord ||
                                  !SameRecord(record, MakeRecord(next))) {
                                ++bad;
                              }
                              ++next;
                              return true;
                            });
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(bad, 0u) << "from record " << first;
    EXPECT_EQ(next, end_record) << "from record " << first;
  };
  visit(0, kRecords);
  visit(kBlockRecords - 3, kBlockRecords + 3);
  visit(kBlockRecords, 3 * kBlockRecords);
  visit(100, kRecords);
  visit(kRecords - 1, kRecords);
  visit(kRecords, kRecords);  // empty range: no calls
}

TEST(DataLogTest, ForEachStopsWhenFnReturnsFalse) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  constexpr uint64_t kRecords = 3 * kBlockRecords;
  AppendSequence(*writer, kRecords, 200, 5);
  const uint64_t tail = log->read_tail();

  for (uint64_t stop_after :
       {uint64_t{1}, uint64_t{500}, uint64_t{kBlockRecords},
        uint64_t{kBlockRecords + 1}, uint64_t{2 * kBlockRecords + 10}}) {
    uint64_t calls = 0;
    uint64_t last = UINT64_MAX;
    Status s = log->ForEach(0, tail, [&](uint64_t offset, const uint8_t*) {
      ++calls;
      last = offset;
      return calls < stop_after;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(calls, stop_after);
    EXPECT_EQ(last, (stop_after - 1) * kRecord);
  }
}

TEST(DataLogTest, ForEachErrors) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  AppendSequence(*writer, 100, 10);
  const uint64_t tail = log->read_tail();
  uint64_t calls = 0;
  auto fn = [&](uint64_t, const uint8_t*) {
    ++calls;
    return true;
  };
  EXPECT_EQ(log->ForEach(1, tail, fn).code(), Code::kInvalidArgument);
  EXPECT_EQ(log->ForEach(0, tail + kRecord, fn).code(), Code::kOutOfRange);
  EXPECT_EQ(calls, 0u);
}

TEST(DataLogTest, CapacityReachedChangesNothing) {
  DataLogOptions options = SmallOptions();
  constexpr uint64_t kCapacityRecords = 3000;  // about 2.9 blocks
  options.capacity_bytes = kCapacityRecords * kRecord;
  auto log = OpenLog(options);
  auto writer = NewWriter(*log);
  auto other = NewWriter(*log);
  AppendSequence(*writer, kCapacityRecords - 100, 100);
  const uint64_t tail = log->read_tail();
  ASSERT_EQ(tail, (kCapacityRecords - 100) * kRecord);

  std::vector<TestRecord> records = MakeRecords(kCapacityRecords - 100, 200);
  // 200 records do not fit in the 100 left: refused, nothing changed.
  for (DataLog::Writer* w : {writer.get(), other.get()}) {
    Result<uint64_t> r = w->Append(records.data(), 200 * kRecord);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kResourceExhausted)
        << r.status().ToString();
    EXPECT_FALSE(r.status().message().empty());
    EXPECT_EQ(log->write_tail(), tail);
    EXPECT_EQ(log->read_tail(), tail);
  }
  // Exactly the rest fits.
  Result<uint64_t> r = other->Append(records.data(), 100 * kRecord);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, tail);
  const uint64_t full = options.capacity_bytes;
  EXPECT_EQ(log->read_tail(), full);
  // Now not even one record does.
  for (DataLog::Writer* w : {writer.get(), other.get()}) {
    Result<uint64_t> one = w->Append(records.data(), kRecord);
    ASSERT_FALSE(one.ok());
    EXPECT_EQ(one.status().code(), Code::kResourceExhausted);
  }
  EXPECT_EQ(log->write_tail(), full);
  EXPECT_EQ(log->read_tail(), full);
  EXPECT_EQ(log->stats().write_tail, full);

  // Readers still read everything before the limit.
  for (uint64_t seq = 0; seq < kCapacityRecords; ++seq) {
    TestRecord out;
    Status s = log->Read(seq * kRecord, &out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(SameRecord(&out, MakeRecord(seq))) << seq;
  }
  uint64_t visited = 0;
  Status s = log->ForEach(0, full, [&](uint64_t, const uint8_t*) {
    ++visited;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(visited, kCapacityRecords);
}

TEST(DataLogTest, MaxWritersAndSlotReuse) {
  DataLogOptions options = SmallOptions();
  options.max_writers = 2;
  auto log = OpenLog(options);
  auto a = NewWriter(*log);
  auto b = NewWriter(*log);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Result<std::unique_ptr<DataLog::Writer>> c = log->NewWriter();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kResourceExhausted)
      << c.status().ToString();
  EXPECT_FALSE(c.status().message().empty());

  std::vector<TestRecord> records = MakeRecords(0, 4);
  ASSERT_TRUE(a->Append(records.data(), 2 * kRecord).ok());

  // Destroying a Writer frees its slot.
  a.reset();
  auto d = NewWriter(*log);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(log->NewWriter().status().code(), Code::kResourceExhausted);

  Result<uint64_t> r = d->Append(records.data(), 2 * kRecord);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 2 * kRecord);
  r = b->Append(records.data(), kRecord);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 4 * kRecord);
  EXPECT_EQ(log->read_tail(), 5 * kRecord);

  // Many create/destroy cycles never leak slots.
  b.reset();
  d.reset();
  for (int i = 0; i < 100; ++i) {
    auto w1 = NewWriter(*log);
    auto w2 = NewWriter(*log);
    ASSERT_NE(w2, nullptr) << "cycle " << i;
    ASSERT_TRUE(w1->Append(records.data(), kRecord).ok());
  }
  EXPECT_EQ(log->read_tail(), 105 * kRecord);
}

TEST(DataLogTest, Stats) {
  auto log = OpenLog(SmallOptions());
  auto writer = NewWriter(*log);
  constexpr uint64_t kRecords = 3 * kBlockRecords + 10;
  AppendSequence(*writer, kRecords, 256);
  DataLogStats stats = log->stats();
  EXPECT_EQ(stats.write_tail, kRecords * kRecord);
  EXPECT_EQ(stats.read_tail, kRecords * kRecord);
  EXPECT_EQ(stats.head, 0u);
  // At least the four blocks that hold the data are installed.
  EXPECT_GE(stats.blocks_live, 4u);
  EXPECT_GE(stats.blocks_allocated, stats.blocks_live);
  EXPECT_GT(stats.memory_bytes, 0u);
  EXPECT_GE(stats.memory_bytes, stats.blocks_live * kBlockBytes);
  EXPECT_EQ(stats.blocks_retired, 0u);
  EXPECT_EQ(stats.blocks_recycled, 0u);
}

TEST(DataLogTest, OptionsValidation) {
  const Schema schema = TestSchema();
  auto expect_invalid = [&](const DataLogOptions& options, const char* what) {
    Result<std::unique_ptr<DataLog>> log = DataLog::Open(schema, options);
    ASSERT_FALSE(log.ok()) << what;
    EXPECT_EQ(log.status().code(), Code::kInvalidArgument)
        << what << ": " << log.status().ToString();
    EXPECT_FALSE(log.status().message().empty()) << what;
  };
  DataLogOptions options = SmallOptions();
  options.block_records = 1000;
  expect_invalid(options, "block_records not a power of two");
  options.block_records = 3 * 1024;
  expect_invalid(options, "block_records 3072");
  options.block_records = 512;
  options.max_batch_records = 256;
  expect_invalid(options, "block_records below 1024");
  options.block_records = 1u << 25;
  expect_invalid(options, "block_records above 1 << 24");
  options.block_records = 0;
  expect_invalid(options, "block_records 0");

  options = SmallOptions();
  options.mode = StorageMode::kDurable;
  options.directory.clear();
  expect_invalid(options, "durable without a directory");
  options.mode = StorageMode::kDurableRelaxed;
  expect_invalid(options, "durable-relaxed without a directory");

  options = SmallOptions();
  options.max_batch_records = kBlockRecords * 2;
  expect_invalid(options, "max_batch_records above block_records");

  // The boundaries themselves are fine.
  options = SmallOptions();
  options.block_records = 1024;
  options.max_batch_records = 1024;
  EXPECT_NE(OpenLog(options), nullptr);
}

TEST(DataLogTest, PacketSchemaRoundTrips) {
  DataLogOptions options;
  options.block_records = 1024;
  options.preallocate_bytes = 2 * 1024 * sizeof(PacketRecord);
  options.max_batch_records = 512;
  auto log = OpenLog(options, PacketSchema());
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(log->record_size(), sizeof(PacketRecord));
  auto writer = NewWriter(*log);

  constexpr size_t kPackets = 2500;
  std::vector<PacketRecord> packets(kPackets);
  std::mt19937 rng(9);
  for (size_t i = 0; i < kPackets; ++i) {
    PacketRecord& p = packets[i];
    std::memset(&p, 0, sizeof(p));
    p.timestamp = 1'700'000'000'000'000'000ull + i * 1000;
    for (auto& b : p.src_ip) b = static_cast<uint8_t>(rng());
    for (auto& b : p.dst_ip) b = static_cast<uint8_t>(rng());
    p.src_port = static_cast<uint16_t>(rng());
    p.dst_port = 443;
    p.ip_len = static_cast<uint16_t>(40 + i % 1460);
    p.frame_len = static_cast<uint16_t>(p.ip_len + 14);
    p.vni = static_cast<uint32_t>(i);
    p.proto = i % 2 ? 6 : 17;
    p.flags = kPacketIpv6;
  }
  for (size_t i = 0; i < kPackets; i += 500) {
    Result<uint64_t> r =
        writer->Append(&packets[i], 500 * sizeof(PacketRecord));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, i * sizeof(PacketRecord));
  }
  ASSERT_EQ(log->read_tail(), kPackets * sizeof(PacketRecord));
  for (size_t i = 0; i < kPackets; i += 97) {
    PacketRecord out;
    ASSERT_TRUE(log->Read(i * sizeof(PacketRecord), &out).ok());
    EXPECT_EQ(std::memcmp(&out, &packets[i], sizeof(out)), 0) << i;
  }
  size_t i = 0;
  size_t bad = 0;
  Status s =
      log->ForEach(0, log->read_tail(), [&](uint64_t, const uint8_t* record) {
        if (std::memcmp(record, &packets[i], 64) != 0) {
          ++bad;
        }
        ++i;
        return true;
      });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(i, kPackets);
  EXPECT_EQ(bad, 0u);
}

TEST(DataLogTest, StorageModeNames) {
  for (StorageMode mode : {StorageMode::kInMemory, StorageMode::kDurableRelaxed,
                           StorageMode::kDurable}) {
    Result<StorageMode> parsed = ParseStorageMode(StorageModeName(mode));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, mode);
  }
  EXPECT_EQ(StorageModeName(StorageMode::kInMemory), "memory");
  EXPECT_EQ(StorageModeName(StorageMode::kDurableRelaxed), "durable-relaxed");
  EXPECT_EQ(StorageModeName(StorageMode::kDurable), "durable");
  Result<StorageMode> bad = ParseStorageMode("durible");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace loupe
