// Multilog unit tests: control calls and their errors (each must change
// nothing), coverage of entries added after data, the query API's answers
// on a small known data set, triggers and alert subscribers.
#include "multilog/multilog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "multilog/packet_schema.h"

namespace loupe {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kBucketNs = 1'000'000;
constexpr uint64_t kBaseNs = 1'000'000'000'000;
constexpr uint64_t kRecord = sizeof(PacketRecord);

PacketRecord Packet(uint64_t ts, uint16_t dst_port, uint8_t proto,
                    uint16_t ip_len, uint8_t last_octet = 1) {
  PacketRecord r{};
  r.timestamp = ts;
  r.src_ip[10] = r.src_ip[11] = 0xff;
  r.src_ip[12] = 10;
  r.src_ip[15] = last_octet;
  r.dst_port = dst_port;
  r.proto = proto;
  r.ip_len = ip_len;
  return r;
}

class MultilogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MultilogOptions options;
    options.bucket = std::chrono::nanoseconds(kBucketNs);
    options.start_monitor = false;
    options.data.block_records = 1024;
    auto log = Multilog::Open("packets", PacketSchema(), options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    auto writer = log_->NewWriter();
    ASSERT_TRUE(writer.ok());
    writer_ = std::move(writer).value();
  }

  // Appends n packets, 1 us apart from `ts`: every 4th to port 443 (TCP),
  // the rest to port 53 (UDP); ip_len 100 + i.
  void AppendPackets(uint64_t ts, int n) {
    std::vector<PacketRecord> batch;
    for (int i = 0; i < n; ++i) {
      const bool https = i % 4 == 0;
      batch.push_back(Packet(ts + static_cast<uint64_t>(i) * 1000,
                             https ? 443 : 53, https ? 6 : 17,
                             static_cast<uint16_t>(100 + i),
                             static_cast<uint8_t>(i % 5)));
    }
    for (size_t at = 0; at < batch.size(); at += 32) {
      const size_t k = std::min<size_t>(32, batch.size() - at);
      ASSERT_TRUE(writer_->Append(&batch[at], k * kRecord).ok());
    }
  }

  std::unique_ptr<Multilog> log_;
  std::unique_ptr<Multilog::Writer> writer_;
};

TEST_F(MultilogTest, FilterErrorsNameTheProblemAndChangeNothing) {
  Status s = log_->AddFilter("f", "dst_prot == 443");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("dst_port"));
  s = log_->AddFilter("f", "src_ip > \"abc\"");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("src_ip"));
  s = log_->AddFilter("f", "dst_port == 70000");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(log_->AddFilter("", "proto == tcp").code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(log_->ListFilters().empty());

  ASSERT_TRUE(log_->AddFilter("f", "proto == tcp").ok());
  EXPECT_EQ(log_->AddFilter("f", "proto == udp").code(),
            Status::Code::kAlreadyExists);
  ASSERT_EQ(log_->ListFilters().size(), 1u);
  EXPECT_EQ(log_->ListFilters()[0].expression, "proto == tcp");
  EXPECT_EQ(log_->RemoveFilter("nope").code(), Status::Code::kNotFound);
}

