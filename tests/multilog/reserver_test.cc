// Reserver: space claimed on one thread, finished on others. readTail must
// stop below every batch in flight, pass it once its lane completes it and
// Retire sees that, and never wait on space that was refused.
#include "multilog/reserver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "multilog/multilog.h"
#include "multilog/packet_schema.h"
#include "multilog/tails.h"

namespace loupe {
namespace {

constexpr uint64_t kRec = sizeof(PacketRecord);

std::unique_ptr<Multilog> OpenLog(uint64_t capacity = 0) {
  MultilogOptions o;
  o.start_monitor = false;
  o.data.block_records = 1024;
  o.data.preallocate_bytes = 1 << 20;
  o.data.capacity_bytes = capacity;
  auto log = Multilog::Open("packets", PacketSchema(), o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return std::move(*log);
}

std::vector<PacketRecord> Records(uint32_t n, uint16_t first_seq) {
  std::vector<PacketRecord> r(n);
  std::memset(r.data(), 0, n * kRec);
  for (uint32_t i = 0; i < n; ++i) {
    r[i].timestamp = 1000 + first_seq + i;
    r[i].dst_port = static_cast<uint16_t>(first_seq + i);
    r[i].proto = 6;
  }
  return r;
}

TEST(ReserverTest, ReadTailStopsBelowTheOldestBatchInFlight) {
  auto log = OpenLog();
  auto res = log->NewReserver(2, 4);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  Reserver& r = **res;
  uint64_t a, b, c;
  auto ra = Records(4, 0), rb = Records(4, 4), rc = Records(4, 8);
  ASSERT_EQ(r.Reserve(0, 4 * kRec, &a), Reserver::Outcome::kOk);
  r.Write(a, ra.data(), 4 * kRec);
  ASSERT_EQ(r.Reserve(1, 4 * kRec, &b), Reserver::Outcome::kOk);
  r.Write(b, rb.data(), 4 * kRec);
  ASSERT_EQ(r.Reserve(0, 4 * kRec, &c), Reserver::Outcome::kOk);
  r.Write(c, rc.data(), 4 * kRec);
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 4 * kRec);
  EXPECT_EQ(c, 8 * kRec);
  EXPECT_EQ(r.in_flight(), 3u);
  EXPECT_EQ(log->data_log().read_tail(), 0u);

  // Lane 1 finishes first: its batch is not the oldest, nothing shows.
  r.Complete(1);
  r.Retire();
  EXPECT_EQ(log->data_log().read_tail(), 0u);
  // Lane 0's first batch: readTail passes it and lane 1's, stops at c.
  r.Complete(0);
  EXPECT_EQ(log->data_log().read_tail(), 0u) << "not before Retire";
  r.Retire();
  EXPECT_EQ(log->data_log().read_tail(), 8 * kRec);
  r.Complete(0);
  r.Retire();
  EXPECT_EQ(log->data_log().read_tail(), 12 * kRec);
  EXPECT_EQ(r.in_flight(), 0u);
  PacketRecord got;
  ASSERT_TRUE(log->data_log().Read(9 * kRec, &got).ok());
  EXPECT_EQ(got.dst_port, 9);
}

// oldest_stamp: the stamp of the oldest batch readTail has not passed,
// across lanes completing out of order (the dataplane's settled time).
TEST(ReserverTest, OldestStampIsThatOfTheOldestUnpublishedBatch) {
  auto log = OpenLog();
  auto res = log->NewReserver(2, 4);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  Reserver& r = **res;
  EXPECT_EQ(r.oldest_in_flight(), Tails::kIdle);
  uint64_t a, b, c;
  auto recs = Records(4, 0);
  ASSERT_EQ(r.Reserve(0, 4 * kRec, &a, 100), Reserver::Outcome::kOk);
  r.Write(a, recs.data(), 4 * kRec);
  ASSERT_EQ(r.Reserve(1, 4 * kRec, &b, 200), Reserver::Outcome::kOk);
  r.Write(b, recs.data(), 4 * kRec);
  ASSERT_EQ(r.Reserve(1, 4 * kRec, &c, 300), Reserver::Outcome::kOk);
  r.Write(c, recs.data(), 4 * kRec);
  EXPECT_EQ(r.oldest_in_flight(), a);
  EXPECT_EQ(r.oldest_stamp(), 100u);
  // Lane 1's batches complete first: a still holds the tail.
  r.Complete(1);
  r.Complete(1);
  r.Retire();
  EXPECT_EQ(r.oldest_in_flight(), a);
  EXPECT_EQ(r.oldest_stamp(), 100u);
  // a completes: everything is published, nothing is in flight.
  r.Complete(0);
  r.Retire();
  EXPECT_EQ(r.oldest_in_flight(), Tails::kIdle);
  EXPECT_EQ(log->data_log().read_tail(), 12 * kRec);
  // Next: a batch on lane 1 then lane 0; lane 1's is the oldest.
  uint64_t d, e;
  ASSERT_EQ(r.Reserve(1, 4 * kRec, &d, 400), Reserver::Outcome::kOk);
  r.Write(d, recs.data(), 4 * kRec);
  ASSERT_EQ(r.Reserve(0, 4 * kRec, &e, 500), Reserver::Outcome::kOk);
  r.Write(e, recs.data(), 4 * kRec);
  EXPECT_EQ(r.oldest_stamp(), 400u);
  r.Complete(1);
  r.Retire();
  EXPECT_EQ(r.oldest_in_flight(), e);
  EXPECT_EQ(r.oldest_stamp(), 500u);
  r.Complete(0);
  r.Retire();
  EXPECT_EQ(r.oldest_in_flight(), Tails::kIdle);
}

TEST(ReserverTest, FullLaneAndFullLogRefuseWithoutClaiming) {
  auto log = OpenLog(/*capacity=*/64 * kRec);
  auto res = log->NewReserver(1, 2);
  ASSERT_TRUE(res.ok());
  Reserver& r = **res;
  uint64_t off;
  ASSERT_EQ(r.Reserve(0, kRec, &off), Reserver::Outcome::kOk);
  ASSERT_EQ(r.Reserve(0, kRec, &off), Reserver::Outcome::kOk);
  EXPECT_EQ(r.Reserve(0, kRec, &off), Reserver::Outcome::kLaneFull);
  EXPECT_EQ(log->data_log().write_tail(), 2 * kRec);
  r.Complete(0);
  EXPECT_EQ(r.Reserve(0, kRec, &off), Reserver::Outcome::kOk)
      << "a full lane retires what completed before refusing";
  r.Complete(0);
  r.Complete(0);
  r.Retire();
  EXPECT_EQ(log->data_log().read_tail(), 3 * kRec);
  // The capacity leaves no room for 64 more records: refused, unclaimed.
  EXPECT_EQ(r.Reserve(0, 64 * kRec, &off), Reserver::Outcome::kLogFull);
  EXPECT_EQ(log->data_log().write_tail(), 3 * kRec);
  EXPECT_EQ(log->data_log().read_tail(), 3 * kRec);
}

TEST(ReserverTest, RefusesDurableLogsAndBadShapes) {
  auto log = OpenLog();
  EXPECT_EQ(log->NewReserver(0, 4).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(log->NewReserver(1, 3).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(log->NewReserver(65, 4).status().code(),
            Status::Code::kInvalidArgument);
}

// One reserving thread, two lanes finishing batches through Adopt (a
// filter and an aggregate), a reader checking that readTail only moves
// forward and that everything below it is complete and filtered.
TEST(ReserverTest, ConcurrentLanesPublishEveryBatchExactlyOnce) {
  auto log = OpenLog();
  ASSERT_TRUE(log->AddFilter("even", "dst_port % 2 == 0").ok() ||
              log->AddFilter("even", "proto == tcp").ok());
  auto res = log->NewReserver(2, 8);
  ASSERT_TRUE(res.ok());
  Reserver& r = **res;
  struct Desc {
    uint64_t offset, bytes;
  };
  // Lane FIFOs: plain SP/SC rings of descriptors.
  constexpr uint32_t kCap = 64;
  struct Fifo {
    Desc d[kCap];
    std::atomic<uint64_t> head{0}, tail{0};
  };
  Fifo fifo[2];
  std::atomic<bool> done{false};
  std::vector<std::thread> lanes;
  for (uint32_t lane = 0; lane < 2; ++lane) {
    lanes.emplace_back([&, lane] {
      auto w = log->NewWriter();
      ASSERT_TRUE(w.ok());
      Fifo& f = fifo[lane];
      for (;;) {
        uint64_t h = f.head.load(std::memory_order_relaxed);
        if (h == f.tail.load(std::memory_order_acquire)) {
          if (done.load(std::memory_order_acquire) &&
              h == f.tail.load(std::memory_order_acquire)) {
            return;
          }
          std::this_thread::yield();
          continue;
        }
        const Desc d = f.d[h % kCap];
        (*w)->Adopt(r, d.offset, d.bytes);
        r.Complete(lane);
        f.head.store(h + 1, std::memory_order_release);
      }
    });
  }
  std::atomic<bool> reading{true};
  std::thread reader([&] {
    uint64_t last = 0;
    PacketRecord rec;
    while (reading.load()) {
      const uint64_t tail = log->data_log().read_tail();
      ASSERT_GE(tail, last);
      if (tail > 0) {
        ASSERT_TRUE(log->data_log().Read(tail - kRec, &rec).ok());
        ASSERT_EQ(rec.timestamp, 1000 + tail / kRec - 1)
            << "a record below readTail is not written";
      }
      last = tail;
    }
  });
  const uint32_t kBatches = 20000;
  uint64_t seq = 0;
  uint32_t lane = 0;
  uint64_t log_full = 0;
  std::vector<PacketRecord> batch(16);
  for (uint32_t b = 0; b < kBatches; ++b) {
    const uint32_t n = 1 + b % 16;
    for (uint32_t i = 0; i < n; ++i) {
      std::memset(&batch[i], 0, kRec);
      batch[i].timestamp = 1000 + seq + i;
      batch[i].proto = 6;
    }
    uint64_t off;
    Reserver::Outcome o;
    // kLaneFull: the lane's writer is behind; kLogFull: the allocator has
    // not readied the next block yet (first touch can be slow). Both refuse
    // without claiming, so trying again must claim the same offset.
    while ((o = r.Reserve(lane, n * kRec, &off)) != Reserver::Outcome::kOk) {
      if (o == Reserver::Outcome::kLogFull) {
        ASSERT_LT(++log_full, 100'000'000u) << "no memory ever became ready";
      }
      r.Retire();
      std::this_thread::yield();
    }
    ASSERT_EQ(o, Reserver::Outcome::kOk);
    ASSERT_EQ(off, seq * kRec);
    r.Write(off, batch.data(), n * kRec);
    Fifo& f = fifo[lane];
    while (f.tail.load() - f.head.load() >= kCap) std::this_thread::yield();
    f.d[f.tail.load() % kCap] = {off, n * kRec};
    f.tail.store(f.tail.load() + 1, std::memory_order_release);
    seq += n;
    lane ^= 1;
    r.Retire();
  }
  done.store(true, std::memory_order_release);
  for (auto& t : lanes) t.join();
  r.Retire();
  reading.store(false);
  reader.join();
  EXPECT_EQ(r.in_flight(), 0u);
  EXPECT_EQ(log->data_log().read_tail(), seq * kRec);
  auto q = log->QueryFilter("even", 0, UINT64_MAX);
  ASSERT_TRUE(q.ok());
  EXPECT_GT(q->offsets.size(), 0u);
  EXPECT_LE(q->offsets.size(), seq);
}

}  // namespace
}  // namespace loupe
