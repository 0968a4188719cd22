#include "dataplane/packet_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "multilog/packet_schema.h"
#include "tests/support/frame_bytes.h"

namespace loupe::dataplane {
namespace {

// ---- frames, built by hand ----

using test_support::Append;
using test_support::Bytes;
using test_support::Cat;
using test_support::Put16;
using test_support::Put32;

struct Tag {
  uint16_t tpid;
  uint16_t tci;  // PCP, DEI, VLAN id
};

Bytes Ether(uint16_t type, const Bytes& payload,
            std::initializer_list<Tag> tags = {}) {
  Bytes b = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
  for (const Tag& tag : tags) {
    Put16(b, tag.tpid);
    Put16(b, tag.tci);
  }
  Put16(b, type);
  Append(b, payload);
  return b;
}

constexpr uint32_t kSrc4 = 0x0a000001;  // 10.0.0.1
constexpr uint32_t kDst4 = 0xc0a80102;  // 192.168.1.2

struct Ipv4Fields {
  uint32_t src = kSrc4;
  uint32_t dst = kDst4;
  uint8_t tos = 0;
  uint8_t ttl = 64;
  uint16_t fragment = 0x4000;  // flags and offset; DF alone: not a fragment
  Bytes options;
  int version = 4;
  int ihl = -1;    // -1: 5 + options
  int total = -1;  // -1: header + payload
};

Bytes Ipv4(uint8_t proto, const Bytes& payload, const Ipv4Fields& f = {}) {
  const int ihl =
      f.ihl >= 0 ? f.ihl : 5 + static_cast<int>(f.options.size()) / 4;
  const int total = f.total >= 0 ? f.total
                                 : 20 + static_cast<int>(f.options.size()) +
                                       static_cast<int>(payload.size());
  Bytes b;
  b.push_back(static_cast<uint8_t>(f.version << 4 | ihl));
  b.push_back(f.tos);
  Put16(b, static_cast<uint16_t>(total));
  Put16(b, 0x1234);  // identification
  Put16(b, f.fragment);
  b.push_back(f.ttl);
  b.push_back(proto);
  Put16(b, 0);  // checksum: not checked
  Put32(b, f.src);
  Put32(b, f.dst);
  Append(b, f.options);
  Append(b, payload);
  return b;
}

using Address = std::array<uint8_t, 16>;
constexpr Address kSrc6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                           0,    0,    0,    0,    0, 0, 0, 0x01};
constexpr Address kDst6 = {0xfe, 0x80, 0,    0,    0,    0,    0,    0,
                           0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};

struct Ipv6Fields {
  Address src = kSrc6;
  Address dst = kDst6;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0xabcde;
  uint8_t hop_limit = 64;
  int version = 6;
  int payload_length = -1;  // -1: the payload's size
};

// `payload` includes the extension headers.
Bytes Ipv6(uint8_t next, const Bytes& payload, const Ipv6Fields& f = {}) {
  Bytes b;
  Put32(b, static_cast<uint32_t>(f.version) << 28 |
               static_cast<uint32_t>(f.traffic_class) << 20 | f.flow_label);
  Put16(b, static_cast<uint16_t>(f.payload_length >= 0 ? f.payload_length
                                                       : payload.size()));
  b.push_back(next);
  b.push_back(f.hop_limit);
  b.insert(b.end(), f.src.begin(), f.src.end());
  b.insert(b.end(), f.dst.begin(), f.dst.end());
  Append(b, payload);
  return b;
}

// Hop-by-hop, routing or destination options: `bytes`, a multiple of 8.
Bytes ExtHeader(uint8_t next, size_t bytes = 8) {
  Bytes b(bytes, 0);  // Pad1 options; routing type 0, segments left 0
  b[0] = next;
  b[1] = static_cast<uint8_t>(bytes / 8 - 1);
  return b;
}

// Authentication header: `bytes`, a multiple of 4, at least 12.
Bytes AuthHeader(uint8_t next, size_t bytes = 16) {
  Bytes b(bytes, 0x5a);
  b[0] = next;
  b[1] = static_cast<uint8_t>(bytes / 4 - 2);
  return b;
}

// `offset` in 8-byte units.
Bytes FragmentHeader(uint8_t next, uint16_t offset, bool more) {
  Bytes b = {next, 0};
  Put16(b, static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
  Put32(b, 0xdeadbeef);  // identification
  return b;
}

Bytes Tcp(uint16_t src, uint16_t dst, uint8_t flags, size_t data = 0,
          uint8_t data_offset = 5) {
  Bytes b;
  Put16(b, src);
  Put16(b, dst);
  Put32(b, 1000);  // sequence
  Put32(b, 2000);  // acknowledgment
  b.push_back(static_cast<uint8_t>(data_offset << 4));
  b.push_back(flags);
  Put16(b, 65535);  // window
  Put32(b, 0);      // checksum, urgent pointer
  if (data_offset > 5) b.resize(b.size() + (data_offset - 5) * 4u, 1);
  b.resize(b.size() + data, 'x');
  return b;
}

Bytes Udp(uint16_t src, uint16_t dst, const Bytes& payload) {
  Bytes b;
  Put16(b, src);
  Put16(b, dst);
  Put16(b, static_cast<uint16_t>(8 + payload.size()));
  Put16(b, 0);
  Append(b, payload);
  return b;
}

Bytes Icmp(uint8_t type, uint8_t code) {
  return {type, code, 0x12, 0x34, 0, 1, 0, 2};
}

Bytes Vxlan(uint32_t vni, const Bytes& inner, uint8_t flags = 0x08) {
  Bytes b = {flags, 0, 0, 0};
  Put32(b, vni << 8);
  Append(b, inner);
  return b;
}

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint16_t kIpv4Type = 0x0800;
constexpr uint16_t kIpv6Type = 0x86dd;
constexpr uint8_t kSynAck = 0x12;

// ---- parsing and checking ----

constexpr uint64_t kTimestamp = 0x0123456789abcdefull;
constexpr uint16_t kPort = 7;

struct Parsed {
  ParseResult result;
  PacketRecord record;
};

// Parses the first `len` bytes of `frame` from a heap buffer of exactly that
// size, so that AddressSanitizer sees any read past the end, into a record
// whose bytes are all 0xa5 but the caller's timestamp and port.
Parsed Parse(const Bytes& frame, size_t len = SIZE_MAX) {
  len = std::min(len, frame.size());
  auto buffer = std::make_unique<uint8_t[]>(len);
  std::copy_n(frame.begin(), len, buffer.get());
  Parsed p;
  std::memset(&p.record, 0xa5, sizeof(p.record));
  p.record.timestamp = kTimestamp;
  p.record.port = kPort;
  p.result = ParsePacket(buffer.get(), static_cast<uint32_t>(len), &p.record);
  return p;
}

// The record expected for `frame`: zero but what every record has.
PacketRecord Want(const Bytes& frame) {
  PacketRecord r;
  std::memset(&r, 0, sizeof(r));
  r.timestamp = kTimestamp;
  r.port = kPort;
  r.frame_len = static_cast<uint16_t>(std::min<size_t>(frame.size(), 65535));
  return r;
}

void SetIpv4(uint8_t* address, uint32_t ip) {
  std::memset(address, 0, 16);
  address[10] = address[11] = 0xff;
  address[12] = static_cast<uint8_t>(ip >> 24);
  address[13] = static_cast<uint8_t>(ip >> 16);
  address[14] = static_cast<uint8_t>(ip >> 8);
  address[15] = static_cast<uint8_t>(ip);
}

void SetIpv6(uint8_t* address, const Address& ip) {
  std::memcpy(address, ip.data(), 16);
}

// A record as the parser should fill it for IPv4 with the default fields.
PacketRecord WantIpv4(const Bytes& frame, uint8_t proto, uint16_t ip_len) {
  PacketRecord r = Want(frame);
  SetIpv4(r.src_ip, kSrc4);
  SetIpv4(r.dst_ip, kDst4);
  r.ether_type = kIpv4Type;
  r.proto = proto;
  r.ip_len = ip_len;
  r.ttl = 64;
  r.flags = kPacketIpv4;
  return r;
}

PacketRecord WantIpv6(const Bytes& frame, uint8_t proto, uint16_t ip_len) {
  PacketRecord r = Want(frame);
  SetIpv6(r.src_ip, kSrc6);
  SetIpv6(r.dst_ip, kDst6);
  r.ether_type = kIpv6Type;
  r.proto = proto;
  r.ip_len = ip_len;
  r.ttl = 64;
  r.flags = kPacketIpv6;
  return r;
}

std::string Hex(const uint8_t* bytes, size_t n) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", bytes[i]);
    s += buf;
  }
  return s;
}

