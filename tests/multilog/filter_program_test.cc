#include "multilog/filter_program.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "multilog/expression.h"
#include "multilog/packet_schema.h"
#include "multilog/schema.h"
#include "tests/support/all_types_schema.h"
#include "tests/support/reference_filter.h"

namespace loupe {
namespace {

using ::testing::HasSubstr;

// --- Records ----------------------------------------------------------------

void SetIp(uint8_t out[16], std::string_view text) {
  std::string s(text);
  if (s.find(':') == std::string::npos) {
    std::memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    ASSERT_EQ(inet_pton(AF_INET, s.c_str(), out + 12), 1) << s;
  } else {
    ASSERT_EQ(inet_pton(AF_INET6, s.c_str(), out), 1) << s;
  }
}

PacketRecord Packet(std::string_view src, std::string_view dst,
                    uint16_t src_port, uint16_t dst_port, uint8_t proto) {
  PacketRecord r{};
  r.timestamp = 1700000000000000000ull;
  SetIp(r.src_ip, src);
  SetIp(r.dst_ip, dst);
  r.src_port = src_port;
  r.dst_port = dst_port;
  r.proto = proto;
  r.ip_len = 1500;
  r.frame_len = 1514;
  r.ttl = 64;
  r.flags = src.find(':') == std::string_view::npos ? kPacketIpv4 : kPacketIpv6;
  return r;
}

const uint8_t* Bytes(const PacketRecord& r) {
  return reinterpret_cast<const uint8_t*>(&r);
}

FilterProgram Compile(std::string_view text,
                      const Schema& schema = PacketSchema()) {
  Result<FilterProgram> program = FilterProgram::Compile(schema, text);
  EXPECT_TRUE(program.ok()) << text << ": " << program.status().ToString();
  if (!program.ok()) return FilterProgram::FromBound(BoundFilter{});
  return std::move(program).value();
}

bool Matches(std::string_view text, const PacketRecord& record) {
  return Compile(text).Matches(Bytes(record));
}

const Schema& AllTypes() { return test_support::AllTypesSchema(); }

class Row {
 public:
  Row() : bytes_(AllTypes().record_size(), 0) {}
  template <typename T>
  Row& Set(std::string_view column, T value) {
    const Column* c = AllTypes().Find(column);
    EXPECT_NE(c, nullptr);
    EXPECT_EQ(c->width, sizeof(T));
    std::memcpy(bytes_.data() + c->offset, &value, sizeof(T));
    return *this;
  }
  Row& SetBytes(std::string_view column, const std::vector<uint8_t>& value) {
    const Column* c = AllTypes().Find(column);
    EXPECT_NE(c, nullptr);
    EXPECT_LE(value.size(), c->width);
    std::memset(bytes_.data() + c->offset, 0, c->width);
    if (!value.empty()) {
      std::memcpy(bytes_.data() + c->offset, value.data(), value.size());
    }
    return *this;
  }
  Row& SetString(std::string_view column, std::string_view value) {
    return SetBytes(column, std::vector<uint8_t>(value.begin(), value.end()));
  }
  const uint8_t* data() const { return bytes_.data(); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

bool RowMatches(std::string_view text, const Row& row) {
  return Compile(text, AllTypes()).Matches(row.data());
}

// --- The reference evaluator: the obvious recursive walk of the tree ---------

using test_support::Reference;

// --- Operators and types on packet records ----------------------------------

TEST(FilterProgramTest, Ports) {
  PacketRecord https = Packet("10.0.0.1", "10.0.0.2", 40000, 443, 6);
  EXPECT_TRUE(Matches("dst_port == 443", https));
  EXPECT_FALSE(Matches("dst_port == 80", https));
  EXPECT_FALSE(Matches("dst_port != 443", https));
  EXPECT_TRUE(Matches("dst_port != 80", https));
  EXPECT_TRUE(Matches("dst_port < 444", https));
  EXPECT_FALSE(Matches("dst_port < 443", https));
  EXPECT_TRUE(Matches("dst_port <= 443", https));
  EXPECT_FALSE(Matches("dst_port <= 442", https));
  EXPECT_TRUE(Matches("dst_port > 442", https));
  EXPECT_FALSE(Matches("dst_port > 443", https));
  EXPECT_TRUE(Matches("dst_port >= 443", https));
  EXPECT_FALSE(Matches("dst_port >= 444", https));
  EXPECT_TRUE(Matches("src_port >= 32768 && src_port <= 60999", https));
  EXPECT_TRUE(Matches("src_port == 40000", https));
  EXPECT_TRUE(Matches("dst_port == 0x1bb", https));
  // Edges of the type.
  PacketRecord zero = Packet("10.0.0.1", "10.0.0.2", 0, 65535, 17);
  EXPECT_FALSE(Matches("src_port < 0", zero));
  EXPECT_TRUE(Matches("src_port <= 0", zero));
  EXPECT_TRUE(Matches("src_port >= 0", zero));
  EXPECT_FALSE(Matches("dst_port > 65535", zero));
  EXPECT_TRUE(Matches("dst_port >= 65535", zero));
  EXPECT_TRUE(Matches("dst_port == 65535", zero));
}

TEST(FilterProgramTest, ProtocolNames) {
  PacketRecord tcp = Packet("10.0.0.1", "10.0.0.2", 1, 2, 6);
  PacketRecord udp = Packet("10.0.0.1", "10.0.0.2", 1, 2, 17);
  EXPECT_TRUE(Matches("proto == tcp", tcp));
  EXPECT_FALSE(Matches("proto == tcp", udp));
  EXPECT_TRUE(Matches("proto == udp", udp));
  EXPECT_TRUE(Matches("proto != udp", tcp));
  EXPECT_TRUE(Matches("proto in {tcp, udp}", udp));
  EXPECT_FALSE(Matches("proto in {icmp, icmpv6, gre}", udp));
}

TEST(FilterProgramTest, Ipv4CidrOnAnIpv6Column) {
  PacketRecord inside = Packet("10.20.30.40", "192.168.1.1", 1, 2, 6);
  PacketRecord outside = Packet("11.0.0.1", "192.168.1.1", 1, 2, 6);
  PacketRecord v6 = Packet("::a14:1e28", "::1", 1, 2, 6);  // not v4-mapped
  EXPECT_TRUE(Matches("src_ip in 10.0.0.0/8", inside));
  EXPECT_FALSE(Matches("src_ip in 10.0.0.0/8", outside));
  EXPECT_FALSE(Matches("src_ip in 10.0.0.0/8", v6));
  EXPECT_TRUE(Matches("src_ip in 10.20.0.0/16", inside));
  EXPECT_TRUE(Matches("src_ip in 10.20.30.40/32", inside));
  EXPECT_FALSE(Matches("src_ip in 10.20.30.41/32", inside));
  EXPECT_TRUE(Matches("src_ip in 10.20.30.32/27", inside));
  EXPECT_FALSE(Matches("src_ip in 10.20.30.0/27", inside));
  EXPECT_TRUE(Matches("dst_ip in 192.168.0.0/16", inside));
  // 0.0.0.0/0 is every v4-mapped address, and only those.
  EXPECT_TRUE(Matches("src_ip in 0.0.0.0/0", outside));
  EXPECT_FALSE(Matches("src_ip in 0.0.0.0/0", v6));
  EXPECT_TRUE(Matches("src_ip in ::ffff:0:0/96", outside));
  // Single addresses, both spellings.
  EXPECT_TRUE(Matches("src_ip == 10.20.30.40", inside));
  EXPECT_TRUE(Matches("src_ip == ::ffff:10.20.30.40", inside));
  EXPECT_FALSE(Matches("src_ip == 10.20.30.40", v6));
}

TEST(FilterProgramTest, Ipv6Cidr) {
  PacketRecord doc = Packet("2001:db8:1234::5", "fe80::1", 1, 2, 17);
  PacketRecord other = Packet("2001:db9::5", "::1", 1, 2, 17);
  EXPECT_TRUE(Matches("src_ip in 2001:db8::/32", doc));
  EXPECT_FALSE(Matches("src_ip in 2001:db8::/32", other));
  EXPECT_TRUE(Matches("src_ip in 2001:db8::/31", other));
  EXPECT_TRUE(Matches("src_ip in 2001:db8:1234::/48", doc));
  EXPECT_FALSE(Matches("src_ip in 2001:db8:1235::/48", doc));
  EXPECT_TRUE(Matches("src_ip in 2001:db8:1234::5/128", doc));
  EXPECT_FALSE(Matches("src_ip in 2001:db8:1234::4/128", doc));
  EXPECT_TRUE(Matches("src_ip in 2001:db8:1234::4/127", doc));
  EXPECT_TRUE(Matches("dst_ip in fe80::/10", doc));
  EXPECT_FALSE(Matches("dst_ip in fe80::/10", other));
  EXPECT_TRUE(Matches("src_ip in ::/0", other));
  // Prefixes that end inside the lower 64 bits.
  PacketRecord low = Packet("2001:db8::1:ff00:0:1", "::1", 1, 2, 17);
  EXPECT_TRUE(Matches("src_ip in 2001:db8::1:ff00:0:0/96", low));
  EXPECT_TRUE(Matches("src_ip in 2001:db8::1:ff00:0:0/88", low));
  EXPECT_FALSE(Matches("src_ip in 2001:db8::1:fe00:0:0/88", low));
}

TEST(FilterProgramTest, AddressOrderIsByteOrder) {
  PacketRecord r = Packet("10.0.0.5", "2001:db8::1", 1, 2, 6);
  EXPECT_TRUE(Matches("src_ip > 10.0.0.4", r));
  EXPECT_TRUE(Matches("src_ip < 10.0.1.0", r));
  EXPECT_TRUE(Matches("src_ip < 11.0.0.0", r));
  EXPECT_FALSE(Matches("src_ip < 9.255.255.255", r));
  EXPECT_TRUE(Matches("dst_ip > ::ffff:255.255.255.255", r));
  EXPECT_TRUE(Matches("dst_ip < 2001:db8::2", r));
  EXPECT_TRUE(Matches("dst_ip >= 2001:db8::1 && dst_ip <= 2001:db8::1", r));
}

TEST(FilterProgramTest, Sets) {
  PacketRecord r = Packet("10.0.0.1", "2001:db8::7", 40000, 8080, 6);
  EXPECT_TRUE(Matches("dst_port in {80, 443, 8080}", r));
  EXPECT_FALSE(Matches("dst_port in {80, 443, 8443}", r));
  EXPECT_TRUE(Matches("dst_port in {8080}", r));
  EXPECT_TRUE(Matches("dst_port in {8080, 8080, 8080}", r));
  // Large enough for the binary search.
  std::string many = "dst_port in {";
  for (int port = 1; port <= 100; ++port) {
    many += std::to_string(port * 7) + (port < 100 ? ", " : "}");
  }
  EXPECT_FALSE(Matches(many, r));
  r.dst_port = 7 * 37;
  EXPECT_TRUE(Matches(many, r));
  r.dst_port = 7;
  EXPECT_TRUE(Matches(many, r));
  r.dst_port = 700;
  EXPECT_TRUE(Matches(many, r));
  r.dst_port = 701;
  EXPECT_FALSE(Matches(many, r));
  EXPECT_TRUE(Matches("src_ip in {10.0.0.1, 10.0.0.2}", r));
  EXPECT_FALSE(Matches("src_ip in {10.0.0.3, ::1}", r));
  EXPECT_TRUE(Matches("dst_ip in {::1, 2001:db8::7, 10.0.0.1}", r));
  EXPECT_FALSE(Matches("!(dst_ip in {::1, 2001:db8::7})", r));
}

TEST(FilterProgramTest, SetsOfEverySize) {
  // 2 members: a scan; 10 close together: a bitmap; 30 spread out: a binary
  // search; 128-bit keys: always a binary search.
  PacketRecord r = Packet("10.0.0.1", "2001:db8::7", 1, 2, 6);
  for (size_t n : {2, 10, 30}) {
    std::vector<uint32_t> members;
    std::string text = "vni in {";
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t v = n == 30 ? 1000 * i * i + 3 : 100 + 7 * i;
      members.push_back(v);
      text += (i ? ", " : "") + std::to_string(v);
    }
    text += "}";
    const FilterProgram program = Compile(text);
    for (uint32_t v : members) {
      for (uint32_t probe : {v - 1, v, v + 1}) {
        r.vni = probe;
        const bool member =
            std::find(members.begin(), members.end(), probe) != members.end();
        EXPECT_EQ(program.Matches(Bytes(r)), member) << text << " " << probe;
      }
    }
    r.vni = 0xffffffff;
    EXPECT_FALSE(program.Matches(Bytes(r)));
  }
  EXPECT_THAT(Compile("vni in {1, 2, 3, 4, 5}").Disassemble(),
              HasSubstr("bitmap"));
  std::string v6 = "dst_ip in {";
  for (int i = 0; i < 40; ++i) {
    v6 += (i ? ", " : "") + std::string("2001:db8::") + std::to_string(i * 3);
  }
  v6 += "}";
  const FilterProgram program = Compile(v6);
  SetIp(r.dst_ip, "2001:db8::117");
  EXPECT_TRUE(program.Matches(Bytes(r)));
  SetIp(r.dst_ip, "2001:db8::118");
  EXPECT_FALSE(program.Matches(Bytes(r)));
  SetIp(r.dst_ip, "2001:db8::");
  EXPECT_TRUE(program.Matches(Bytes(r)));
  SetIp(r.dst_ip, "::");
  EXPECT_FALSE(program.Matches(Bytes(r)));
}

TEST(FilterProgramTest, NegationAndOrAnd) {
  PacketRecord r = Packet("10.1.1.1", "10.2.2.2", 5353, 53, 17);
  EXPECT_TRUE(Matches("!(proto == tcp)", r));
  EXPECT_FALSE(Matches("!(proto == udp)", r));
  EXPECT_TRUE(Matches("!!(proto == udp)", r));
  EXPECT_TRUE(Matches("proto == udp && dst_port == 53", r));
  EXPECT_FALSE(Matches("proto == udp && dst_port == 54", r));
  EXPECT_TRUE(Matches("proto == tcp || dst_port == 53", r));
  EXPECT_FALSE(Matches("proto == tcp || dst_port == 54", r));
  // && binds tighter than ||: true || (false && false).
  EXPECT_TRUE(Matches("dst_port == 53 || proto == tcp && ttl == 1", r));
  EXPECT_FALSE(Matches("(dst_port == 53 || proto == tcp) && ttl == 1", r));
  // ! binds tighter than &&: (!false) && true.
  EXPECT_TRUE(Matches("!proto == tcp && dst_port == 53", r));
  EXPECT_FALSE(Matches("!(proto == udp && dst_port == 53)", r));
  EXPECT_TRUE(
      Matches("src_ip in 10.0.0.0/8 && dst_port == 443 || !(proto == tcp)", r));
  EXPECT_TRUE(Matches("true", r));
  EXPECT_FALSE(Matches("false", r));
  EXPECT_FALSE(Matches("!true || false", r));
  EXPECT_TRUE(Matches("!(false && proto == udp)", r));
}

TEST(FilterProgramTest, OtherPacketColumns) {
  PacketRecord r = Packet("10.1.1.1", "10.2.2.2", 1, 2, 6);
  r.vni = 5001;
  r.vlan = 100;
  r.ether_type = 0x0800;
  r.tcp_flags = 0x12;
  r.timestamp = 1'700'000'000'123'456'789ull;
  EXPECT_TRUE(Matches("vni == 5001 && vlan == 100", r));
  EXPECT_TRUE(Matches("ether_type == 0x0800", r));
  EXPECT_TRUE(Matches("tcp_flags == 0x12", r));
  EXPECT_TRUE(Matches("timestamp > 1.7e18", r));
  EXPECT_TRUE(Matches("timestamp == 1700000000123456789", r));
  EXPECT_FALSE(Matches("timestamp == 1700000000123456788", r));
  EXPECT_TRUE(Matches("flags == 1 && ip_len == 1500 && frame_len > 1500", r));
}

// --- Every type
// ---------------------------------------------------------------

TEST(FilterProgramTest, SignedNumbers) {
  Row row;
  row.Set<int32_t>("i32", -5)
      .Set<int8_t>("i8", -128)
      .Set<int64_t>("i64", std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(RowMatches("i32 < 3", row));
  EXPECT_TRUE(RowMatches("i32 < -4", row));
  EXPECT_FALSE(RowMatches("i32 < -5", row));
  EXPECT_TRUE(RowMatches("i32 == -5", row));
  EXPECT_TRUE(RowMatches("i32 >= -5", row));
  EXPECT_FALSE(RowMatches("i32 > 0", row));
  EXPECT_TRUE(RowMatches("i32 in {-5, 5}", row));
  EXPECT_TRUE(RowMatches("i8 == -128 && i8 <= -128 && i8 < 127", row));
  EXPECT_FALSE(RowMatches("i8 < -128", row));
  EXPECT_TRUE(RowMatches("i64 == -9223372036854775808", row));
  EXPECT_TRUE(RowMatches("i64 < -9223372036854775807", row));
  EXPECT_FALSE(RowMatches("i64 < -9223372036854775808", row));
  row.Set<int16_t>("i16", 300);
  EXPECT_TRUE(RowMatches("i16 > -1 && i16 > 299 && i16 < 301", row));
}

TEST(FilterProgramTest, UnsignedNumbers) {
  Row row;
  row.Set<uint64_t>("u64", std::numeric_limits<uint64_t>::max())
      .Set<uint32_t>("u32", 3000000000u)
      .Set<uint8_t>("u8", 200);
  EXPECT_TRUE(RowMatches("u64 == 18446744073709551615", row));
  EXPECT_TRUE(RowMatches("u64 > 1", row));
  EXPECT_FALSE(RowMatches("u64 > 18446744073709551615", row));
  EXPECT_TRUE(RowMatches("u64 >= 0", row));
  EXPECT_TRUE(RowMatches("u32 > 2147483647", row));  // not signed
  EXPECT_TRUE(RowMatches("u8 > 127 && u8 == 200", row));
  EXPECT_TRUE(RowMatches("u32 == 3e9", row));
}

TEST(FilterProgramTest, Floats) {
  Row row;
  row.Set<double>("f64", 1.5).Set<float>("f32", -2.5f);
  EXPECT_TRUE(RowMatches("f64 == 1.5", row));
  EXPECT_TRUE(RowMatches("f64 > 1 && f64 < 2", row));
  EXPECT_TRUE(RowMatches("f64 > -1e300", row));
  EXPECT_FALSE(RowMatches("f64 < 1.5", row));
  EXPECT_TRUE(RowMatches("f64 <= 1.5", row));
  EXPECT_TRUE(RowMatches("f32 < 0 && f32 > -3 && f32 == -2.5", row));
  EXPECT_TRUE(RowMatches("f32 in {1, -2.5}", row));
  EXPECT_TRUE(RowMatches("f32 < -2.4", row));
  // 0.1 as f32 is 0.1f, not the double 0.1.
  row.Set<float>("f32", 0.1f);
  EXPECT_TRUE(RowMatches("f32 == 0.1", row));
}

TEST(FilterProgramTest, FloatNanNeverMatchesButNotEqual) {
  Row row;
  row.Set<double>("f64", std::numeric_limits<double>::quiet_NaN())
      .Set<float>("f32", -std::numeric_limits<float>::quiet_NaN());
  for (std::string_view column : {"f64", "f32"}) {
    for (std::string_view op : {"==", "<", "<=", ">", ">="}) {
      for (std::string_view value : {"0", "-1", "1e30", "-1e30"}) {
        std::string text = std::string(column) + " " + std::string(op) + " " +
                           std::string(value);
        EXPECT_FALSE(RowMatches(text, row)) << text;
      }
    }
    EXPECT_TRUE(RowMatches(std::string(column) + " != 0", row));
    EXPECT_FALSE(RowMatches(std::string(column) + " in {0, 1, -1}", row));
  }
}

TEST(FilterProgramTest, FloatZeroAndInfinity) {
  Row row;
  row.Set<double>("f64", -0.0).Set<float>("f32", 0.0f);
  for (std::string_view column : {"f64", "f32"}) {
    std::string c(column);
    EXPECT_TRUE(RowMatches(c + " == 0", row));
    EXPECT_TRUE(RowMatches(c + " == -0", row));
    EXPECT_FALSE(RowMatches(c + " != 0", row));
    EXPECT_FALSE(RowMatches(c + " < 0", row));
    EXPECT_FALSE(RowMatches(c + " > -0", row));
    EXPECT_TRUE(RowMatches(c + " <= -0", row));
    EXPECT_TRUE(RowMatches(c + " >= 0", row));
    EXPECT_TRUE(RowMatches(c + " in {0, 7}", row));
    EXPECT_TRUE(RowMatches(c + " in {-0}", row));
  }
  row.Set<double>("f64", std::numeric_limits<double>::infinity())
      .Set<float>("f32", -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(RowMatches("f64 > 1e308", row));
  EXPECT_FALSE(RowMatches("f64 < 1e308", row));
  EXPECT_TRUE(RowMatches("f32 < -3e38", row));
  EXPECT_TRUE(RowMatches("f32 != 0", row));
}

TEST(FilterProgramTest, Bools) {
  Row row;
  row.Set<uint8_t>("b", 1);
  EXPECT_TRUE(RowMatches("b == true", row));
  EXPECT_TRUE(RowMatches("b != false", row));
  EXPECT_TRUE(RowMatches("b == 1", row));
  EXPECT_TRUE(RowMatches("b > false", row));
  row.Set<uint8_t>("b", 0);
  EXPECT_TRUE(RowMatches("b == false", row));
}

TEST(FilterProgramTest, Ipv4Column) {
  Row row;
  row.SetBytes("v4", {192, 168, 7, 9});
  EXPECT_TRUE(RowMatches("v4 == 192.168.7.9", row));
  EXPECT_TRUE(RowMatches("v4 in 192.168.0.0/16", row));
  EXPECT_FALSE(RowMatches("v4 in 192.169.0.0/16", row));
  EXPECT_TRUE(RowMatches("v4 in 0.0.0.0/0", row));
  EXPECT_TRUE(RowMatches("v4 in 192.168.7.8/31", row));
  EXPECT_TRUE(RowMatches("v4 > 10.0.0.0", row));  // bytewise, not host order
  EXPECT_TRUE(RowMatches("v4 < 192.168.7.10", row));
  EXPECT_TRUE(RowMatches("v4 in {1.1.1.1, 192.168.7.9}", row));
}

TEST(FilterProgramTest, MacColumn) {
  Row row;
  row.SetBytes("mac", {0x02, 0x42, 0xac, 0x11, 0x00, 0x02});
  EXPECT_TRUE(RowMatches("mac == 02:42:ac:11:00:02", row));
  EXPECT_FALSE(RowMatches("mac == 02:42:ac:11:00:03", row));
  EXPECT_TRUE(RowMatches("mac < 02:42:ac:11:00:03", row));
  EXPECT_TRUE(RowMatches("mac > 02:42:ac:10:ff:ff", row));
  EXPECT_TRUE(RowMatches("mac >= 02:00:00:00:00:00", row));
  EXPECT_FALSE(RowMatches("mac > ff:00:00:00:00:00", row));
  EXPECT_TRUE(RowMatches("mac in {ff:ff:ff:ff:ff:ff, 02:42:ac:11:00:02}", row));
}

TEST(FilterProgramTest, StringColumn) {
  Row row;
  row.SetString("name", "web");
  EXPECT_TRUE(RowMatches("name == 'web'", row));
  EXPECT_FALSE(RowMatches("name == 'web1'", row));
  EXPECT_FALSE(RowMatches("name == 'we'", row));
  EXPECT_TRUE(RowMatches("name != 'db'", row));
  EXPECT_TRUE(RowMatches("name > 'db'", row));
  EXPECT_TRUE(RowMatches("name < 'web1'", row));  // zero padding sorts first
  EXPECT_TRUE(RowMatches("name <= 'web' && name >= 'web'", row));
  EXPECT_TRUE(RowMatches("name in {'db', 'web', 'cache'}", row));
  EXPECT_FALSE(RowMatches("name in {'db', 'cache'}", row));
  row.SetString("name", "");
  EXPECT_TRUE(RowMatches("name == ''", row));
  EXPECT_TRUE(RowMatches("name < 'a'", row));
}

// --- Program shape
// ------------------------------------------------------------

TEST(FilterProgramTest, ConnectivesCostNoInstructions) {
  EXPECT_EQ(Compile("dst_port == 443").instruction_count(), 1u);
  EXPECT_EQ(Compile("!!!(dst_port == 443)").instruction_count(), 1u);
  EXPECT_EQ(Compile("dst_port != 443").instruction_count(), 1u);
  EXPECT_EQ(Compile("src_ip in 10.0.0.0/8 && dst_port == 443 || !(proto == "
                    "udp)")
                .instruction_count(),
            3u);
  EXPECT_EQ(Compile("true").instruction_count(), 0u);
  EXPECT_EQ(Compile("true || dst_port == 1").instruction_count(), 0u);
  EXPECT_EQ(Compile("dst_port < 0").instruction_count(), 0u);
  EXPECT_EQ(Compile("src_ip in ::/0").instruction_count(), 0u);
  EXPECT_EQ(Compile("dst_port in {1, 1}").instruction_count(), 1u);
  EXPECT_THAT(Compile("dst_port == 443").Disassemble(),
              HasSubstr("u16@42 in [0x1bb, 0x1bb] ? accept : reject"));
}

TEST(FilterProgramTest, FromBoundMatchesCompile) {
  Result<BoundFilter> bound =
      ParseFilter(PacketSchema(), "proto == tcp && dst_port in {80, 443}");
  ASSERT_TRUE(bound.ok());
  FilterProgram program = FilterProgram::FromBound(*bound);
  EXPECT_EQ(program.bound().text, bound->text);
  EXPECT_EQ(program.bound().nodes.size(), bound->nodes.size());
  PacketRecord r = Packet("10.0.0.1", "10.0.0.2", 1, 443, 6);
  EXPECT_TRUE(program.Matches(Bytes(r)));
  EXPECT_FALSE(FilterProgram::FromBound(BoundFilter{}).Matches(Bytes(r)));
}

TEST(FilterProgramTest, CompileReportsParseErrors) {
  Result<FilterProgram> program =
      FilterProgram::Compile(PacketSchema(), "dst_prot == 1");
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.status().message(),
            "filter 1:1: unknown field 'dst_prot'; did you mean 'dst_port'?");
}

TEST(FilterProgramTest, CopiesAndMovesKeepWorking) {
  PacketRecord r = Packet("10.0.0.1", "2001:db8::1", 1, 443, 6);
  std::vector<FilterProgram> programs;
  {
    FilterProgram original = Compile(
        "dst_port in {1, 2, 3, 443} && dst_ip in {::1, 2001:db8::1} "
        "&& src_ip in 10.0.0.0/8");
    FilterProgram copy = original;  // NOLINT: the copy is the point
    programs.push_back(copy);
    programs.push_back(std::move(original));
  }
  for (const FilterProgram& p : programs) EXPECT_TRUE(p.Matches(Bytes(r)));
}

TEST(FilterProgramTest, ConcurrentMatches) {
  const FilterProgram program =
      Compile("src_ip in 10.0.0.0/8 && dst_port in {80, 443}");
  std::vector<std::thread> threads;
  std::vector<int> counts(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      PacketRecord r = Packet("10.0.0.1", "10.0.0.2", 1, 443, 6);
      for (int i = 0; i < 100000; ++i) {
        r.dst_port = static_cast<uint16_t>(i % 2 == 0 ? 443 : 444);
        counts[t] += program.Matches(Bytes(r)) ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int count : counts) EXPECT_EQ(count, 50000);
}

// --- Randomized differential test -------------------------------------------

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

 private:
  uint64_t state_;
};

constexpr std::string_view kV4Pool[] = {
    "10.0.0.1",   "10.1.2.3", "10.255.0.9", "192.168.1.1",     "192.168.1.77",
    "172.16.5.4", "8.8.8.8",  "0.0.0.0",    "255.255.255.255", "127.0.0.1"};
constexpr std::string_view kV6Pool[] = {"2001:db8::1",
                                        "2001:db8::2",
                                        "2001:db8:1::1",
                                        "fe80::1",
                                        "fe80::abcd",
                                        "::1",
                                        "::",
                                        "ff02::1",
                                        "2001:db8:0:0:8000::1",
                                        "::ffff:10.0.0.1"};
constexpr std::string_view kPrefixPool[] = {
    "10.0.0.0/8",      "10.1.0.0/16",   "192.168.1.0/24", "192.168.1.64/26",
    "0.0.0.0/0",       "8.8.8.8/32",    "2001:db8::/32",  "2001:db8::/48",
    "2001:db8:1::/48", "fe80::/10",     "::/0",           "::1/128",
    "::ffff:0:0/96",   "2001:db8::/65", "2001:db8::/127", "ff00::/8"};

std::string AddressText(Rng& rng) {
  if (rng.OneIn(2)) return std::string(rng.Pick(kV4Pool));
  return std::string(rng.Pick(kV6Pool));
}

void RandomAddress(Rng& rng, uint8_t out[16]) {
  if (rng.OneIn(8)) {
    for (int i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>(rng.Next());
    return;
  }
  SetIp(out, AddressText(rng));
  if (rng.OneIn(3)) out[15] = static_cast<uint8_t>(rng.Below(4));
}

struct NumericColumn {
  std::string_view name;
  uint64_t max;
  std::vector<uint64_t> common;  // values records and literals share
};

const std::vector<NumericColumn>& PacketNumericColumns() {
  static const auto* columns = new std::vector<NumericColumn>{
      {"src_port", 65535, {0, 53, 80, 443, 8080, 40000, 65535}},
      {"dst_port", 65535, {0, 53, 80, 443, 8080, 40000, 65535}},
      {"ip_len", 65535, {40, 64, 576, 1500}},
      {"frame_len", 65535, {54, 64, 1514}},
      {"vni", 4294967295u, {0, 1, 5001, 16777215, 4294967295u}},
      {"vlan", 65535, {0, 1, 100, 4095}},
      {"ether_type", 65535, {0x0800, 0x86dd, 0x0806}},
      {"port", 65535, {0, 1, 2}},
      {"proto", 255, {1, 6, 17, 58, 255}},
      {"tcp_flags", 255, {0, 2, 16, 18, 255}},
      {"ttl", 255, {0, 1, 63, 64, 128, 255}},
      {"tos", 255, {0, 4, 255}},
      {"flags", 255, {0, 1, 2}},
      {"reserved", 255, {0}},
      {"timestamp",
       std::numeric_limits<uint64_t>::max(),
       {0, 1700000000000000000ull, 1700000000000000001ull}},
  };
  return *columns;
}

uint64_t NumberFor(Rng& rng, const NumericColumn& c) {
  if (rng.OneIn(4))
    return c.max == ~uint64_t{0} ? rng.Next() : rng.Below(c.max + 1);
  return c.common[rng.Below(c.common.size())];
}

std::string NumberText(Rng& rng, const NumericColumn& c) {
  uint64_t v = NumberFor(rng, c);
  if (c.name == "proto" && rng.OneIn(3)) {
    constexpr std::string_view kNames[] = {"tcp", "udp", "icmp", "icmpv6",
                                           "gre", "esp", "sctp"};
    return std::string(rng.Pick(kNames));
  }
  if (rng.OneIn(5)) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "0x%llx",
                  static_cast<unsigned long long>(v));
    return buffer;
  }
  return std::to_string(v);
}

const char* RandomOp(Rng& rng) {
  constexpr const char* kOps[] = {"==", "!=", "<", "<=", ">", ">="};
  return rng.Pick(kOps);
}

std::string PacketCondition(Rng& rng) {
  const auto& numeric = PacketNumericColumns();
  if (rng.OneIn(3)) {
    const char* column = rng.OneIn(2) ? "src_ip" : "dst_ip";
    switch (rng.Below(3)) {
      case 0:
        return std::string(column) + " in " +
               std::string(rng.Pick(kPrefixPool));
      case 1:
        return std::string(column) + " " + RandomOp(rng) + " " +
               AddressText(rng);
      default: {
        std::string text = std::string(column) + " in {";
        uint64_t n = 1 + rng.Below(6);
        for (uint64_t i = 0; i < n; ++i) {
          text += (i ? ", " : "") + AddressText(rng);
        }
        return text + "}";
      }
    }
  }
  const NumericColumn& c = numeric[rng.Below(numeric.size())];
  if (rng.OneIn(4)) {
    std::string text = std::string(c.name) + " in {";
    uint64_t n = 1 + rng.Below(rng.OneIn(4) ? 40 : 8);
    for (uint64_t i = 0; i < n; ++i) {
      text += (i ? ", " : "") + NumberText(rng, c);
    }
    return text + "}";
  }
  return std::string(c.name) + " " + RandomOp(rng) + " " + NumberText(rng, c);
}

// A random expression of conditions from `condition`.
template <typename Condition>
std::string RandomFilter(Rng& rng, int depth, Condition condition) {
  const uint64_t choice = depth >= 4 ? 0 : rng.Below(10);
  if (choice < 4) {
    if (rng.OneIn(30)) return rng.OneIn(2) ? "true" : "false";
    return condition(rng);
  }
  if (choice < 5) return "!" + RandomFilter(rng, depth + 1, condition);
  if (choice < 6) return "(" + RandomFilter(rng, depth + 1, condition) + ")";
  const char* connective = choice < 8 ? " && " : " || ";
  std::string text = RandomFilter(rng, depth + 1, condition);
  uint64_t more = 1 + rng.Below(3);
  for (uint64_t i = 0; i < more; ++i) {
    std::string operand = RandomFilter(rng, depth + 1, condition);
    // Parenthesize sometimes so that both precedences appear.
    if (rng.OneIn(2)) operand = "(" + operand + ")";
    text += connective + operand;
  }
  return text;
}

PacketRecord RandomPacket(Rng& rng) {
  PacketRecord r{};
  RandomAddress(rng, r.src_ip);
  RandomAddress(rng, r.dst_ip);
  auto number = [&](std::string_view name) {
    for (const NumericColumn& c : PacketNumericColumns()) {
      if (c.name == name) return NumberFor(rng, c);
    }
    ADD_FAILURE() << name;
    return uint64_t{0};
  };
  r.timestamp = number("timestamp");
  r.src_port = static_cast<uint16_t>(number("src_port"));
  r.dst_port = static_cast<uint16_t>(number("dst_port"));
  r.ip_len = static_cast<uint16_t>(number("ip_len"));
  r.frame_len = static_cast<uint16_t>(number("frame_len"));
  r.vni = static_cast<uint32_t>(number("vni"));
  r.vlan = static_cast<uint16_t>(number("vlan"));
  r.ether_type = static_cast<uint16_t>(number("ether_type"));
  r.port = static_cast<uint16_t>(number("port"));
  r.proto = static_cast<uint8_t>(number("proto"));
  r.tcp_flags = static_cast<uint8_t>(number("tcp_flags"));
  r.ttl = static_cast<uint8_t>(number("ttl"));
  r.tos = static_cast<uint8_t>(number("tos"));
  r.flags = static_cast<uint8_t>(number("flags"));
  r.reserved = static_cast<uint8_t>(number("reserved"));
  return r;
}

std::string Hex(const uint8_t* bytes, size_t n) {
  std::string out;
  char buffer[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buffer, sizeof(buffer), "%02x", bytes[i]);
    out += buffer;
  }
  return out;
}

// Compiles each filter and checks it against the reference on every record;
// also checks that "!(f)" gives the opposite answer.
void CheckAgainstReference(const Schema& schema,
                           const std::vector<std::string>& filters,
                           const std::vector<std::vector<uint8_t>>& records,
                           size_t& compared, size_t& matched) {
  for (const std::string& text : filters) {
    Result<FilterProgram> program = FilterProgram::Compile(schema, text);
    ASSERT_TRUE(program.ok()) << text << ": " << program.status().ToString();
    Result<FilterProgram> negated =
        FilterProgram::Compile(schema, "!(" + text + ")");
    ASSERT_TRUE(negated.ok()) << text << ": " << negated.status().ToString();
    for (const auto& record : records) {
      const bool expected = Reference(program->bound(), 0, record.data());
      const bool actual = program->Matches(record.data());
      ASSERT_EQ(actual, expected)
          << "filter: " << text
          << "\nrecord: " << Hex(record.data(), record.size()) << "\n"
          << program->Disassemble();
      ASSERT_EQ(negated->Matches(record.data()), !expected) << text;
      ++compared;
      matched += expected ? 1 : 0;
    }
  }
}

TEST(FilterProgramDifferentialTest, RandomFiltersOnPacketRecords) {
  Rng rng(20240601);
  std::vector<std::vector<uint8_t>> records;
  for (int i = 0; i < 64; ++i) {
    PacketRecord r = RandomPacket(rng);
    records.emplace_back(Bytes(r), Bytes(r) + sizeof(r));
  }
  std::vector<std::string> filters;
  for (int i = 0; i < 3000; ++i) {
    filters.push_back(RandomFilter(rng, 0, PacketCondition));
  }
  size_t compared = 0;
  size_t matched = 0;
  CheckAgainstReference(PacketSchema(), filters, records, compared, matched);
  EXPECT_EQ(compared, 3000u * 64u);
  // Both outcomes are well represented, or the test proves little.
  EXPECT_GT(matched, compared / 10);
  EXPECT_LT(matched, compared * 9 / 10);
}

// Literals and record values for every type of AllTypes().
struct TypedPool {
  std::string_view column;
  std::vector<std::string> literals;
};

const std::vector<TypedPool>& AllTypesPools() {
  static const auto* pools = new std::vector<TypedPool>{
      {"b", {"true", "false", "0", "1"}},
      {"u8", {"0", "1", "127", "128", "255", "tcp"}},
      {"u16", {"0", "1", "443", "32768", "65535"}},
      {"u32", {"0", "7", "2147483648", "4294967295", "1e6"}},
      {"u64", {"0", "1", "9223372036854775808", "18446744073709551615"}},
      {"i8", {"-128", "-1", "0", "1", "127"}},
      {"i16", {"-32768", "-300", "0", "300", "32767"}},
      {"i32", {"-2147483648", "-5", "0", "3", "2147483647"}},
      {"i64", {"-9223372036854775808", "-1", "0", "1", "9223372036854775807"}},
      {"f32", {"0", "-0", "1.5", "-2.5", "0.1", "3.4e38", "-1e-30", "7"}},
      {"f64", {"0", "-0", "1.5", "-2.5", "0.1", "1e308", "-1e-300", "7"}},
      {"v4", {"0.0.0.0", "10.0.0.1", "192.168.1.1", "255.255.255.255"}},
      {"v6", {"::", "::1", "2001:db8::1", "10.0.0.1", "fe80::1"}},
      {"mac", {"00:00:00:00:00:00", "02:42:ac:11:00:02", "ff:ff:ff:ff:ff:ff"}},
      {"name", {"''", "'a'", "'web'", "'web1'", "'zzzzzzzz'", "'\\x00a'"}},
  };
  return *pools;
}

std::string TypedCondition(Rng& rng) {
  const auto& pools = AllTypesPools();
  const TypedPool& pool = pools[rng.Below(pools.size())];
  const std::string column(pool.column);
  auto literal = [&] { return pool.literals[rng.Below(pool.literals.size())]; };
  if ((column == "v4" || column == "v6") && rng.OneIn(3)) {
    constexpr std::string_view kV4Prefixes[] = {
        "10.0.0.0/8", "0.0.0.0/0", "192.168.1.0/31", "10.0.0.1/32"};
    constexpr std::string_view kV6Prefixes[] = {"::/127", "2001:db8::/32",
                                                "fe80::/10", "::ffff:0:0/96"};
    if (column == "v4" || rng.OneIn(2)) {
      return column + " in " + std::string(rng.Pick(kV4Prefixes));
    }
    return column + " in " + std::string(rng.Pick(kV6Prefixes));
  }
  if (rng.OneIn(4)) {
    std::string text = column + " in {";
    uint64_t n = 1 + rng.Below(rng.OneIn(3) ? 24 : 5);
    for (uint64_t i = 0; i < n; ++i) text += (i ? ", " : "") + literal();
    return text + "}";
  }
  return column + " " + RandomOp(rng) + " " + literal();
}

std::vector<uint8_t> RandomRow(Rng& rng) {
  Row row;
  row.Set<uint8_t>("b", static_cast<uint8_t>(rng.Below(2)));
  row.Set<uint8_t>("u8", static_cast<uint8_t>(rng.OneIn(2) ? rng.Next() : 128));
  row.Set<uint16_t>("u16",
                    static_cast<uint16_t>(rng.OneIn(2) ? rng.Next() : 443));
  row.Set<uint32_t>("u32",
                    static_cast<uint32_t>(rng.OneIn(2) ? rng.Next() : 7));
  row.Set<uint64_t>("u64", rng.OneIn(2) ? rng.Next() : ~uint64_t{0});
  row.Set<int8_t>("i8", static_cast<int8_t>(rng.OneIn(2) ? rng.Next() : -128));
  row.Set<int16_t>("i16",
                   static_cast<int16_t>(rng.OneIn(2) ? rng.Next() : -300));
  row.Set<int32_t>("i32", static_cast<int32_t>(rng.OneIn(2) ? rng.Next() : -5));
  row.Set<int64_t>("i64", static_cast<int64_t>(rng.OneIn(3) ? rng.Next() : 0));
  constexpr double kDoubles[] = {0.0,
                                 -0.0,
                                 1.5,
                                 -2.5,
                                 0.1,
                                 7,
                                 1e308,
                                 -1e-300,
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity(),
                                 std::numeric_limits<double>::quiet_NaN(),
                                 -std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::denorm_min()};
  const double d = rng.Pick(kDoubles);
  row.Set<double>("f64", d);
  row.Set<float>("f32", rng.OneIn(4) ? 3.4e38f : static_cast<float>(d));
  constexpr std::string_view kV4[] = {"0.0.0.0",     "10.0.0.1",
                                      "10.0.0.2",    "192.168.1.1",
                                      "192.168.1.0", "255.255.255.255"};
  std::vector<uint8_t> v4(4);
  EXPECT_EQ(inet_pton(AF_INET, std::string(rng.Pick(kV4)).c_str(), v4.data()),
            1);
  row.SetBytes("v4", v4);
  std::vector<uint8_t> v6(16);
  RandomAddress(rng, v6.data());
  row.SetBytes("v6", v6);
  constexpr uint8_t kMacs[][6] = {{0, 0, 0, 0, 0, 0},
                                  {2, 0x42, 0xac, 0x11, 0, 2},
                                  {2, 0x42, 0xac, 0x11, 0, 3},
                                  {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  const auto& mac = rng.Pick(kMacs);
  row.SetBytes("mac", std::vector<uint8_t>(mac, mac + 6));
  constexpr std::string_view kNames[] = {"",     "a",        "web",
                                         "web1", "zzzzzzzz", "aa"};
  row.SetString("name", rng.Pick(kNames));
  if (rng.OneIn(5)) row.bytes()[AllTypes().Find("name")->offset + 1] = 'a';
  return row.bytes();
}

TEST(FilterProgramDifferentialTest, RandomFiltersOnEveryType) {
  Rng rng(77);
  std::vector<std::vector<uint8_t>> records;
  for (int i = 0; i < 64; ++i) records.push_back(RandomRow(rng));
  std::vector<std::string> filters;
  for (int i = 0; i < 3000; ++i) {
    filters.push_back(RandomFilter(rng, 0, TypedCondition));
  }
  size_t compared = 0;
  size_t matched = 0;
  CheckAgainstReference(AllTypes(), filters, records, compared, matched);
  EXPECT_EQ(compared, 3000u * 64u);
  EXPECT_GT(matched, compared / 10);
  EXPECT_LT(matched, compared * 9 / 10);
}

// Every single comparison of every pooled literal with every operator, on
// every record: exhaustive where the random test samples.
TEST(FilterProgramDifferentialTest, EveryLiteralEveryOperator) {
  Rng rng(5);
  std::vector<std::vector<uint8_t>> records;
  for (int i = 0; i < 48; ++i) records.push_back(RandomRow(rng));
  std::vector<std::string> filters;
  for (const TypedPool& pool : AllTypesPools()) {
    for (const std::string& literal : pool.literals) {
      for (const char* op : {"==", "!=", "<", "<=", ">", ">="}) {
        filters.push_back(std::string(pool.column) + " " + op + " " + literal);
      }
    }
  }
  size_t compared = 0;
  size_t matched = 0;
  CheckAgainstReference(AllTypes(), filters, records, compared, matched);
  EXPECT_EQ(compared, filters.size() * records.size());
}

}  // namespace
}  // namespace loupe
