// Retention while writers and readers run: two writers append without
// pause to an in-memory DataLog that keeps a small window, while two
// readers keep scanning from head() to readTail. Blocks are retired and
// recycled under the readers' feet; RCU must keep every record a reader is
// handed intact. A reader may run into the head (ForEach or ReadBatch
// returns kExpired) and then skips ahead, but whatever it was given must be
// whole and in order; a third reader chases the head, reading the block that
// is about to be retired. Run under AddressSanitizer too.
// LOUPE_STRESS_SECONDS sets how long the writers run.
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
#include "tests/support/stress.h"

namespace loupe {
namespace {

constexpr uint32_t kWriters = 2;
constexpr uint32_t kReaders = 2;
constexpr uint32_t kBlockRecords = 1024;
constexpr uint32_t kMaxBatch = 64;
constexpr uint64_t kWindowBlocks = 8;
constexpr double kDefaultSeconds = 4.0;

using test_support::Fnv1a;
using test_support::StressRecord;
constexpr std::string_view kSchemaText = test_support::kStressSchemaText;
constexpr size_t kChecked = test_support::kStressChecked;
constexpr uint64_t kRecord = sizeof(StressRecord);
constexpr uint64_t kBlockBytes = kBlockRecords * kRecord;

using WindowChecker = test_support::StressChecker;

TEST(RetentionStressTest, ReadersScanWhileBlocksRetire) {
  Result<Schema> schema = Schema::Parse(kSchemaText);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  ASSERT_EQ(schema->record_size(), sizeof(StressRecord));
  ASSERT_EQ(schema->Find("check")->offset, kChecked);

  DataLogOptions options;
  options.block_records = kBlockRecords;
  options.preallocate_bytes = 2 * kBlockBytes;
  options.max_writers = kWriters;
  options.max_batch_records = kMaxBatch;
  options.retention.max_bytes = kWindowBlocks * kBlockBytes;
  Result<std::unique_ptr<DataLog>> opened = DataLog::Open(*schema, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  DataLog& log = **opened;
  const uint64_t memory_at_open = log.stats().memory_bytes;

  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  auto fail = [&](const std::string& what) {
    if (!failed.exchange(true)) ADD_FAILURE() << what;
  };

  std::vector<uint64_t> appended(kWriters, 0);
  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      Result<std::unique_ptr<DataLog::Writer>> writer = log.NewWriter();
      if (!writer.ok()) {
        fail("NewWriter: " + writer.status().ToString());
        return;
      }
      std::mt19937_64 rng(31 + w);
      std::vector<StressRecord> batch(kMaxBatch);
      uint64_t seq = 0;
      uint64_t last_end = 0;
      while (!stop.load(std::memory_order_relaxed) &&
             !failed.load(std::memory_order_relaxed)) {
        const uint64_t n = 1 + rng() % kMaxBatch;
        const uint64_t now = test_support::WallClockNs();
        for (uint64_t i = 0; i < n; ++i) {
          StressRecord& r = batch[i];
          r.timestamp = now;
          r.seq = seq + i;
          r.writer = w;
          for (size_t k = 0; k < sizeof(r.payload); k += 8) {
            uint64_t x = rng();
            std::memcpy(r.payload + k, &x,
                        std::min<size_t>(8, sizeof(r.payload) - k));
          }
          r.check = Fnv1a(reinterpret_cast<const uint8_t*>(&r), kChecked);
        }
        Result<uint64_t> offset = (*writer)->Append(batch.data(), n * kRecord);
        if (!offset.ok()) {
          fail("writer " + std::to_string(w) + ": " +
               offset.status().ToString());
          break;
        }
        if (*offset < last_end) {
          fail("writer " + std::to_string(w) + ": batch at " +
               std::to_string(*offset) + " before its previous end " +
               std::to_string(last_end));
          break;
        }
        last_end = *offset + n * kRecord;
        seq += n;
      }
      appended[w] = seq;
    });
  }