// Every field, by name, then every byte (which covers `reserved`).
void ExpectRecord(const PacketRecord& got, const PacketRecord& want) {
  EXPECT_EQ(got.timestamp, want.timestamp);
  EXPECT_EQ(Hex(got.src_ip, 16), Hex(want.src_ip, 16));
  EXPECT_EQ(Hex(got.dst_ip, 16), Hex(want.dst_ip, 16));
  EXPECT_EQ(got.src_port, want.src_port);
  EXPECT_EQ(got.dst_port, want.dst_port);
  EXPECT_EQ(got.ip_len, want.ip_len);
  EXPECT_EQ(got.frame_len, want.frame_len);
  EXPECT_EQ(got.vni, want.vni);
  EXPECT_EQ(got.vlan, want.vlan);
  EXPECT_EQ(got.ether_type, want.ether_type);
  EXPECT_EQ(got.port, want.port);
  EXPECT_EQ(got.proto, want.proto);
  EXPECT_EQ(got.tcp_flags, want.tcp_flags);
  EXPECT_EQ(got.ttl, want.ttl);
  EXPECT_EQ(got.tos, want.tos);
  EXPECT_EQ(got.flags, want.flags);
  EXPECT_EQ(got.reserved, want.reserved);
  EXPECT_EQ(Hex(reinterpret_cast<const uint8_t*>(&got), sizeof(got)),
            Hex(reinterpret_cast<const uint8_t*>(&want), sizeof(want)));
}

void ExpectParses(const Bytes& frame, const PacketRecord& want) {
  const Parsed p = Parse(frame);
  ASSERT_EQ(ParseResultName(p.result), std::string("ok"));
  ExpectRecord(p.record, want);
}

void ExpectFails(const Bytes& frame, ParseResult reason) {
  EXPECT_EQ(ParseResultName(Parse(frame).result),
            std::string(ParseResultName(reason)));
}

// Parses every prefix of `frame`, the empty one to the whole. `steps` lists
// (prefix length from which on, expected result) in increasing length; the
// last step is kOk, and from there the record is `want` with frame_len the
// prefix length.
void ExpectPrefixes(const Bytes& frame,
                    std::vector<std::pair<size_t, ParseResult>> steps,
                    const PacketRecord& want) {
  ASSERT_EQ(steps.back().second, ParseResult::kOk);
  ASSERT_EQ(steps.front().first, 0u);
  size_t step = 0;
  for (size_t len = 0; len <= frame.size(); ++len) {
    while (step + 1 < steps.size() && steps[step + 1].first <= len) ++step;
    SCOPED_TRACE("prefix of " + std::to_string(len) + " bytes");
    const Parsed p = Parse(frame, len);
    ASSERT_EQ(ParseResultName(p.result),
              std::string(ParseResultName(steps[step].second)));
    if (p.result == ParseResult::kOk) {
      PacketRecord w = want;
      w.frame_len = static_cast<uint16_t>(len);
      ExpectRecord(p.record, w);
    }
  }
  ASSERT_EQ(step, steps.size() - 1) << "the frame is shorter than the steps";
}

// ---- names ----

TEST(ParseResultNameTest, MatchesTheStableList) {
  const char* const kNames[] = {
      "ok",
      "runt",
      "truncated_vlan",
      "too_many_vlans",
      "truncated_ipv4",
      "bad_ipv4_header",
      "truncated_ipv6",
      "bad_ipv6_header",
      "bad_ipv6_ext_headers",
      "truncated_l4",
      "bad_tcp_header",
      "bad_vxlan",
  };
  static_assert(std::size(kNames) == kNumParseResults);
  std::set<std::string> seen;
  for (size_t i = 0; i < kNumParseResults; ++i) {
    const std::string name = ParseResultName(static_cast<ParseResult>(i));
    EXPECT_EQ(name, kNames[i]) << "result " << i;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate name " << name;
  }
  EXPECT_EQ(std::string(ParseResultName(ParseResult::kCount)), "unknown");
}

