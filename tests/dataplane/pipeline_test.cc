// The dataplane end to end on real DPDK devices, without hugepages or PCI:
// a capture file replayed by net_pcap must land in the multilog record for
// record, and a net_ring port flooded past what the pipeline can take must
// count every packet it does not record. One EAL per test binary (DPDK
// allows no other), with a file prefix of its own so tests run in parallel.
#include "dataplane/pipeline.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/eal.h"
#include "dataplane/frame_builder.h"
#include "dataplane/packet_parser.h"
#include "dataplane/pcap_writer.h"
#include "multilog/multilog.h"
#include "multilog/packet_schema.h"

namespace loupe::dataplane {
namespace {

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string prefix =
        "--file-prefix=loupe_pipeline_test_" + std::to_string(getpid());
    Status s = InitEal({"--no-huge", "-m", "512", "--no-pci", prefix,
                        "--lcores=0@(0-1),1@0,2@1", "--log-level=*:warning"});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override { CleanupEal(); }
};

std::unique_ptr<Multilog> OpenPacketLog(MultilogOptions o = {}) {
  o.start_monitor = false;
  o.data.preallocate_bytes = 8 << 20;
  auto log = Multilog::Open("packets", PacketSchema(), o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return std::move(*log);
}

PipelineOptions OnePort(const std::string& device) {
  PipelineOptions o;
  o.ports.push_back({"p0", device, 1024, 8191, 256});
  o.idle_sleep_us = 50;
  return o;
}

void ExpectAccounted(const PortStats& p) {
  EXPECT_EQ(p.received, p.recorded + p.dropped())
      << "received " << p.received << " recorded " << p.recorded << " dropped "
      << p.dropped();
}

// Waits until the port has delivered `n` packets (or 60 s pass).
PipelineStats AwaitReceived(const Pipeline& p, uint64_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  PipelineStats s = p.stats();
  while (s.total.received < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s = p.stats();
  }
  return s;
}

std::vector<PacketRecord> ReadAll(const Multilog& log) {
  const uint64_t tail = log.data_log().read_tail();
  std::vector<PacketRecord> out(tail / sizeof(PacketRecord));
  size_t got = 0;
  Status s = log.data_log().ReadBatch(0, tail, out.size(), out.data(), &got);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, out.size());
  return out;
}

// A mix with every kind of frame the parser knows, and malformed ones whose
// drop reason is known. `expected` gets the records in order (malformed
// frames excluded), `drops` the count per parse reason.
struct Capture {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<PacketRecord> expected;
  std::map<size_t, uint64_t> drops;  // by drop reason
};

Capture MakeCapture(size_t n) {
  Capture c;
  std::mt19937 rng(7);
  for (size_t i = 0; i < n; ++i) {
    FrameSpec f;
    f.src_ip = Ipv4Address(10, 0, static_cast<uint8_t>(rng() % 4),
                           static_cast<uint8_t>(1 + rng() % 200));
    f.dst_ip = Ipv4Address(10, 1, 0, static_cast<uint8_t>(1 + rng() % 20));
    f.src_port = static_cast<uint16_t>(32768 + rng() % 20000);
    static constexpr uint16_t kPorts[] = {443, 80, 53, 22, 8080};
    f.dst_port = kPorts[rng() % 5];
    f.payload_len = static_cast<uint16_t>(rng() % 3 == 0 ? 1400 : 0);
    switch (i % 10) {
      case 0:
        f.proto = kIpProtoUdp;
        break;
      case 1:
        f.l3 = L3Kind::kIpv6;
        f.src_ip =
            *ParseIpAddress("2001:db8:2a:1::" + std::to_string(1 + rng() % 50));
        f.dst_ip = *ParseIpAddress("2001:db8:2a:1::ff");
        break;
      case 2:
        f.num_vlans = 1;
        f.vlan_ids[0] = 100;
        break;
      case 3:
        f.vxlan = VxlanSpec{};
        f.vxlan->vni = 5000 + static_cast<uint32_t>(i % 3);
        f.vxlan->src_ip = Ipv4Address(192, 168, 0, 1);
        f.vxlan->dst_ip = Ipv4Address(192, 168, 0, 2);
        break;
      case 4:
        f.proto = kIpProtoIcmp;
        f.src_port = 8;
        f.dst_port = 0;
        break;
      case 5:
        if (i % 20 == 5) {
          f.l3 = L3Kind::kArp;
          f.src_ip = Ipv4Address(10, 0, 0, 1);
        }
        break;
      default:
        break;
    }
    std::vector<uint8_t> frame = BuildFrame(f);
    EXPECT_FALSE(frame.empty());
    if (i % 97 == 13 && f.l3 == L3Kind::kIpv4) {
      frame.resize(20);  // inside the IPv4 header
      c.drops[ParseDrop(ParseResult::kTruncatedIpv4)]++;
    } else if (i % 97 == 14 && f.l3 == L3Kind::kIpv4 && !f.vxlan &&
               f.num_vlans == 0) {
      frame[14] = 0x43;  // IHL 3
      c.drops[ParseDrop(ParseResult::kBadIpv4Header)]++;
    } else {
      c.expected.push_back(ExpectedRecord(f));
    }
    c.frames.push_back(std::move(frame));
  }
  return c;
}

TEST(PipelineTest, CaptureFileIsRecordedRecordForRecord) {
  const size_t kFrames = 20000;
  Capture cap = MakeCapture(kFrames);
  const std::string path =
      std::filesystem::temp_directory_path() /
      ("loupe_pipeline_" + std::to_string(getpid()) + ".pcap");
  {
    auto w = PcapWriter::Create(path);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    uint64_t t = 1700000000000000000ull;
    for (const auto& f : cap.frames) {
      ASSERT_TRUE(
          w->Write(t += 1000, f.data(), static_cast<uint32_t>(f.size())).ok());
    }
    ASSERT_TRUE(w->Close().ok());
  }
  auto log = OpenPacketLog();
  ASSERT_TRUE(log->AddIndex({"dst_port", 0}).ok());
  ASSERT_TRUE(log->AddFilter("tcp", "proto == tcp").ok());
  ASSERT_TRUE(log->AddAggregate("tcp_bytes", "tcp", "SUM(ip_len)").ok());

  const uint64_t before = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  auto p = Pipeline::Create(log.get(), OnePort("net_pcap_t1,rx_pcap=" + path));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE((*p)->Start().ok());
  PipelineStats s = AwaitReceived(**p, kFrames);
  (*p)->Stop();
  s = (*p)->stats();
  std::filesystem::remove(path);

  ASSERT_EQ(s.ports.size(), 1u);
  const PortStats& ps = s.ports[0];
  EXPECT_EQ(ps.received, kFrames);
  EXPECT_EQ(ps.recorded, cap.expected.size());
  ExpectAccounted(ps);
  for (size_t d = 0; d < kNumDropReasons; ++d) {
    uint64_t want = cap.drops.count(d) ? cap.drops[d] : 0;
    EXPECT_EQ(ps.drops[d], want) << DropReasonName(d);
  }
  ASSERT_EQ(s.writers.size(), 1u);
  EXPECT_EQ(s.writers[0].records, cap.expected.size());
  EXPECT_EQ(s.writers[0].ring_used, 0u);

  // Everything recorded is published, in capture order (one RX lcore, one
  // writer), and equals what the parser must make of each frame.
  std::vector<PacketRecord> got = ReadAll(*log);
  ASSERT_EQ(got.size(), cap.expected.size());
  uint64_t prev_ts = 0;
  size_t tcp = 0;
  size_t https = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    PacketRecord want = cap.expected[i];
    EXPECT_GE(got[i].timestamp, before);
    EXPECT_GE(got[i].timestamp, prev_ts);
    prev_ts = got[i].timestamp;
    EXPECT_EQ(got[i].port, 0);
    want.timestamp = got[i].timestamp;
    want.port = got[i].port;
    ASSERT_EQ(std::memcmp(&got[i], &want, sizeof(want)), 0)
        << "record " << i << " differs from its frame";
    tcp += want.proto == kIpProtoTcp;
    https += want.dst_port == 443 && want.ether_type != kEtherTypeArp;
  }
  // The filter and the index saw every record.
  auto q = log->QueryFilter("tcp", 0, UINT64_MAX);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->offsets.size(), tcp);
  auto e = log->ExecuteFilter("dst_port == 443", 0, UINT64_MAX);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->offsets.size(), https);
}

