#include "dataplane/frame_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/packet_parser.h"

namespace loupe::dataplane {
namespace {

using ::testing::ElementsAre;

constexpr MacAddress kSrcMac = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01};
constexpr MacAddress kDstMac = {0x52, 0x54, 0x00, 0x00, 0x00, 0x02};

uint16_t Get16(const std::vector<uint8_t>& f, size_t at) {
  return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}

uint32_t Get32(const std::vector<uint8_t>& f, size_t at) {
  return uint32_t{Get16(f, at)} << 16 | Get16(f, at + 2);
}

// RFC 1071 the slow way: big-endian 16-bit words, odd byte padded.
uint32_t Sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i < n; i += 2) {
    acc += static_cast<uint32_t>(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
  }
  return acc;
}

uint16_t Fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

// True if the bytes, checksum field included, sum to 0xffff.
bool ChecksumOk(const uint8_t* p, size_t n, uint32_t acc = 0) {
  return Fold(Sum16(p, n, acc)) == 0xffff;
}

uint32_t PseudoSum(bool ipv6, const uint8_t* ip_header, uint8_t proto,
                   uint32_t l4_length) {
  uint32_t acc = 0;
  if (ipv6) {
    acc = Sum16(ip_header + 8, 32);
  } else {
    acc = Sum16(ip_header + 12, 8);
  }
  return acc + proto + (l4_length >> 16) + (l4_length & 0xffff);
}

FrameSpec TcpSpec() {
  FrameSpec s;
  s.src_mac = kSrcMac;
  s.dst_mac = kDstMac;
  s.src_ip = Ipv4Address(10, 0, 0, 1);
  s.dst_ip = Ipv4Address(10, 0, 0, 80);
  s.proto = kIpProtoTcp;
  s.src_port = 40000;
  s.dst_port = 8080;
  s.tcp_flags = kTcpAck | kTcpPsh;
  s.tcp_seq = 0x01020304;
  s.tcp_ack = 0x0a0b0c0d;
  s.ttl = 61;
  s.tos = 0x10;
  s.ip_id = 0x4242;
  s.payload_len = 100;
  return s;
}

IpAddress V6(const char* text) { return *ParseIpAddress(text); }

FrameSpec Udp6Spec() {
  FrameSpec s;
  s.src_mac = kSrcMac;
  s.dst_mac = kDstMac;
  s.l3 = L3Kind::kIpv6;
  s.src_ip = V6("2001:db8:2a:1::1");
  s.dst_ip = V6("2001:db8:2a:1::50");
  s.proto = kIpProtoUdp;
  s.src_port = 5353;
  s.dst_port = 53;
  s.ttl = 255;
  s.tos = 0xb8;
  s.flow_label = 0xabcde;
  s.payload_len = 33;  // odd: checksum pads
  return s;
}

PacketRecord Parse(const std::vector<uint8_t>& frame, ParseResult* result) {
  PacketRecord r;
  std::memset(&r, 0, sizeof(r));
  *result = ParsePacket(frame.data(), static_cast<uint32_t>(frame.size()), &r);
  return r;
}

TEST(FrameBuilderTest, TcpIpv4HeadersAtTheirOffsets) {
  const FrameSpec spec = TcpSpec();
  const std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), 14u + 20 + 20 + 100);
  EXPECT_EQ(FrameSize(spec), f.size());
  EXPECT_TRUE(std::equal(kDstMac.begin(), kDstMac.end(), f.begin()));
  EXPECT_TRUE(std::equal(kSrcMac.begin(), kSrcMac.end(), f.begin() + 6));
  EXPECT_EQ(Get16(f, 12), kEtherTypeIpv4);
  // IPv4
  EXPECT_EQ(f[14], 0x45);
  EXPECT_EQ(f[15], 0x10);
  EXPECT_EQ(Get16(f, 16), 140);  // total length
  EXPECT_EQ(Get16(f, 18), 0x4242);
  EXPECT_EQ(Get16(f, 20), 0);  // no DF, no fragment
  EXPECT_EQ(f[22], 61);
  EXPECT_EQ(f[23], kIpProtoTcp);
  EXPECT_THAT(std::vector<uint8_t>(f.begin() + 26, f.begin() + 34),
              ElementsAre(10, 0, 0, 1, 10, 0, 0, 80));
  EXPECT_TRUE(ChecksumOk(f.data() + 14, 20));
  // TCP
  EXPECT_EQ(Get16(f, 34), 40000);
  EXPECT_EQ(Get16(f, 36), 8080);
  EXPECT_EQ(Get32(f, 38), 0x01020304u);
  EXPECT_EQ(Get32(f, 42), 0x0a0b0c0du);
  EXPECT_EQ(f[46], 0x50);  // data offset 5
  EXPECT_EQ(f[47], kTcpAck | kTcpPsh);
  EXPECT_EQ(Get16(f, 48), 65535);
  EXPECT_NE(Get16(f, 50), 0);
  EXPECT_TRUE(ChecksumOk(f.data() + 34, 120,
                         PseudoSum(false, f.data() + 14, kIpProtoTcp, 120)));
}

