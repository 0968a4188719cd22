// Histogram: quantiles against an exact sort on several distributions,
// exact totals, merging, bucket iteration, copies and memory.
#include "multilog/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace loupe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kQuantiles[] = {0,    0.001, 0.01, 0.1,   0.25,   0.5,
                             0.75, 0.9,   0.99, 0.999, 0.9999, 1};

// Checks every quantile of `h` against the sorted values, within the
// documented bound (and so within 1%).
void ExpectQuantiles(const Histogram& h, std::vector<double> values,
                     const std::string& what) {
  std::sort(values.begin(), values.end());
  ASSERT_EQ(h.count(), values.size()) << what;
  for (double q : kQuantiles) {
    const uint64_t rank = Histogram::NearestRank(q, values.size());
    const double exact = values[rank - 1];
    const double estimate = h.Quantile(q);
    const double bound =
        std::abs(exact) * Histogram::kMaxRelativeError * (1 + 1e-12);
    EXPECT_LE(std::abs(estimate - exact), bound)
        << what << ": q=" << q << " exact=" << exact
        << " estimate=" << estimate;
    EXPECT_LE(std::abs(estimate - exact), std::abs(exact) * 0.01)
        << what << ": q=" << q;
  }
}

std::vector<std::pair<std::string, std::vector<double>>> Distributions() {
  std::mt19937_64 rng(12345);
  const size_t n = 200'000;
  std::vector<std::pair<std::string, std::vector<double>>> out;
  {
    std::uniform_real_distribution<double> d(0, 1e6);
    std::vector<double> v(n);
    for (double& x : v) x = d(rng);
    out.emplace_back("uniform", std::move(v));
  }
  {
    std::lognormal_distribution<double> d(3, 2);
    std::vector<double> v(n);
    for (double& x : v) x = d(rng);
    out.emplace_back("lognormal", std::move(v));
  }
  {
    // Frame sizes: ACKs, full MTU and a spread between, all integers.
    std::vector<double> v(n);
    for (double& x : v) {
      const uint64_t r = rng() % 100;
      x = r < 45   ? 64 + static_cast<double>(rng() % 4)
          : r < 90 ? 1514 + static_cast<double>(rng() % 5)
                   : 64 + static_cast<double>(rng() % 1455);
    }
    out.emplace_back("packet_sizes", std::move(v));
  }
  {
    std::exponential_distribution<double> d(1e-3);
    std::vector<double> v(n);
    for (double& x : v) x = rng() % 10 < 3 ? 0 : std::floor(d(rng));
    out.emplace_back("with_zeros", std::move(v));
  }
  {
    std::normal_distribution<double> d(0, 1000);
    std::vector<double> v(n);
    for (double& x : v) x = d(rng);
    out.emplace_back("negatives", std::move(v));
  }
  {
    // 24 decades, both signs, and zeros.
    std::uniform_real_distribution<double> e(-6, 18);
    std::vector<double> v(n);
    for (double& x : v) {
      const uint64_t r = rng() % 20;
      x = r == 0 ? 0 : std::pow(10.0, e(rng)) * (r < 5 ? -1 : 1);
    }
    out.emplace_back("wide_range", std::move(v));
  }
  return out;
}

TEST(HistogramTest, EmptyHistogram) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.sum(), 0);
  EXPECT_EQ(h.min(), kInf);
  EXPECT_EQ(h.max(), -kInf);
  EXPECT_TRUE(std::isnan(h.Quantile(0.5)));
  int buckets = 0;
  h.ForEachBucket([&](double, double, uint64_t) { ++buckets; });
  EXPECT_EQ(buckets, 0);
  EXPECT_LE(h.memory_bytes(), 256u);
}

TEST(HistogramTest, NearestRank) {
  EXPECT_EQ(Histogram::NearestRank(0, 10), 1u);
  EXPECT_EQ(Histogram::NearestRank(0.1, 10), 1u);
  EXPECT_EQ(Histogram::NearestRank(0.11, 10), 2u);
  EXPECT_EQ(Histogram::NearestRank(0.5, 10), 5u);
  EXPECT_EQ(Histogram::NearestRank(0.51, 10), 6u);
  EXPECT_EQ(Histogram::NearestRank(1, 10), 10u);
  EXPECT_EQ(Histogram::NearestRank(2, 10), 10u);
  EXPECT_EQ(Histogram::NearestRank(-1, 10), 1u);
  EXPECT_EQ(Histogram::NearestRank(0.5, 1), 1u);
}