// ---- Ethernet and VLANs ----

TEST(PacketParserTest, RuntBelowAnEthernetHeader) {
  const Bytes frame = Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0)));
  for (size_t len = 0; len < 14; ++len) {
    EXPECT_EQ(Parse(frame, len).result, ParseResult::kRunt) << len;
  }
}

TEST(PacketParserTest, ArpIsARecordWithItsEtherTypeOnly) {
  Bytes arp = {0, 1, 0x08, 0, 6, 4, 0, 1};  // request, Ethernet/IPv4
  arp.resize(28, 0x11);
  const Bytes frame = Ether(0x0806, arp);
  PacketRecord want = Want(frame);
  want.ether_type = 0x0806;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, LldpAndAnEtherTypeAloneAreRecords) {
  const Bytes lldp = Ether(0x88cc, Bytes(40, 0x02));
  PacketRecord want = Want(lldp);
  want.ether_type = 0x88cc;
  ExpectParses(lldp, want);
  const Bytes bare = Ether(0x88b5, {});  // exactly 14 bytes
  want = Want(bare);
  want.ether_type = 0x88b5;
  ExpectParses(bare, want);
}

TEST(PacketParserTest, OneVlanTagOfEachTpid) {
  for (uint16_t tpid : {0x8100, 0x88a8, 0x9100}) {
    SCOPED_TRACE(tpid);
    // PCP 7 and DEI set around VLAN id 100: only the id is recorded.
    const Bytes frame =
        Ether(kIpv4Type, Ipv4(kTcp, Tcp(1234, 80, kSynAck)), {{tpid, 0xf064}});
    PacketRecord want = WantIpv4(frame, kTcp, 40);
    want.vlan = 100;
    want.src_port = 1234;
    want.dst_port = 80;
    want.tcp_flags = kSynAck;
    ExpectParses(frame, want);
  }
}

TEST(PacketParserTest, QinQRecordsTheOuterVlan) {
  const Bytes frame = Ether(kIpv6Type, Ipv6(kUdp, Udp(53, 5353, Bytes(12, 0))),
                            {{0x88a8, 0x0123}, {0x8100, 0x0456}});
  PacketRecord want = WantIpv6(frame, kUdp, 40 + 20);
  want.vlan = 0x123;
  want.src_port = 53;
  want.dst_port = 5353;
  ExpectParses(frame, want);

  const Bytes legacy = Ether(kIpv4Type, Ipv4(kUdp, Udp(1, 2, {})),
                             {{0x9100, 4095}, {0x9100, 1}});
  want = WantIpv4(legacy, kUdp, 28);
  want.vlan = 4095;
  want.src_port = 1;
  want.dst_port = 2;
  ExpectParses(legacy, want);
}

TEST(PacketParserTest, VlanZeroIsRecordedAsZero) {
  const Bytes frame = Ether(0x0806, Bytes(28, 0), {{0x8100, 0xe000}});
  PacketRecord want = Want(frame);
  want.ether_type = 0x0806;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, ThreeVlanTagsAreTooMany) {
  ExpectFails(Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0)),
                    {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}}),
              ParseResult::kTooManyVlans);
  ExpectFails(Ether(kIpv4Type, {}, {{0x8100, 1}, {0x8100, 2}, {0x9100, 3}}),
              ParseResult::kTooManyVlans);
}

TEST(PacketParserTest, TruncatedVlanTags) {
  const Bytes frame = Ether(0x0806, Bytes(28, 0), {{0x88a8, 5}, {0x8100, 6}});
  PacketRecord want = Want(frame);
  want.ether_type = 0x0806;
  want.vlan = 5;
  ExpectPrefixes(frame,
                 {{0, ParseResult::kRunt},
                  {14, ParseResult::kTruncatedVlan},
                  {22, ParseResult::kOk}},
                 want);
}

// ---- IPv4 ----

TEST(PacketParserTest, Ipv4TcpEveryField) {
  Ipv4Fields f;
  f.src = 0xc6336401;  // 198.51.100.1
  f.dst = 0xcb007107;  // 203.0.113.7
  f.tos = 0xb8;        // DSCP EF
  f.ttl = 57;
  const Bytes frame =
      Ether(kIpv4Type, Ipv4(kTcp, Tcp(40000, 443, 0xd9, 100), f));
  PacketRecord want = Want(frame);
  SetIpv4(want.src_ip, f.src);
  SetIpv4(want.dst_ip, f.dst);
  want.src_port = 40000;
  want.dst_port = 443;
  want.ip_len = 20 + 20 + 100;
  want.ether_type = kIpv4Type;
  want.proto = kTcp;
  want.tcp_flags = 0xd9;  // CWR ECE URG FIN: the whole byte
  want.ttl = 57;
  want.tos = 0xb8;
  want.flags = kPacketIpv4;
  ExpectParses(frame, want);
  ASSERT_EQ(want.frame_len, 14 + 140);
}

TEST(PacketParserTest, Ipv4Udp) {
  const Bytes frame = Ether(kIpv4Type, Ipv4(kUdp, Udp(5000, 53, Bytes(30, 1))));
  PacketRecord want = WantIpv4(frame, kUdp, 20 + 8 + 30);
  want.src_port = 5000;
  want.dst_port = 53;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, IcmpTypeAndCode) {
  for (auto [type, code] :
       {std::pair<uint8_t, uint8_t>{8, 0}, {3, 4}, {11, 1}, {0, 0}}) {
    SCOPED_TRACE(std::to_string(type) + "/" + std::to_string(code));
    const Bytes frame = Ether(kIpv4Type, Ipv4(1, Icmp(type, code)));
    PacketRecord want = WantIpv4(frame, 1, 28);
    want.src_port = type;
    want.dst_port = code;
    ExpectParses(frame, want);
  }
  ExpectFails(Ether(kIpv4Type, Ipv4(1, {8, 0, 0})), ParseResult::kTruncatedL4);
  const Bytes four = Ether(kIpv4Type, Ipv4(1, {8, 0, 0, 0}));
  PacketRecord want = WantIpv4(four, 1, 24);
  want.src_port = 8;
  ExpectParses(four, want);
}