TEST(FrameBuilderTest, DontFragmentAndTcpTimestamps) {
  FrameSpec spec = TcpSpec();
  spec.dont_fragment = true;
  spec.tcp_timestamps = true;
  const std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), 14u + 20 + 32 + 100);
  EXPECT_EQ(Get16(f, 20), 0x4000);
  EXPECT_EQ(f[46], 0x80);  // data offset 8
  EXPECT_THAT(std::vector<uint8_t>(f.begin() + 54, f.begin() + 58),
              ElementsAre(1, 1, 8, 10));
  EXPECT_TRUE(ChecksumOk(f.data() + 14, 20));
  EXPECT_TRUE(ChecksumOk(f.data() + 34, 132,
                         PseudoSum(false, f.data() + 14, kIpProtoTcp, 132)));
}

TEST(FrameBuilderTest, ShortFramesArePaddedWithZeros) {
  FrameSpec spec = TcpSpec();
  spec.payload_len = 0;
  const std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), kMinFrameBytes);
  EXPECT_EQ(Get16(f, 16), 40);  // the IP datagram does not include padding
  for (size_t i = 54; i < 60; ++i) EXPECT_EQ(f[i], 0) << i;
  spec.pad = false;
  EXPECT_EQ(BuildFrame(spec).size(), 54u);
}

TEST(FrameBuilderTest, PayloadBytesAreCopiedAndChecksummed) {
  FrameSpec spec = TcpSpec();
  std::vector<uint8_t> payload(spec.payload_len);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>(i * 7 + 3);
  }
  spec.payload = payload.data();
  const std::vector<uint8_t> f = BuildFrame(spec);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.begin() + 54));
  EXPECT_TRUE(ChecksumOk(f.data() + 34, 120,
                         PseudoSum(false, f.data() + 14, kIpProtoTcp, 120)));
}

TEST(FrameBuilderTest, UdpIpv6LengthsAndChecksum) {
  const FrameSpec spec = Udp6Spec();
  const std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), 14u + 40 + 8 + 33);
  EXPECT_EQ(Get16(f, 12), kEtherTypeIpv6);
  EXPECT_EQ(Get32(f, 14), (6u << 28) | (0xb8u << 20) | 0xabcde);
  EXPECT_EQ(Get16(f, 18), 41);  // payload length
  EXPECT_EQ(f[20], kIpProtoUdp);
  EXPECT_EQ(f[21], 255);
  EXPECT_EQ(Get16(f, 54), 5353);
  EXPECT_EQ(Get16(f, 56), 53);
  EXPECT_EQ(Get16(f, 58), 41);  // UDP length
  EXPECT_NE(Get16(f, 60), 0);   // mandatory over IPv6
  EXPECT_TRUE(ChecksumOk(f.data() + 54, 41,
                         PseudoSum(true, f.data() + 14, kIpProtoUdp, 41)));
}