TEST(HistogramTest, SingleValueIsExact) {
  for (double v : {0.0, 1.0, -1.0, 1500.0, 3.25e-7, -9.5e12}) {
    Histogram h;
    h.Add(v);
    for (double q : kQuantiles) EXPECT_EQ(h.Quantile(q), v) << v;
    EXPECT_EQ(h.min(), v);
    EXPECT_EQ(h.max(), v);
  }
}

TEST(HistogramTest, QuantilesWithinBound) {
  for (const auto& [name, values] : Distributions()) {
    Histogram h;
    for (double v : values) h.Add(v);
    ExpectQuantiles(h, values, name);
  }
}

TEST(HistogramTest, TotalsAreExact) {
  for (const auto& [name, values] : Distributions()) {
    Histogram h;
    double sum = 0;
    for (double v : values) {
      h.Add(v);
      sum += v;
    }
    EXPECT_EQ(h.count(), values.size()) << name;
    EXPECT_EQ(h.sum(), sum) << name;
    EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
    EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  }
}

TEST(HistogramTest, Integers) {
  std::mt19937_64 rng(7);
  Histogram h;
  std::vector<double> values;
  for (int i = 0; i < 100'000; ++i) {
    // Spread over every bit width.
    const uint64_t v = rng() >> (rng() % 64);
    h.AddU64(v);
    values.push_back(static_cast<double>(v));
  }
  h.AddU64(0);
  h.AddU64(std::numeric_limits<uint64_t>::max());
  values.push_back(0);
  values.push_back(static_cast<double>(std::numeric_limits<uint64_t>::max()));
  ExpectQuantiles(h, values, "u64");
}

TEST(HistogramTest, SmallIntegersHaveTheirOwnBuckets) {
  // Below 128 every integer is a bucket of its own: quantiles are exact.
  Histogram h;
  std::vector<double> values;
  for (uint64_t v = 0; v < 128; ++v) {
    for (uint64_t k = 0; k <= v % 7; ++k) {
      h.AddU64(v);
      values.push_back(static_cast<double>(v));
    }
  }
  std::sort(values.begin(), values.end());
  for (double q : kQuantiles) {
    EXPECT_EQ(h.Quantile(q),
              values[Histogram::NearestRank(q, values.size()) - 1])
        << q;
  }
}

TEST(HistogramTest, AddU64BucketsLikeAdd) {
  std::mt19937_64 rng(3);
  Histogram a, b;
  for (int i = 0; i < 50'000; ++i) {
    const uint64_t v = (rng() >> 11) >> (rng() % 53);  // < 2^53: exact
    a.AddU64(v);
    b.Add(static_cast<double>(v));
  }
  std::vector<std::tuple<double, double, uint64_t>> ba, bb;
  a.ForEachBucket(
      [&](double l, double u, uint64_t c) { ba.emplace_back(l, u, c); });
  b.ForEachBucket(
      [&](double l, double u, uint64_t c) { bb.emplace_back(l, u, c); });
  EXPECT_EQ(ba, bb);
}

TEST(HistogramTest, MergeEqualsAddAll) {
  for (const auto& [name, values] : Distributions()) {
    Histogram all;
    Histogram parts[3];
    for (size_t i = 0; i < values.size(); ++i) {
      all.Add(values[i]);
      parts[(i * 7) % 3].Add(values[i]);
    }
    Histogram merged;
    for (const Histogram& p : parts) merged.Merge(p);
    EXPECT_EQ(merged.count(), all.count()) << name;
    EXPECT_EQ(merged.min(), all.min()) << name;
    EXPECT_EQ(merged.max(), all.max()) << name;
    EXPECT_NEAR(merged.sum(), all.sum(),
                1e-9 * std::max(1.0, std::abs(all.sum())) * values.size())
        << name;
    std::vector<std::tuple<double, double, uint64_t>> bm, ba;
    merged.ForEachBucket(
        [&](double l, double u, uint64_t c) { bm.emplace_back(l, u, c); });
    all.ForEachBucket(
        [&](double l, double u, uint64_t c) { ba.emplace_back(l, u, c); });
    EXPECT_EQ(bm, ba) << name;
    for (double q : kQuantiles) {
      EXPECT_EQ(merged.Quantile(q), all.Quantile(q)) << name << " q=" << q;
    }
  }
}

TEST(HistogramTest, MergeWithItself) {
  Histogram h;
  for (int i = 1; i <= 100; ++i) h.Add(i);
  h.Merge(h);
  EXPECT_EQ(h.count(), 200u);
  EXPECT_EQ(h.sum(), 10100);
  EXPECT_EQ(h.Quantile(0.5), 50);
}