TEST(PacketParserTest, Ipv4Options) {
  Ipv4Fields f;
  // Router alert, NOP NOP NOP EOL, then zeros: 40 bytes, IHL 15, the most.
  f.options = {0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00};
  f.options.resize(40, 0);
  ASSERT_EQ(f.options.size(), 40u);
  const Bytes frame = Ether(kIpv4Type, Ipv4(kTcp, Tcp(22, 50000, 0x18), f));
  PacketRecord want = WantIpv4(frame, kTcp, 60 + 20);
  want.src_port = 22;
  want.dst_port = 50000;
  want.tcp_flags = 0x18;
  ExpectParses(frame, want);

  f.options.resize(4);  // IHL 6
  const Bytes short_options = Ether(kIpv4Type, Ipv4(kUdp, Udp(7, 9, {}), f));
  want = WantIpv4(short_options, kUdp, 24 + 8);
  want.src_port = 7;
  want.dst_port = 9;
  ExpectParses(short_options, want);
}

TEST(PacketParserTest, Ipv4FirstFragmentHasPorts) {
  Ipv4Fields f;
  f.fragment = 0x2000;  // MF, offset 0
  const Bytes frame =
      Ether(kIpv4Type, Ipv4(kUdp, Udp(1111, 2222, Bytes(64, 0)), f));
  PacketRecord want = WantIpv4(frame, kUdp, 20 + 72);
  want.src_port = 1111;
  want.dst_port = 2222;
  want.flags = kPacketIpv4 | kPacketFragment;
  ExpectParses(frame, want);

  // The first fragment must hold the L4 header.
  const Bytes cut = Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0), f));
  ExpectFails(Bytes(cut.begin(), cut.end() - 1), ParseResult::kTruncatedL4);
}

TEST(PacketParserTest, Ipv4LaterFragmentsHaveNoPorts) {
  // Middle (MF, offset 185 * 8) and last (offset 370 * 8) fragments; their
  // payload is the middle of a TCP segment: a bogus header, or none.
  for (uint16_t fragment : {0x2000 | 185, 370, 0x4000 | 1, 0x1fff}) {
    SCOPED_TRACE(fragment);
    Ipv4Fields f;
    f.fragment = static_cast<uint16_t>(fragment);
    for (const Bytes& payload : {Bytes(100, 0), Bytes(3, 0xff), Bytes()}) {
      const Bytes frame = Ether(kIpv4Type, Ipv4(kTcp, payload, f));
      PacketRecord want =
          WantIpv4(frame, kTcp, static_cast<uint16_t>(20 + payload.size()));
      want.flags = kPacketIpv4 | kPacketFragment;
      ExpectParses(frame, want);
    }
  }
}

TEST(PacketParserTest, Ipv4DontFragmentIsNotAFragment) {
  Ipv4Fields f;
  f.fragment = 0x4000;
  const Bytes frame = Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0x10), f));
  PacketRecord want = WantIpv4(frame, kTcp, 40);
  want.src_port = 1;
  want.dst_port = 2;
  want.tcp_flags = 0x10;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, Ipv4BogusHeaders) {
  const Bytes tcp = Tcp(1, 2, 0);
  for (int ihl : {0, 1, 4}) {
    Ipv4Fields f;
    f.ihl = ihl;
    ExpectFails(Ether(kIpv4Type, Ipv4(kTcp, tcp, f)),
                ParseResult::kBadIpv4Header);
  }
  // IHL 15 (60 bytes) in a datagram of 20 + 20: options run off the frame.
  Ipv4Fields beyond;
  beyond.ihl = 15;
  ExpectFails(Ether(kIpv4Type, Ipv4(kTcp, Bytes(10, 0), beyond)),
              ParseResult::kTruncatedIpv4);
  // Total length shorter than the header.
  Ipv4Fields short_total;
  short_total.total = 19;
  ExpectFails(Ether(kIpv4Type, Ipv4(kTcp, tcp, short_total)),
              ParseResult::kBadIpv4Header);
  short_total.options = Bytes(8, 1);
  short_total.total = 27;
  ExpectFails(Ether(kIpv4Type, Ipv4(kTcp, tcp, short_total)),
              ParseResult::kBadIpv4Header);
  // Version mismatch both ways.
  Ipv4Fields six;
  six.version = 6;
  ExpectFails(Ether(kIpv4Type, Ipv4(kTcp, tcp, six)),
              ParseResult::kBadIpv4Header);
  Ipv6Fields four;
  four.version = 4;
  ExpectFails(Ether(kIpv6Type, Ipv6(kTcp, tcp, four)),
              ParseResult::kBadIpv6Header);
  // IPv6 bytes under the IPv4 EtherType.
  ExpectFails(Ether(kIpv4Type, Ipv6(kTcp, tcp)), ParseResult::kBadIpv4Header);
}

TEST(PacketParserTest, Ipv4PaddingIsNotPartOfTheDatagram) {
  // A 60-byte minimum frame: 6 bytes of Ethernet padding after TCP.
  Bytes frame = Ether(kIpv4Type, Ipv4(kTcp, Tcp(80, 1025, 0x11)));
  frame.resize(60, 0);
  PacketRecord want = WantIpv4(frame, kTcp, 40);
  want.src_port = 80;
  want.dst_port = 1025;
  want.tcp_flags = 0x11;
  ExpectParses(frame, want);
  // A datagram whose total length leaves no room for its TCP header is
  // truncated even if padding follows.
  Ipv4Fields f;
  f.total = 30;
  ExpectFails(Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0), f)),
              ParseResult::kTruncatedL4);
}

TEST(PacketParserTest, Ipv4SnappedCaptureStillParses) {
  // Only the headers were captured: ip_len is the datagram's, frame_len
  // what was captured.
  const Bytes whole = Ether(kIpv4Type, Ipv4(kTcp, Tcp(9, 10, 0x02, 1400)));
  const Bytes snapped(whole.begin(), whole.begin() + 54);
  PacketRecord want = WantIpv4(snapped, kTcp, 1440);
  want.src_port = 9;
  want.dst_port = 10;
  want.tcp_flags = 0x02;
  ExpectParses(snapped, want);
}