TEST(FrameBuilderTest, VlanAndQinQTags) {
  FrameSpec spec = TcpSpec();
  spec.num_vlans = 1;
  spec.vlan_ids[0] = 100;
  std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), 18u + 20 + 20 + 100);
  EXPECT_EQ(Get16(f, 12), kEtherTypeVlan);
  EXPECT_EQ(Get16(f, 14), 100);
  EXPECT_EQ(Get16(f, 16), kEtherTypeIpv4);
  EXPECT_EQ(f[18], 0x45);

  spec.num_vlans = 2;
  spec.vlan_ids = {300, 4095};
  f = BuildFrame(spec);
  ASSERT_EQ(f.size(), 22u + 20 + 20 + 100);
  EXPECT_EQ(Get16(f, 12), kEtherTypeQinQ);
  EXPECT_EQ(Get16(f, 14), 300);
  EXPECT_EQ(Get16(f, 16), kEtherTypeVlan);
  EXPECT_EQ(Get16(f, 18), 4095);
  EXPECT_EQ(Get16(f, 20), kEtherTypeIpv4);
  EXPECT_TRUE(ChecksumOk(f.data() + 22, 20));
  EXPECT_EQ(ExpectedRecord(spec).vlan, 300);
}

TEST(FrameBuilderTest, Ipv4OptionsRaiseIhl) {
  FrameSpec spec = TcpSpec();
  spec.ipv4_option_words = 3;
  const std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), 14u + 32 + 20 + 100);
  EXPECT_EQ(f[14], 0x48);
  EXPECT_EQ(Get16(f, 16), 152);
  EXPECT_EQ(f[34], 1);  // NOP
  EXPECT_EQ(f[45], 0);  // End of Option List
  EXPECT_TRUE(ChecksumOk(f.data() + 14, 32));
  EXPECT_EQ(Get16(f, 46), 40000);  // TCP after the options
  EXPECT_EQ(ExpectedRecord(spec).ip_len, 152);
}

TEST(FrameBuilderTest, IcmpAndIcmpv6) {
  FrameSpec spec = TcpSpec();
  spec.proto = kIpProtoIcmp;
  spec.src_port = 8;  // echo request
  spec.dst_port = 0;
  spec.icmp_rest = 0x12340001;
  spec.payload_len = 56;
  std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), 14u + 20 + 8 + 56);
  EXPECT_EQ(f[34], 8);
  EXPECT_EQ(f[35], 0);
  EXPECT_EQ(Get32(f, 38), 0x12340001u);
  EXPECT_TRUE(ChecksumOk(f.data() + 34, 64));  // no pseudo-header
  PacketRecord r = ExpectedRecord(spec);
  EXPECT_EQ(r.src_port, 8);
  EXPECT_EQ(r.dst_port, 0);

  FrameSpec v6 = Udp6Spec();
  v6.proto = kIpProtoIcmpv6;
  v6.src_port = 1;  // destination unreachable
  v6.dst_port = 4;  // port unreachable
  v6.payload_len = 48;
  f = BuildFrame(v6);
  ASSERT_EQ(f.size(), 14u + 40 + 8 + 48);
  EXPECT_EQ(f[54], 1);
  EXPECT_EQ(f[55], 4);
  EXPECT_TRUE(ChecksumOk(f.data() + 54, 56,
                         PseudoSum(true, f.data() + 14, kIpProtoIcmpv6, 56)));
  r = ExpectedRecord(v6);
  EXPECT_EQ(r.src_port, 1);
  EXPECT_EQ(r.dst_port, 4);
}

TEST(FrameBuilderTest, ArpRequestAndReply) {
  FrameSpec spec;
  spec.l3 = L3Kind::kArp;
  spec.src_mac = kSrcMac;
  spec.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  spec.src_ip = Ipv4Address(10, 0, 0, 1);
  spec.dst_ip = Ipv4Address(10, 0, 0, 2);
  std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), kMinFrameBytes);  // 42 bytes, padded
  EXPECT_EQ(Get16(f, 12), kEtherTypeArp);
  EXPECT_EQ(Get16(f, 14), 1);  // Ethernet
  EXPECT_EQ(Get16(f, 16), kEtherTypeIpv4);
  EXPECT_EQ(Get16(f, 20), 1);  // request
  EXPECT_THAT(std::vector<uint8_t>(f.begin() + 28, f.begin() + 42),
              ElementsAre(10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2));
  spec.arp_op = 2;
  spec.dst_mac = kDstMac;
  f = BuildFrame(spec);
  EXPECT_EQ(Get16(f, 20), 2);
  EXPECT_TRUE(std::equal(kDstMac.begin(), kDstMac.end(), f.begin() + 32));

  const PacketRecord r = ExpectedRecord(spec);
  EXPECT_EQ(r.ether_type, kEtherTypeArp);
  EXPECT_EQ(r.flags, 0);
  EXPECT_EQ(r.frame_len, kMinFrameBytes);
  EXPECT_EQ(r.proto, 0);
  const uint8_t zero[16] = {};
  EXPECT_EQ(std::memcmp(r.src_ip, zero, 16), 0);
}