  std::vector<WindowChecker> checkers(kReaders, WindowChecker(kWriters));
  std::vector<uint64_t> scans(kReaders, 0);
  std::vector<uint64_t> expirations(kReaders, 0);
  for (uint32_t reader = 0; reader < kReaders; ++reader) {
    threads.emplace_back([&, reader] {
      WindowChecker& checker = checkers[reader];
      std::mt19937_64 rng(900 + reader);
      std::vector<StressRecord> buffer(256);
      uint64_t pos = 0;
      uint64_t last_tail = 0;
      uint64_t last_head = 0;
      while (!stop.load(std::memory_order_relaxed) &&
             !failed.load(std::memory_order_relaxed)) {
        const uint64_t tail = log.read_tail();
        const uint64_t head = log.head();
        if (tail < last_tail || head < last_head) {
          fail("readTail " + std::to_string(last_tail) + " -> " +
               std::to_string(tail) + ", head " + std::to_string(last_head) +
               " -> " + std::to_string(head));
          break;
        }
        if (head % kBlockBytes != 0 || tail % kRecord != 0) {
          fail("head " + std::to_string(head) + ", readTail " +
               std::to_string(tail));
          break;
        }
        last_tail = tail;
        last_head = head;
        if (pos < head) {
          pos = head;
          checker.Skipped();
        }
        if (pos >= tail) {
          std::this_thread::yield();
          continue;
        }
        ++scans[reader];
        uint64_t next = pos;  // one past the last record handed over
        Status s;
        // Reader 0 scans with ForEach; reader 1 with ReadBatch in small
        // batches, pausing now and then so that it falls behind the head.
        if (reader == 0) {
          s = log.ForEach(pos, tail, [&](uint64_t off, const uint8_t* r) {
            if (!checker.Check(off, r)) return false;
            next = off + kRecord;
            return true;
          });
        } else {
          while (next < tail && checker.error().empty()) {
            size_t count = 0;
            s = log.ReadBatch(next, tail, 1 + rng() % buffer.size(),
                              buffer.data(), &count);
            for (size_t i = 0; i < count; ++i) {
              if (!checker.Check(
                      next, reinterpret_cast<const uint8_t*>(&buffer[i]))) {
                break;
              }
              next += kRecord;
            }
            if (!s.ok()) break;
            if (count == 0) {
              s = Status::Internal("ReadBatch returned no records");
              break;
            }
            if (rng() % 64 == 0) {
              std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
          }
        }
        if (!checker.error().empty()) {
          fail("reader " + std::to_string(reader) + ": " + checker.error());
          break;
        }
        if (s.code() == Status::Code::kExpired) {
          ++expirations[reader];
          if (log.head() <= next) {
            fail("kExpired at " + std::to_string(next) +
                 " but head() is only " + std::to_string(log.head()) + ": " +
                 s.ToString());
            break;
          }
        } else if (!s.ok()) {
          fail("reader " + std::to_string(reader) + " at " +
               std::to_string(next) + ": " + s.ToString());
          break;
        } else if (next != tail) {
          fail("scan of [" + std::to_string(pos) + ", " + std::to_string(tail) +
               ") stopped at " + std::to_string(next));
          break;
        }
        pos = next;

        // A random record in the window reads back intact or expired.
        StressRecord r;
        const uint64_t h = log.head();
        if (h < tail) {
          const uint64_t probe = h + rng() % ((tail - h) / kRecord) * kRecord;
          Status rs = log.Read(probe, &r);
          if (rs.ok()) {
            uint64_t check =
                Fnv1a(reinterpret_cast<const uint8_t*>(&r), kChecked);
            if (check != r.check) {
              fail("Read(" + std::to_string(probe) +
                   ") returned a torn record");
              break;
            }
          } else if (rs.code() != Status::Code::kExpired) {
            fail("Read(" + std::to_string(probe) + "): " + rs.ToString());
            break;
          }
        }
      }
    });
  }

  // The head chaser: always scans the oldest block, the next one to be
  // retired, and slowly (each record is hashed several times and must not
  // change in between), so retention keeps retiring blocks under it. Only
  // the RCU grace period keeps a recycled block from being rewritten while
  // it looks.
  uint64_t chaser_scans = 0;
  uint64_t chaser_records = 0;
  threads.emplace_back([&] {
    while (!stop.load(std::memory_order_relaxed) &&
           !failed.load(std::memory_order_relaxed)) {
      const uint64_t tail = log.read_tail();
      const uint64_t head = log.head();
      const uint64_t end = std::min(tail, head + kBlockBytes);
      if (head >= end) {
        std::this_thread::yield();
        continue;
      }
      ++chaser_scans;
      WindowChecker checker(kWriters);
      checker.Skipped();
      bool changed = false;
      uint64_t bad_offset = 0;
      Status s = log.ForEach(head, end, [&](uint64_t off, const uint8_t* r) {
        if (!checker.Check(off, r)) return false;
        uint64_t stored;
        std::memcpy(&stored, r + kChecked, sizeof(stored));
        for (int round = 0; round < 8; ++round) {
          if (Fnv1a(r, kChecked) != stored) {
            changed = true;
            bad_offset = off;
            return false;
          }
        }
        ++chaser_records;
        return true;
      });
      if (!checker.error().empty()) {
        fail("head chaser: " + checker.error());
        break;
      }
      if (changed) {
        fail("head chaser: record at " + std::to_string(bad_offset) +
             " changed while it was being read");
        break;
      }
      if (!s.ok() && s.code() != Status::Code::kExpired) {
        fail("head chaser: " + s.ToString());
        break;
      }
    }
  });

  // Watch memory while it runs.
  uint64_t max_memory = 0;
  uint64_t max_live = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto run_for = std::chrono::duration<double>(
      test_support::StressSeconds(kDefaultSeconds));
  while (std::chrono::steady_clock::now() - start < run_for && !failed.load()) {
    DataLogStats stats = log.stats();
    max_memory = std::max(max_memory, stats.memory_bytes);
    max_live = std::max(max_live, stats.blocks_live);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  ASSERT_FALSE(failed.load());

  uint64_t total_records = 0;
  for (uint64_t n : appended) total_records += n;
  const uint64_t total_bytes = total_records * kRecord;
  EXPECT_EQ(log.write_tail(), total_bytes);
  EXPECT_EQ(log.read_tail(), total_bytes);
  EXPECT_GT(total_bytes, 2 * options.retention.max_bytes)
      << "the writers should have gone round the window several times";

  // Once retention has caught up, the window is at most max_bytes plus the
  // block being filled.
  const uint64_t tail = log.read_tail();
  EXPECT_TRUE([&] {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (tail - log.head() > options.retention.max_bytes + kBlockBytes) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }()) << "head "
       << log.head() << ", readTail " << tail;
  DataLogStats stats = log.stats();
  EXPECT_EQ(stats.head % kBlockBytes, 0u);
  EXPECT_GT(stats.blocks_retired, 0u);
  EXPECT_GT(stats.blocks_recycled, 0u);
  if (stats.blocks_retired > 200) {
    EXPECT_LT(stats.blocks_allocated, stats.blocks_retired / 2)
        << "most blocks should be recycled, not fresh";
  }
  const uint64_t memory_bound = memory_at_open + options.retention.max_bytes +
                                options.preallocate_bytes + 8 * kBlockBytes;
  EXPECT_LE(stats.memory_bytes, memory_bound);

  // A last pass over the window on this thread.
  WindowChecker final_pass(kWriters);
  final_pass.Skipped();
  Status s = log.ForEach(log.head(), tail, [&](uint64_t off, const uint8_t* r) {
    return final_pass.Check(off, r);
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(final_pass.error().empty()) << final_pass.error();

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "%.1f s: %llu records (%.1f M/s), window %llu blocks; retired %llu, "
      "recycled %llu, fresh %llu, max live %llu, memory max %llu KiB "
      "(bound %llu KiB); reader records %llu/%llu, scans %llu/%llu, "
      "expired %llu/%llu; head chaser scans %llu, records %llu\n",
      seconds, static_cast<unsigned long long>(total_records),
      total_records / seconds / 1e6,
      static_cast<unsigned long long>(kWindowBlocks),
      static_cast<unsigned long long>(stats.blocks_retired),
      static_cast<unsigned long long>(stats.blocks_recycled),
      static_cast<unsigned long long>(stats.blocks_allocated),
      static_cast<unsigned long long>(max_live),
      static_cast<unsigned long long>(max_memory >> 10),
      static_cast<unsigned long long>(memory_bound >> 10),
      static_cast<unsigned long long>(checkers[0].records()),
      static_cast<unsigned long long>(checkers[1].records()),
      static_cast<unsigned long long>(scans[0]),
      static_cast<unsigned long long>(scans[1]),
      static_cast<unsigned long long>(expirations[0]),
      static_cast<unsigned long long>(expirations[1]),
      static_cast<unsigned long long>(chaser_scans),
      static_cast<unsigned long long>(chaser_records));
}

}  // namespace
}  // namespace loupe