TEST(PacketParserTest, UnknownIpProtocolHasNoPorts) {
  const Bytes gre = Ether(kIpv4Type, Ipv4(47, Bytes(24, 0x33)));
  ExpectParses(gre, WantIpv4(gre, 47, 44));
  const Bytes empty = Ether(kIpv4Type, Ipv4(kUdp, {}, [] {
                              Ipv4Fields f;
                              f.fragment = 8;  // offset 64
                              return f;
                            }()));
  PacketRecord want = WantIpv4(empty, kUdp, 20);
  want.flags |= kPacketFragment;
  ExpectParses(empty, want);
  const Bytes esp = Ether(kIpv6Type, Ipv6(50, Bytes(32, 0x44)));
  ExpectParses(esp, WantIpv6(esp, 50, 72));
}

TEST(PacketParserTest, TcpDataOffsetBelowFive) {
  for (uint8_t offset : {0, 1, 4}) {
    SCOPED_TRACE(static_cast<int>(offset));
    ExpectFails(Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0, 0, offset))),
                ParseResult::kBadTcpHeader);
    ExpectFails(Ether(kIpv6Type, Ipv6(kTcp, Tcp(1, 2, 0, 0, offset))),
                ParseResult::kBadTcpHeader);
  }
  // Options past the capture are not needed.
  const Bytes frame = Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0, 0, 15)));
  const Bytes snapped(frame.begin(), frame.begin() + 14 + 20 + 20);
  PacketRecord want = WantIpv4(snapped, kTcp, 20 + 60);
  want.src_port = 1;
  want.dst_port = 2;
  ExpectParses(snapped, want);
}

TEST(PacketParserTest, TruncatedAtEveryOffsetIpv4Tcp) {
  const Bytes frame =
      Ether(kIpv4Type, Ipv4(kTcp, Tcp(40000, 443, kSynAck, 16)));
  PacketRecord want = WantIpv4(frame, kTcp, 56);
  want.src_port = 40000;
  want.dst_port = 443;
  want.tcp_flags = kSynAck;
  ExpectPrefixes(frame,
                 {{0, ParseResult::kRunt},
                  {14, ParseResult::kTruncatedIpv4},
                  {34, ParseResult::kTruncatedL4},
                  {54, ParseResult::kOk}},
                 want);
}

TEST(PacketParserTest, TruncatedAtEveryOffsetQinQIpv4OptionsTcp) {
  Ipv4Fields f;
  f.options = Bytes(8, 0x01);  // IHL 7
  const Bytes frame = Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0x04, 3), f),
                            {{0x88a8, 10}, {0x8100, 20}});
  PacketRecord want = WantIpv4(frame, kTcp, 28 + 23);
  want.vlan = 10;
  want.src_port = 1;
  want.dst_port = 2;
  want.tcp_flags = 0x04;
  ExpectPrefixes(frame,
                 {{0, ParseResult::kRunt},
                  {14, ParseResult::kTruncatedVlan},
                  {22, ParseResult::kTruncatedIpv4},
                  {50, ParseResult::kTruncatedL4},
                  {70, ParseResult::kOk}},
                 want);
}

// ---- IPv6 ----

TEST(PacketParserTest, Ipv6TcpEveryField) {
  Ipv6Fields f;
  f.traffic_class = 0xb9;  // spans the nibble boundary of the first word
  f.flow_label = 0xfffff;
  f.hop_limit = 3;
  const Bytes frame = Ether(kIpv6Type, Ipv6(kTcp, Tcp(443, 51000, 0x19, 7), f));
  PacketRecord want = Want(frame);
  SetIpv6(want.src_ip, kSrc6);
  SetIpv6(want.dst_ip, kDst6);
  want.src_port = 443;
  want.dst_port = 51000;
  want.ip_len = 40 + 27;
  want.ether_type = kIpv6Type;
  want.proto = kTcp;
  want.tcp_flags = 0x19;
  want.ttl = 3;
  want.tos = 0xb9;
  want.flags = kPacketIpv6;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, Ipv6Udp) {
  const Bytes frame = Ether(kIpv6Type, Ipv6(kUdp, Udp(546, 547, Bytes(50, 0))));
  PacketRecord want = WantIpv6(frame, kUdp, 40 + 58);
  want.src_port = 546;
  want.dst_port = 547;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, Icmpv6TypeAndCode) {
  for (auto [type, code] :
       {std::pair<uint8_t, uint8_t>{135, 0}, {128, 0}, {1, 4}, {3, 1}}) {
    SCOPED_TRACE(std::to_string(type) + "/" + std::to_string(code));
    const Bytes frame = Ether(kIpv6Type, Ipv6(58, Icmp(type, code)));
    PacketRecord want = WantIpv6(frame, 58, 48);
    want.src_port = type;
    want.dst_port = code;
    ExpectParses(frame, want);
  }
  ExpectFails(Ether(kIpv6Type, Ipv6(58, {135})), ParseResult::kTruncatedL4);
}

