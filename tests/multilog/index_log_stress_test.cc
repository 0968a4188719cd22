// IndexLogs kept by several writers of a real DataLog while readers query
// them. Writers append packet-like records and index each batch before it
// is published (DataLog::Writer::Append's before_publish), so a reader that
// loaded read_tail() = S must find, through the index, every record below S
// with the key it asked for, and nothing at or above S. Readers check that
// by reading each offset an index returns, and now and then against a
// brute-force scan of [0, S). A third index is added while the writers run,
// with the RCU protocol of index_log.h, and must cover everything from its
// start_offset. Also run under ThreadSanitizer (scripts/test.sh), scaled
// down; LOUPE_STRESS_RECORDS sets the records per writer.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "multilog/data_log.h"
#include "multilog/index_log.h"
#include "multilog/internal/rcu.h"
#include "multilog/packet_schema.h"
#include "multilog/status.h"
#include "tests/support/sanitizers.h"
#include "tests/support/stress.h"

namespace loupe {
namespace {

constexpr bool kTsan = test_support::kUnderThreadSanitizer;
constexpr uint64_t kDefaultRecordsPerWriter = kTsan ? 150'000 : 1'000'000;
constexpr uint32_t kFullCheckEvery = kTsan ? 16 : 8;  // reader rounds
constexpr uint32_t kWriters = 3;
constexpr uint32_t kReaders = 2;
constexpr uint32_t kMaxBatch = 32;
constexpr uint64_t kRecord = sizeof(PacketRecord);
// Hosts 0..249 are IPv4 in 10.0.0.0/22, the rest IPv6 in 2001:db8::/112.
constexpr uint32_t kV4Hosts = 250;
constexpr uint32_t kMaxHosts = 65536;
constexpr uint64_t kLenBucket = 64;
constexpr uint16_t kPorts[] = {22, 53, 80, 443, 8080, 9092};
constexpr size_t kNumPorts = sizeof(kPorts) / sizeof(kPorts[0]);

uint64_t RecordsPerWriter() {
  return test_support::StressRecordsPerWriter(kDefaultRecordsPerWriter);
}

std::array<uint8_t, 16> HostIp(uint32_t host) {
  std::array<uint8_t, 16> ip{};
  if (host < kV4Hosts) {
    ip[10] = ip[11] = 0xff;
    ip[12] = 10;
    ip[14] = static_cast<uint8_t>(host / 100);
    ip[15] = static_cast<uint8_t>(host % 100 + 1);
  } else {
    ip[0] = 0x20;
    ip[1] = 0x01;
    ip[2] = 0x0d;
    ip[3] = 0xb8;
    ip[14] = static_cast<uint8_t>(host >> 8);
    ip[15] = static_cast<uint8_t>(host);
  }
  return ip;
}

// The host of a record, from its src_ip; kMaxHosts if it is none.
uint32_t HostOf(const uint8_t* src_ip) {
  const uint32_t h = src_ip[0] == 0 ? src_ip[14] * 100u + src_ip[15] - 1
                                    : src_ip[14] * 256u + src_ip[15];
  return h < kMaxHosts && std::memcmp(HostIp(h).data(), src_ip, 16) == 0
             ? h
             : kMaxHosts;
}

// What a brute-force scan of [from, end) finds.
struct Census {
  std::vector<uint64_t> per_host = std::vector<uint64_t>(kMaxHosts + 1, 0);
  std::vector<uint64_t> per_len_bucket = std::vector<uint64_t>(32, 0);
  std::vector<uint64_t> per_port = std::vector<uint64_t>(kNumPorts, 0);
  uint64_t v4 = 0;
  uint64_t records = 0;
};

size_t PortIndex(uint16_t port) {
  for (size_t i = 0; i < kNumPorts; ++i) {
    if (kPorts[i] == port) return i;
  }
  return kNumPorts;
}

// The parameter is the number of source hosts: 300 (a few hot leaves that
// every writer appends to, chunks growing under contention) or 20000 (most
// inserts create a key: inner-node splits and CAS races).
class IndexLogStressTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    hosts_ = GetParam();
    per_writer_ = RecordsPerWriter();
    total_bytes_ = per_writer_ * kWriters * kRecord;
    DataLogOptions options;
    options.block_records = 4096;
    options.preallocate_bytes = 16ull << 20;
    options.max_writers = kWriters + 1;
    options.max_batch_records = kMaxBatch;
    Result<std::unique_ptr<DataLog>> log =
        DataLog::Open(PacketSchema(), options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    Result<std::unique_ptr<IndexLog>> src =
        IndexLog::Create(PacketSchema(), {"src_ip", 0}, 0);
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    src_ = std::move(src).value();
    Result<std::unique_ptr<IndexLog>> len =
        IndexLog::Create(PacketSchema(), {"ip_len", kLenBucket}, 0);
    ASSERT_TRUE(len.ok()) << len.status().ToString();
    len_ = std::move(len).value();
  }

