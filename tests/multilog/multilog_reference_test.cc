// Reference check for the multilog's query layer: writer threads append
// random packet records while filters, aggregates and triggers are added
// (and some removed) concurrently; then, on one snapshot, every query must
// equal a brute-force scan of the same records with independent C++
// predicates: QueryFilter, ExecuteFilter (indexed and not), COUNT, SUM,
// MIN, MAX exactly, quantiles within 1%, and the alerts of every window.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "multilog/multilog.h"
#include "multilog/packet_schema.h"
#include "tests/support/ipv4_mapped.h"
#include "tests/support/sanitizers.h"

namespace loupe {
namespace {

constexpr uint64_t kRecordsPerWriter =
    test_support::kUnderThreadSanitizer ? 60'000 : 150'000;
constexpr int kWriters = 3;
constexpr uint64_t kBucketNs = 1'000'000;   // 1 ms
constexpr uint64_t kRecordSpacingNs = 200;  // data time per record
constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000ull;

using Predicate = std::function<bool(const PacketRecord&)>;

using test_support::SetV4;
using test_support::V4;

bool IsV4(const uint8_t* ip) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip, kMapped, 12) == 0;
}

PacketRecord RandomPacket(std::mt19937_64& rng, uint64_t ts) {
  PacketRecord r{};
  r.timestamp = ts;
  const uint32_t host = static_cast<uint32_t>(rng() % 2000);
  if (rng() % 10 == 0) {
    r.src_ip[0] = 0x20;
    r.src_ip[1] = 0x01;
    r.src_ip[2] = 0x0d;
    r.src_ip[3] = 0xb8;
    r.src_ip[15] = static_cast<uint8_t>(host);
    r.flags = kPacketIpv6;
  } else {
    SetV4(r.src_ip, (10u << 24) | ((host % 4) << 16) | host);
    r.flags = kPacketIpv4;
  }
  SetV4(r.dst_ip,
        (192u << 24) | (168u << 16) | static_cast<uint32_t>(rng() % 300));
  static const uint16_t kPorts[] = {443, 80, 53, 8080, 22, 5201, 9000};
  r.dst_port = rng() % 4 == 0 ? static_cast<uint16_t>(1024 + rng() % 300)
                              : kPorts[rng() % 7];
  r.src_port = static_cast<uint16_t>(30000 + rng() % 30000);
  const uint64_t p = rng() % 100;
  r.proto = p < 80 ? 6 : (p < 97 ? 17 : 1);
  r.tcp_flags = r.proto == 6 ? static_cast<uint8_t>(rng() % 32) : 0;
  r.ip_len = static_cast<uint16_t>(rng() % 3 == 0 ? 40 + rng() % 60
                                                  : 64 + rng() % 1437);
  r.ttl = 64;
  return r;
}

struct FilterCase {
  const char* name;
  const char* expr;
  Predicate pred;
};

const std::vector<FilterCase>& Filters() {
  static const std::vector<FilterCase> kFilters = {
      {"https", "dst_port == 443",
       [](const PacketRecord& r) { return r.dst_port == 443; }},
      {"udp", "proto == udp",
       [](const PacketRecord& r) { return r.proto == 17; }},
      {"net_big", "src_ip in 10.1.0.0/16 && ip_len > 500",
       [](const PacketRecord& r) {
         return IsV4(r.src_ip) && (V4(r.src_ip) >> 16) == ((10u << 8) | 1) &&
                r.ip_len > 500;
       }},
      {"set_or_syn", "dst_port in {53, 80, 8080} || tcp_flags == 2",
       [](const PacketRecord& r) {
         return r.dst_port == 53 || r.dst_port == 80 || r.dst_port == 8080 ||
                r.tcp_flags == 2;
       }},
      {"v6", "src_ip in 2001:db8::/32",
       [](const PacketRecord& r) {
         return r.src_ip[0] == 0x20 && r.src_ip[1] == 0x01 &&
                r.src_ip[2] == 0x0d && r.src_ip[3] == 0xb8;
       }},
      {"not_tcp_small", "!(proto == tcp) && ip_len <= 100",
       [](const PacketRecord& r) { return r.proto != 6 && r.ip_len <= 100; }},
  };
  return kFilters;
}

struct AggCase {
  const char* name;
  const char* filter;
  const char* expr;
};

const std::vector<AggCase>& Aggregates() {
  static const std::vector<AggCase> kAggs = {
      {"https_count", "https", "COUNT()"},
      {"udp_bytes", "udp", "SUM(ip_len)"},
      {"net_min", "net_big", "MIN(ip_len)"},
      {"net_max", "net_big", "MAX(ip_len)"},
      {"set_p99", "set_or_syn", "P99(ip_len)"},
      {"set_p50", "set_or_syn", "QUANTILE(ip_len, 0.5)"},
      {"v6_count", "v6", "COUNT()"},
  };
  return kAggs;
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t rank =
      static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

class MultilogReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MultilogOptions options;
    options.bucket = std::chrono::nanoseconds(kBucketNs);
    options.start_monitor = false;  // triggers run on data time below
    options.data.block_records = 4096;
    Result<std::unique_ptr<Multilog>> log =
        Multilog::Open("packets", PacketSchema(), options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }

  std::unique_ptr<Multilog> log_;
};