TEST(PacketParserTest, Ipv6EachExtensionHeader) {
  struct Case {
    const char* name;
    uint8_t type;
    Bytes header;
  };
  const Case cases[] = {
      {"hop-by-hop", 0, ExtHeader(kTcp)},
      {"hop-by-hop, 24 bytes", 0, ExtHeader(kTcp, 24)},
      {"routing", 43, ExtHeader(kTcp, 16)},
      {"atomic fragment", 44, FragmentHeader(kTcp, 0, false)},
      {"destination options", 60, ExtHeader(kTcp)},
      {"authentication, 12 bytes", 51, AuthHeader(kTcp, 12)},
      {"authentication, 24 bytes", 51, AuthHeader(kTcp, 24)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Bytes frame =
        Ether(kIpv6Type, Ipv6(c.type, Cat({c.header, Tcp(7, 8, 0x01)})));
    PacketRecord want =
        WantIpv6(frame, kTcp, static_cast<uint16_t>(40 + c.header.size() + 20));
    want.src_port = 7;
    want.dst_port = 8;
    want.tcp_flags = 0x01;
    ExpectParses(frame, want);
  }
}

TEST(PacketParserTest, Ipv6ExtensionChain) {
  const Bytes chain = Cat({
      ExtHeader(60),                // hop-by-hop
      ExtHeader(43, 16),            // destination options
      ExtHeader(44, 24),            // routing
      FragmentHeader(51, 0, true),  // first fragment
      AuthHeader(60, 20),           // AH
      ExtHeader(kUdp),              // destination options
  });
  const Bytes frame =
      Ether(kIpv6Type, Ipv6(0, Cat({chain, Udp(3000, 4000, Bytes(5, 0))})));
  PacketRecord want =
      WantIpv6(frame, kUdp, static_cast<uint16_t>(40 + chain.size() + 13));
  want.src_port = 3000;
  want.dst_port = 4000;
  want.flags = kPacketIpv6 | kPacketFragment;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, Ipv6ChainOfTheMaximumLength) {
  static_assert(kMaxIpv6ExtHeaders == 8);
  Bytes chain;
  for (int i = 0; i < kMaxIpv6ExtHeaders; ++i) {
    Append(chain, ExtHeader(i + 1 < kMaxIpv6ExtHeaders ? 60 : kTcp));
  }
  const Bytes frame = Ether(kIpv6Type, Ipv6(60, Cat({chain, Tcp(1, 2, 0x02)})));
  PacketRecord want = WantIpv6(frame, kTcp, 40 + 64 + 20);
  want.src_port = 1;
  want.dst_port = 2;
  want.tcp_flags = 0x02;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, Ipv6ChainLongerThanTheMaximum) {
  // A "loop": every header names another of the same kind.
  for (uint8_t type : {0, 43, 60}) {
    SCOPED_TRACE(static_cast<int>(type));
    Bytes chain;
    for (int i = 0; i <= kMaxIpv6ExtHeaders; ++i)
      Append(chain, ExtHeader(type));
    ExpectFails(Ether(kIpv6Type, Ipv6(type, Cat({chain, Tcp(1, 2, 0)}))),
                ParseResult::kBadIpv6ExtHeaders);
    // ... up to the end of the frame.
    Bytes endless;
    for (int i = 0; i < 40; ++i) Append(endless, ExtHeader(type));
    ExpectFails(Ether(kIpv6Type, Ipv6(type, endless)),
                ParseResult::kBadIpv6ExtHeaders);
  }
  // Nine of mixed kinds.
  const Bytes mixed =
      Cat({ExtHeader(60), ExtHeader(43), ExtHeader(44),
           FragmentHeader(51, 0, false), AuthHeader(60), ExtHeader(60),
           ExtHeader(43), ExtHeader(0), ExtHeader(kTcp), Tcp(1, 2, 0)});
  ExpectFails(Ether(kIpv6Type, Ipv6(0, mixed)),
              ParseResult::kBadIpv6ExtHeaders);
}

TEST(PacketParserTest, Ipv6ExtensionHeaderPastTheEnd) {
  // Length field says 256 bytes; the frame has 8 + 20.
  Bytes hop = ExtHeader(kTcp);
  hop[1] = 31;
  ExpectFails(Ether(kIpv6Type, Ipv6(0, Cat({hop, Tcp(1, 2, 0)}))),
              ParseResult::kBadIpv6ExtHeaders);
  // Fewer than 8 bytes left for the header.
  ExpectFails(Ether(kIpv6Type, Ipv6(60, {kTcp, 0, 0, 0})),
              ParseResult::kBadIpv6ExtHeaders);
  // Inside the capture but past the payload length.
  Ipv6Fields f;
  f.payload_length = 8;
  ExpectFails(
      Ether(kIpv6Type, Ipv6(0, Cat({ExtHeader(kTcp, 16), Tcp(1, 2, 0)}), f)),
      ParseResult::kBadIpv6ExtHeaders);
}

TEST(PacketParserTest, Ipv6Fragments) {
  // First: ports and the fragment flag.
  const Bytes first = Ether(
      kIpv6Type,
      Ipv6(44, Cat({FragmentHeader(kUdp, 0, true), Udp(10, 20, Bytes(8, 0))})));
  PacketRecord want = WantIpv6(first, kUdp, 40 + 8 + 16);
  want.src_port = 10;
  want.dst_port = 20;
  want.flags = kPacketIpv6 | kPacketFragment;
  ExpectParses(first, want);

  // Later ones (more to come, and the last): the protocol, no ports, and
  // nothing after the fragment header is looked at.
  for (bool more : {true, false}) {
    SCOPED_TRACE(more);
    const Bytes later = Ether(
        kIpv6Type, Ipv6(0, Cat({ExtHeader(44), FragmentHeader(kTcp, 185, more),
                                Bytes(3, 0xff)})));
    want = WantIpv6(later, kTcp, 40 + 16 + 3);
    want.flags = kPacketIpv6 | kPacketFragment;
    ExpectParses(later, want);
  }
}

TEST(PacketParserTest, Ipv6NoNextHeader) {
  const Bytes bare = Ether(kIpv6Type, Ipv6(59, Bytes(4, 0)));
  ExpectParses(bare, WantIpv6(bare, 59, 44));
  const Bytes after = Ether(kIpv6Type, Ipv6(60, ExtHeader(59)));
  ExpectParses(after, WantIpv6(after, 59, 48));
}

TEST(PacketParserTest, Ipv6PayloadLength) {
  // Zero (a jumbogram's): the capture bounds the datagram.
  Ipv6Fields zero;
  zero.payload_length = 0;
  const Bytes jumbo = Ether(kIpv6Type, Ipv6(kUdp, Udp(1, 2, {}), zero));
  PacketRecord want = WantIpv6(jumbo, kUdp, 40);
  want.src_port = 1;
  want.dst_port = 2;
  ExpectParses(jumbo, want);
  // Shorter than the UDP header, with padding after it.
  Ipv6Fields short_payload;
  short_payload.payload_length = 4;
  ExpectFails(Ether(kIpv6Type, Ipv6(kUdp, Udp(1, 2, {}), short_payload)),
              ParseResult::kTruncatedL4);
  // The largest saturates ip_len.
  Ipv6Fields largest;
  largest.payload_length = 65535;
  const Bytes snapped = Ether(kIpv6Type, Ipv6(kUdp, Udp(1, 2, {}), largest));
  want = WantIpv6(snapped, kUdp, 65535);
  want.src_port = 1;
  want.dst_port = 2;
  ExpectParses(snapped, want);
}

TEST(PacketParserTest, TruncatedAtEveryOffsetIpv6Tcp) {
  const Bytes frame = Ether(kIpv6Type, Ipv6(kTcp, Tcp(5, 6, 0x29, 9)));
  PacketRecord want = WantIpv6(frame, kTcp, 40 + 29);
  want.src_port = 5;
  want.dst_port = 6;
  want.tcp_flags = 0x29;
  ExpectPrefixes(frame,
                 {{0, ParseResult::kRunt},
                  {14, ParseResult::kTruncatedIpv6},
                  {54, ParseResult::kTruncatedL4},
                  {74, ParseResult::kOk}},
                 want);
}

TEST(PacketParserTest, TruncatedAtEveryOffsetIpv6ExtensionsTcp) {
  const Bytes frame =
      Ether(kIpv6Type,
            Ipv6(0, Cat({ExtHeader(44, 16), FragmentHeader(kTcp, 0, false),
                         Tcp(5, 6, 0x01, 2)})),
            {{0x8100, 42}});
  PacketRecord want = WantIpv6(frame, kTcp, 40 + 24 + 22);
  want.vlan = 42;
  want.src_port = 5;
  want.dst_port = 6;
  want.tcp_flags = 0x01;
  ExpectPrefixes(frame,
                 {{0, ParseResult::kRunt},
                  {14, ParseResult::kTruncatedVlan},
                  {18, ParseResult::kTruncatedIpv6},
                  {58, ParseResult::kBadIpv6ExtHeaders},
                  {82, ParseResult::kTruncatedL4},
                  {102, ParseResult::kOk}},
                 want);
}

// ---- VXLAN ----

TEST(PacketParserTest, VxlanInnerIpv4Tcp) {
  Ipv4Fields inner;
  inner.src = 0xac100005;  // 172.16.0.5
  inner.dst = 0xac100009;
  inner.ttl = 63;
  inner.tos = 0x10;
  const Bytes inner_frame =
      Ether(kIpv4Type, Ipv4(kTcp, Tcp(33000, 8080, kSynAck, 10), inner),
            {{0x8100, 7}});  // parsed, not recorded
  Ipv4Fields outer;
  outer.src = 0x0a0a0a01;
  outer.dst = 0x0a0a0a02;
  outer.ttl = 255;
  outer.tos = 0xff;
  const Bytes frame = Ether(
      kIpv4Type,
      Ipv4(kUdp, Udp(49152, kVxlanPort, Vxlan(0xabcdef, inner_frame)), outer),
      {{0x8100, 300}});
  PacketRecord want = Want(frame);
  SetIpv4(want.src_ip, inner.src);
  SetIpv4(want.dst_ip, inner.dst);
  want.src_port = 33000;
  want.dst_port = 8080;
  want.ip_len = 50;
  want.vni = 0xabcdef;
  want.vlan = 300;
  want.ether_type = kIpv4Type;
  want.proto = kTcp;
  want.tcp_flags = kSynAck;
  want.ttl = 63;
  want.tos = 0x10;
  want.flags = kPacketIpv4 | kPacketVxlan;
  ExpectParses(frame, want);
  ASSERT_EQ(want.frame_len, frame.size());
}

TEST(PacketParserTest, VxlanInnerIpv6UdpOverIpv6) {
  const Bytes inner_frame =
      Ether(kIpv6Type, Ipv6(kUdp, Udp(9999, 123, Bytes(48, 0))));
  Ipv6Fields outer;
  outer.src = kDst6;
  outer.dst = kSrc6;
  outer.hop_limit = 1;
  const Bytes frame =
      Ether(kIpv6Type,
            Ipv6(kUdp, Udp(50000, kVxlanPort, Vxlan(1, inner_frame)), outer));
  PacketRecord want = WantIpv6(frame, kUdp, 40 + 56);
  want.src_port = 9999;
  want.dst_port = 123;
  want.vni = 1;
  want.flags = kPacketIpv6 | kPacketVxlan;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, VxlanInnerArpZeroesTheOuterFields) {
  const Bytes frame = Ether(
      kIpv4Type, Ipv4(kUdp, Udp(1, kVxlanPort,
                                Vxlan(0xffffff, Ether(0x0806, Bytes(28, 0))))));
  PacketRecord want = Want(frame);
  want.vni = 0xffffff;
  want.ether_type = 0x0806;
  want.flags = kPacketVxlan;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, VxlanIFlagClear) {
  const Bytes inner = Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0)));
  for (uint8_t flags : {0x00, 0x80, 0xf7}) {
    ExpectFails(Ether(kIpv4Type,
                      Ipv4(kUdp, Udp(1, kVxlanPort, Vxlan(5, inner, flags)))),
                ParseResult::kBadVxlan);
  }
  // Other flag bits do not matter.
  const Bytes frame =
      Ether(kIpv4Type, Ipv4(kUdp, Udp(1, kVxlanPort, Vxlan(5, inner, 0xff))));
  PacketRecord want = WantIpv4(frame, kTcp, 40);
  want.src_port = 1;
  want.dst_port = 2;
  want.vni = 5;
  want.flags |= kPacketVxlan;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, VxlanGarbageInnerFrame) {
  const Bytes cases[] = {
      {},                                         // no inner frame
      Bytes(13, 0x42),                            // runt
      Ether(kIpv4Type, Bytes(30, 0xee)),          // IPv4 version 14
      Ether(kIpv4Type, Ipv4(kTcp, Bytes(5, 0))),  // truncated TCP
      Ether(kIpv6Type, Bytes(39, 0x60)),          // truncated IPv6
      Ether(kIpv4Type, {}, {{0x8100, 1}, {0x8100, 2}, {0x8100, 3}}),
  };
  for (const Bytes& inner : cases) {
    SCOPED_TRACE(Hex(inner.data(), inner.size()));
    ExpectFails(
        Ether(kIpv4Type, Ipv4(kUdp, Udp(1, kVxlanPort, Vxlan(77, inner)))),
        ParseResult::kBadVxlan);
  }
  // Shorter than the VXLAN header.
  ExpectFails(Ether(kIpv4Type, Ipv4(kUdp, Udp(1, kVxlanPort, {0x08, 0, 0}))),
              ParseResult::kBadVxlan);
}

