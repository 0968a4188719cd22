// FilterLog: offsets by bucket and snapshot against a brute-force model,
// the merge of several writers, the delta encoding's edge cases, arena
// blocks, early stops, memory per entry, and a reader racing a writer.
#include "multilog/filter_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <random>
#include <thread>
#include <utility>
#include <vector>

namespace loupe {
namespace {

constexpr uint64_t kBucketNs = 1'000'000;  // 1 ms
constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;
constexpr uint64_t kRecord = 64;

struct Entry {
  uint32_t writer;
  uint64_t ts;
  uint64_t offset;
};

using Visit = std::pair<uint64_t, uint64_t>;  // offset, bucket

std::vector<Visit> Collect(const FilterLog& log, uint64_t t0, uint64_t t1,
                           uint64_t snapshot) {
  std::vector<Visit> out;
  log.ForEach(t0, t1, snapshot, [&](uint64_t offset, uint64_t bucket) {
    out.emplace_back(offset, bucket);
    return true;
  });
  return out;
}

std::vector<Visit> Model(const std::vector<Entry>& entries, uint64_t t0,
                         uint64_t t1, uint64_t snapshot) {
  std::vector<Visit> out;
  if (t1 <= t0) return out;
  const uint64_t b0 = t0 / kBucketNs, b1 = (t1 - 1) / kBucketNs;
  for (const Entry& e : entries) {
    const uint64_t b = e.ts / kBucketNs;
    if (b >= b0 && b <= b1 && e.offset < snapshot)
      out.emplace_back(e.offset, b);
  }
  std::sort(out.begin(), out.end(), [](const Visit& a, const Visit& b) {
    return a.second != b.second ? a.second < b.second : a.first < b.first;
  });
  return out;
}

// Writers take turns appending batches of records at increasing offsets,
// as DataLog writers do; a fraction of the records match. Timestamps run
// at 15 M records/s with some jitter, so a writer's records now and then
// step back into the previous bucket.
struct Workload {
  std::vector<Entry> entries;
  std::vector<uint64_t> batch_ends;  // each a possible snapshot
};

Workload Generate(FilterLog& log, uint32_t writers, uint64_t records,
                  double match, uint64_t jitter_ns, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Workload w;
  uint64_t next = 0;  // record index
  while (next < records) {
    const uint32_t writer = static_cast<uint32_t>(rng() % writers);
    const uint64_t n = std::min<uint64_t>(records - next, 1 + rng() % 64);
    for (uint64_t i = 0; i < n; ++i, ++next) {
      if (std::uniform_real_distribution<double>(0, 1)(rng) >= match) continue;
      const uint64_t ts = kT0 + next * 67 + (jitter_ns ? rng() % jitter_ns : 0);
      const uint64_t offset = next * kRecord;
      log.Append(writer, ts, offset);
      w.entries.push_back({writer, ts, offset});
    }
    w.batch_ends.push_back(next * kRecord);
  }
  return w;
}

TEST(FilterLogTest, Empty) {
  FilterLog log(kBucketNs, 4, 640);
  EXPECT_EQ(log.start_offset(), 640u);
  EXPECT_EQ(log.bucket_ns(), kBucketNs);
  EXPECT_EQ(log.max_writers(), 4u);
  EXPECT_TRUE(Collect(log, 0, ~0ull, ~0ull).empty());
  EXPECT_EQ(log.Count(0, ~0ull, ~0ull), 0u);
  EXPECT_GT(log.memory_bytes(), 0u);
}

TEST(FilterLogTest, SingleWriter) {
  FilterLog log(kBucketNs, 1, 0);
  // Three records in bucket 0, two in bucket 2.
  log.Append(0, 10, 0);
  log.Append(0, 20, 64);
  log.Append(0, 999'999, 192);
  log.Append(0, 2'000'000, 256);
  log.Append(0, 2'500'000, 1024);
  EXPECT_EQ(
      Collect(log, 0, 3'000'000, ~0ull),
      (std::vector<Visit>{{0, 0}, {64, 0}, {192, 0}, {256, 2}, {1024, 2}}));
  // Whole buckets: t0 inside bucket 0 still gives all of it; t1 is
  // exclusive.
  EXPECT_EQ(Collect(log, 500, 1'000'000, ~0ull),
            (std::vector<Visit>{{0, 0}, {64, 0}, {192, 0}}));
  EXPECT_EQ(Collect(log, 1'000'000, 2'000'000, ~0ull), std::vector<Visit>{});
  EXPECT_EQ(Collect(log, 1'000'000, 2'000'001, ~0ull),
            (std::vector<Visit>{{256, 2}, {1024, 2}}));
  EXPECT_EQ(Collect(log, 5, 5, ~0ull), std::vector<Visit>{});
  EXPECT_EQ(Collect(log, 6, 5, ~0ull), std::vector<Visit>{});
  // Snapshots.
  EXPECT_EQ(Collect(log, 0, 3'000'000, 64), (std::vector<Visit>{{0, 0}}));
  EXPECT_EQ(Collect(log, 0, 3'000'000, 256),
            (std::vector<Visit>{{0, 0}, {64, 0}, {192, 0}}));
  EXPECT_EQ(Collect(log, 0, 3'000'000, 0), std::vector<Visit>{});
  EXPECT_EQ(log.Count(0, 3'000'000, 1024), 4u);
  EXPECT_EQ(log.Count(0, 3'000'000, 1025), 5u);
}

TEST(FilterLogTest, MatchesModel) {
  struct Case {
    uint32_t writers;
    double match;
    uint64_t jitter_ns;
  };
  for (const Case& c : {Case{1, 1.0, 0}, Case{3, 0.3, 0}, Case{4, 0.05, 5000},
                        Case{8, 0.7, 200'000}, Case{2, 0.001, 0}}) {
    FilterLog log(kBucketNs, c.writers, 0);
    const Workload w =
        Generate(log, c.writers, 300'000, c.match, c.jitter_ns, c.writers);
    std::mt19937_64 rng(99);
    const uint64_t span = 300'000 * 67;
    for (int trial = 0; trial < 60; ++trial) {
      const uint64_t t0 = kT0 + rng() % span;
      const uint64_t t1 = t0 + rng() % (span / 4);
      const uint64_t snapshot =
          trial % 5 == 0 ? ~0ull : w.batch_ends[rng() % w.batch_ends.size()];
      const std::vector<Visit> expected = Model(w.entries, t0, t1, snapshot);
      ASSERT_EQ(Collect(log, t0, t1, snapshot), expected)
          << "writers " << c.writers << " trial " << trial;
      ASSERT_EQ(log.Count(t0, t1, snapshot), expected.size());
    }
    EXPECT_EQ(Collect(log, 0, ~0ull, ~0ull), Model(w.entries, 0, ~0ull, ~0ull));
  }
}

TEST(FilterLogTest, ForEachOfWriter) {
  FilterLog log(kBucketNs, 3, 0);
  const Workload w = Generate(log, 3, 100'000, 0.5, 3000, 7);
  const uint64_t snapshot = w.batch_ends[w.batch_ends.size() / 2];
  for (uint64_t bucket = kT0 / kBucketNs; bucket < kT0 / kBucketNs + 8;
       ++bucket) {
    for (uint32_t writer = 0; writer < 3; ++writer) {
      std::vector<uint64_t> expected, got;
      for (const Entry& e : w.entries) {
        if (e.writer == writer && e.ts / kBucketNs == bucket &&
            e.offset < snapshot) {
          expected.push_back(e.offset);
        }
      }
      log.ForEachOfWriter(bucket, writer, snapshot,
                          [&](uint64_t offset) { got.push_back(offset); });
      EXPECT_EQ(got, expected) << bucket << "/" << writer;
    }
  }
  int calls = 0;
  log.ForEachOfWriter(1, 0, ~0ull, [&](uint64_t) { ++calls; });  // no bucket
  EXPECT_EQ(calls, 0);
}

TEST(FilterLogTest, DeltaEncodingEdges) {
  FilterLog log(kBucketNs, 1, 0);
  const uint64_t deltas[] = {1,
                             (1u << 15) - 1,  // short
                             1u << 15,        // medium
                             (1u << 15) + 1,
                             (1u << 30) - 1,
                             1u << 30,  // long
                             uint64_t{1} << 32,
                             (uint64_t{1} << 46) - 1,
                             uint64_t{1} << 46,  // a new segment
                             (uint64_t{1} << 46) + 3,
                             64,
                             uint64_t{1} << 50,
                             1,
                             (1u << 20) + 7};
  std::vector<Visit> expected;
  uint64_t offset = 5;
  log.Append(0, 100, offset);
  expected.emplace_back(offset, 0);
  for (uint64_t d : deltas) {
    offset += d;
    log.Append(0, 100, offset);
    expected.emplace_back(offset, 0);
  }
  EXPECT_EQ(Collect(log, 0, kBucketNs, ~0ull), expected);
  // Snapshots cutting between the long entries.
  for (size_t i = 0; i < expected.size(); ++i) {
    std::vector<Visit> prefix(expected.begin(), expected.begin() + i);
    EXPECT_EQ(Collect(log, 0, kBucketNs, expected[i].first), prefix) << i;
  }
}

TEST(FilterLogTest, ManyEntriesAcrossArenaBlocks) {
  // One writer, every record matches, 2 s of 15 M records/s: 30 M entries
  // over 2000 buckets.
  FilterLog log(kBucketNs, 1, 0);
  const uint64_t n = 30'000'000;
  for (uint64_t i = 0; i < n; ++i) log.Append(0, kT0 + i * 67, i * kRecord);
  EXPECT_EQ(log.Count(0, ~0ull, ~0ull), n);
  uint64_t expect = 0;
  bool ok = true;
  log.ForEach(0, ~0ull, ~0ull, [&](uint64_t offset, uint64_t bucket) {
    ok = ok && offset == expect * kRecord &&
         bucket == (kT0 + expect * 67) / kBucketNs;
    ++expect;
    return ok;
  });
  EXPECT_TRUE(ok) << "at entry " << expect;
  EXPECT_EQ(expect, n);
  const double per_entry = static_cast<double>(log.memory_bytes()) / n;
  std::printf("dense filter: %.3f bytes per entry\n", per_entry);
  EXPECT_LT(per_entry, 2.2);
}

TEST(FilterLogTest, EarlyStop) {
  FilterLog log(kBucketNs, 2, 0);
  for (uint64_t i = 0; i < 1000; ++i) {
    log.Append(static_cast<uint32_t>(i / 10 % 2), kT0 + i * 10'000,
               i * kRecord);
  }
  int calls = 0;
  log.ForEach(0, ~0ull, ~0ull,
              [&](uint64_t, uint64_t) { return ++calls < 37; });
  EXPECT_EQ(calls, 37);
  // A void callback sees everything.
  calls = 0;
  log.ForEach(0, ~0ull, ~0ull, [&](uint64_t, uint64_t) { ++calls; });
  EXPECT_EQ(calls, 1000);
}

TEST(FilterLogTest, ReaderRacesWriter) {
  // The writer appends and then publishes a snapshot (release), as a data
  // log's readTail; the reader must always see exactly the entries below.
  FilterLog log(kBucketNs, 1, 0);
  std::atomic<uint64_t> published{0};
  std::atomic<bool> done{false};
  const uint64_t n = 400'000;
  std::thread writer([&] {
    for (uint64_t i = 0; i < n; ++i) {
      if (i % 3 != 2) log.Append(0, kT0 + i * 67, i * kRecord);
      if (i % 16 == 15) {
        published.store((i + 1) * kRecord, std::memory_order_release);
      }
    }
    published.store(n * kRecord, std::memory_order_release);
    done.store(true);
  });
  uint64_t checks = 0;
  while (!done.load() || checks == 0) {
    const uint64_t snapshot = published.load(std::memory_order_acquire);
    uint64_t i = 0;  // the next record index expected
    uint64_t visited = 0;
    bool ok = true;
    log.ForEach(0, ~0ull, snapshot, [&](uint64_t offset, uint64_t) {
      if (i % 3 == 2) ++i;
      ok = offset == i * kRecord;
      ++i;
      ++visited;
      return ok;
    });
    ASSERT_TRUE(ok) << "snapshot " << snapshot << " entry " << i;
    const uint64_t k = snapshot / kRecord;  // records below the snapshot
    ASSERT_EQ(visited, k - k / 3) << "snapshot " << snapshot;
    ++checks;
  }
  writer.join();
  EXPECT_GT(checks, 0u);
}

}  // namespace
}  // namespace loupe
