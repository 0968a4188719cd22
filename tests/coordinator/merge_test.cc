// Network-wide answers from in-process agents on loopback: merged
// aggregates (COUNT, SUM, MIN, MAX, quantiles from bins) and the exact
// top k by TPUT, each against brute force over the union of the records.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "coordinator/fleet/distributed_topk.h"
#include "coordinator/fleet/merge_aggregate.h"
#include "multilog/histogram.h"
#include "tests/support/loopback_agent.h"

namespace loupe::coordinator {
namespace {

using namespace std::chrono_literals;  // NOLINT(build/namespaces)
using test_support::LoopbackAgent;

// timestamp 8, src:u16 at 8, bytes:u32 at 10, delta:i32 at 14.
constexpr char kSchema[] = "src:u16, bytes:u32, delta:i32";
constexpr size_t kRecordSize = 18;

struct Flow {
  uint16_t src;
  uint32_t bytes;
  int32_t delta = 0;
};

std::string Encode(const std::vector<Flow>& flows) {
  std::string out(flows.size() * kRecordSize, '\0');
  for (size_t i = 0; i < flows.size(); ++i) {
    char* r = out.data() + i * kRecordSize;
    const uint64_t ts = 1'000'000 + i;
    std::memcpy(r, &ts, 8);
    std::memcpy(r + 8, &flows[i].src, 2);
    std::memcpy(r + 10, &flows[i].bytes, 4);
    std::memcpy(r + 14, &flows[i].delta, 4);
  }
  return out;
}

struct Fleet {
  explicit Fleet(const std::vector<std::vector<Flow>>& per_host) {
    for (size_t h = 0; h < per_host.size(); ++h) {
      agents.push_back(std::make_unique<LoopbackAgent>());
      LoopbackAgent& a = *agents.back();
      a.Create("flows", kSchema);
      EXPECT_EQ(Schema::Parse(kSchema)->record_size(), kRecordSize);
      a.Add("flows", v1::CONTROL_KIND_FILTER, "every", "bytes >= 0");
      a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "n", "COUNT()", "every");
      a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "total", "SUM(bytes)",
            "every");
      a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "smallest", "MIN(bytes)",
            "every");
      a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "largest", "MAX(bytes)",
            "every");
      a.Add("flows", v1::CONTROL_KIND_AGGREGATE, "p90", "P90(bytes)", "every");
      a.Append("flows", Encode(per_host[h]));
    }
  }
  std::vector<FleetAgent> Handles() {
    std::vector<FleetAgent> out;
    for (size_t i = 0; i < agents.size(); ++i) {
      out.push_back({"hv" + std::to_string(i), &agents[i]->stub()});
    }
    return out;
  }
  std::vector<std::unique_ptr<LoopbackAgent>> agents;
};

