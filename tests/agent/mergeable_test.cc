// Mergeable answers (issue 13, section 3) over real in-process services on
// loopback: GetAggregate's histogram bins from two agents merged into the
// quantile of the union; GetTopK and GetGroupBy against brute force over
// Read of every record of the window; their argument errors; and paged
// ExecuteFilter resuming at its token's offset.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"
#include "multilog/breakdown.h"
#include "multilog/histogram.h"
#include "multilog/histogram_merge.h"
#include "multilog/schema.h"
#include "multilog/value_text.h"
#include "tests/support/loopback_agent.h"

namespace loupe::agent {
namespace {

constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr char kSchema[] = "src:u8, port:u16, bytes:u32, host:string(4)";

// One in-process agent on a free loopback port, its multilogs of kSchema.
class Agent : public test_support::LoopbackAgent {
 public:
  void Create(const std::string& name) { LoopbackAgent::Create(name, kSchema); }
};

const Schema& TheSchema() {
  static const Schema schema = *Schema::Parse(kSchema);
  return schema;
}

const Column& Col(const std::string& name) { return *TheSchema().Find(name); }

// n random records over [kBaseNs, kBaseNs + 1 s), in random time order.
std::string RandomRecords(std::mt19937_64& rng, int n, int sources) {
  static const char* kHosts[] = {"a", "bb", "ccc", "dddd"};
  static const uint16_t kPorts[] = {22, 53, 80, 443, 8080};
  const Schema& schema = TheSchema();
  std::string out;
  std::string rec(schema.record_size(), '\0');
  for (int i = 0; i < n; ++i) {
    std::fill(rec.begin(), rec.end(), '\0');
    const uint64_t ts = kBaseNs + rng() % (1000 * kMs);
    const uint8_t src = static_cast<uint8_t>(rng() % sources);
    const uint16_t port = kPorts[rng() % 5];
    const uint32_t bytes = static_cast<uint32_t>(rng() % 1500);
    const char* host = kHosts[rng() % 4];
    std::memcpy(rec.data(), &ts, 8);
    std::memcpy(rec.data() + Col("src").offset, &src, 1);
    std::memcpy(rec.data() + Col("port").offset, &port, 2);
    std::memcpy(rec.data() + Col("bytes").offset, &bytes, 4);
    std::memcpy(rec.data() + Col("host").offset, host, std::strlen(host));
    out += rec;
  }
  return out;
}

uint64_t Ts(const std::string& rec) {
  uint64_t ts;
  std::memcpy(&ts, rec.data(), 8);
  return ts;
}

double Num(const std::string& rec, const std::string& column) {
  return ReadNumber(Col(column), reinterpret_cast<const uint8_t*>(rec.data()));
}

// The nearest-rank q-quantile of `values` (sorted in place).
double ExactQuantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[Histogram::NearestRank(q, values.size()) - 1];
}

// ---------------------------------------------------------------------------
// Histogram bins

TEST(HistogramBinsTest, MergedBinsAnswerTheUnionWithinTheBound) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(5, 2);
  Histogram a, b, both;
  std::vector<double> all;
  for (int i = 0; i < 20000; ++i) {
    double v = dist(rng) * (i % 7 == 0 ? -1 : 1);
    if (i % 101 == 0) v = 0;
    (i % 3 == 0 ? a : b).Add(v);
    both.Add(v);
    all.push_back(v);
  }
  HistogramMerger merger;
  ASSERT_TRUE(merger.Add(BinsOf(a)).ok());
  ASSERT_TRUE(merger.Add(BinsOf(b)).ok());
  EXPECT_EQ(merger.merged().count(), all.size());
  for (double q : {0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    // Exactly what one host holding every value answers...
    EXPECT_EQ(merger.Quantile(q), both.Quantile(q)) << q;
    // ... and so within its bound of the exact quantile.
    const double exact = ExactQuantile(all, q);
    EXPECT_LE(std::abs(merger.Quantile(q) - exact),
              Histogram::kMaxRelativeError * std::abs(exact))
        << q;
  }
}

TEST(HistogramBinsTest, RefusesOtherLayoutsBadBinsAndCounts) {
  Histogram h;
  h.AddU64(5);
  HistogramBins bins = BinsOf(h);
  HistogramMerger merger;
  HistogramBins other = bins;
  other.layout = 2;
  EXPECT_EQ(merger.Add(other).code(), Status::Code::kInvalidArgument);
  other = bins;
  other.bins[0].first = Histogram::kMaxBin + 1;
  EXPECT_EQ(merger.Add(other).code(), Status::Code::kInvalidArgument);
  other = bins;
  other.count = 2;
  EXPECT_EQ(merger.Add(other).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(merger.merged().empty());
  ASSERT_TRUE(merger.Add(bins).ok());
  EXPECT_EQ(merger.Quantile(0.5), 5);
}

TEST(HistogramBinsTest, TwoAgentsBinsMergeIntoTheQuantileOfTheUnion) {
  Agent one, two;
  std::mt19937_64 rng(11);
  std::vector<double> all;
  for (Agent* agent : {&one, &two}) {
    agent->Create("flows");
    agent->Add("flows", v1::CONTROL_KIND_FILTER, "every", "bytes >= 0");
    agent->Add("flows", v1::CONTROL_KIND_AGGREGATE, "p99", "P99(bytes)",
               "every");
    const std::string records =
        RandomRecords(rng, agent == &one ? 3000 : 5000, 10);
    agent->Append("flows", records);
    for (const std::string& r : agent->ReadAll("flows")) {
      all.push_back(Num(r, "bytes"));
    }
  }
  HistogramMerger merger;
  for (Agent* agent : {&one, &two}) {
    v1::GetAggregateRequest req;
    req.set_multilog("flows");
    req.set_name("p99");
    req.set_with_bins(true);
    v1::GetAggregateResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = agent->stub().GetAggregate(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    const v1::MergeableHistogram& m = resp.bins();
    EXPECT_EQ(m.layout(), Histogram::kLayout);
    EXPECT_EQ(m.sub_bucket_bits(), 7u);
    ASSERT_EQ(m.bins_size(), m.counts_size());
    EXPECT_TRUE(m.integral());
    HistogramBins part;
    part.layout = m.layout();
    for (int i = 0; i < m.bins_size(); ++i) {
      part.bins.emplace_back(m.bins(i), m.counts(i));
    }
    part.count = m.count();
    part.sum = m.sum();
    part.min = m.min();
    part.max = m.max();
    part.integral = m.integral();
    ASSERT_TRUE(merger.Add(part).ok());
  }
  ASSERT_EQ(merger.merged().count(), all.size());
  for (double q : {0.5, 0.9, 0.99}) {
    const double exact = ExactQuantile(all, q);
    EXPECT_LE(std::abs(merger.Quantile(q) - exact),
              Histogram::kMaxRelativeError * exact)
        << q;
  }
  // Without with_bins, no bins.
  v1::GetAggregateRequest req;
  req.set_multilog("flows");
  req.set_name("p99");
  v1::GetAggregateResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(one.stub().GetAggregate(&ctx, req, &resp).ok());
  EXPECT_FALSE(resp.has_bins());
}

// ---------------------------------------------------------------------------
// TopK and GroupBy against brute force

struct Expected {
  std::string key;  // bytes
  std::vector<std::string> text;
  double value = 0;
  uint64_t count = 0;
  std::vector<double> values;
};

std::vector<std::string> KeyTextOf(const std::string& rec,
                                   const std::vector<std::string>& columns) {
  std::vector<std::string> out;
  for (const std::string& c : columns) {
    out.push_back(ValueText(Col(c),
                            reinterpret_cast<const uint8_t*>(rec.data()),
                            ValueStyle::kLiteral));
  }
  return out;
}

std::string KeyBytesOf(const std::string& rec,
                       const std::vector<std::string>& columns) {
  std::string out;
  for (const std::string& c : columns) {
    out += rec.substr(Col(c).offset, Col(c).width);
  }
  return out;
}

// The records of [t0, t1) passing `pass`.
template <typename Pass>
std::vector<std::string> Window(const std::vector<std::string>& all,
                                uint64_t t0, uint64_t t1, Pass pass) {
  std::vector<std::string> out;
  for (const std::string& r : all) {
    if (Ts(r) >= t0 && Ts(r) < t1 && pass(r)) out.push_back(r);
  }
  return out;
}

std::vector<Expected> BruteTopK(const std::vector<std::string>& records,
                                const std::vector<std::string>& columns,
                                const std::string& value) {
  std::map<std::string, Expected> by_key;
  for (const std::string& r : records) {
    Expected& e = by_key[KeyBytesOf(r, columns)];
    e.key = KeyBytesOf(r, columns);
    e.text = KeyTextOf(r, columns);
    e.value += value.empty() ? 1.0 : Num(r, value);
    ++e.count;
  }
  std::vector<Expected> out;
  for (auto& [k, e] : by_key) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const Expected& a, const Expected& b) {
    return a.value != b.value ? a.value > b.value : a.key < b.key;
  });
  return out;
}

class BreakdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_.Create("flows");
    agent_.Add("flows", v1::CONTROL_KIND_FILTER, "big", "bytes > 500");
    std::mt19937_64 rng(3);
    agent_.Append("flows", RandomRecords(rng, 20000, 40));
    all_ = agent_.ReadAll("flows");
    ASSERT_EQ(all_.size(), 20000u);
  }

  v1::GetTopKResponse TopK(const v1::GetTopKRequest& req,
                           grpc::Status* status = nullptr) {
    v1::GetTopKResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = agent_.stub().GetTopK(&ctx, req, &resp);
    if (status != nullptr) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return resp;
  }
  v1::GetGroupByResponse GroupBy(const v1::GetGroupByRequest& req,
                                 grpc::Status* status = nullptr) {
    v1::GetGroupByResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = agent_.stub().GetGroupBy(&ctx, req, &resp);
    if (status != nullptr) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return resp;
  }

  Agent agent_;
  std::vector<std::string> all_;
};

