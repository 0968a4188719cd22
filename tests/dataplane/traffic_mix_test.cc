#include "dataplane/traffic_mix.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "dataplane/frame_builder.h"
#include "dataplane/packet_parser.h"

namespace loupe::dataplane {
namespace {

using ::testing::HasSubstr;

TrafficMix Make(const MixOptions& options) {
  Result<TrafficMix> mix = TrafficMix::Create(options);
  EXPECT_TRUE(mix.ok()) << mix.status().ToString();
  return std::move(mix).value();
}

IpAddress Dst(const PacketRecord& r) {
  IpAddress ip;
  std::memcpy(ip.data(), r.dst_ip, 16);
  return ip;
}

// FNV-1a over every frame and timestamp.
uint64_t Fingerprint(const MixOptions& options) {
  TrafficMix mix = Make(options);
  std::vector<uint8_t> buf(kMixMaxFrameBytes);
  MixFrame f;
  uint64_t h = 1469598103934665603ull;
  const auto mixin = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  while (mix.Next(buf.data(), buf.size(), &f)) {
    mixin(&f.timestamp_ns, sizeof(f.timestamp_ns));
    mixin(buf.data(), f.length);
  }
  return h;
}

TEST(TrafficMixTest, SameSeedSameFrames) {
  MixOptions o;
  o.packets = 20'000;
  o.seed = 7;
  o.malformed_fraction = 0.01;
  o.burst = true;
  const uint64_t a = Fingerprint(o);
  EXPECT_EQ(Fingerprint(o), a);
  o.seed = 8;
  EXPECT_NE(Fingerprint(o), a);
}

TEST(TrafficMixTest, ProportionsAndRate) {
  MixOptions o;
  o.packets = 200'000;
  o.rate_pps = 50'000;
  TrafficMix mix = Make(o);
  std::vector<uint8_t> buf(kMixMaxFrameBytes);
  MixFrame f;
  uint64_t small = 0;
  uint64_t large = 0;
  uint64_t previous = 0;
  while (mix.Next(buf.data(), buf.size(), &f)) {
    ASSERT_GE(f.timestamp_ns, previous);
    previous = f.timestamp_ns;
    ASSERT_GE(f.length, kMinFrameBytes);
    ASSERT_LE(f.length, 1518u);
    if (f.length <= 100) ++small;
    if (f.length >= 1400) ++large;
  }
  const MixSummary& s = mix.summary();
  ASSERT_EQ(s.packets, o.packets);
  const double n = static_cast<double>(s.records);
  const auto share = [&](uint8_t proto) {
    const auto it = s.per_proto.find(proto);
    return it == s.per_proto.end() ? 0.0 : it->second / n;
  };
  EXPECT_NEAR(share(kIpProtoTcp), 0.85, 0.03);
  EXPECT_NEAR(share(kIpProtoUdp), 0.13, 0.03);
  EXPECT_NEAR(share(kIpProtoIcmp) + share(kIpProtoIcmpv6), 0.02, 0.01);
  EXPECT_NEAR(s.ipv6 / n, o.ipv6_fraction, 0.06);
  EXPECT_NEAR(s.vxlan / n, o.vxlan_fraction, 0.025);
  EXPECT_NEAR(s.non_ip / n, 2 * o.arp_fraction, 0.001);  // request, reply
  EXPECT_GT(s.per_vlan.size(), 0u);
  EXPECT_EQ(s.per_vni.size(), 3u);
  EXPECT_GT(s.fragments, 0u);
  // Bimodal sizes: many small acks, many full-size segments.
  EXPECT_GT(small / n, 0.3);
  EXPECT_GT(large / n, 0.08);
  // Well-known server ports all appear.
  for (uint16_t port : {443, 80, 8080, 22, 5432, 6379, 9092, 53, 123}) {
    EXPECT_GT(s.per_dst_port.count(port), 0u) << port;
  }
  // Poisson arrivals at the rate: duration within a few percent.
  const double seconds = (s.last_timestamp_ns - s.first_timestamp_ns) / 1e9;
  EXPECT_NEAR(seconds, o.packets / o.rate_pps, 0.03 * o.packets / o.rate_pps);
  EXPECT_EQ(mix.expected_duration_ns(), 4'000'000'000u);
  EXPECT_GE(s.first_timestamp_ns, o.start_ns);
}

TEST(TrafficMixTest, BurstWindowHoldsTheFlashCrowd) {
  MixOptions o;
  o.packets = 150'000;
  o.rate_pps = 100'000;
  o.burst = true;
  o.burst_start = 0.4;
  o.burst_end = 0.6;
  o.burst_factor = 5;
  TrafficMix mix = Make(o);
  const MixSummary& s = mix.summary();
  const uint64_t duration = mix.expected_duration_ns();
  // 150k / (100k * (1 + 5 * 0.2)) s
  EXPECT_EQ(duration, 750'000'000u);
  EXPECT_EQ(s.burst_start_ns, o.start_ns + 300'000'000);
  EXPECT_EQ(s.burst_end_ns, o.start_ns + 450'000'000);

  std::vector<uint8_t> buf(kMixMaxFrameBytes);
  MixFrame f;
  uint64_t inside = 0;
  uint64_t to_target_inside = 0;
  uint64_t to_target_outside = 0;
  uint64_t outside = 0;
  while (mix.Next(buf.data(), buf.size(), &f)) {
    const bool in =
        f.timestamp_ns >= s.burst_start_ns && f.timestamp_ns < s.burst_end_ns;
    if (f.burst) {
      ASSERT_TRUE(in) << f.timestamp_ns;
      ASSERT_TRUE(Dst(f.record) == o.burst_ip ||
                  f.record.src_port == o.burst_port);
    }
    const bool to_target =
        Dst(f.record) == o.burst_ip && f.record.dst_port == o.burst_port;
    (in ? inside : outside) += 1;
    (in ? to_target_inside : to_target_outside) += to_target ? 1 : 0;
  }
  // Inside the window the rate is (1 + factor) times the base.
  const double in_rate = inside / 0.15;
  const double out_rate = outside / 0.60;
  EXPECT_NEAR(in_rate / out_rate, 6.0, 0.6);
  // The flash crowd is most of the window's traffic; about half of its
  // frames go to the target (requests and acks), the rest come back.
  EXPECT_NEAR(s.burst_packets / static_cast<double>(inside), 5.0 / 6, 0.03);
  EXPECT_GT(s.burst_to_target, s.burst_packets / 3);
  EXPECT_GT(to_target_inside / 0.15, 50 * (to_target_outside / 0.60));
  // Flash-crowd clients come from many addresses.
  EXPECT_GT(s.per_dst_ip.size(), 2'000u);
}

TEST(TrafficMixTest, IPv6BurstTarget) {
  MixOptions o;
  o.packets = 30'000;
  o.burst = true;
  o.burst_ip = *ParseIpAddress("2001:db8:2a:1::50");
  o.burst_port = 443;
  TrafficMix mix = Make(o);
  std::vector<uint8_t> buf(kMixMaxFrameBytes);
  MixFrame f;
  while (mix.Next(buf.data(), buf.size(), &f)) {
    if (f.burst) {
      ASSERT_EQ(f.record.flags & kPacketIpv6, kPacketIpv6);
    }
  }
  EXPECT_GT(mix.summary().burst_to_target, 1000u);
}

// The summary is what a parser finds: parse every frame, recount, compare.
TEST(TrafficMixTest, SummaryEqualsARecountOfParsedFrames) {
  MixOptions o;
  o.packets = 100'000;
  o.seed = 3;
  o.malformed_fraction = 0.05;
  o.vxlan_fraction = 0.1;
  o.burst = true;
  TrafficMix mix = Make(o);
  MixSummary recount;
  std::map<ParseResult, uint64_t> failures;
  std::vector<uint8_t> buf(kMixMaxFrameBytes);
  MixFrame f;
  uint64_t bytes = 0;
  while (mix.Next(buf.data(), buf.size(), &f)) {
    bytes += f.length;
    PacketRecord r;
    std::memset(&r, 0, sizeof(r));
    const ParseResult result = ParsePacket(buf.data(), f.length, &r);
    if (f.malformed) {
      ASSERT_NE(result, ParseResult::kOk) << "a damaged frame parsed";
      ++failures[result];
      continue;
    }
    ASSERT_EQ(result, ParseResult::kOk) << ParseResultName(result);
    ASSERT_EQ(std::memcmp(&r, &f.record, sizeof(r)), 0)
        << "the record differs from ExpectedRecord";
    recount.AddRecord(r);
  }
  const MixSummary& s = mix.summary();
  EXPECT_EQ(s.packets, o.packets);
  EXPECT_EQ(s.bytes, bytes);
  EXPECT_EQ(s.records + s.malformed, s.packets);
  EXPECT_NEAR(s.malformed / 1e5, 0.05, 0.005);
  EXPECT_EQ(recount.records, s.records);
  EXPECT_EQ(recount.ipv4, s.ipv4);
  EXPECT_EQ(recount.ipv6, s.ipv6);
  EXPECT_EQ(recount.non_ip, s.non_ip);
  EXPECT_EQ(recount.vxlan, s.vxlan);
  EXPECT_EQ(recount.fragments, s.fragments);
  EXPECT_EQ(recount.per_proto, s.per_proto);
  EXPECT_EQ(recount.per_dst_port, s.per_dst_port);
  EXPECT_EQ(recount.per_dst_ip, s.per_dst_ip);
  EXPECT_EQ(recount.per_ether_type, s.per_ether_type);
  EXPECT_EQ(recount.per_vni, s.per_vni);
  EXPECT_EQ(recount.per_vlan, s.per_vlan);
  // Damage takes several forms.
  EXPECT_GT(failures[ParseResult::kBadIpv4Header], 0u);
  EXPECT_GT(failures[ParseResult::kBadIpv6Header], 0u);
  EXPECT_GT(failures[ParseResult::kTruncatedIpv4], 0u);
  EXPECT_GT(failures[ParseResult::kTruncatedL4], 0u);
  EXPECT_GT(failures[ParseResult::kRunt], 0u);
  EXPECT_GT(failures[ParseResult::kBadVxlan], 0u);
}

TEST(TrafficMixTest, StopsAfterThePacketCount) {
  MixOptions o;
  o.packets = 10;
  TrafficMix mix = Make(o);
  std::vector<uint8_t> buf(kMixMaxFrameBytes);
  MixFrame f;
  int n = 0;
  while (mix.Next(buf.data(), buf.size(), &f)) ++n;
  EXPECT_EQ(n, 10);
  EXPECT_FALSE(mix.Next(buf.data(), buf.size(), &f));
  EXPECT_EQ(mix.summary().packets, 10u);
}

TEST(TrafficMixTest, InvalidOptionsNameTheOption) {
  const auto error = [](MixOptions o) {
    Result<TrafficMix> mix = TrafficMix::Create(o);
    EXPECT_FALSE(mix.ok());
    EXPECT_EQ(mix.status().code(), Status::Code::kInvalidArgument);
    return mix.status().message();
  };
  MixOptions o;
  o.hosts = 3;
  EXPECT_THAT(error(o), HasSubstr("hosts 3 must be between 8 and 64000"));
  o = MixOptions{};
  o.packets = 0;
  EXPECT_THAT(error(o), HasSubstr("packets"));
  o = MixOptions{};
  o.rate_pps = 0;
  EXPECT_THAT(error(o), HasSubstr("rate_pps"));
  o = MixOptions{};
  o.ipv6_fraction = 1.5;
  EXPECT_THAT(error(o), HasSubstr("ipv6_fraction 1.5 must be between 0 and 1"));
  o = MixOptions{};
  o.burst = true;
  o.burst_start = 0.7;
  o.burst_end = 0.6;
  EXPECT_THAT(error(o),
              HasSubstr("burst_start 0.7 must be below burst_end 0.6"));
  o.burst_start = 0.1;
  o.burst_factor = 0;
  EXPECT_THAT(error(o), HasSubstr("burst_factor"));
}

}  // namespace
}  // namespace loupe::dataplane