v1::GetAggregateResponse Aggregate(LoopbackAgent& a, const std::string& name) {
  v1::GetAggregateRequest req;
  req.set_multilog("flows");
  req.set_name(name);
  req.set_with_bins(true);
  v1::GetAggregateResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = a.stub().GetAggregate(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

std::vector<std::vector<Flow>> RandomHosts(uint64_t seed, int hosts, int n) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<Flow>> out(hosts);
  for (int h = 0; h < hosts; ++h) {
    std::lognormal_distribution<double> size(5 + h, 1);
    for (int i = 0; i < n; ++i) {
      out[h].push_back(Flow{static_cast<uint16_t>(rng() % 50),
                            static_cast<uint32_t>(std::min(size(rng), 1e9))});
    }
  }
  return out;
}

TEST(MergeAggregatesTest, EqualsTheAggregateOfTheUnion) {
  const auto hosts = RandomHosts(3, 3, 3000);
  Fleet fleet(hosts);
  std::vector<double> all;
  for (const auto& h : hosts) {
    for (const Flow& f : h) all.push_back(f.bytes);
  }
  std::sort(all.begin(), all.end());
  double sum = 0;
  for (double v : all) sum += v;
  std::map<std::string, double> exact = {
      {"n", static_cast<double>(all.size())},
      {"total", sum},
      {"smallest", all.front()},
      {"largest", all.back()},
      {"p90", all[Histogram::NearestRank(0.9, all.size()) - 1]},
  };
  for (const auto& [name, want] : exact) {
    std::vector<v1::GetAggregateResponse> answers;
    for (auto& a : fleet.agents) answers.push_back(Aggregate(*a, name));
    std::vector<const v1::GetAggregateResponse*> parts;
    for (const auto& r : answers) parts.push_back(&r);
    v1::GetAggregateResponse merged;
    Status s = MergeAggregates(parts, &merged);
    ASSERT_TRUE(s.ok()) << name << ": " << s.ToString();
    EXPECT_TRUE(merged.has_value());
    EXPECT_EQ(merged.count(), all.size()) << name;
    if (name == "p90") {
      EXPECT_EQ(merged.function(), "QUANTILE");
      EXPECT_EQ(merged.quantile(), 0.9);
      EXPECT_LE(std::abs(merged.value() - want),
                Histogram::kMaxRelativeError * want)
          << merged.value() << " vs " << want;
      EXPECT_EQ(merged.bins().count(), all.size());
    } else {
      EXPECT_EQ(merged.value(), want) << name;
    }
  }
}

TEST(MergeAggregatesTest, RefusesPartsThatDoNotMerge) {
  Fleet fleet(RandomHosts(4, 2, 100));
  v1::GetAggregateResponse count = Aggregate(*fleet.agents[0], "n");
  v1::GetAggregateResponse p90 = Aggregate(*fleet.agents[1], "p90");
  v1::GetAggregateResponse merged;
  EXPECT_EQ(MergeAggregates({&count, &p90}, &merged).code(),
            Status::Code::kFailedPrecondition);
  v1::GetAggregateResponse no_bins = p90;
  no_bins.clear_bins();
  EXPECT_EQ(MergeAggregates({&p90, &no_bins}, &merged).code(),
            Status::Code::kFailedPrecondition);
  v1::GetAggregateResponse forged = p90;
  forged.mutable_bins()->set_count(forged.bins().count() + 1);
  forged.set_count(forged.bins().count());
  EXPECT_EQ(MergeAggregates({&p90, &forged}, &merged).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(MergeAggregates({}, &merged).code(),
            Status::Code::kFailedPrecondition);
}

// ---------------------------------------------------------------------------
// TopK

v1::GetTopKRequest TopKRequest(uint32_t k, const std::string& value) {
  v1::GetTopKRequest req;
  req.set_multilog("flows");
  req.add_key_columns("src");
  req.set_value(value);
  req.set_k(k);
  return req;
}

// The exact top k of the union: (value, src) by value, ties by key text.
std::vector<std::pair<double, std::string>> BruteTopK(
    const std::vector<std::vector<Flow>>& hosts, uint32_t k, bool sum) {
  std::map<std::string, double> totals;
  for (const auto& h : hosts) {
    for (const Flow& f : h) {
      totals[std::to_string(f.src)] += sum ? f.bytes : 1;
    }
  }
  std::vector<std::pair<double, std::string>> all;
  for (const auto& [key, v] : totals) all.emplace_back(v, key);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (all.size() > k) all.resize(k);
  return all;
}

// Hosts whose local top keys are not the global ones: each host has a few
// keys heavy there only, and key 999 is moderate on every host and first
// overall.
std::vector<std::vector<Flow>> AdversarialHosts(int hosts) {
  std::vector<std::vector<Flow>> out(hosts);
  for (int h = 0; h < hosts; ++h) {
    for (int local = 0; local < 3; ++local) {
      const uint16_t key = static_cast<uint16_t>(100 * h + local);
      for (int i = 0; i < 300 - 10 * local; ++i) out[h].push_back({key, 10});
    }
    for (int i = 0; i < 200; ++i) out[h].push_back({999, 10});
    for (uint16_t tail = 0; tail < 400; ++tail) {
      out[h].push_back({static_cast<uint16_t>(2000 + tail), 10});
      if (tail % 3 == 0)
        out[h].push_back({static_cast<uint16_t>(2000 + tail), 10});
    }
  }
  return out;
}

void ExpectTopK(const DistributedTopK& got,
                const std::vector<std::pair<double, std::string>>& want,
                size_t k) {
  ASSERT_EQ(got.top.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got.top[i].value(), want[i].first) << i;
    ASSERT_EQ(got.top[i].key().values_size(), 1);
    EXPECT_EQ(got.top[i].key().values(0), want[i].second) << i;
  }
  EXPECT_EQ(got.kth_value, want.size() == k ? want.back().first : 0);
}

TEST(DistributedTopKTest, ThreeRoundsGiveTheExactTopKOfTheUnion) {
  const auto hosts = AdversarialHosts(4);
  Fleet fleet(hosts);
  for (uint32_t k : {1u, 3u, 5u, 20u}) {
    for (bool sum : {false, true}) {
      Result<DistributedTopK> got = TopKAcross(
          fleet.Handles(), TopKRequest(k, sum ? "bytes" : ""), false, 5s);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ExpectTopK(*got, BruteTopK(hosts, k, sum), k);
      EXPECT_GE(got->rounds, 2u);
      EXPECT_FALSE(got->partial);
      uint64_t records = 0;
      for (const auto& h : hosts) records += h.size();
      EXPECT_EQ(got->records, records);
      std::printf("k %u %s: %llu candidates in round 3\n", k,
                  sum ? "SUM(bytes)" : "count",
                  static_cast<unsigned long long>(got->candidates));
    }
  }
  // The global first is nobody's local first.
  Result<DistributedTopK> one =
      TopKAcross(fleet.Handles(), TopKRequest(1, ""), false, 5s);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->top[0].key().values(0), "999");
  EXPECT_EQ(one->top[0].count(), 800u);
}

