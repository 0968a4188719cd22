// Several writers and readers on one in-memory DataLog at once. Every record
// carries its writer, that writer's sequence number and a checksum, so the
// readers can check, while the writers run, that nothing below readTail is
// torn, missing, duplicated or out of order. Also run under ThreadSanitizer
// (scripts/test.sh), where it is scaled down; LOUPE_STRESS_RECORDS sets the
// records per writer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "multilog/data_log.h"
#include "multilog/schema.h"
#include "multilog/status.h"
#include "tests/support/sanitizers.h"
#include "tests/support/stress.h"

namespace loupe {
namespace {

using test_support::Intact;
using test_support::Seal;
using test_support::StressRecord;

constexpr uint64_t kDefaultRecordsPerWriter =
    test_support::kUnderThreadSanitizer ? 300'000 : 500'000;
constexpr uint32_t kWriters = 3;
constexpr uint32_t kReaders = 2;
constexpr uint32_t kBlockRecords = 1024;
constexpr uint32_t kMaxBatch = 64;

constexpr std::string_view kSchemaText = test_support::kStressSchemaText;
constexpr uint64_t kRecord = sizeof(StressRecord);

uint64_t RecordsPerWriter() {
  return test_support::StressRecordsPerWriter(kDefaultRecordsPerWriter);
}

using SequenceChecker = test_support::StressChecker;

TEST(DataLogStressSchemaTest, SchemaMatchesStressRecord) {
  Result<Schema> schema = Schema::Parse(kSchemaText);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  ASSERT_EQ(schema->record_size(), sizeof(StressRecord));
  EXPECT_EQ(schema->Find("seq")->offset, offsetof(StressRecord, seq));
  EXPECT_EQ(schema->Find("writer")->offset, offsetof(StressRecord, writer));
  EXPECT_EQ(schema->Find("payload")->offset, offsetof(StressRecord, payload));
  EXPECT_EQ(schema->Find("check")->offset, offsetof(StressRecord, check));
}

// The parameter is how many blocks are kept pre-allocated ahead of the
// writers: 2 (writers catch up with the allocator now and then) or 0 (they
// are at its edge all the time and take the slow path).
class DataLogStressTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(DataLogStressTest, WritersAndReadersAtOnce) {
  const uint64_t per_writer = RecordsPerWriter();
  const uint64_t total_bytes = per_writer * kWriters * kRecord;
  Result<Schema> schema = Schema::Parse(kSchemaText);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();

  DataLogOptions options;
  options.block_records = kBlockRecords;
  options.preallocate_bytes = uint64_t{GetParam()} * kBlockRecords * kRecord;
  options.max_writers = kWriters + 1;
  options.max_batch_records = kMaxBatch;
  Result<std::unique_ptr<DataLog>> opened = DataLog::Open(*schema, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  DataLog& log = **opened;

  std::atomic<uint32_t> writers_done{0};
  std::atomic<bool> failed{false};
  auto fail = [&](const std::string& what) {
    if (!failed.exchange(true)) ADD_FAILURE() << what;
  };

  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      Result<std::unique_ptr<DataLog::Writer>> writer = log.NewWriter();
      if (!writer.ok()) {
        fail("NewWriter: " + writer.status().ToString());
        writers_done.fetch_add(1, std::memory_order_release);
        return;
      }
      std::mt19937_64 rng(77 + w);
      std::vector<StressRecord> batch(kMaxBatch);
      uint64_t seq = 0;
      uint64_t last_end = 0;
      while (seq < per_writer && !failed.load(std::memory_order_relaxed)) {
        const uint64_t n =
            std::min<uint64_t>(per_writer - seq, 1 + rng() % kMaxBatch);
        for (uint64_t i = 0; i < n; ++i) {
          StressRecord& r = batch[i];
          r.timestamp = 1'700'000'000'000'000'000ull + seq + i;
          r.seq = seq + i;
          r.writer = w;
          for (size_t k = 0; k < sizeof(r.payload); k += 8) {
            uint64_t x = rng();
            std::memcpy(r.payload + k, &x,
                        std::min<size_t>(8, sizeof(r.payload) - k));
          }
          Seal(&r);
        }
        Result<uint64_t> offset = (*writer)->Append(batch.data(), n * kRecord);
        if (!offset.ok()) {
          fail("writer " + std::to_string(w) + ": " +
               offset.status().ToString());
          break;
        }
        if (*offset < last_end || *offset % kRecord != 0 ||
            *offset + n * kRecord > total_bytes) {
          fail("writer " + std::to_string(w) + ": batch at offset " +
               std::to_string(*offset) + " after one ending at " +
               std::to_string(last_end));
          break;
        }
        last_end = *offset + n * kRecord;
        seq += n;
      }
      writers_done.fetch_add(1, std::memory_order_release);
    });
  }

