// TimeIndex: lookups, ordered range walks that skip empty parts, racing
// creators, and that destruction frees every T.
#include "multilog/time_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <thread>
#include <vector>

namespace loupe {
namespace {

std::atomic<int64_t> live{0};

struct Counted {
  explicit Counted(uint64_t k = 0) : key(k) { live.fetch_add(1); }
  ~Counted() { live.fetch_sub(1); }
  uint64_t key;
  std::atomic<uint64_t> hits{0};
};

constexpr uint64_t kNow = 1'700'000'000'000;  // ms since the epoch

TEST(TimeIndexTest, FindAndGetOrCreate) {
  TimeIndex<Counted> index;
  EXPECT_EQ(index.Find(kNow), nullptr);
  EXPECT_EQ(index.size(), 0u);
  Counted* a = index.GetOrCreate(kNow, kNow);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->key, kNow);
  EXPECT_EQ(index.GetOrCreate(kNow, uint64_t{99}), a);  // not rebuilt
  EXPECT_EQ(index.Find(kNow), a);
  EXPECT_EQ(index.Find(kNow + 1), nullptr);
  EXPECT_EQ(index.Find(kNow - 1), nullptr);
  EXPECT_EQ(index.size(), 1u);
}

TEST(TimeIndexTest, ExtremeKeys) {
  TimeIndex<Counted> index;
  const uint64_t keys[] = {0,
                           1,
                           255,
                           256,
                           uint64_t{1} << 40,
                           std::numeric_limits<uint64_t>::max() - 1,
                           std::numeric_limits<uint64_t>::max()};
  for (uint64_t k : keys) index.GetOrCreate(k, k);
  for (uint64_t k : keys) {
    ASSERT_NE(index.Find(k), nullptr) << k;
    EXPECT_EQ(index.Find(k)->key, k);
  }
  std::vector<uint64_t> seen;
  index.ForEach(0, std::numeric_limits<uint64_t>::max(),
                [&](uint64_t b, Counted& c) {
                  EXPECT_EQ(b, c.key);
                  seen.push_back(b);
                });
  EXPECT_EQ(seen, std::vector<uint64_t>(std::begin(keys), std::end(keys)));
  std::vector<uint64_t> reverse;
  index.ForEachReverse(0, std::numeric_limits<uint64_t>::max(),
                       [&](uint64_t b, Counted&) { reverse.push_back(b); });
  EXPECT_EQ(reverse, std::vector<uint64_t>(std::rbegin(keys), std::rend(keys)));
}

TEST(TimeIndexTest, RangeWalksMatchAModel) {
  std::mt19937_64 rng(5);
  TimeIndex<Counted> index;
  std::map<uint64_t, Counted*> model;
  // Mostly contiguous runs with gaps, as time buckets are.
  uint64_t b = kNow;
  for (int i = 0; i < 5000; ++i) {
    b += rng() % 10 == 0 ? 1 + rng() % 2000 : 1;
    model[b] = index.GetOrCreate(b, b);
  }
  for (int trial = 0; trial < 300; ++trial) {
    const uint64_t lo = kNow + rng() % (b - kNow + 100);
    const uint64_t hi = lo + rng() % 3000;
    std::vector<uint64_t> expected;
    for (auto it = model.lower_bound(lo); it != model.end() && it->first <= hi;
         ++it) {
      expected.push_back(it->first);
    }
    std::vector<uint64_t> forward;
    EXPECT_TRUE(index.ForEach(lo, hi, [&](uint64_t k, Counted& c) {
      EXPECT_EQ(&c, model[k]);
      forward.push_back(k);
    }));
    EXPECT_EQ(forward, expected) << lo << ".." << hi;
    std::vector<uint64_t> backward;
    index.ForEachReverse(lo, hi,
                         [&](uint64_t k, Counted&) { backward.push_back(k); });
    EXPECT_EQ(backward,
              std::vector<uint64_t>(expected.rbegin(), expected.rend()));
  }
  // Empty and inverted ranges.
  int calls = 0;
  index.ForEach(kNow - 1000, kNow, [&](uint64_t, Counted&) { ++calls; });
  index.ForEach(b + 1, b + 100000, [&](uint64_t, Counted&) { ++calls; });
  index.ForEach(kNow + 10, kNow + 5, [&](uint64_t, Counted&) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(TimeIndexTest, EarlyStop) {
  TimeIndex<Counted> index;
  for (uint64_t b = 0; b < 1000; ++b) index.GetOrCreate(kNow + b);
  int calls = 0;
  EXPECT_FALSE(index.ForEach(kNow, kNow + 999, [&](uint64_t b, Counted&) {
    ++calls;
    return b < kNow + 300;
  }));
  EXPECT_EQ(calls, 301);
  calls = 0;
  EXPECT_FALSE(index.ForEachReverse(
      kNow, kNow + 999, [&](uint64_t, Counted&) { return ++calls < 5; }));
  EXPECT_EQ(calls, 5);
}

TEST(TimeIndexTest, DestructionFreesEverything) {
  live = 0;
  {
    TimeIndex<Counted> index;
    for (uint64_t b = 0; b < 3000; b += 3) index.GetOrCreate(kNow + b * 977);
    EXPECT_EQ(live.load(), 1000);
    EXPECT_EQ(index.size(), 1000u);
    EXPECT_GT(index.memory_bytes(), 0u);
  }
  EXPECT_EQ(live.load(), 0);
}

TEST(TimeIndexTest, ConcurrentGetOrCreate) {
  live = 0;
  constexpr int kThreads = 4;
  constexpr uint64_t kBuckets = 20000;
  std::vector<std::vector<Counted*>> got(kThreads,
                                         std::vector<Counted*>(kBuckets));
  {
    TimeIndex<Counted> index;
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) {
        }
        // Each thread walks the same buckets, some in another order, so
        // they race on nodes and on Ts; a reader walks at the same time.
        for (uint64_t i = 0; i < kBuckets; ++i) {
          const uint64_t k = t % 2 == 0 ? i : kBuckets - 1 - i;
          Counted* c = index.GetOrCreate(kNow + k * 7, kNow + k * 7);
          c->hits.fetch_add(1, std::memory_order_relaxed);
          got[t][k] = c;
          if (i % 1000 == 0) {
            uint64_t prev = 0;
            index.ForEach(kNow, kNow + kBuckets * 7,
                          [&](uint64_t b, Counted& x) {
                            EXPECT_LT(prev, b);
                            EXPECT_EQ(x.key, b);
                            prev = b;
                          });
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(index.size(), kBuckets);
    EXPECT_EQ(live.load(), static_cast<int64_t>(kBuckets));  // losers deleted
    for (uint64_t k = 0; k < kBuckets; ++k) {
      for (int t = 1; t < kThreads; ++t) ASSERT_EQ(got[t][k], got[0][k]) << k;
      EXPECT_EQ(got[0][k]->hits.load(), static_cast<uint64_t>(kThreads));
      EXPECT_EQ(index.Find(kNow + k * 7), got[0][k]);
    }
  }
  EXPECT_EQ(live.load(), 0);
}

TEST(TimeIndexTest, OneSecondWalkIsFast) {
  // 1 ms buckets for one minute; walk one second (1000 buckets). Prints the
  // time; asserts only a generous bound (sanitizer builds are slow).
  TimeIndex<Counted> index;
  for (uint64_t b = 0; b < 60'000; ++b) index.GetOrCreate(kNow + b);
  uint64_t visited = 0;
  const int kRounds = 1000;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < kRounds; ++r) {
    const uint64_t lo = kNow + 1000 * (r % 59);
    index.ForEach(lo, lo + 999, [&](uint64_t, Counted&) { ++visited; });
  }
  const double ns = std::chrono::duration<double, std::nano>(
                        std::chrono::steady_clock::now() - start)
                        .count() /
                    kRounds;
  EXPECT_EQ(visited, uint64_t{1000} * kRounds);
  std::printf("1 s walk (1000 buckets): %.0f ns\n", ns);
  EXPECT_LT(ns, 1e6);
}

}  // namespace
}  // namespace loupe
