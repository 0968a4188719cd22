// Filter and aggregate logs with writers and readers at once. Writers claim
// batches of offsets on a real Tails (the data log's two tails, without
// the record bytes), append each matching record to a FilterLog and to
// COUNT, SUM, MAX and HIST AggregateLogs, publish the aggregates, and only
// then complete the batch, as the multilog does. A record's timestamp,
// match and value are functions of its offset, so readers know the exact
// answer for any snapshot: they load readTail (or reuse one they held for
// a while), query random windows (half of them at the moving end, where
// writers are), recompute stale cells from the filter log
// (the multilog's fallback), and check that every value equals brute force
// over the records below the snapshot: no torn, missing or extra value.
// Also run under ThreadSanitizer (scripts/test.sh), scaled down;
// LOUPE_STRESS_RECORDS sets the records per writer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "multilog/aggregate_log.h"
#include "multilog/filter_log.h"
#include "multilog/histogram.h"
#include "multilog/tails.h"
#include "tests/support/sanitizers.h"
#include "tests/support/stress.h"

namespace loupe {
namespace {

constexpr uint64_t kDefaultRecordsPerWriter =
    test_support::kUnderThreadSanitizer ? 600'000 : 4'000'000;
constexpr uint32_t kWriters = 3;
constexpr uint32_t kReaders = 2;
constexpr uint64_t kRecord = 64;
constexpr uint64_t kBucketNs = 50'000;  // ~750 records per bucket
constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;
constexpr uint64_t kNsPerRecord = 67;  // 15 M records/s
constexpr uint64_t kJitterNs = 3'000;
constexpr uint64_t kMaxBatch = 64;

uint64_t RecordsPerWriter() {
  return test_support::StressRecordsPerWriter(kDefaultRecordsPerWriter);
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// The record with index i (offset i * kRecord).
uint64_t TimestampOf(uint64_t i) {
  return kT0 + i * kNsPerRecord + Mix(i) % kJitterNs;
}
bool Matches(uint64_t i) { return Mix(i ^ 0x5555) % 4 != 0; }
uint64_t ValueOf(uint64_t i) {
  const uint64_t r = Mix(i ^ 0xaaaa);
  return r % 100 < 45 ? 64 + r % 4 : r % 100 < 90 ? 1514 : 64 + r % 1455;
}

struct Logs {
  FilterLog filter{kBucketNs, kWriters, 0};
  AggregateLog count{AggregateKind::kCount, kBucketNs, kWriters, 0};
  AggregateLog sum{AggregateKind::kSum, kBucketNs, kWriters, 0};
  AggregateLog max{AggregateKind::kMax, kBucketNs, kWriters, 0};
  AggregateLog hist{AggregateKind::kHist, kBucketNs, kWriters, 0};
};

using Buckets = std::vector<std::tuple<double, double, uint64_t>>;
Buckets BucketsOf(const Histogram& h) {
  Buckets out;
  h.ForEachBucket(
      [&](double l, double u, uint64_t c) { out.emplace_back(l, u, c); });
  return out;
}

struct ReaderStats {
  uint64_t checks = 0;
  uint64_t stale = 0;
  uint64_t offsets = 0;
};

// One check: buckets [b0, b1] at `snapshot`. Returns an error or "".
// Queries first, while the snapshot is fresh and writers are busy at its
// edge; brute force afterwards.
std::string Check(const Logs& logs, uint64_t b0, uint64_t b1, uint64_t snapshot,
                  ReaderStats* stats) {
  const uint64_t t0 = b0 * kBucketNs, t1 = (b1 + 1) * kBucketNs;

  // The aggregates, with stale cells recomputed from the filter log.
  auto get = [&](const AggregateLog& log) {
    std::vector<StaleCell> stale;
    AggregateValue v = log.Get(t0, t1, snapshot, &stale);
    stats->stale += stale.size();
    for (const auto& [bucket, writer] : stale) {
      logs.filter.ForEachOfWriter(bucket, writer, snapshot, [&](uint64_t o) {
        v.AddU64(log.kind(), ValueOf(o / kRecord));
      });
    }
    return v;
  };
  const AggregateValue count = get(logs.count);
  const AggregateValue sum = get(logs.sum);
  const AggregateValue max = get(logs.max);
  const AggregateValue hist = get(logs.hist);
  std::vector<std::pair<uint64_t, uint64_t>> got_offsets;  // bucket, offset
  logs.filter.ForEach(t0, t1, snapshot, [&](uint64_t offset, uint64_t b) {
    got_offsets.emplace_back(b, offset);
  });

  // Brute force over the record indexes that can land in the window.
  const uint64_t below = snapshot / kRecord;
  const uint64_t lo_ts = t0 > kT0 + kJitterNs ? t0 - kT0 - kJitterNs : 0;
  const uint64_t lo = lo_ts / kNsPerRecord;
  const uint64_t hi = std::min(below, (t1 - kT0) / kNsPerRecord + 1);
  std::vector<std::pair<uint64_t, uint64_t>> want_offsets;
  AggregateValue want = AggregateValue::Empty(AggregateKind::kHist);
  for (uint64_t i = lo; i < hi; ++i) {
    const uint64_t b = TimestampOf(i) / kBucketNs;
    if (b < b0 || b > b1 || !Matches(i)) continue;
    want_offsets.emplace_back(b, i * kRecord);
    want.AddU64(AggregateKind::kHist, ValueOf(i));
  }
  std::sort(want_offsets.begin(), want_offsets.end());

  if (got_offsets != want_offsets) {
    return "filter log: " + std::to_string(got_offsets.size()) +
           " offsets, expected " + std::to_string(want_offsets.size());
  }
  stats->offsets += got_offsets.size();
  if (count.count != want.count) {
    return "COUNT " + std::to_string(count.count) + ", expected " +
           std::to_string(want.count);
  }
  if (sum.count != want.count || sum.sum != want.sum) {
    return "SUM " + std::to_string(sum.sum) + ", expected " +
           std::to_string(want.sum);
  }
  if (max.count != want.count || max.max != want.max) {
    return "MAX " + std::to_string(max.max) + ", expected " +
           std::to_string(want.max);
  }
  if (hist.count != want.count || hist.sum != want.sum ||
      hist.min != want.min || hist.max != want.max) {
    return "HIST totals: count " + std::to_string(hist.count) + ", expected " +
           std::to_string(want.count);
  }
  if (BucketsOf(*hist.hist) != BucketsOf(*want.hist)) {
    return "HIST buckets differ";
  }
  ++stats->checks;
  return "";
}

TEST(AggregateLogStressTest, WritersAndReadersAtOnce) {
  const uint64_t per_writer = RecordsPerWriter();
  Tails tails(0, kWriters);
  tails.SetSlotsInUse(kWriters);
  Logs logs;
  std::atomic<uint32_t> writers_done{0};
  std::atomic<bool> failed{false};
  auto fail = [&](const std::string& what) {
    if (!failed.exchange(true)) ADD_FAILURE() << what;
  };

  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(31 + w);
      uint64_t done = 0;
      while (done < per_writer && !failed.load(std::memory_order_relaxed)) {
        const uint64_t n = std::min(per_writer - done, 1 + rng() % kMaxBatch);
        tails.Announce(w);
        const uint64_t offset = tails.ClaimFetchAdd(w, n * kRecord);
        for (uint64_t k = 0; k < n; ++k) {
          const uint64_t i = offset / kRecord + k;
          if (!Matches(i)) continue;
          const uint64_t ts = TimestampOf(i);
          const uint64_t v = ValueOf(i);
          logs.filter.Append(w, ts, i * kRecord);
          logs.count.Add(w, ts, 0);
          logs.sum.AddU64(w, ts, v);
          logs.max.Add(w, ts, static_cast<double>(v));
          logs.hist.AddU64(w, ts, v);
        }
        // Now and then a writer stalls mid-batch: readers meet histograms
        // being changed and versions not yet published.
        if (rng() % 32 == 0) std::this_thread::yield();
        const uint64_t end = offset + n * kRecord;
        logs.count.Publish(w, end);
        logs.sum.Publish(w, end);
        logs.max.Publish(w, end);
        logs.hist.Publish(w, end);
        if (rng() % 32 == 0) std::this_thread::yield();
        tails.Complete(w);  // now readers may see the batch
        done += n;
      }
      writers_done.fetch_add(1, std::memory_order_release);
    });
  }
  std::vector<ReaderStats> stats(kReaders);
  for (uint32_t r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937_64 rng(77 + r);
      uint64_t held = 0;  // a snapshot kept a while, as a frozen one is
      while (writers_done.load(std::memory_order_acquire) < kWriters &&
             !failed.load(std::memory_order_relaxed)) {
        uint64_t snapshot = tails.read_tail();
        if (rng() % 4 == 0 && held != 0) {
          snapshot = held;
        } else if (rng() % 16 == 0) {
          held = snapshot;
        }
        const uint64_t records = snapshot / kRecord;
        if (records < 1000) continue;
        const uint64_t last = TimestampOf(records) / kBucketNs;
        const uint64_t first = kT0 / kBucketNs;
        // Mostly a few buckets; now and then hundreds, which HIST answers
        // from its 8- and 128-bucket group cells.
        const uint64_t width = rng() % 32 == 0 ? rng() % 400 : rng() % 8;
        // Half at the moving end, half anywhere before it.
        uint64_t b1 = rng() % 2 ? last + 1 : first + rng() % (last - first + 1);
        const uint64_t b0 = b1 > first + width ? b1 - width : first;
        const std::string error = Check(logs, b0, b1, snapshot, &stats[r]);
        if (!error.empty()) {
          fail("reader " + std::to_string(r) + ", snapshot " +
               std::to_string(snapshot) + ", buckets " + std::to_string(b0) +
               ".." + std::to_string(b1) + ": " + error);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_FALSE(failed.load());

  // At the end: the whole log, nothing stale.
  const uint64_t snapshot = tails.read_tail();
  ASSERT_EQ(snapshot, per_writer * kWriters * kRecord);
  ReaderStats final_stats;
  const uint64_t first = kT0 / kBucketNs;
  const uint64_t last = TimestampOf(snapshot / kRecord) / kBucketNs;
  // In slices, to keep the brute force's vectors small.
  for (uint64_t b = first; b <= last; b += 200) {
    const std::string error =
        Check(logs, b, std::min(last, b + 199), snapshot, &final_stats);
    ASSERT_EQ(error, "") << "final check at bucket " << b;
  }
  EXPECT_EQ(final_stats.stale, 0u);

  ReaderStats total;
  for (const ReaderStats& s : stats) {
    total.checks += s.checks;
    total.stale += s.stale;
    total.offsets += s.offsets;
  }
  std::printf(
      "%llu records; readers: %llu checks, %llu offsets, %llu stale cells "
      "recomputed; memory: filter %.2f B/entry, COUNT %.2f, HIST %.2f "
      "B/record\n",
      static_cast<unsigned long long>(snapshot / kRecord),
      static_cast<unsigned long long>(total.checks),
      static_cast<unsigned long long>(total.offsets),
      static_cast<unsigned long long>(total.stale),
      static_cast<double>(logs.filter.memory_bytes()) /
          static_cast<double>(logs.filter.Count(0, ~0ull, snapshot)),
      static_cast<double>(logs.count.memory_bytes()) / (snapshot / kRecord),
      static_cast<double>(logs.hist.memory_bytes()) / (snapshot / kRecord));
  EXPECT_GT(total.checks, 0u);
}

}  // namespace
}  // namespace loupe