TEST(PacketParserTest, VxlanInsideVxlanIsPlainUdp) {
  const Bytes inner_inner = Bytes(5, 0x99);  // never looked at
  const Bytes inner = Ether(
      kIpv4Type, Ipv4(kUdp, Udp(2222, kVxlanPort, Vxlan(9, inner_inner))));
  const Bytes frame =
      Ether(kIpv4Type, Ipv4(kUdp, Udp(1111, kVxlanPort, Vxlan(8, inner))));
  PacketRecord want = WantIpv4(frame, kUdp, 20 + 8 + 8 + 5);
  want.src_port = 2222;
  want.dst_port = kVxlanPort;
  want.vni = 8;
  want.flags |= kPacketVxlan;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, VxlanInAFragmentIsNotDecoded) {
  Ipv4Fields f;
  f.fragment = 0x2000;
  const Bytes inner = Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0)));
  const Bytes frame =
      Ether(kIpv4Type, Ipv4(kUdp, Udp(1000, kVxlanPort, Vxlan(3, inner)), f));
  PacketRecord want = WantIpv4(frame, kUdp, 20 + 8 + 8 + 54);
  want.src_port = 1000;
  want.dst_port = kVxlanPort;
  want.flags |= kPacketFragment;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, VxlanFromPort4789IsNotVxlan) {
  const Bytes frame =
      Ether(kIpv4Type, Ipv4(kUdp, Udp(kVxlanPort, 5000, Bytes(3, 0))));
  PacketRecord want = WantIpv4(frame, kUdp, 31);
  want.src_port = kVxlanPort;
  want.dst_port = 5000;
  ExpectParses(frame, want);
}