// A net_ring port whose RX ring the test fills with prebuilt mbufs. Each
// frame carries its sequence number in its ports, so the records show
// exactly which packets were recorded.
class RingSource {
 public:
  explicit RingSource(const std::string& name) : name_(name) {
    ring_ = rte_ring_create(("r_" + name).c_str(), 4096, rte_socket_id(),
                            RING_F_SP_ENQ | RING_F_SC_DEQ);
    pool_ = rte_pktmbuf_pool_create(("mp_" + name).c_str(), 16383, 256, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
    port_ =
        rte_eth_from_rings(name.c_str(), &ring_, 1, &ring_, 1, rte_socket_id());
  }
  ~RingSource() {
    rte_mempool_free(pool_);
    rte_ring_free(ring_);
  }
  bool ok() const { return ring_ && pool_ && port_ >= 0; }
  // The ethdev the net_ring driver made: it prefixes the name.
  std::string device() const { return "net_ring_" + name_; }

  // Sends packets [first, first + n); waits (never drops) when the ring
  // is full, so every packet reaches the port.
  void Send(uint32_t first, uint32_t n) {
    FrameSpec f;
    f.src_ip = Ipv4Address(10, 0, 0, 1);
    f.dst_ip = Ipv4Address(10, 0, 0, 2);
    std::vector<uint8_t> frame = BuildFrame(f);
    rte_mbuf* burst[32];
    for (uint32_t i = 0; i < n;) {
      const uint32_t k = std::min<uint32_t>(32, n - i);
      // Spin, not yield: the polling lcores occupy both CPUs, and a
      // yielding thread would wait a whole time slice each time.
      while (rte_pktmbuf_alloc_bulk(pool_, burst, k) != 0) rte_pause();
      for (uint32_t j = 0; j < k; ++j) {
        const uint32_t seq = first + i + j;
        char* d =
            rte_pktmbuf_append(burst[j], static_cast<uint16_t>(frame.size()));
        std::memcpy(d, frame.data(), frame.size());
        // TCP ports at 34 and 36: the sequence number, big-endian.
        d[34] = static_cast<char>(seq >> 24);
        d[35] = static_cast<char>(seq >> 16);
        d[36] = static_cast<char>(seq >> 8);
        d[37] = static_cast<char>(seq);
      }
      uint32_t sent = 0;
      while (sent < k) {
        sent += rte_ring_enqueue_burst(
            ring_, reinterpret_cast<void**>(burst + sent), k - sent, nullptr);
        if (sent < k) rte_pause();
      }
      i += k;
    }
  }

 private:
  const std::string name_;
  rte_ring* ring_ = nullptr;
  rte_mempool* pool_ = nullptr;
  int port_ = -1;
};

uint64_t WallNowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

uint32_t SeqOf(const PacketRecord& r) {
  return uint32_t{r.src_port} << 16 | r.dst_port;
}

// Every record is a packet that was sent, once, in order; every packet not
// recorded is in a drop counter.
void ExpectNothingLostSilently(const Multilog& log, const PortStats& ps,
                               uint32_t sent) {
  EXPECT_EQ(ps.received, sent);
  ExpectAccounted(ps);
  std::vector<PacketRecord> got = ReadAll(log);
  EXPECT_EQ(got.size(), ps.recorded);
  for (size_t i = 1; i < got.size(); ++i) {
    ASSERT_LT(SeqOf(got[i - 1]), SeqOf(got[i])) << "at record " << i;
  }
  if (!got.empty()) {
    EXPECT_LT(SeqOf(got.back()), sent);
  }
}

TEST(PipelineTest, RingFloodedPastWriterCapacityCountsEveryDrop) {
  RingSource src("flood");
  ASSERT_TRUE(src.ok());
  auto log = OpenPacketLog();
  // A writer with work to do: 64 filters, each with an aggregate.
  for (int i = 0; i < 64; ++i) {
    const std::string f = "f" + std::to_string(i);
    ASSERT_TRUE(log->AddFilter(f, "src_port >= " + std::to_string(i)).ok());
    ASSERT_TRUE(
        log->AddAggregate("a" + std::to_string(i), f, "SUM(ip_len)").ok());
  }
  PipelineOptions o = OnePort(src.device());
  o.ring_size = 2;
  o.idle_sleep_us = 0;
  auto p = Pipeline::Create(log.get(), o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE((*p)->Start().ok());

  const uint32_t kPackets = 400000;
  uint64_t last_tail = 0;
  int advanced = 0;
  for (uint32_t sent = 0; sent < kPackets; sent += 50000) {
    src.Send(sent, 50000);
    // Between sends readTail must move on: a refused or dropped burst that
    // left a hole would stop it for good. (The lcores may not have run yet
    // when Send returns, on 2 busy CPUs: wait for it, with a bound.)
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    uint64_t tail = log->data_log().read_tail();
    while (tail <= last_tail && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      tail = log->data_log().read_tail();
    }
    advanced += tail > last_tail;
    last_tail = tail;
  }
  PipelineStats s = AwaitReceived(**p, kPackets);
  (*p)->Stop();
  s = (*p)->stats();
  EXPECT_EQ(advanced, static_cast<int>(kPackets / 50000))
      << "readTail must keep advancing under load";
  EXPECT_GT(s.total.drops[kDropRingFull], 0u);
  EXPECT_EQ(s.total.drops[kDropLogFull], 0u);
  ExpectNothingLostSilently(*log, s.ports[0], kPackets);
}

// settled_ns (the fleet API's settled time): a packet stamped before it is
// below the read tail loaded after it -- sampled while a busy writer keeps
// bursts pending -- and the TSC clock re-anchors once a second.
TEST(PipelineTest, SettledTimeBoundsWhatIsPublished) {
  RingSource src("settled");
  ASSERT_TRUE(src.ok());
  auto log = OpenPacketLog();
  for (int i = 0; i < 32; ++i) {
    const std::string f = "f" + std::to_string(i);
    ASSERT_TRUE(log->AddFilter(f, "src_port >= " + std::to_string(i)).ok());
    ASSERT_TRUE(
        log->AddAggregate("a" + std::to_string(i), f, "SUM(ip_len)").ok());
  }
  PipelineOptions o = OnePort(src.device());
  o.idle_sleep_us = 0;
  auto p = Pipeline::Create(log.get(), o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE((*p)->settled_ns().has_value()) << "not running yet";
  const uint64_t before_start = WallNowNs();
  ASSERT_TRUE((*p)->Start().ok());

  struct Sample {
    uint64_t settled;
    uint64_t tail;
    uint64_t taken_at;
  };
  std::vector<Sample> samples;
  std::atomic<bool> sending{true};
  std::thread sender([&] {
    // ~1.3 s of traffic in chunks, so the clock re-anchors at least once.
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(1300);
    uint32_t sent = 0;
    while (std::chrono::steady_clock::now() < end) {
      src.Send(sent, 2000);
      sent += 2000;
    }
    sending.store(false);
  });
  while (sending.load()) {
    std::optional<uint64_t> s = (*p)->settled_ns();
    ASSERT_TRUE(s.has_value());
    const uint64_t tail = log->data_log().read_tail();
    samples.push_back({*s, tail, WallNowNs()});
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  sender.join();
  (*p)->Stop();
  EXPECT_FALSE((*p)->settled_ns().has_value()) << "stopped: all published";

  const std::vector<PacketRecord> got = ReadAll(*log);
  ASSERT_FALSE(got.empty());
  ASSERT_GT(samples.size(), 100u);
  // suffix_min[i]: the earliest stamp at or above record i.
  std::vector<uint64_t> suffix_min(got.size() + 1, UINT64_MAX);
  for (size_t i = got.size(); i-- > 0;) {
    suffix_min[i] = std::min(suffix_min[i + 1], got[i].timestamp);
  }
  uint64_t previous = 0;
  size_t behind = 0;  // samples where something stamped earlier was pending
  for (const Sample& s : samples) {
    EXPECT_GE(s.settled, before_start);
    EXPECT_GE(s.settled, previous) << "settled time went back";
    EXPECT_LE(s.settled, s.taken_at + 50'000'000u)
        << "settled time ahead of the wall clock by more than the slew";
    previous = s.settled;
    const size_t first_unseen = s.tail / sizeof(PacketRecord);
    ASSERT_LE(first_unseen, got.size());
    // Every record at or above the tail has a stamp at or after settled.
    ASSERT_GE(suffix_min[first_unseen], s.settled)
        << "a record above tail " << s.tail
        << " is stamped before the settled time";
    behind += suffix_min[first_unseen] == s.settled;
  }
  std::printf("settled: %zu samples, %zu with the oldest pending burst\n",
              samples.size(), behind);
  // The busy writer kept bursts pending: the pending path was exercised,
  // not only the idle one.
  EXPECT_GT(behind, 0u);
  const PipelineStats st = (*p)->stats();
  EXPECT_GE(st.clock.reanchors, 1u);
  EXPECT_LT(st.clock.max_abs_offset_ns, 50'000'000u)
      << "the TSC clock drifted past the slew bound in a second";
  std::printf(
      "clock: %lu re-anchors, last offset %ld ns, max |offset| %lu ns\n",
      static_cast<unsigned long>(st.clock.reanchors),
      static_cast<long>(st.clock.last_offset_ns),
      static_cast<unsigned long>(st.clock.max_abs_offset_ns));
}

TEST(PipelineTest, FullLogCountsLogFullAndRecordsTheRest) {
  RingSource src("full");
  ASSERT_TRUE(src.ok());
  MultilogOptions mo;
  mo.data.block_records = 1024;
  mo.data.capacity_bytes = 4096 * sizeof(PacketRecord);
  mo.data.preallocate_bytes = 1 << 20;
  mo.start_monitor = false;
  auto opened = Multilog::Open("packets", PacketSchema(), mo);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto log = std::move(*opened);
  auto p = Pipeline::Create(log.get(), OnePort(src.device()));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE((*p)->Start().ok());
  const uint32_t kPackets = 20000;
  src.Send(0, kPackets);
  PipelineStats s = AwaitReceived(**p, kPackets);
  (*p)->Stop();
  s = (*p)->stats();
  EXPECT_GT(s.total.drops[kDropLogFull], 0u);
  EXPECT_GT(s.total.recorded, 0u);
  EXPECT_LE(s.total.recorded * sizeof(PacketRecord), mo.data.capacity_bytes);
  ExpectNothingLostSilently(*log, s.ports[0], kPackets);
}

TEST(PipelineTest, BadConfigurationIsRefusedWithAReason) {
  auto log = OpenPacketLog();
  auto p = Pipeline::Create(log.get(), OnePort("net_nosuchdriver0"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("net_nosuchdriver0"), std::string::npos)
      << p.status().ToString();
  PipelineOptions o = OnePort("net_null_cfg");
  o.writers = 2;  // EAL has two workers: 1 RX + 1 writer at most
  p = Pipeline::Create(log.get(), o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("lcores"), std::string::npos)
      << p.status().ToString();
  o = OnePort("net_null_cfg2");
  o.ring_size = 1000;
  EXPECT_FALSE(Pipeline::Create(log.get(), o).ok());

  auto user = Multilog::Open("user", *Schema::Parse("a:u64"), {});
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  p = Pipeline::Create(user->get(), OnePort("net_null_cfg3"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("packet schema"), std::string::npos);
}

}  // namespace
}  // namespace loupe::dataplane

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new loupe::dataplane::EalEnvironment);
  return RUN_ALL_TESTS();
}
