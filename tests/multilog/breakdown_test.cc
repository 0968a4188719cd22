// Breakdowns (TopK, GroupBy) against brute force over DataLog::Read: every
// plan (scan with and without an expression, index, named filter), windows
// and snapshots that end inside a block, timestamps slightly out of order.
#include "multilog/breakdown.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "multilog/filter_program.h"

namespace loupe {
namespace {

constexpr uint64_t kBaseNs = 1'000'000'000'000;
constexpr uint32_t kBlockRecords = 1024;
constexpr uint64_t kRecords = 5000;  // 4 whole blocks and part of a fifth

struct Sum {
  uint64_t count = 0;
  double bytes = 0;
};

class BreakdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MultilogOptions options;
    options.start_monitor = false;
    options.data.block_records = kBlockRecords;
    auto ml = Multilog::Open(
        "b", *Schema::Parse("src:u32, port:u16, bytes:u32"), options);
    ASSERT_TRUE(ml.ok()) << ml.status().ToString();
    ml_ = std::move(ml).value();
    ASSERT_TRUE(ml_->AddFilter("web", "port == 80").ok());
    if (Indexed()) {
      ASSERT_TRUE(ml_->AddIndex({"port", 0}).ok());
    }
    auto writer = ml_->NewWriter();
    ASSERT_TRUE(writer.ok());
    const Schema& schema = ml_->schema();
    rs_ = schema.record_size();
    std::mt19937_64 rng(7);
    std::vector<uint8_t> batch(100 * rs_);
    for (uint64_t i = 0; i < kRecords; i += 100) {
      for (uint64_t j = 0; j < 100; ++j) {
        uint8_t* rec = batch.data() + j * rs_;
        // 1 us apart, give or take a writer's skew of up to 2 us.
        const uint64_t ts = kBaseNs + (i + j) * 1000 + rng() % 2000;
        const uint32_t src = static_cast<uint32_t>(rng() % 50);
        const uint16_t port = static_cast<uint16_t>(80 + rng() % 3);
        const uint32_t bytes = static_cast<uint32_t>(64 + rng() % 1000);
        std::memcpy(rec, &ts, 8);
        std::memcpy(rec + schema.Find("src")->offset, &src, 4);
        std::memcpy(rec + schema.Find("port")->offset, &port, 2);
        std::memcpy(rec + schema.Find("bytes")->offset, &bytes, 4);
      }
      ASSERT_TRUE((*writer)->Append(batch.data(), batch.size()).ok());
    }
  }

  // Sums by src of the records below `snapshot` in [t0, t1) that pass
  // `filter` ("" for all), read one by one.
  std::map<uint32_t, Sum> Brute(const std::string& filter, uint64_t t0,
                                uint64_t t1, uint64_t snapshot) const {
    const Schema& schema = ml_->schema();
    auto program =
        FilterProgram::Compile(schema, filter.empty() ? "true" : filter);
    EXPECT_TRUE(program.ok());
    std::map<uint32_t, Sum> out;
    std::vector<uint8_t> rec(rs_);
    for (uint64_t off = 0; off < snapshot; off += rs_) {
      EXPECT_TRUE(ml_->data_log().Read(off, rec.data()).ok());
      uint64_t ts;
      std::memcpy(&ts, rec.data(), 8);
      if (ts < t0 || ts >= t1 || !program->Matches(rec.data())) continue;
      uint32_t src, bytes;
      std::memcpy(&src, rec.data() + schema.Find("src")->offset, 4);
      std::memcpy(&bytes, rec.data() + schema.Find("bytes")->offset, 4);
      ++out[src].count;
      out[src].bytes += bytes;
    }
    return out;
  }

  uint64_t TimestampAt(uint64_t record) const {
    std::vector<uint8_t> rec(rs_);
    EXPECT_TRUE(ml_->data_log().Read(record * rs_, rec.data()).ok());
    uint64_t ts;
    std::memcpy(&ts, rec.data(), 8);
    return ts;
  }