TEST(FrameBuilderTest, VxlanWrapsTheInnerFrame) {
  FrameSpec spec = TcpSpec();
  spec.num_vlans = 1;  // inner tag: not recorded
  spec.vlan_ids[0] = 7;
  VxlanSpec v;
  v.vni = 5001;
  v.src_mac = {0x52, 0x54, 0x01, 0, 0, 1};
  v.dst_mac = {0x52, 0x54, 0x01, 0, 0, 2};
  v.num_vlans = 1;
  v.vlan_ids[0] = 42;
  v.src_ip = Ipv4Address(192, 168, 100, 1);
  v.dst_ip = Ipv4Address(192, 168, 100, 2);
  v.src_port = 50000;
  spec.vxlan = v;
  const size_t inner = 18 + 20 + 20 + 100;
  FrameLayout layout;
  std::vector<uint8_t> f(FrameSize(spec));
  ASSERT_EQ(f.size(), 18u + 20 + 8 + 8 + inner);
  ASSERT_EQ(BuildFrame(spec, f.data(), f.size(), &layout), f.size());
  EXPECT_EQ(Get16(f, 12), kEtherTypeVlan);
  EXPECT_EQ(Get16(f, 14), 42);
  EXPECT_EQ(Get16(f, 16), kEtherTypeIpv4);
  EXPECT_EQ(Get16(f, 20), 20 + 8 + 8 + inner);  // outer total length
  EXPECT_EQ(f[27], kIpProtoUdp);
  EXPECT_TRUE(ChecksumOk(f.data() + 18, 20));
  EXPECT_EQ(Get16(f, 38), 50000);
  EXPECT_EQ(Get16(f, 40), kVxlanPort);
  EXPECT_EQ(Get16(f, 42), 8 + 8 + inner);
  EXPECT_TRUE(ChecksumOk(f.data() + 38, 16 + inner,
                         PseudoSum(false, f.data() + 18, kIpProtoUdp,
                                   static_cast<uint32_t>(16 + inner))));
  EXPECT_EQ(f[46], 0x08);  // I flag
  EXPECT_EQ(Get32(f, 50), 5001u << 8);
  EXPECT_EQ(layout.inner_offset, 54u);
  EXPECT_EQ(layout.l3_offset, 54u + 18);
  EXPECT_EQ(layout.l4_offset, 54u + 38);
  // The inner frame is the plain frame, byte for byte.
  FrameSpec plain = spec;
  plain.vxlan.reset();
  plain.pad = false;
  const std::vector<uint8_t> inner_frame = BuildFrame(plain);
  EXPECT_TRUE(
      std::equal(inner_frame.begin(), inner_frame.end(), f.begin() + 54));

  const PacketRecord r = ExpectedRecord(spec);
  EXPECT_EQ(r.vni, 5001u);
  EXPECT_EQ(r.vlan, 42);
  EXPECT_EQ(r.flags, kPacketVxlan | kPacketIpv4);
  EXPECT_EQ(r.frame_len, f.size());
  EXPECT_EQ(r.ip_len, 140);  // the inner datagram
  EXPECT_EQ(r.dst_port, 8080);
}

TEST(FrameBuilderTest, Ipv6ExtensionHeaders) {
  FrameSpec spec = Udp6Spec();
  spec.ipv6_dest_opts = 2;
  const std::vector<uint8_t> f = BuildFrame(spec);
  ASSERT_EQ(f.size(), 14u + 40 + 16 + 8 + 33);
  EXPECT_EQ(f[20], 60);         // Destination Options
  EXPECT_EQ(Get16(f, 18), 57);  // 16 + 8 + 33
  EXPECT_EQ(f[54], 60);         // the next one
  EXPECT_EQ(f[62], kIpProtoUdp);
  EXPECT_EQ(Get16(f, 70), 5353);
  EXPECT_EQ(ExpectedRecord(spec).ip_len, 40 + 57);
  EXPECT_EQ(ExpectedRecord(spec).proto, kIpProtoUdp);
}