  void Fail(const std::string& what) {
    if (!failed_.exchange(true)) ADD_FAILURE() << what;
  }

  void Writer(uint32_t w) {
    Result<std::unique_ptr<DataLog::Writer>> writer = log_->NewWriter();
    if (!writer.ok()) {
      Fail("NewWriter: " + writer.status().ToString());
      return;
    }
    std::mt19937_64 rng(31 + w);
    std::vector<PacketRecord> batch(kMaxBatch);
    uint64_t seq = 0;
    while (seq < per_writer_ && !failed_.load(std::memory_order_relaxed)) {
      const uint64_t n =
          std::min<uint64_t>(per_writer_ - seq, 1 + rng() % kMaxBatch);
      for (uint64_t i = 0; i < n; ++i) {
        PacketRecord& p = batch[i];
        std::memset(&p, 0, sizeof(p));
        p.timestamp = seq + i;
        // Skewed: a third of the packets from 8 hosts.
        const uint32_t host = rng() % 3 == 0
                                  ? static_cast<uint32_t>(rng() % 8)
                                  : static_cast<uint32_t>(rng() % hosts_);
        std::memcpy(p.src_ip, HostIp(host).data(), 16);
        p.ip_len = static_cast<uint16_t>(40 + rng() % 1461);
        p.dst_port = kPorts[rng() % kNumPorts];
        p.vni = w;
      }
      // Writers hold the RCU read lock from loading the index list to
      // publishing the batch (index_log.h, Coverage).
      internal::RcuReadLock lock;
      IndexLog* late = late_.load(std::memory_order_acquire);
      const auto* records = reinterpret_cast<const uint8_t*>(batch.data());
      Result<uint64_t> offset =
          (*writer)->Append(records, n * kRecord, [&](uint64_t first) {
            src_->InsertBatch(records, n, kRecord, first);
            len_->InsertBatch(records, n, kRecord, first);
            if (late != nullptr) late->InsertBatch(records, n, kRecord, first);
          });
      if (!offset.ok()) {
        Fail("writer " + std::to_string(w) + ": " + offset.status().ToString());
        return;
      }
      seq += n;
    }
  }