TEST(HistogramTest, BucketsCoverEveryValueInOrder) {
  for (const auto& [name, values] : Distributions()) {
    Histogram h;
    for (double v : values) h.Add(v);
    std::vector<std::tuple<double, double, uint64_t>> buckets;
    uint64_t total = 0;
    h.ForEachBucket([&](double lower, double upper, uint64_t count) {
      buckets.emplace_back(lower, upper, count);
      total += count;
    });
    EXPECT_EQ(total, h.count()) << name;
    for (size_t i = 0; i < buckets.size(); ++i) {
      const auto [lower, upper, count] = buckets[i];
      EXPECT_GT(count, 0u);
      EXPECT_LE(lower, upper);
      if (lower != 0 || upper != 0) {
        // Width <= 1/128 of the magnitude.
        EXPECT_LE(upper - lower, std::min(std::abs(lower), std::abs(upper)) /
                                     128 * (1 + 1e-12))
            << name;
      }
      if (i > 0) {
        EXPECT_LE(std::get<1>(buckets[i - 1]), lower) << name;
      }
    }
    // Each value falls in a bucket, and the buckets' counts match.
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    size_t b = 0;
    std::vector<uint64_t> seen(buckets.size());
    for (double v : sorted) {
      auto inside = [&](size_t i) {
        const auto [lower, upper, c] = buckets[i];
        if (lower == 0 && upper == 0) return v == 0;
        return lower < 0 ? (v > lower && v <= upper)
                         : (v >= lower && v < upper);
      };
      while (b < buckets.size() && !inside(b)) ++b;
      ASSERT_LT(b, buckets.size()) << name << ": " << v << " has no bucket";
      ++seen[b];
    }
    for (size_t i = 0; i < buckets.size(); ++i) {
      EXPECT_EQ(seen[i], std::get<2>(buckets[i])) << name << " bucket " << i;
    }
  }
}

TEST(HistogramTest, NanIgnoredInfinityCounted) {
  Histogram h;
  h.Add(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.count(), 0u);
  h.Add(1);
  h.Add(kInf);
  h.Add(-kInf);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.Quantile(0), -kInf);
  EXPECT_EQ(h.Quantile(0.5), 1);
  EXPECT_EQ(h.Quantile(1), kInf);
  std::vector<std::tuple<double, double, uint64_t>> buckets;
  h.ForEachBucket(
      [&](double l, double u, uint64_t c) { buckets.emplace_back(l, u, c); });
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0], std::make_tuple(-kInf, -kInf, uint64_t{1}));
  EXPECT_EQ(buckets[2], std::make_tuple(kInf, kInf, uint64_t{1}));
}

TEST(HistogramTest, CopyMoveAndClear) {
  Histogram h;
  for (int i = 0; i < 1000; ++i) h.Add(i * 1.5 - 100);
  Histogram copy(h);
  EXPECT_EQ(copy.count(), h.count());
  EXPECT_EQ(copy.Quantile(0.37), h.Quantile(0.37));
  Histogram assigned;
  assigned.Add(5);
  assigned = h;
  EXPECT_EQ(assigned.count(), h.count());
  EXPECT_EQ(assigned.Quantile(0.9), h.Quantile(0.9));
  Histogram moved(std::move(copy));
  EXPECT_EQ(moved.count(), 1000u);
  EXPECT_EQ(copy.count(), 0u);  // NOLINT: moved-from is empty by contract
  copy.Add(1);                  // and usable
  EXPECT_EQ(copy.Quantile(0.5), 1);
  assigned = std::move(moved);
  EXPECT_EQ(assigned.Quantile(0.5), h.Quantile(0.5));

  const uint64_t bytes = h.memory_bytes();
  h.Clear();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0);
  EXPECT_TRUE(std::isnan(h.Quantile(0.5)));
  int buckets = 0;
  h.ForEachBucket([&](double, double, uint64_t) { ++buckets; });
  EXPECT_EQ(buckets, 0);
  EXPECT_EQ(h.memory_bytes(), bytes);  // kept for reuse
  h.Add(42);
  EXPECT_EQ(h.Quantile(0.5), 42);
  EXPECT_EQ(h.count(), 1u);
}

TEST(HistogramTest, PacketSizesAreCompact) {
  Histogram h;
  for (uint64_t v = 64; v <= 1518; ++v) h.AddU64(v);
  // Octaves 2^6 .. 2^10: five of them, one group, one directory.
  EXPECT_LE(h.memory_bytes(), 6u * 1024 + 1024);
  std::printf("packet-size histogram: %llu bytes\n",
              static_cast<unsigned long long>(h.memory_bytes()));
}

}  // namespace
}  // namespace loupe