// Reassembles the fragments' IP payloads and compares them with the
// unfragmented datagram's.
void ExpectFragmentsReassemble(const FrameSpec& datagram, uint16_t mtu,
                               size_t expected_fragments) {
  const bool ipv6 = datagram.l3 == L3Kind::kIpv6;
  const size_t ip_header = ipv6 ? 40 : 20;
  const std::vector<FrameSpec> specs = FragmentDatagram(datagram, mtu);
  ASSERT_EQ(specs.size(), expected_fragments);
  FrameSpec whole_spec = datagram;
  whole_spec.pad = false;
  const std::vector<uint8_t> whole = BuildFrame(whole_spec);
  const std::vector<uint8_t> want(whole.begin() + 14 + ip_header, whole.end());
  std::vector<uint8_t> got;
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE(i);
    const std::vector<uint8_t> f = BuildFrame(specs[i]);
    const bool last = i + 1 == specs.size();
    size_t data_at = 14 + ip_header;
    size_t offset = 0;
    bool more = false;
    if (ipv6) {
      ASSERT_EQ(f[20], 44);  // Fragment header
      EXPECT_EQ(f[54], datagram.proto);
      offset = Get16(f, 56) & 0xfff8;
      more = (Get16(f, 56) & 1) != 0;
      EXPECT_EQ(Get32(f, 58), datagram.ip_id);
      data_at += 8;
      EXPECT_LE(40u + Get16(f, 18), mtu);
    } else {
      offset = size_t{Get16(f, 20) & 0x1fffu} * 8;
      more = (Get16(f, 20) & 0x2000) != 0;
      EXPECT_EQ(Get16(f, 18), datagram.ip_id);
      EXPECT_TRUE(ChecksumOk(f.data() + 14, 20));
      EXPECT_LE(Get16(f, 16), mtu);
    }
    EXPECT_EQ(offset, got.size());
    EXPECT_EQ(more, !last);
    if (!last) {
      EXPECT_EQ((f.size() - data_at) % 8, 0u);
    }
    got.insert(got.end(), f.begin() + static_cast<ptrdiff_t>(data_at), f.end());

    const PacketRecord r = ExpectedRecord(specs[i]);
    EXPECT_EQ(r.flags & kPacketFragment, kPacketFragment);
    EXPECT_EQ(r.src_port, i == 0 ? datagram.src_port : 0);
    EXPECT_EQ(r.proto, datagram.proto);
    ParseResult result;
    const PacketRecord parsed = Parse(f, &result);
    ASSERT_EQ(result, ParseResult::kOk);
    EXPECT_EQ(std::memcmp(&parsed, &r, sizeof(r)), 0);
  }
  EXPECT_EQ(got, want);
  // The first fragment's UDP checksum covers the reassembled datagram.
  const uint8_t* ip = whole.data() + 14;
  EXPECT_TRUE(ChecksumOk(
      got.data(), got.size(),
      PseudoSum(ipv6, ip, kIpProtoUdp, static_cast<uint32_t>(got.size()))));
}

TEST(FrameBuilderTest, FragmentDatagramIpv4) {
  FrameSpec spec = TcpSpec();
  spec.proto = kIpProtoUdp;
  spec.payload_len = 4000;
  spec.ip_id = 0x7777;
  std::vector<uint8_t> payload(spec.payload_len);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>(i);
  }
  spec.payload = payload.data();
  ExpectFragmentsReassemble(spec, 1500, 3);
}

TEST(FrameBuilderTest, FragmentDatagramIpv6) {
  FrameSpec spec = Udp6Spec();
  spec.payload_len = 3001;
  spec.ip_id = 0x1234;
  ExpectFragmentsReassemble(spec, 1280, 3);
}

TEST(FrameBuilderTest, DatagramThatFitsIsNotFragmented) {
  const FrameSpec spec = TcpSpec();
  const std::vector<FrameSpec> specs = FragmentDatagram(spec, 1500);
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].frag_bytes, 0);
  FrameSpec arp;
  arp.l3 = L3Kind::kArp;
  EXPECT_TRUE(FragmentDatagram(arp, 1500).empty());
  EXPECT_TRUE(FragmentDatagram(TcpSpec(), 20).empty());  // no room for data
}