TEST_F(MultilogTest, AggregateAndTriggerErrors) {
  EXPECT_EQ(log_->AddAggregate("a", "missing", "COUNT()").code(),
            Status::Code::kNotFound);
  ASSERT_TRUE(log_->AddFilter("tcp", "proto == tcp").ok());
  Status s = log_->AddAggregate("a", "tcp", "SUM(src_ip)");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("src_ip"));
  EXPECT_EQ(log_->AddAggregate("a", "tcp", "AVG(ip_len)").code(),
            Status::Code::kInvalidArgument);
  ASSERT_TRUE(log_->AddAggregate("a", "tcp", "COUNT()").ok());
  EXPECT_EQ(log_->AddAggregate("a", "tcp", "SUM(ip_len)").code(),
            Status::Code::kAlreadyExists);

  s = log_->AddTrigger("t", "missing > 5");
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("missing"));
  EXPECT_EQ(log_->AddTrigger("t", "a >> 5").code(),
            Status::Code::kInvalidArgument);
  TriggerOptions too_fast;
  too_fast.period = std::chrono::microseconds(10);
  EXPECT_EQ(log_->AddTrigger("t", "a > 5", too_fast).code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(log_->ListTriggers().empty());
  ASSERT_TRUE(log_->AddTrigger("t", "a > 5").ok());
  EXPECT_EQ(log_->AddTrigger("t", "a > 6").code(),
            Status::Code::kAlreadyExists);

  // Dependencies: a filter with aggregates, an aggregate with triggers.
  EXPECT_EQ(log_->RemoveFilter("tcp").code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(log_->RemoveAggregate("a").code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(log_->ListAggregates().size(), 1u);
  ASSERT_TRUE(log_->RemoveTrigger("t").ok());
  ASSERT_TRUE(log_->RemoveAggregate("a").ok());
  ASSERT_TRUE(log_->RemoveFilter("tcp").ok());
  EXPECT_EQ(log_->RemoveTrigger("t").code(), Status::Code::kNotFound);
}

TEST_F(MultilogTest, IndexErrors) {
  EXPECT_EQ(log_->AddIndex({"dst_prot", 0}).code(),
            Status::Code::kInvalidArgument);
  ASSERT_TRUE(log_->AddIndex({"dst_port", 0}).ok());
  EXPECT_EQ(log_->AddIndex({"dst_port", 0}).code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ(log_->RemoveIndex("src_ip").code(), Status::Code::kNotFound);
  ASSERT_EQ(log_->ListIndexes().size(), 1u);
  ASSERT_TRUE(log_->RemoveIndex("dst_port").ok());
  EXPECT_TRUE(log_->ListIndexes().empty());
}

TEST_F(MultilogTest, QueriesRejectBadWindowsNamesAndSnapshots) {
  ASSERT_TRUE(log_->AddFilter("tcp", "proto == tcp").ok());
  ASSERT_TRUE(log_->AddAggregate("n", "tcp", "COUNT()").ok());
  AppendPackets(kBaseNs, 10);
  EXPECT_EQ(log_->GetAggregate("n", 10, 5).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(log_->QueryFilter("tcp", 10, 5).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(log_->ExecuteFilter("proto == tcp", 10, 5).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(log_->GetAggregate("m", 0, 10).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(log_->QueryFilter("udp", 0, 10).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(log_->ExecuteFilter("protocol == tcp", 0, 10).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(log_->GetAggregate("n", 0, 10, 1u << 30).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(MultilogTest, AnswersOnKnownData) {
  ASSERT_TRUE(log_->AddIndex({"dst_port", 0}).ok());
  ASSERT_TRUE(log_->AddFilter("https", "dst_port == 443").ok());
  ASSERT_TRUE(log_->AddAggregate("n", "https", "COUNT()").ok());
  ASSERT_TRUE(log_->AddAggregate("bytes", "https", "SUM(ip_len)").ok());
  ASSERT_TRUE(log_->AddAggregate("small", "https", "MIN(ip_len)").ok());
  ASSERT_TRUE(log_->AddAggregate("large", "https", "MAX(ip_len)").ok());
  AppendPackets(kBaseNs, 400);  // 400 us: one bucket

  auto n = log_->GetAggregate("n", kBaseNs, kBaseNs + kBucketNs);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->value, 100);
  EXPECT_FALSE(n->partial);
  auto bytes = log_->GetAggregate("bytes", kBaseNs, kBaseNs + kBucketNs);
  double expected = 0;
  for (int i = 0; i < 400; i += 4) expected += 100 + i;
  EXPECT_EQ(bytes->value, expected);
  EXPECT_EQ(log_->GetAggregate("small", 0, UINT64_MAX)->value, 100);
  EXPECT_EQ(log_->GetAggregate("large", 0, UINT64_MAX)->value, 100 + 396);

  auto q = log_->QueryFilter("https", kBaseNs, kBaseNs + 8000);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->offsets, (std::vector<uint64_t>{0, 4 * kRecord}));
  auto limited = log_->QueryFilter("https", 0, UINT64_MAX, 10);
  EXPECT_EQ(limited->offsets.size(), 10u);
  EXPECT_TRUE(limited->truncated);

  auto e =
      log_->ExecuteFilter("dst_port == 443 && ip_len < 110", 0, UINT64_MAX);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->offsets, (std::vector<uint64_t>{0, 4 * kRecord, 8 * kRecord}));
  EXPECT_THAT(e->plan, HasSubstr("index dst_port"));
  auto scan = log_->ExecuteFilter("ip_len < 103", 0, UINT64_MAX);
  EXPECT_EQ(scan->offsets.size(), 3u);
  EXPECT_EQ(scan->plan, "scan");
}

TEST_F(MultilogTest, EntriesCoverDataFromWhenTheyWereAdded) {
  AppendPackets(kBaseNs, 64);
  ASSERT_TRUE(log_->AddFilter("https", "dst_port == 443").ok());
  ASSERT_TRUE(log_->AddAggregate("n", "https", "COUNT()").ok());
  ASSERT_TRUE(log_->AddIndex({"dst_port", 0}).ok());
  AppendPackets(kBaseNs + 64'000, 64);

  const auto filters = log_->ListFilters();
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(filters[0].covers_from, 64 * kRecord);
  auto q = log_->QueryFilter("https", 0, UINT64_MAX);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->offsets.size(), 16u);  // only the second 64
  EXPECT_EQ(q->offsets.front(), 64 * kRecord);
  EXPECT_TRUE(q->partial);  // the window starts before the coverage
  auto later = log_->QueryFilter("https", kBaseNs + 64'000, UINT64_MAX);
  EXPECT_FALSE(later->partial);

  auto n = log_->GetAggregate("n", 0, UINT64_MAX);
  EXPECT_EQ(n->value, 16);
  EXPECT_TRUE(n->partial);
  // Ad hoc queries see everything: the scan covers what the index cannot.
  auto e = log_->ExecuteFilter("dst_port == 443", 0, UINT64_MAX);
  EXPECT_EQ(e->offsets.size(), 32u);
  EXPECT_THAT(e->plan, HasSubstr("scan below"));
}

// A snapshot is any record boundary at or below the read tail, including
// one inside a batch: the answer counts exactly the records below it.
TEST_F(MultilogTest, AggregatesAtASnapshotInsideABatchCountOnlyBelowIt) {
  ASSERT_TRUE(log_->AddFilter("https", "dst_port == 443").ok());
  ASSERT_TRUE(log_->AddAggregate("n", "https", "COUNT()").ok());
  ASSERT_TRUE(log_->AddAggregate("bytes", "https", "SUM(ip_len)").ok());
  AppendPackets(kBaseNs, 400);  // batches of 32; every 4th is https
  for (uint64_t records : {1u, 10u, 32u, 40u, 399u, 400u}) {
    auto n = log_->GetAggregate("n", 0, UINT64_MAX, records * kRecord);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(n->value, static_cast<double>((records + 3) / 4))
        << "snapshot at record " << records;
    double bytes = 0;
    for (uint64_t i = 0; i < records; i += 4) bytes += 100 + i;
    EXPECT_EQ(
        log_->GetAggregate("bytes", 0, UINT64_MAX, records * kRecord)->value,
        bytes)
        << "snapshot at record " << records;
    auto q = log_->QueryFilter("https", 0, UINT64_MAX, 0, records * kRecord);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->offsets.size(), (records + 3) / 4);
    auto e = log_->ExecuteFilter("dst_port == 443", 0, UINT64_MAX, 0,
                                 records * kRecord);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->offsets.size(), (records + 3) / 4);
  }
}

TEST_F(MultilogTest, TriggersFireIntoTheAlertLogAndSubscribers) {
  ASSERT_TRUE(log_->AddFilter("https", "dst_port == 443").ok());
  ASSERT_TRUE(log_->AddAggregate("n", "https", "COUNT()").ok());
  TriggerOptions ms;
  ms.period = std::chrono::milliseconds(1);
  ASSERT_TRUE(log_->AddTrigger("busy", "n >= 50", ms).ok());
  ASSERT_TRUE(log_->AddTrigger("never", "n > 1000", ms).ok());
  std::vector<Alert> seen;
  const uint64_t id =
      log_->alerts().Subscribe([&](const Alert& a) { seen.push_back(a); });

  AppendPackets(kBaseNs, 400);                      // bucket 0: 100 to port 443
  AppendPackets(kBaseNs + kBucketNs, 40);           // bucket 1: 10
  log_->EvaluateTriggers(kBaseNs + kBucketNs);      // window 0
  log_->EvaluateTriggers(kBaseNs + 2 * kBucketNs);  // window 1

  const auto alerts = log_->GetAlerts(0, UINT64_MAX);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].trigger, "busy");
  EXPECT_EQ(alerts[0].value, 100);
  EXPECT_EQ(alerts[0].threshold, 50);
  EXPECT_EQ(alerts[0].window_start_ns, kBaseNs);
  EXPECT_EQ(alerts[0].window_end_ns, kBaseNs + kBucketNs);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].sequence, alerts[0].sequence);
  EXPECT_TRUE(log_->GetAlerts(0, UINT64_MAX, "never").empty());
  log_->alerts().Unsubscribe(id);
}

// The monitor thread on wall-clock time: a trigger fires on live data, and
// between windows the monitor sleeps rather than polling (it once woke every
// millisecond, locking every trigger).
TEST(MultilogMonitorTest, FiresOnLiveDataAndSleepsBetweenWindows) {
  MultilogOptions o;
  o.bucket = std::chrono::milliseconds(10);
  o.trigger_grace = std::chrono::milliseconds(20);
  o.data.block_records = 1024;
  auto log = Multilog::Open("live", PacketSchema(), o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_TRUE((*log)->AddFilter("https", "dst_port == 443").ok());
  ASSERT_TRUE((*log)->AddAggregate("n", "https", "COUNT()").ok());
  // With no trigger, nothing is due: the monitor sleeps through.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LE((*log)->monitor_wakeups(), 3u);

  TriggerOptions half_second;
  half_second.period = std::chrono::milliseconds(500);
  ASSERT_TRUE((*log)->AddTrigger("busy", "n >= 1", half_second).ok());
  const uint64_t before = (*log)->monitor_wakeups();
  auto writer = (*log)->NewWriter();
  ASSERT_TRUE(writer.ok());
  const auto start = std::chrono::steady_clock::now();
  while ((*log)->GetAlerts(0, UINT64_MAX).empty() &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    const uint64_t now = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
    const PacketRecord r = Packet(now, 443, 6, 100);
    ASSERT_TRUE((*writer)->Append(&r, sizeof(r)).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto alerts = (*log)->GetAlerts(0, UINT64_MAX);
  ASSERT_FALSE(alerts.empty()) << "no alert within 10 s";
  EXPECT_EQ(alerts[0].trigger, "busy");
  EXPECT_GE(alerts[0].value, 1);
  EXPECT_EQ(alerts[0].window_end_ns - alerts[0].window_start_ns, 500'000'000u);
  // One wake-up per window (at most three windows passed) plus the kick.
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_LE((*log)->monitor_wakeups() - before,
            static_cast<uint64_t>(seconds / 0.5) + 4)
      << "after " << seconds << " s";
  writer->reset();
}

// Writers that outrun the allocator of a flight-recorder log: the
// allocator recycles retired blocks after a grace period, so a writer must
// not wait for memory inside its read-side critical section (it once did,
// and the two waited for each other forever).
TEST(MultilogRetentionTest, WritersOutrunningRecyclingNeverDeadlock) {
  MultilogOptions o;
  o.start_monitor = false;
  o.data.block_records = 1024;
  o.data.preallocate_bytes = 64 * 1024;
  o.data.retention.max_bytes = 4 * 1024 * sizeof(PacketRecord);
  auto log = Multilog::Open("ring", PacketSchema(), o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_TRUE((*log)->AddFilter("tcp", "proto == tcp").ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto w = (*log)->NewWriter();
      ASSERT_TRUE(w.ok());
      std::vector<PacketRecord> batch(32);
      std::memset(batch.data(), 0, batch.size() * sizeof(PacketRecord));
      for (auto& r : batch) r.proto = 6;
      for (int i = 0; i < 4000; ++i) {
        ASSERT_TRUE((*w)->Append(batch.data(), 32 * sizeof(PacketRecord)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ((*log)->data_log().read_tail(),
            4u * 4000 * 32 * sizeof(PacketRecord));
  EXPECT_GT((*log)->data_log().stats().blocks_recycled +
                (*log)->data_log().stats().blocks_retired,
            0u);
}

}  // namespace
}  // namespace loupe