TEST(PacketParserTest, TruncatedAtEveryOffsetVxlan) {
  const Bytes inner = Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 0x02, 4)));
  const Bytes frame =
      Ether(kIpv4Type, Ipv4(kUdp, Udp(1000, kVxlanPort, Vxlan(3, inner))));
  PacketRecord want = WantIpv4(frame, kTcp, 44);
  want.src_port = 1;
  want.dst_port = 2;
  want.tcp_flags = 0x02;
  want.vni = 3;
  want.flags |= kPacketVxlan;
  ExpectPrefixes(frame,
                 {{0, ParseResult::kRunt},
                  {14, ParseResult::kTruncatedIpv4},
                  {34, ParseResult::kTruncatedL4},
                  {42, ParseResult::kBadVxlan},
                  {42 + 8 + 54, ParseResult::kOk}},
                 want);
}

// ---- lengths and robustness ----

TEST(PacketParserTest, FrameLenIsCapped) {
  Bytes frame = Ether(0x0806, {});
  frame.resize(70000, 0);
  PacketRecord want = Want(frame);
  want.ether_type = 0x0806;
  ASSERT_EQ(want.frame_len, 65535);
  ExpectParses(frame, want);
  frame.resize(65535);
  ExpectParses(frame, want);
  frame.resize(65534);
  want.frame_len = 65534;
  ExpectParses(frame, want);
}

// Mutated and cut copies of valid frames: whatever the result, the parser
// stays inside the buffer (checked by AddressSanitizer in the sanitizer
// build) and a record is self-consistent.
TEST(PacketParserTest, MutatedFramesKeepTheInvariants) {
  const Bytes templates[] = {
      Ether(kIpv4Type, Ipv4(kTcp, Tcp(1, 2, 3, 8))),
      Ether(kIpv6Type,
            Ipv6(0, Cat({ExtHeader(44), FragmentHeader(kUdp, 0, true),
                         Udp(1, 2, Bytes(4, 0))}))),
      Ether(kIpv4Type,
            Ipv4(kUdp,
                 Udp(1, kVxlanPort,
                     Vxlan(1, Ether(kIpv6Type, Ipv6(kTcp, Tcp(1, 2, 3))))))),
      Ether(kIpv4Type, Ipv4(1, Icmp(8, 0)), {{0x88a8, 1}, {0x8100, 2}}),
  };
  std::mt19937 rng(12345);
  size_t ok = 0;
  for (int i = 0; i < 50000; ++i) {
    Bytes frame = templates[rng() % std::size(templates)];
    for (int n = 1 + rng() % 4; n > 0; --n) {
      frame[rng() % frame.size()] ^= static_cast<uint8_t>(1 << (rng() % 8));
    }
    if (rng() % 4 == 0) frame.resize(rng() % (frame.size() + 1));
    const Parsed p = Parse(frame);
    ASSERT_LT(static_cast<size_t>(p.result), kNumParseResults);
    if (p.result != ParseResult::kOk) continue;
    ++ok;
    const PacketRecord& r = p.record;
    ASSERT_EQ(r.timestamp, kTimestamp);
    ASSERT_EQ(r.port, kPort);
    ASSERT_EQ(r.frame_len, frame.size());
    ASSERT_EQ(r.reserved, 0);
    ASSERT_EQ(r.flags & kPacketTruncated, 0);
    ASSERT_NE(r.flags & (kPacketIpv4 | kPacketIpv6), kPacketIpv4 | kPacketIpv6);
    if (r.flags & kPacketIpv4) {
      ASSERT_EQ(r.ether_type, kIpv4Type);
    }
    if (r.flags & kPacketIpv6) {
      ASSERT_EQ(r.ether_type, kIpv6Type);
    }
    if ((r.flags & kPacketVxlan) == 0) {
      ASSERT_EQ(r.vni, 0u);
    }
    if ((r.flags & (kPacketIpv4 | kPacketIpv6)) == 0) {
      ASSERT_EQ(r.ip_len | r.src_port | r.dst_port | r.proto | r.ttl, 0);
    }
  }
  EXPECT_GT(ok, 1000u);
}

}  // namespace
}  // namespace loupe::dataplane