TEST(FrameBuilderTest, HandMadeFragments) {
  FrameSpec spec = TcpSpec();  // a 120-byte TCP datagram
  spec.frag_offset = 0;
  spec.frag_bytes = 64;  // first fragment: MF
  std::vector<uint8_t> f = BuildFrame(spec);
  EXPECT_EQ(Get16(f, 20), 0x2000);
  EXPECT_EQ(Get16(f, 16), 84);
  PacketRecord r = ExpectedRecord(spec);
  EXPECT_EQ(r.flags, kPacketIpv4 | kPacketFragment);
  EXPECT_EQ(r.dst_port, 8080);
  EXPECT_EQ(r.tcp_flags, kTcpAck | kTcpPsh);

  spec.frag_offset = 8;
  spec.frag_bytes = 56;  // the last one: no MF
  f = BuildFrame(spec);
  EXPECT_EQ(Get16(f, 20), 8);
  EXPECT_EQ(Get16(f, 16), 76);
  r = ExpectedRecord(spec);
  EXPECT_EQ(r.flags, kPacketIpv4 | kPacketFragment);
  EXPECT_EQ(r.dst_port, 0);
  EXPECT_EQ(r.src_port, 0);
  EXPECT_EQ(r.tcp_flags, 0);
  EXPECT_EQ(r.proto, kIpProtoTcp);

  spec.frag_offset = 0;
  spec.frag_bytes = 120;  // all of it: not a fragment
  f = BuildFrame(spec);
  EXPECT_EQ(Get16(f, 20), 0);
  EXPECT_EQ(ExpectedRecord(spec).flags, kPacketIpv4);
}

TEST(FrameBuilderTest, InvalidSpecsAreRejected) {
  FrameSpec s = TcpSpec();
  s.num_vlans = 3;
  EXPECT_EQ(FrameSize(s), 0u);
  EXPECT_TRUE(BuildFrame(s).empty());
  s = TcpSpec();
  s.ipv4_option_words = 11;
  EXPECT_EQ(FrameSize(s), 0u);
  s = TcpSpec();
  s.dst_ip = V6("2001:db8::1");  // not IPv4-mapped
  EXPECT_EQ(FrameSize(s), 0u);
  s = TcpSpec();
  s.frag_offset = 15;
  s.frag_bytes = 8;  // 128 > 120
  EXPECT_EQ(FrameSize(s), 0u);
  s = TcpSpec();
  s.payload_len = 65535;
  EXPECT_EQ(FrameSize(s), 0u);
  s = TcpSpec();
  s.l3 = L3Kind::kArp;
  s.frag_bytes = 8;
  EXPECT_EQ(FrameSize(s), 0u);

  s = TcpSpec();
  uint8_t buf[100];
  EXPECT_EQ(BuildFrame(s, buf, sizeof(buf)), 0u);  // needs 154
}

TEST(FrameBuilderTest, OtherEtherTypesAndProtocols) {
  FrameSpec s;
  s.l3 = L3Kind::kOther;
  s.ether_type = 0x88cc;  // LLDP
  s.payload_len = 10;
  std::vector<uint8_t> f = BuildFrame(s);
  EXPECT_EQ(f.size(), kMinFrameBytes);
  EXPECT_EQ(Get16(f, 12), 0x88cc);
  EXPECT_EQ(ExpectedRecord(s).ether_type, 0x88cc);

  s = TcpSpec();
  s.proto = 47;  // GRE: no L4 header of ours
  s.payload_len = 24;
  f = BuildFrame(s);
  EXPECT_EQ(f.size(), kMinFrameBytes);  // 58 bytes, padded
  EXPECT_EQ(Get16(f, 16), 44);
  const PacketRecord r = ExpectedRecord(s);
  EXPECT_EQ(r.proto, 47);
  EXPECT_EQ(r.src_port, 0);
  EXPECT_EQ(r.ip_len, 44);
}