  std::vector<SequenceChecker> checkers(kReaders, SequenceChecker(kWriters));
  std::vector<uint64_t> scans(kReaders, 0);
  for (uint32_t reader = 0; reader < kReaders; ++reader) {
    threads.emplace_back([&, reader] {
      SequenceChecker& checker = checkers[reader];
      std::mt19937_64 rng(500 + reader);
      std::vector<StressRecord> buffer(300);
      uint64_t pos = 0;
      uint64_t last_tail = 0;
      auto idle_since = std::chrono::steady_clock::now();
      while (!failed.load(std::memory_order_relaxed)) {
        // The flag first: once every writer is done, the tail loaded after
        // it must be the final one.
        const bool done =
            writers_done.load(std::memory_order_acquire) == kWriters;
        const uint64_t tail = log.read_tail();
        const uint64_t write_tail = log.write_tail();
        if (tail < last_tail) {
          fail("readTail went back from " + std::to_string(last_tail) + " to " +
               std::to_string(tail));
          break;
        }
        if (tail > write_tail || tail % kRecord != 0) {
          fail("readTail " + std::to_string(tail) + " with writeTail " +
               std::to_string(write_tail));
          break;
        }
        last_tail = tail;
        if (tail == pos) {
          if (done) {
            if (pos == total_bytes) break;
            if (std::chrono::steady_clock::now() - idle_since >
                std::chrono::seconds(5)) {
              fail("every writer is done but readTail is stuck at " +
                   std::to_string(pos) + " of " + std::to_string(total_bytes));
              break;
            }
          }
          std::this_thread::yield();
          continue;
        }
        idle_since = std::chrono::steady_clock::now();
        ++scans[reader];
        // Reader 0 always scans with ForEach; reader 1 mixes in ReadBatch
        // with random batch sizes.
        if (reader == 0 || rng() % 2 == 0) {
          Status s =
              log.ForEach(pos, tail, [&](uint64_t off, const uint8_t* r) {
                return checker.Check(off, r);
              });
          if (!checker.error().empty()) {
            fail("reader " + std::to_string(reader) + ": " + checker.error());
            break;
          }
          if (!s.ok()) {
            fail("ForEach [" + std::to_string(pos) + ", " +
                 std::to_string(tail) + "): " + s.ToString());
            break;
          }
        } else {
          uint64_t off = pos;
          while (off < tail && checker.error().empty()) {
            size_t want = 1 + rng() % buffer.size();
            size_t count = 0;
            Status s = log.ReadBatch(off, tail, want, buffer.data(), &count);
            if (!s.ok() || count == 0) {
              fail("ReadBatch at " + std::to_string(off) + ": " + s.ToString() +
                   ", count " + std::to_string(count));
              break;
            }
            for (size_t i = 0; i < count; ++i, off += kRecord) {
              if (!checker.Check(
                      off, reinterpret_cast<const uint8_t*>(&buffer[i]))) {
                break;
              }
            }
          }
          if (!checker.error().empty()) {
            fail("reader " + std::to_string(reader) + ": " + checker.error());
            break;
          }
        }
        pos = tail;
        // A random record already seen reads back intact.
        StressRecord r;
        const uint64_t probe = rng() % (pos / kRecord) * kRecord;
        Status s = log.Read(probe, &r);
        if (!s.ok() || !Intact(reinterpret_cast<const uint8_t*>(&r))) {
          fail("Read " + std::to_string(probe) + ": " + s.ToString());
          break;
        }
      }
    });
  }

  const auto start = std::chrono::steady_clock::now();
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  ASSERT_FALSE(failed.load());

  EXPECT_EQ(log.write_tail(), total_bytes);
  EXPECT_EQ(log.read_tail(), total_bytes);
  for (uint32_t reader = 0; reader < kReaders; ++reader) {
    EXPECT_EQ(checkers[reader].records(), per_writer * kWriters)
        << "reader " << reader;
    for (uint32_t w = 0; w < kWriters; ++w) {
      EXPECT_EQ(checkers[reader].next(w), per_writer)
          << "reader " << reader << " writer " << w;
    }
  }
  // A last full pass on this thread.
  SequenceChecker final_pass(kWriters);
  Status s = log.ForEach(
      0, log.read_tail(),
      [&](uint64_t off, const uint8_t* r) { return final_pass.Check(off, r); });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(final_pass.error().empty()) << final_pass.error();
  EXPECT_EQ(final_pass.records(), per_writer * kWriters);

  DataLogStats stats = log.stats();
  EXPECT_EQ(stats.write_tail, total_bytes);
  EXPECT_EQ(stats.read_tail, total_bytes);
  EXPECT_GE(stats.blocks_live * log.block_bytes(), total_bytes);
  std::printf(
      "preallocate %u blocks, %u writers x %llu records, %u readers: %.2f s, "
      "%.1f M records/s; "
      "reader scans %llu/%llu; blocks %llu, alloc stalls %llu\n",
      GetParam(), kWriters, static_cast<unsigned long long>(per_writer),
      kReaders, seconds, per_writer * kWriters / seconds / 1e6,
      static_cast<unsigned long long>(scans[0]),
      static_cast<unsigned long long>(scans[1]),
      static_cast<unsigned long long>(stats.blocks_live),
      static_cast<unsigned long long>(stats.alloc_stalls));
}

INSTANTIATE_TEST_SUITE_P(Preallocate, DataLogStressTest,
                         ::testing::Values(2u, 0u));

}  // namespace
}  // namespace loupe