TEST_F(MultilogReferenceTest, QueriesEqualBruteForceOnOneSnapshot) {
  // Some control exists before writers start, the rest arrives meanwhile.
  ASSERT_TRUE(log_->AddIndex({"src_ip", 0}).ok());
  ASSERT_TRUE(log_->AddFilter("https", "dst_port == 443").ok());
  ASSERT_TRUE(log_->AddAggregate("https_count", "https", "COUNT()").ok());

  std::atomic<uint64_t> clock{0};
  std::atomic<int> running{kWriters};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto writer = log_->NewWriter();
      ASSERT_TRUE(writer.ok());
      std::mt19937_64 rng(1000 + w);
      std::vector<PacketRecord> batch;
      for (uint64_t n = 0; n < kRecordsPerWriter;) {
        const size_t size =
            std::min<uint64_t>(1 + rng() % 64, kRecordsPerWriter - n);
        batch.clear();
        const uint64_t t = clock.fetch_add(size);
        for (size_t i = 0; i < size; ++i) {
          batch.push_back(
              RandomPacket(rng, kBaseNs + (t + i) * kRecordSpacingNs));
        }
        auto r = (*writer)->Append(batch.data(),
                                   batch.size() * sizeof(PacketRecord));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        n += size;
      }
      running.fetch_sub(1);
    });
  }
  // Control while writers run: add every filter and aggregate, an index on
  // dst_port, a throwaway filter that is removed again, and triggers.
  std::thread control([&] {
    for (const FilterCase& f : Filters()) {
      if (std::string(f.name) == "https") continue;
      ASSERT_TRUE(log_->AddFilter(f.name, f.expr).ok()) << f.name;
    }
    ASSERT_TRUE(log_->AddIndex({"dst_port", 0}).ok());
    ASSERT_TRUE(log_->AddFilter("gone", "ttl == 64").ok());
    ASSERT_TRUE(log_->AddAggregate("gone_count", "gone", "COUNT()").ok());
    for (const AggCase& a : Aggregates()) {
      if (std::string(a.name) == "https_count") continue;
      ASSERT_TRUE(log_->AddAggregate(a.name, a.filter, a.expr).ok()) << a.name;
    }
    EXPECT_EQ(log_->RemoveFilter("gone").code(),
              Status::Code::kFailedPrecondition);
    ASSERT_TRUE(log_->RemoveAggregate("gone_count").ok());
    ASSERT_TRUE(log_->RemoveFilter("gone").ok());
    TriggerOptions every_5ms;
    every_5ms.period = std::chrono::milliseconds(5);
    ASSERT_TRUE(
        log_->AddTrigger("https_burst", "https_count > 2678", every_5ms).ok());
    ASSERT_TRUE(
        log_->AddTrigger("udp_heavy", "udp_bytes >= 20000", every_5ms).ok());
  });
  control.join();
  for (auto& t : writers) t.join();

  // One snapshot for everything below.
  const uint64_t snapshot = log_->data_log().read_tail();
  ASSERT_EQ(snapshot, kWriters * kRecordsPerWriter * sizeof(PacketRecord));
  std::vector<std::pair<uint64_t, PacketRecord>> records;
  ASSERT_TRUE(log_->data_log()
                  .ForEach(0, snapshot,
                           [&](uint64_t off, const uint8_t* p) {
                             PacketRecord r;
                             std::memcpy(&r, p, sizeof(r));
                             records.emplace_back(off, r);
                             return true;
                           })
                  .ok());
  uint64_t t_min = UINT64_MAX, t_max = 0;
  for (const auto& [off, r] : records) {
    t_min = std::min(t_min, r.timestamp);
    t_max = std::max(t_max, r.timestamp);
  }
  std::map<std::string, uint64_t> covers;
  for (const FilterInfo& f : log_->ListFilters())
    covers[f.name] = f.covers_from;
  std::map<std::string, uint64_t> agg_covers;
  for (const AggregateInfo& a : log_->ListAggregates()) {
    agg_covers[a.name] = a.covers_from;
  }
  ASSERT_EQ(covers.size(), Filters().size());
  ASSERT_EQ(agg_covers.size(), Aggregates().size());
  EXPECT_EQ(covers["https"], 0u);  // added before any record

  // Windows: everything, and a few random bucket-aligned ones.
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint64_t, uint64_t>> windows = {
      {t_min / kBucketNs * kBucketNs, (t_max / kBucketNs + 1) * kBucketNs}};
  for (int i = 0; i < 6; ++i) {
    uint64_t a = t_min / kBucketNs + rng() % ((t_max - t_min) / kBucketNs + 1);
    uint64_t b = a + 1 + rng() % 20;
    windows.push_back({a * kBucketNs, b * kBucketNs});
  }

  for (const FilterCase& f : Filters()) {
    const uint64_t from = covers[f.name];
    for (const auto& [t0, t1] : windows) {
      std::vector<uint64_t> expected_covered, expected_all;
      for (const auto& [off, r] : records) {
        if (r.timestamp < t0 || r.timestamp >= t1 || !f.pred(r)) continue;
        expected_all.push_back(off);
        if (off >= from) expected_covered.push_back(off);
      }
      Result<QueryResult> q = log_->QueryFilter(f.name, t0, t1, 0, snapshot);
      ASSERT_TRUE(q.ok()) << q.status().ToString();
      EXPECT_EQ(q->offsets, expected_covered)
          << f.name << " [" << t0 << "," << t1 << ")";
      EXPECT_EQ(q->covers_from, from);
      Result<QueryResult> e = log_->ExecuteFilter(f.expr, t0, t1, 0, snapshot);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      EXPECT_EQ(e->offsets, expected_all) << f.name << " plan: " << e->plan;
    }
  }
  // An indexed ad hoc query takes the index path and still matches.
  {
    const char* expr = "src_ip == 10.1.0.5 && dst_port == 443";
    std::vector<uint64_t> expected;
    for (const auto& [off, r] : records) {
      if (IsV4(r.src_ip) && V4(r.src_ip) == ((10u << 24) | (1u << 16) | 5) &&
          r.dst_port == 443) {
        expected.push_back(off);
      }
    }
    Result<QueryResult> e =
        log_->ExecuteFilter(expr, 0, UINT64_MAX, 0, snapshot);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(e->offsets, expected);
    EXPECT_NE(e->plan.find("index"), std::string::npos) << e->plan;
  }

  for (const AggCase& a : Aggregates()) {
    const FilterCase* f = nullptr;
    for (const FilterCase& c : Filters()) {
      if (std::string(c.name) == a.filter) f = &c;
    }
    ASSERT_NE(f, nullptr);
    const uint64_t from = agg_covers[a.name];
    for (const auto& [t0, t1] : windows) {
      std::vector<double> values;
      for (const auto& [off, r] : records) {
        if (off < from || r.timestamp < t0 || r.timestamp >= t1 || !f->pred(r))
          continue;
        values.push_back(r.ip_len);
      }
      Result<AggregateResult> g = log_->GetAggregate(a.name, t0, t1, snapshot);
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      const std::string what = std::string(a.name) + " [" + std::to_string(t0) +
                               "," + std::to_string(t1) + ")";
      EXPECT_EQ(g->detail.count, values.size()) << what;
      const std::string e(a.expr);
      if (e == "COUNT()") {
        EXPECT_EQ(g->value, static_cast<double>(values.size())) << what;
      } else if (e.rfind("SUM", 0) == 0) {
        double sum = 0;
        for (double v : values) sum += v;
        EXPECT_EQ(g->value, sum) << what;
      } else if (values.empty()) {
        EXPECT_FALSE(g->has_value) << what;
      } else if (e.rfind("MIN", 0) == 0) {
        EXPECT_EQ(g->value, *std::min_element(values.begin(), values.end()))
            << what;
      } else if (e.rfind("MAX", 0) == 0) {
        EXPECT_EQ(g->value, *std::max_element(values.begin(), values.end()))
            << what;
      } else {
        const double q = e.rfind("P99", 0) == 0 ? 0.99 : 0.5;
        const double exact = Quantile(values, q);
        EXPECT_NEAR(g->value, exact, exact * 0.01) << what;
      }
    }
  }

  // Alerts: evaluate every 5 ms window over the data, then compare each
  // window's verdict with brute force.
  const uint64_t period = 5 * kBucketNs;
  for (uint64_t end = (t_min / period + 1) * period; end <= t_max + period;
       end += period) {
    log_->EvaluateTriggers(end);
  }
  struct TriggerCase {
    const char* name;
    const char* agg;
    Predicate pred;
    bool sum;
    double threshold;
    bool ge;
  };
  const TriggerCase triggers[] = {
      {"https_burst", "https_count", Filters()[0].pred, false, 2678, false},
      {"udp_heavy", "udp_bytes", Filters()[1].pred, true, 20000, true},
  };
  for (const TriggerCase& t : triggers) {
    const uint64_t from = agg_covers[t.agg];
    std::vector<uint64_t> expected;
    for (uint64_t end = (t_min / period + 1) * period; end <= t_max + period;
         end += period) {
      double v = 0;
      for (const auto& [off, r] : records) {
        if (off < from || r.timestamp < end - period || r.timestamp >= end ||
            !t.pred(r)) {
          continue;
        }
        v += t.sum ? r.ip_len : 1;
      }
      if (t.ge ? v >= t.threshold : v > t.threshold) expected.push_back(end);
    }
    std::vector<uint64_t> got;
    for (const Alert& a : log_->GetAlerts(0, UINT64_MAX, t.name)) {
      got.push_back(a.window_end_ns);
    }
    EXPECT_EQ(got, expected) << t.name;
    EXPECT_FALSE(expected.empty()) << t.name << ": the data never fires it";
  }
}

}  // namespace
}  // namespace loupe