TEST(FrameBuilderTest, IpAddressText) {
  EXPECT_EQ(FormatIpAddress(Ipv4Address(10, 0, 0, 80)), "10.0.0.80");
  EXPECT_EQ(*ParseIpAddress("10.0.0.80"), Ipv4Address(10, 0, 0, 80));
  EXPECT_EQ(Ipv4Address(0x0a000050), Ipv4Address(10, 0, 0, 80));
  EXPECT_EQ(FormatIpAddress(V6("2001:0db8:2a:1:0:0:0:50")),
            "2001:db8:2a:1::50");
  EXPECT_FALSE(ParseIpAddress("10.0.0.256"));
  EXPECT_FALSE(ParseIpAddress("host"));
  EXPECT_FALSE(ParseIpAddress(std::string(100, '1')));
  EXPECT_TRUE(IsIpv4Mapped(Ipv4Address(1, 2, 3, 4)));
  EXPECT_FALSE(IsIpv4Mapped(V6("::1")));
}

// The contract with dataplane/packet_parser.h: for every combination of
// the spec's dimensions, ParsePacket gives exactly ExpectedRecord.
TEST(FrameBuilderTest, ParserProducesTheExpectedRecord) {
  int cases = 0;
  for (int l3 = 0; l3 < 4; ++l3) {
    for (uint8_t proto : {kIpProtoTcp, kIpProtoUdp, kIpProtoIcmp,
                          kIpProtoIcmpv6, uint8_t{47}}) {
      for (uint8_t vlans = 0; vlans <= 2; ++vlans) {
        for (int vxlan = 0; vxlan < 3; ++vxlan) {
          for (int fragment = 0; fragment < 3; ++fragment) {
            FrameSpec s = l3 == 1 ? Udp6Spec() : TcpSpec();
            if (l3 == 2) {
              s.l3 = L3Kind::kArp;
            } else if (l3 == 3) {
              s.l3 = L3Kind::kOther;
              s.ether_type = 0x88b5;
            }
            const bool ip = l3 < 2;
            if (!ip && (proto != kIpProtoTcp || fragment != 0)) continue;
            s.proto = proto;
            s.payload_len = 100;
            s.src_port = proto == kIpProtoIcmp ? 3 : s.src_port;
            s.dst_port = proto == kIpProtoIcmp ? 13 : s.dst_port;
            s.num_vlans = vlans;
            s.vlan_ids = {static_cast<uint16_t>(100 + vlans), 7};
            s.ipv4_option_words = static_cast<uint8_t>(fragment);
            s.ipv6_dest_opts = static_cast<uint8_t>(vlans);
            if (fragment == 1) {  // first of two
              s.frag_bytes = 32;
            } else if (fragment == 2) {  // a later one
              s.frag_offset = 4;
              s.frag_bytes = 16;
            }
            if (vxlan > 0) {
              VxlanSpec v;
              v.vni = 0xabcdef;
              v.ipv6 = vxlan == 2;
              v.src_ip = v.ipv6 ? V6("fd00::1") : Ipv4Address(192, 168, 0, 1);
              v.dst_ip = v.ipv6 ? V6("fd00::2") : Ipv4Address(192, 168, 0, 2);
              v.num_vlans = vlans;
              v.vlan_ids = {static_cast<uint16_t>(200 + vlans), 9};
              s.vxlan = v;
            }
            SCOPED_TRACE(testing::Message()
                         << "l3 " << l3 << " proto " << int{proto} << " vlans "
                         << int{vlans} << " vxlan " << vxlan << " fragment "
                         << fragment);
            const std::vector<uint8_t> f = BuildFrame(s);
            ASSERT_FALSE(f.empty());
            ParseResult result;
            const PacketRecord parsed = Parse(f, &result);
            ASSERT_EQ(result, ParseResult::kOk) << ParseResultName(result);
            const PacketRecord want = ExpectedRecord(s);
            EXPECT_EQ(std::memcmp(&parsed, &want, sizeof(want)), 0);
            EXPECT_EQ(parsed.src_port, want.src_port);
            EXPECT_EQ(parsed.dst_port, want.dst_port);
            EXPECT_EQ(parsed.ip_len, want.ip_len);
            EXPECT_EQ(parsed.flags, want.flags);
            EXPECT_EQ(parsed.vlan, want.vlan);
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 200);
}

}  // namespace
}  // namespace loupe::dataplane