struct FilterCase {
  std::string filter;
  bool (*pass)(const std::string&);
};

const FilterCase kFilters[] = {
    {"", [](const std::string&) { return true; }},
    {"big", [](const std::string& r) { return Num(r, "bytes") > 500; }},
    {"port == 80 || bytes < 100",
     [](const std::string& r) {
       return Num(r, "port") == 80 || Num(r, "bytes") < 100;
     }},
};

TEST_F(BreakdownTest, TopKEqualsBruteForce) {
  const uint64_t t0 = kBaseNs + 100 * kMs, t1 = kBaseNs + 800 * kMs;
  const std::vector<std::vector<std::string>> keyings = {
      {"src"}, {"port"}, {"src", "port"}, {"host", "port", "src"}};
  int checked = 0;
  for (const FilterCase& f : kFilters) {
    const std::vector<std::string> records = Window(all_, t0, t1, f.pass);
    for (const auto& columns : keyings) {
      for (const std::string value : {"", "bytes"}) {
        const std::vector<Expected> brute = BruteTopK(records, columns, value);
        for (uint32_t k : {1u, 5u, 10000u}) {
          v1::GetTopKRequest req;
          req.set_multilog("flows");
          for (const auto& c : columns) req.add_key_columns(c);
          req.set_value(value);
          req.set_filter(f.filter);
          req.set_t0_ns(t0);
          req.set_t1_ns(t1);
          req.set_k(k);
          const v1::GetTopKResponse r = TopK(req);
          SCOPED_TRACE("filter '" + f.filter + "' value '" + value + "' k " +
                       std::to_string(k) + " columns " +
                       std::to_string(columns.size()));
          ASSERT_EQ(static_cast<size_t>(r.top_size()),
                    std::min<size_t>(k, brute.size()));
          for (int i = 0; i < r.top_size(); ++i) {
            EXPECT_EQ(std::vector<std::string>(r.top(i).key().values().begin(),
                                               r.top(i).key().values().end()),
                      brute[i].text);
            EXPECT_EQ(r.top(i).value(), brute[i].value);
            EXPECT_EQ(r.top(i).count(), brute[i].count);
          }
          EXPECT_EQ(r.records(), records.size());
          EXPECT_EQ(r.distinct_keys(), brute.size());
          EXPECT_EQ(r.passing(), brute.size());
          EXPECT_EQ(r.more(), brute.size() > k);
          EXPECT_EQ(r.kth_value(), brute.size() >= k ? brute[k - 1].value : 0);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 3 * 4 * 2 * 3);
}

TEST_F(BreakdownTest, TopKMinValueAndExactKeys) {
  const std::vector<std::string> records =
      Window(all_, 0, UINT64_MAX, [](const std::string&) { return true; });
  const std::vector<Expected> brute =
      BruteTopK(records, {"src", "host"}, "bytes");
  ASSERT_GT(brute.size(), 40u);
  // min_value between the 30th and 31st values: 30 keys pass.
  const double min_value = brute[29].value;
  ASSERT_GT(brute[29].value, brute[30].value);
  v1::GetTopKRequest req;
  req.set_multilog("flows");
  req.add_key_columns("src");
  req.add_key_columns("host");
  req.set_value("bytes");
  req.set_k(10);
  req.set_min_value(min_value);
  // Three existing keys (one outside the top 10) and one no record has.
  for (size_t i : {size_t{0}, size_t{20}, brute.size() - 1}) {
    v1::KeyText* key = req.add_keys();
    for (const std::string& t : brute[i].text) key->add_values(t);
  }
  v1::KeyText* missing = req.add_keys();
  missing->add_values("200");
  missing->add_values("'zz'");
  v1::GetTopKResponse r = TopK(req);
  EXPECT_EQ(r.passing(), 30u);
  EXPECT_TRUE(r.more());
  EXPECT_EQ(r.kth_value(), brute[9].value);
  ASSERT_EQ(r.keys_size(), 4);
  EXPECT_EQ(r.keys(0).value(), brute[0].value);
  EXPECT_EQ(r.keys(1).value(), brute[20].value);
  EXPECT_EQ(r.keys(2).value(), brute.back().value);
  EXPECT_EQ(r.keys(2).count(), brute.back().count);
  EXPECT_TRUE(r.keys(2).found());
  EXPECT_FALSE(r.keys(3).found());
  EXPECT_EQ(r.keys(3).value(), 0);

  // k = 30 with the same min_value: all that pass, and no more.
  req.set_k(30);
  r = TopK(req);
  EXPECT_EQ(r.top_size(), 30);
  EXPECT_FALSE(r.more());
  EXPECT_EQ(r.kth_value(), min_value);
  // k larger than the distinct keys.
  req.clear_min_value();
  req.set_k(10000);
  r = TopK(req);
  EXPECT_EQ(static_cast<size_t>(r.top_size()), brute.size());
  EXPECT_FALSE(r.more());
  EXPECT_EQ(r.kth_value(), 0);
}

TEST_F(BreakdownTest, GroupByEqualsBruteForce) {
  const uint64_t t0 = kBaseNs + 50 * kMs, t1 = kBaseNs + 950 * kMs;
  const std::vector<std::string> aggregates = {
      "COUNT()",    "SUM(bytes)", "MIN(bytes)",
      "MAX(bytes)", "P50(bytes)", "QUANTILE(bytes, 0.9)"};
  for (const FilterCase& f : kFilters) {
    const std::vector<std::string> records = Window(all_, t0, t1, f.pass);
    for (uint64_t bucket_ns : {uint64_t{0}, 100 * kMs}) {
      const std::vector<std::string> columns = {"port", "host"};
      struct Group {
        std::vector<std::string> text;
        std::vector<double> bytes;
      };
      std::map<std::string, Group> groups;  // key bytes + big-endian bucket
      for (const std::string& r : records) {
        std::string key = KeyBytesOf(r, columns);
        if (bucket_ns != 0) {
          const uint64_t b = Ts(r) / bucket_ns;
          for (int i = 0; i < 8; ++i)
            key += static_cast<char>(b >> (56 - 8 * i));
        }
        groups[key].text = KeyTextOf(r, columns);
        groups[key].bytes.push_back(Num(r, "bytes"));
      }
      v1::GetGroupByRequest req;
      req.set_multilog("flows");
      for (const auto& c : columns) req.add_key_columns(c);
      for (const auto& a : aggregates) req.add_aggregates(a);
      req.set_filter(f.filter);
      req.set_t0_ns(t0);
      req.set_t1_ns(t1);
      req.set_bucket_ns(bucket_ns);
      const v1::GetGroupByResponse r = GroupBy(req);
      SCOPED_TRACE("filter '" + f.filter + "' bucket " +
                   std::to_string(bucket_ns));
      ASSERT_EQ(static_cast<size_t>(r.rows_size()), groups.size());
      EXPECT_EQ(r.groups(), groups.size());
      EXPECT_EQ(r.records(), records.size());
      EXPECT_FALSE(r.truncated());
      size_t i = 0;
      for (const auto& [key, g] : groups) {
        const v1::GroupByRow& row = r.rows(static_cast<int>(i++));
        EXPECT_EQ(std::vector<std::string>(row.key().values().begin(),
                                           row.key().values().end()),
                  g.text);
        const double n = static_cast<double>(g.bytes.size());
        double sum = 0;
        Histogram h;
        for (double v : g.bytes) {
          sum += v;
          h.Add(v);
        }
        ASSERT_EQ(row.values_size(), 6);
        EXPECT_EQ(row.count(), g.bytes.size());
        EXPECT_EQ(row.values(0), n);
        EXPECT_EQ(row.values(1), sum);
        EXPECT_EQ(row.values(2),
                  *std::min_element(g.bytes.begin(), g.bytes.end()));
        EXPECT_EQ(row.values(3),
                  *std::max_element(g.bytes.begin(), g.bytes.end()));
        EXPECT_EQ(row.values(4), h.Quantile(0.5));
        EXPECT_EQ(row.values(5), h.Quantile(0.9));
        const double exact = ExactQuantile(g.bytes, 0.9);
        EXPECT_LE(std::abs(row.values(5) - exact),
                  Histogram::kMaxRelativeError * exact);
        if (bucket_ns != 0) {
          uint64_t b = 0;
          for (int j = 0; j < 8; ++j) {
            b = (b << 8) | static_cast<uint8_t>(key[key.size() - 8 + j]);
          }
          EXPECT_EQ(row.bucket_start_ns(), b * bucket_ns);
        }
      }
    }
  }
}

TEST_F(BreakdownTest, GroupByLimitTruncates) {
  v1::GetGroupByRequest req;
  req.set_multilog("flows");
  req.add_key_columns("src");
  req.add_aggregates("COUNT()");
  req.set_limit(7);
  const v1::GetGroupByResponse r = GroupBy(req);
  EXPECT_EQ(r.rows_size(), 7);
  EXPECT_TRUE(r.truncated());
  EXPECT_EQ(r.groups(), 40u);
}

TEST_F(BreakdownTest, BadArgumentsAreInvalidArgument) {
  auto topk = [&](auto edit) {
    v1::GetTopKRequest req;
    req.set_multilog("flows");
    req.add_key_columns("src");
    req.set_k(10);
    edit(req);
    grpc::Status s;
    TopK(req, &s);
    return s;
  };
  grpc::Status s = topk([](v1::GetTopKRequest& r) {
    for (const char* c : {"port", "bytes", "host", "src"}) r.add_key_columns(c);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("1 to 4"), std::string::npos);
  s = topk([](v1::GetTopKRequest& r) { r.set_key_columns(0, "prot"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("did you mean 'port'"), std::string::npos)
      << s.error_message();
  s = topk([](v1::GetTopKRequest& r) { r.clear_key_columns(); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = topk([](v1::GetTopKRequest& r) { r.set_k(0); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = topk([](v1::GetTopKRequest& r) { r.set_k(10001); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = topk([](v1::GetTopKRequest& r) { r.set_value("host"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("numeric"), std::string::npos);
  s = topk([](v1::GetTopKRequest& r) { r.set_value("byte"); });
  EXPECT_NE(s.error_message().find("did you mean 'bytes'"), std::string::npos);
  s = topk([](v1::GetTopKRequest& r) { r.set_filter("bytes >"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = topk([](v1::GetTopKRequest& r) { r.set_filter("nosuch"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  s = topk([](v1::GetTopKRequest& r) {
    r.add_keys()->add_values("1");
    r.mutable_keys(0)->add_values("2");  // two values for one key column
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = topk([](v1::GetTopKRequest& r) {
    r.set_t0_ns(5);
    r.set_t1_ns(4);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // The distinct-key cap: 40 sources, at most 5 keys.
  s = topk([](v1::GetTopKRequest& r) { r.set_max_keys(5); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("max_keys"), std::string::npos);

  auto groupby = [&](auto edit) {
    v1::GetGroupByRequest req;
    req.set_multilog("flows");
    req.add_key_columns("src");
    req.add_aggregates("COUNT()");
    edit(req);
    grpc::Status st;
    GroupBy(req, &st);
    return st;
  };
  s = groupby([](v1::GetGroupByRequest& r) {
    for (const char* c : {"port", "bytes", "host", "src"}) r.add_key_columns(c);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = groupby([](v1::GetGroupByRequest& r) { r.add_aggregates("SUM(host)"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = groupby([](v1::GetGroupByRequest& r) { r.add_aggregates("SUM(byts)"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = groupby(
      [](v1::GetGroupByRequest& r) { r.add_aggregates("HIST(bytes)"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = groupby([](v1::GetGroupByRequest& r) { r.clear_aggregates(); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = groupby([](v1::GetGroupByRequest& r) { r.set_limit(100001); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = groupby([](v1::GetGroupByRequest& r) { r.set_max_keys(3); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

// Without gRPC: the multilog-level functions on an empty window.
TEST_F(BreakdownTest, EmptyWindow) {
  v1::GetTopKRequest req;
  req.set_multilog("flows");
  req.add_key_columns("src");
  req.set_k(3);
  req.set_t0_ns(1);
  req.set_t1_ns(2);
  const v1::GetTopKResponse r = TopK(req);
  EXPECT_EQ(r.top_size(), 0);
  EXPECT_EQ(r.records(), 0u);
  EXPECT_FALSE(r.more());
}

// ---------------------------------------------------------------------------
// Paging

struct Page {
  grpc::Status status;
  std::vector<uint64_t> offsets;
  v1::QuerySummary summary;
};

Page Execute(v1::Agent::Stub& stub, const v1::ExecuteFilterRequest& req) {
  Page p;
  grpc::ClientContext ctx;
  auto reader = stub.ExecuteFilter(&ctx, req);
  v1::QueryResponse chunk;
  while (reader->Read(&chunk)) {
    p.offsets.insert(p.offsets.end(), chunk.offsets().begin(),
                     chunk.offsets().end());
    if (chunk.has_summary()) p.summary = chunk.summary();
  }
  p.status = reader->Finish();
  return p;
}

TEST_F(BreakdownTest, PagesResumeAndTokensAreAuthenticated) {
  v1::ExecuteFilterRequest req;
  req.set_multilog("flows");
  req.set_expression("bytes > 200");
  req.set_offsets_only(true);
  req.set_limit(kMaxQueryLimit);
  const Page whole = Execute(agent_.stub(), req);
  ASSERT_TRUE(whole.status.ok()) << whole.status.error_message();
  ASSERT_FALSE(whole.summary.truncated());
  req.set_limit(1000);
  std::vector<uint64_t> paged;
  std::string token;
  int pages = 0;
  for (;;) {
    req.set_page_token(token);
    const Page p = Execute(agent_.stub(), req);
    ASSERT_TRUE(p.status.ok()) << p.status.error_message();
    paged.insert(paged.end(), p.offsets.begin(), p.offsets.end());
    ++pages;
    if (!p.summary.truncated()) break;
    token = p.summary.next_page_token();
  }
  EXPECT_EQ(paged, whole.offsets);
  EXPECT_EQ(pages, static_cast<int>((whole.offsets.size() + 999) / 1000));

  // A real token of page 1, then altered, forged and from another agent.
  req.set_page_token("");
  const Page first = Execute(agent_.stub(), req);
  const std::string good = first.summary.next_page_token();
  ASSERT_FALSE(good.empty());
  auto refused = [&](const std::string& t) {
    req.set_page_token(t);
    const Page p = Execute(agent_.stub(), req);
    return p.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT;
  };
  EXPECT_FALSE(refused(good));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string t = good;
    t[i] = t[i] == '0' ? '1' : '0';
    EXPECT_TRUE(refused(t)) << "changed char " << i << " of " << good;
  }
  EXPECT_TRUE(refused(good.substr(0, good.size() - 1)));
  EXPECT_TRUE(refused(good + "0"));
  EXPECT_TRUE(refused("e:0:0:0:0:0:0000000000000000"));
  // Before the mac, the old wrap: "already sent" near 2^64 passed the cap.
  EXPECT_TRUE(refused("e:1:0:ffffffffffffffff:0:0"));
  // Another incarnation: a second agent with the same data and arguments.
  Agent other;
  other.Create("flows");
  std::mt19937_64 rng(3);
  other.Append("flows", RandomRecords(rng, 20000, 40));
  req.set_page_token(good);
  const Page stale = Execute(other.stub(), req);
  EXPECT_EQ(stale.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(stale.status.error_message().find("restarted"), std::string::npos);
  // The same token with other arguments.
  req.set_expression("bytes > 201");
  EXPECT_TRUE(refused(good));
}

// Without gRPC: multilog/breakdown.h and ExecuteFilter's from_offset on a
// Multilog of its own.
TEST(MultilogBreakdownTest, TopKAndResumedScans) {
  MultilogOptions options;
  options.start_monitor = false;
  options.data.block_records = 1024;
  auto ml = Multilog::Open("m", TheSchema(), options);
  ASSERT_TRUE(ml.ok()) << ml.status().ToString();
  auto writer = (*ml)->NewWriter();
  ASSERT_TRUE(writer.ok());
  std::mt19937_64 rng(5);
  const std::string records = RandomRecords(rng, 5000, 8);
  const size_t rs = TheSchema().record_size();
  for (size_t at = 0; at < records.size(); at += 500 * rs) {
    const size_t n = std::min(500 * rs, records.size() - at);
    ASSERT_TRUE((*writer)->Append(records.data() + at, n).ok());
  }

  TopKQuery q;
  q.window.key_columns = {"src"};
  q.k = 3;
  Result<TopKResult> r = TopK(**ml, q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> all;
  for (size_t i = 0; i < 5000; ++i) all.push_back(records.substr(i * rs, rs));
  const std::vector<Expected> brute = BruteTopK(all, {"src"}, "");
  ASSERT_EQ(r->top.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r->top[i].key, brute[i].key);
    EXPECT_EQ(r->top[i].value, brute[i].value);
  }
  EXPECT_EQ(r->info.records, 5000u);
  EXPECT_EQ(r->info.keys, 8u);

  // from_offset: exactly the suffix of the whole answer.
  Result<QueryResult> whole =
      (*ml)->ExecuteFilter("bytes > 100", 0, UINT64_MAX);
  ASSERT_TRUE(whole.ok());
  const uint64_t from = whole->offsets[whole->offsets.size() / 2];
  Result<QueryResult> rest =
      (*ml)->ExecuteFilter("bytes > 100", 0, UINT64_MAX, 0, 0, from);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->offsets, std::vector<uint64_t>(
                               whole->offsets.begin() +
                                   static_cast<long>(whole->offsets.size() / 2),
                               whole->offsets.end()));
}

}  // namespace
}  // namespace loupe::agent