TEST(DistributedTopKTest, RandomFleetsAgreeWithBruteForce) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const auto hosts = RandomHosts(seed, 3, 2000);
    Fleet fleet(hosts);
    for (uint32_t k : {1u, 7u, 60u}) {
      Result<DistributedTopK> got =
          TopKAcross(fleet.Handles(), TopKRequest(k, "bytes"), false, 5s);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ExpectTopK(*got, BruteTopK(hosts, k, true), k);
    }
  }
}

TEST(DistributedTopKTest, FewKeysNeedOneRound) {
  std::vector<std::vector<Flow>> hosts = {{{1, 5}, {2, 6}}, {{2, 1}, {3, 9}}};
  Fleet fleet(hosts);
  Result<DistributedTopK> got =
      TopKAcross(fleet.Handles(), TopKRequest(10, "bytes"), false, 5s);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->rounds, 1u);
  ExpectTopK(*got, BruteTopK(hosts, 10, true), 10);
}

// A signed column's sums: key 1 is first on host 0 but -100 on host 1, so
// partial sums are no lower bounds; answered from every key instead.
TEST(DistributedTopKTest, SignedSumsAreExactFromEveryKey) {
  std::vector<std::vector<Flow>> hosts(2);
  for (uint16_t key = 1; key <= 30; ++key) {
    hosts[0].push_back({key, 0, key == 1 ? 50 : static_cast<int32_t>(key)});
    hosts[1].push_back({key, 0, key == 1 ? -100 : 1});
  }
  Fleet fleet(hosts);
  Result<DistributedTopK> got =
      TopKAcross(fleet.Handles(), TopKRequest(2, "delta"), false, 5s);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->rounds, 1u);
  ASSERT_EQ(got->top.size(), 2u);
  EXPECT_EQ(got->top[0].key().values(0), "30");
  EXPECT_EQ(got->top[0].value(), 31);
  EXPECT_EQ(got->top[1].key().values(0), "29");
}

TEST(DistributedTopKTest, AHostThatIsGoneFailsOrIsLeftOut) {
  const auto hosts = AdversarialHosts(3);
  Fleet fleet(hosts);
  fleet.agents[2]->Stop();
  Result<DistributedTopK> got =
      TopKAcross(fleet.Handles(), TopKRequest(3, ""), false, 2s);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("hv2"), std::string::npos)
      << got.status().ToString();
  got = TopKAcross(fleet.Handles(), TopKRequest(3, ""), true, 2s);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->partial);
  ASSERT_EQ(got->excluded.size(), 1u);
  EXPECT_NE(got->excluded[0].find("hv2"), std::string::npos);
  ExpectTopK(*got, BruteTopK({hosts[0], hosts[1]}, 3, false), 3);
}

}  // namespace
}  // namespace loupe::coordinator