  // `expression`: what `filter` selects, for the brute force.
  void Check(const std::string& filter, const std::string& expression,
             uint64_t t0, uint64_t t1, uint64_t snapshot) {
    SCOPED_TRACE("filter '" + filter + "' [" + std::to_string(t0 - kBaseNs) +
                 ", " + std::to_string(t1 - kBaseNs) + ") snapshot " +
                 std::to_string(snapshot / rs_));
    const std::map<uint32_t, Sum> want = Brute(expression, t0, t1, snapshot);
    uint64_t records = 0;
    for (const auto& [src, sum] : want) records += sum.count;

    TopKQuery q;
    q.window.key_columns = {"src"};
    q.window.filter = filter;
    q.window.t0_ns = t0;
    q.window.t1_ns = t1;
    q.window.snapshot = snapshot;
    q.value = "bytes";
    q.k = 1000;  // every key
    Result<TopKResult> top = TopK(*ml_, q);
    ASSERT_TRUE(top.ok()) << top.status().ToString();
    EXPECT_EQ(top->info.records, records);
    EXPECT_EQ(top->info.snapshot, snapshot);
    ASSERT_EQ(top->top.size(), want.size());
    for (const KeyValue& kv : top->top) {
      uint32_t src;
      ASSERT_EQ(kv.key.size(), 4u);
      std::memcpy(&src, kv.key.data(), 4);
      ASSERT_TRUE(want.count(src)) << src;
      EXPECT_EQ(kv.count, want.at(src).count) << src;
      EXPECT_EQ(kv.value, want.at(src).bytes) << src;
    }

    GroupByQuery g;
    g.window = q.window;
    g.aggregates = {"COUNT()", "SUM(bytes)"};
    Result<GroupByResult> groups = GroupBy(*ml_, g);
    ASSERT_TRUE(groups.ok()) << groups.status().ToString();
    EXPECT_EQ(groups->info.records, records);
    ASSERT_EQ(groups->rows.size(), want.size());
    for (const GroupRow& row : groups->rows) {
      uint32_t src;
      std::memcpy(&src, row.key.data(), 4);
      ASSERT_TRUE(want.count(src)) << src;
      EXPECT_EQ(row.count, want.at(src).count) << src;
      EXPECT_EQ(row.values[1], want.at(src).bytes) << src;
    }
  }

  void CheckWindows(const std::string& filter, const std::string& expression) {
    const uint64_t tail = ml_->data_log().read_tail();
    const uint64_t mid_block = (2 * kBlockRecords + 300) * rs_;
    const std::string& e = expression;
    Check(filter, e, 0, UINT64_MAX, tail);
    // Ends inside the third block; starts inside the first.
    Check(filter, e, kBaseNs + 500'000, kBaseNs + 2'500'000, tail);
    Check(filter, e, kBaseNs + 500'000, kBaseNs + 2'500'000, mid_block);
    Check(filter, e, 0, UINT64_MAX, mid_block);
    Check(filter, e, kBaseNs + 1'000'000, kBaseNs + 1'000'000, tail);  // empty
    Check(filter, e, 0, UINT64_MAX, rs_);  // one record
    // Bounds that are records' timestamps: t0 is in, t1 out.
    Check(filter, e, TimestampAt(700), TimestampAt(2400), tail);
  }
  void CheckWindows(const std::string& expression) {
    CheckWindows(expression, expression);
  }

  // Index port before the data arrives, so that the index plan answers.
  virtual bool Indexed() const { return false; }

  std::unique_ptr<Multilog> ml_;
  uint64_t rs_ = 0;
};

class IndexedBreakdownTest : public BreakdownTest {
 protected:
  bool Indexed() const override { return true; }
};

TEST_F(BreakdownTest, ScanWithoutFilterMatchesBruteForce) { CheckWindows(""); }

TEST_F(BreakdownTest, ScanWithAnExpressionMatchesBruteForce) {
  CheckWindows("port == 80");
  CheckWindows("port != 81 && bytes >= 500");
  CheckWindows("false");
}

TEST_F(IndexedBreakdownTest, IndexPlanMatchesBruteForce) {
  CheckWindows("port == 80");
  CheckWindows("port == 80 || port == 82");
  CheckWindows("port != 81");  // an indexed column, but a scan
}

TEST_F(BreakdownTest, NamedFilterMatchesBruteForce) {
  CheckWindows("web", "port == 80");
}

TEST_F(BreakdownTest, BadExpressionsAreErrors) {
  TopKQuery q;
  q.window.key_columns = {"src"};
  q.window.filter = "port ==";
  EXPECT_EQ(TopK(*ml_, q).status().code(), Status::Code::kInvalidArgument);
  q.window.filter = "nosuchfilter";
  EXPECT_EQ(TopK(*ml_, q).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace loupe