  // Adds the dst_port index once a third of the records are in.
  void Control() {
    while (log_->write_tail() < total_bytes_ / 3 &&
           !failed_.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    Result<std::unique_ptr<IndexLog>> late =
        IndexLog::Create(PacketSchema(), {"dst_port", 0}, log_->write_tail());
    if (!late.ok()) {
      Fail(late.status().ToString());
      return;
    }
    late_owner_ = std::move(late).value();
    late_.store(late_owner_.get(), std::memory_order_release);
    internal::RcuSynchronize();
    late_owner_->RaiseStartOffset(log_->write_tail());
    late_ready_.store(true, std::memory_order_release);
  }

  // Reads the record at `offset` (< snapshot) and checks that it is one an
  // index could have returned.
  bool ReadRecord(uint64_t offset, uint64_t snapshot, PacketRecord* out) {
    if (offset >= snapshot || offset % kRecord != 0) {
      Fail("index returned offset " + std::to_string(offset) + " at snapshot " +
           std::to_string(snapshot));
      return false;
    }
    Status s = log_->Read(offset, out);
    if (!s.ok()) {
      Fail("Read " + std::to_string(offset) + ": " + s.ToString());
      return false;
    }
    return true;
  }

  Census Scan(uint64_t from, uint64_t end) {
    Census c;
    Status s = log_->ForEach(from, end, [&](uint64_t, const uint8_t* r) {
      const auto* p = reinterpret_cast<const PacketRecord*>(r);
      const uint32_t h = HostOf(p->src_ip);
      ++c.per_host[h];
      c.v4 += h < kV4Hosts;
      ++c.per_len_bucket[p->ip_len / kLenBucket];
      const size_t port = PortIndex(p->dst_port);
      if (port < kNumPorts) ++c.per_port[port];
      ++c.records;
      return true;
    });
    if (!s.ok()) Fail("ForEach: " + s.ToString());
    return c;
  }

  // Every count an index gives at `snapshot` equals the scan's.
  void FullCheck(uint64_t snapshot, const char* when) {
    const Census all = Scan(0, snapshot);
    if (all.records != snapshot / kRecord || all.per_host[kMaxHosts] != 0) {
      Fail(std::string(when) + ": scan found " + std::to_string(all.records) +
           " records, " + std::to_string(all.per_host[kMaxHosts]) +
           " from unknown hosts");
      return;
    }
    for (uint32_t h = 0; h < hosts_; ++h) {
      uint64_t n = 0;
      src_->Equal(HostIp(h).data(), snapshot, [&](uint64_t) { ++n; });
      if (n != all.per_host[h]) {
        Fail(std::string(when) + ": host " + std::to_string(h) + " has " +
             std::to_string(all.per_host[h]) + " records below " +
             std::to_string(snapshot) + ", the index has " + std::to_string(n));
        return;
      }
    }
    uint64_t v4 = 0;
    const std::array<uint8_t, 16> block = HostIp(0);  // 10.0.0.0/22
    src_->Prefix(block.data(), 96 + 22, snapshot, [&](uint64_t) { ++v4; });
    if (v4 != all.v4) {
      Fail(std::string(when) + ": prefix found " + std::to_string(v4) +
           " IPv4 records, the scan " + std::to_string(all.v4));
      return;
    }
    for (uint64_t b = 0; b < all.per_len_bucket.size(); ++b) {
      const uint16_t value = static_cast<uint16_t>(b * kLenBucket + 7);
      uint64_t n = 0;
      len_->Equal(reinterpret_cast<const uint8_t*>(&value), snapshot,
                  [&](uint64_t) { ++n; });
      if (n != all.per_len_bucket[b]) {
        Fail(std::string(when) + ": ip_len bucket " + std::to_string(b) +
             ": index " + std::to_string(n) + ", scan " +
             std::to_string(all.per_len_bucket[b]));
        return;
      }
    }
    if (late_ready_.load(std::memory_order_acquire)) {
      const uint64_t start = late_owner_->start_offset();
      if (start >= snapshot) return;
      const Census covered = Scan(start, snapshot);
      for (size_t i = 0; i < kNumPorts; ++i) {
        uint64_t n = 0;
        late_owner_->Equal(reinterpret_cast<const uint8_t*>(&kPorts[i]),
                           snapshot, [&](uint64_t o) {
                             n += o >= start;
                             return true;
                           });
        if (n != covered.per_port[i]) {
          Fail(std::string(when) + ": dst_port " + std::to_string(kPorts[i]) +
               " from " + std::to_string(start) + ": index " +
               std::to_string(n) + ", scan " +
               std::to_string(covered.per_port[i]));
          return;
        }
      }
    }
  }

  void Reader(uint32_t r) {
    std::mt19937_64 rng(900 + r);
    std::vector<uint64_t> last_count(hosts_, 0);
    uint64_t last_snapshot = 0;
    uint32_t round = 0;
    PacketRecord rec;
    while (!failed_.load(std::memory_order_relaxed)) {
      const bool done =
          writers_done_.load(std::memory_order_acquire) == kWriters;
      const uint64_t snapshot = log_->read_tail();
      if (snapshot < last_snapshot) {
        Fail("read_tail went back");
        return;
      }
      last_snapshot = snapshot;
      ++round;
      // A few hosts: every offset is that host's, and counts only grow.
      for (int q = 0; q < 4; ++q) {
        const uint32_t h = static_cast<uint32_t>(rng() % hosts_);
        const std::array<uint8_t, 16> ip = HostIp(h);
        // Reads about 256 of the records, so rounds stay short.
        const uint64_t stride = last_count[h] / 256 + 1;
        uint64_t n = 0;
        src_->Equal(ip.data(), snapshot, [&](uint64_t o) {
          if (n++ % stride != 0) {
            if (o < snapshot && o % kRecord == 0) return true;
            Fail("src_ip index: offset " + std::to_string(o) + " at snapshot " +
                 std::to_string(snapshot));
            return false;
          }
          if (!ReadRecord(o, snapshot, &rec)) return false;
          if (std::memcmp(rec.src_ip, ip.data(), 16) != 0) {
            Fail("src_ip index: offset " + std::to_string(o) + " is not host " +
                 std::to_string(h));
            return false;
          }
          return true;
        });
        if (n < last_count[h]) {
          Fail("host " + std::to_string(h) + " had " +
               std::to_string(last_count[h]) + " records, now " +
               std::to_string(n));
        }
        last_count[h] = n;
      }
      // Below, about 1000 records a query are read; the rest only checked
      // against the snapshot.
      const uint64_t stride = snapshot / kRecord / 1000 + 1;
      uint64_t seen = 0;
      auto skip = [&](uint64_t o) {
        if (seen++ % stride == 0) return false;
        if (o >= snapshot || o % kRecord != 0) {
          Fail("offset " + std::to_string(o) + " at snapshot " +
               std::to_string(snapshot));
        }
        return true;
      };
      // An ip_len range: candidates lie in the range widened to buckets.
      uint16_t lo = static_cast<uint16_t>(40 + rng() % 1461);
      uint16_t hi = static_cast<uint16_t>(lo + rng() % 200);
      len_->Range(reinterpret_cast<const uint8_t*>(&lo),
                  reinterpret_cast<const uint8_t*>(&hi), snapshot,
                  [&](uint64_t o) {
                    if (skip(o)) return !failed_.load();
                    if (!ReadRecord(o, snapshot, &rec)) return false;
                    if (rec.ip_len / kLenBucket < lo / kLenBucket ||
                        rec.ip_len / kLenBucket > hi / kLenBucket) {
                      Fail("ip_len " + std::to_string(rec.ip_len) +
                           " is no candidate for [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
                      return false;
                    }
                    return true;
                  });
      // The late index, once its owner lets queries use it.
      if (late_ready_.load(std::memory_order_acquire)) {
        const uint16_t port = kPorts[rng() % kNumPorts];
        const uint64_t start = late_owner_->start_offset();
        late_owner_->Equal(
            reinterpret_cast<const uint8_t*>(&port), snapshot, [&](uint64_t o) {
              if (o >= start && skip(o)) return !failed_.load();
              if (o < start || !ReadRecord(o, snapshot, &rec)) {
                Fail("dst_port index: offset " + std::to_string(o) +
                     " below its start " + std::to_string(start));
                return false;
              }
              if (rec.dst_port != port) {
                Fail("dst_port index: offset " + std::to_string(o) +
                     " has port " + std::to_string(rec.dst_port));
                return false;
              }
              return true;
            });
      }
      if (round % kFullCheckEvery == r) {
        FullCheck(snapshot, "while writing");
        full_checks_.fetch_add(1, std::memory_order_relaxed);
      }
      rounds_.fetch_add(1, std::memory_order_relaxed);
      if (done) return;
    }
  }

  uint32_t hosts_ = 0;
  uint64_t per_writer_ = 0;
  uint64_t total_bytes_ = 0;
  std::unique_ptr<DataLog> log_;
  std::unique_ptr<IndexLog> src_;
  std::unique_ptr<IndexLog> len_;
  std::unique_ptr<IndexLog> late_owner_;  // set before late_ is published
  std::atomic<IndexLog*> late_{nullptr};
  std::atomic<bool> late_ready_{false};
  std::atomic<uint32_t> writers_done_{0};
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> full_checks_{0};
};

TEST_P(IndexLogStressTest, WritersIndexBeforePublishingReadersCheck) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < kWriters; ++w) {
    threads.emplace_back([this, w] {
      Writer(w);
      writers_done_.fetch_add(1, std::memory_order_release);
    });
  }
  threads.emplace_back([this] { Control(); });
  for (uint32_t r = 0; r < kReaders; ++r) {
    threads.emplace_back([this, r] { Reader(r); });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(failed_.load());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  // After the writers: everything is published and indexed.
  const uint64_t snapshot = log_->read_tail();
  ASSERT_EQ(snapshot, total_bytes_);
  FullCheck(snapshot, "after writing");
  ASSERT_FALSE(failed_.load());
  EXPECT_EQ(src_->entries(), per_writer_ * kWriters);
  EXPECT_EQ(len_->entries(), per_writer_ * kWriters);
  EXPECT_EQ(src_->tree().leaves(), hosts_);
  ASSERT_NE(late_owner_, nullptr);
  // Added once a third was in (later if the control thread ran late).
  EXPECT_GE(late_owner_->start_offset(), total_bytes_ / 3);
  EXPECT_LE(late_owner_->start_offset(), total_bytes_);
  EXPECT_GE(late_owner_->entries(),
            (total_bytes_ - late_owner_->start_offset()) / kRecord);
  std::printf(
      "%llu records by %u writers in %.2f s; %llu reader rounds, %llu full "
      "checks; src_ip index %.1f MiB\n",
      static_cast<unsigned long long>(per_writer_ * kWriters), kWriters,
      seconds, static_cast<unsigned long long>(rounds_.load()),
      static_cast<unsigned long long>(full_checks_.load()),
      static_cast<double>(src_->memory_bytes()) / (1 << 20));
}

INSTANTIATE_TEST_SUITE_P(Hosts, IndexLogStressTest,
                         ::testing::Values(300u, 20000u));

}  // namespace
}  // namespace loupe
