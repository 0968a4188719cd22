#include "multilog/value_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/expression.h"
#include "multilog/packet_schema.h"
#include "multilog/schema.h"

namespace loupe {
namespace {

constexpr ValueStyle kLiteral = ValueStyle::kLiteral;
constexpr ValueStyle kHuman = ValueStyle::kHuman;

// One record of a schema, written column by column.
class Record {
 public:
  explicit Record(std::string_view schema_text)
      : schema_(Schema::Parse(schema_text).value()),
        bytes_(schema_.record_size(), 0) {}

  const Column& column(std::string_view name) const {
    const Column* c = schema_.Find(name);
    EXPECT_NE(c, nullptr) << name;
    return *c;
  }
  template <typename T>
  void Set(std::string_view name, T value) {
    std::memcpy(bytes_.data() + column(name).offset, &value, sizeof(value));
  }
  void SetBytes(std::string_view name, const void* data, size_t n) {
    std::memcpy(bytes_.data() + column(name).offset, data, n);
  }
  std::string Text(std::string_view name, ValueStyle style) const {
    return ValueText(column(name), bytes_.data(), style);
  }
  const Schema& schema() const { return schema_; }
  const uint8_t* bytes() const { return bytes_.data(); }

 private:
  Schema schema_;
  std::vector<uint8_t> bytes_;
};

TEST(ValueTextTest, IntegersAndBoolsAreTheSameInBothStyles) {
  Record r(
      "b:bool, u8v:u8, u16v:u16, u32v:u32, u64v:u64, i8v:i8, i16v:i16, "
      "i32v:i32, i64v:i64");
  r.Set<uint8_t>("b", 1);
  r.Set<uint8_t>("u8v", 255);
  r.Set<uint16_t>("u16v", 65535);
  r.Set<uint32_t>("u32v", 4000000000u);
  r.Set<uint64_t>("u64v", std::numeric_limits<uint64_t>::max());
  r.Set<int8_t>("i8v", -128);
  r.Set<int16_t>("i16v", -2);
  r.Set<int32_t>("i32v", std::numeric_limits<int32_t>::min());
  r.Set<int64_t>("i64v", std::numeric_limits<int64_t>::min());
  for (ValueStyle style : {kLiteral, kHuman}) {
    EXPECT_EQ(r.Text("b", style), "true");
    EXPECT_EQ(r.Text("u8v", style), "255");
    EXPECT_EQ(r.Text("u16v", style), "65535");
    EXPECT_EQ(r.Text("u32v", style), "4000000000");
    EXPECT_EQ(r.Text("u64v", style), "18446744073709551615");
    EXPECT_EQ(r.Text("i8v", style), "-128");
    EXPECT_EQ(r.Text("i16v", style), "-2");
    EXPECT_EQ(r.Text("i32v", style), "-2147483648");
    EXPECT_EQ(r.Text("i64v", style), "-9223372036854775808");
  }
  r.Set<uint8_t>("b", 0);
  EXPECT_EQ(r.Text("b", kLiteral), "false");
  EXPECT_EQ(r.Text("b", kHuman), "false");
}

TEST(ValueTextTest, FloatsRoundTripAsLiteralsAndShowSixDigitsToHumans) {
  Record r("f:f32, d:f64");
  r.Set<float>("f", 1.5f);
  r.Set<double>("d", 0.1 + 0.2);
  EXPECT_EQ(r.Text("f", kLiteral), "1.5");
  EXPECT_EQ(r.Text("d", kLiteral), "0.30000000000000004");
  EXPECT_EQ(r.Text("f", kHuman), "1.5");
  EXPECT_EQ(r.Text("d", kHuman), "0.3");
  r.Set<double>("d", 1e300);
  EXPECT_EQ(r.Text("d", kLiteral), "1e+300");
  EXPECT_EQ(r.Text("d", kHuman), "1e+300");
}

TEST(ValueTextTest, NonFiniteFloats) {
  Record r("f:f32, d:f64");
  r.Set<float>("f", -std::numeric_limits<float>::infinity());
  r.Set<double>("d", std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.Text("f", kLiteral), "-inf");
  EXPECT_EQ(r.Text("d", kLiteral), "inf");
  EXPECT_EQ(r.Text("f", kHuman), "-inf");
  EXPECT_EQ(r.Text("d", kHuman), "inf");
  r.Set<double>("d", std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(r.Text("d", kLiteral), "nan");
  EXPECT_EQ(r.Text("d", kHuman), "nan");
}

TEST(ValueTextTest, Addresses) {
  Record r("v4:ipv4, v6:ipv6, mac:mac");
  const uint8_t v4[4] = {10, 1, 2, 3};
  r.SetBytes("v4", v4, 4);
  const uint8_t mapped[16] = {0, 0, 0,    0,    0,   0, 0, 0,
                              0, 0, 0xff, 0xff, 192, 0, 2, 1};
  r.SetBytes("v6", mapped, 16);
  const uint8_t mac[6] = {0xaa, 0xbb, 0xcc, 0x00, 0x01, 0xff};
  r.SetBytes("mac", mac, 6);
  for (ValueStyle style : {kLiteral, kHuman}) {
    EXPECT_EQ(r.Text("v4", style), "10.1.2.3");
    EXPECT_EQ(r.Text("v6", style), "192.0.2.1");  // IPv4-mapped
    EXPECT_EQ(r.Text("mac", style), "aa:bb:cc:00:01:ff");
  }
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                          0,    0,    0,    0,    0, 0, 0, 1};
  r.SetBytes("v6", v6, 16);
  EXPECT_EQ(r.Text("v6", kLiteral), "2001:db8::1");
  const uint8_t zero[16] = {};
  r.SetBytes("v6", zero, 16);
  EXPECT_EQ(r.Text("v6", kHuman), "::");
  // Only ::ffff:0:0/96 is shown as plain a.b.c.d; an IPv4-compatible address
  // keeps its "::" (inet_ntop's form, which the expression language reads).
  const uint8_t compatible[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 1, 2, 3, 4};
  r.SetBytes("v6", compatible, 16);
  EXPECT_EQ(r.Text("v6", kHuman), "::1.2.3.4");
  EXPECT_EQ(AddressText(v4, 4), "10.1.2.3");
  EXPECT_EQ(MacText(mac), "aa:bb:cc:00:01:ff");
}

TEST(ValueTextTest, StringsDropTheirPaddingAndEscapeUnprintableBytes) {
  Record r("s:string(16)");
  const char text[] = "it's a\\b\n\t\x01\x7f\xc3\xa9";
  r.SetBytes("s", text, sizeof(text) - 1);
  EXPECT_EQ(r.Text("s", kLiteral), "'it\\'s a\\\\b\\n\\t\\x01\\x7f\\xc3\\xa9'");
  EXPECT_EQ(r.Text("s", kHuman), "it's a\\\\b\\x0a\\x09\\x01\\x7f\xc3\xa9");
  EXPECT_EQ(StringBytes(r.column("s"), r.bytes()), std::string_view(text));
}

TEST(ValueTextTest, EmptyAndFullStrings) {
  Record r("s:string(4)");
  EXPECT_EQ(r.Text("s", kLiteral), "''");
  EXPECT_EQ(r.Text("s", kHuman), "");
  r.SetBytes("s", "abcd", 4);  // no padding left
  EXPECT_EQ(r.Text("s", kLiteral), "'abcd'");
  EXPECT_EQ(r.Text("s", kHuman), "abcd");
  // A zero inside the string is kept; only the trailing ones are padding.
  r.SetBytes("s", "a\0b\0", 4);
  EXPECT_EQ(r.Text("s", kLiteral), "'a\\0b'");
  EXPECT_EQ(r.Text("s", kHuman), "a\\x00b");
}

// A literal-style value reads back through the expression language as the
// same bytes: `column == <text>` matches the record it came from.
TEST(ValueTextTest, LiteralsParseBackToTheSameBytes) {
  Record r("b:bool, i:i16, d:f64, v6:ipv6, mac:mac, s:string(12)");
  r.Set<uint8_t>("b", 1);
  r.Set<int16_t>("i", -300);
  r.Set<double>("d", 0.1 + 0.2);
  const uint8_t v6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                          0,    0,    0, 0, 0, 0, 0, 0x42};
  r.SetBytes("v6", v6, 16);
  const uint8_t mac[6] = {2, 0, 0, 0xab, 0xcd, 0xef};
  r.SetBytes("mac", mac, 6);
  r.SetBytes("s", "a'\\\n\x80z", 6);
  for (std::string_view name : {"b", "i", "d", "v6", "mac", "s"}) {
    const Column& column = r.column(name);
    const std::string text =
        std::string(name) + " == " + r.Text(name, kLiteral);
    Result<BoundFilter> filter = ParseFilter(r.schema(), text);
    ASSERT_TRUE(filter.ok()) << text << ": " << filter.status().ToString();
    ASSERT_EQ(filter->nodes.size(), 1u);
    const std::vector<uint8_t> expected(
        r.bytes() + column.offset, r.bytes() + column.offset + column.width);
    EXPECT_EQ(filter->nodes[0].value, expected) << text;
  }
}

TEST(ValueTextTest, PacketColumnsByMeaningForHumansOnly) {
  const Schema& schema = PacketSchema();
  std::vector<uint8_t> record(schema.record_size(), 0);
  const Column& proto = *schema.Find("proto");
  const Column& flags = *schema.Find("tcp_flags");
  const Column& ether = *schema.Find("ether_type");
  record[proto.offset] = 6;
  record[flags.offset] = 0x12;  // SYN+ACK
  const uint16_t ipv6 = 0x86DD;
  std::memcpy(record.data() + ether.offset, &ipv6, 2);
  EXPECT_EQ(ValueText(proto, record.data(), kHuman), "tcp");
  EXPECT_EQ(ValueText(flags, record.data(), kHuman), "S.");
  EXPECT_EQ(ValueText(ether, record.data(), kHuman), "ipv6");
  EXPECT_EQ(ValueText(proto, record.data(), kLiteral), "6");
  EXPECT_EQ(ValueText(flags, record.data(), kLiteral), "18");
  EXPECT_EQ(ValueText(ether, record.data(), kLiteral), "34525");
  record[proto.offset] = 253;  // experimental: no name
  record[flags.offset] = 0;
  const uint16_t unknown = 0x88b5;
  std::memcpy(record.data() + ether.offset, &unknown, 2);
  EXPECT_EQ(ValueText(proto, record.data(), kHuman), "253");
  EXPECT_EQ(ValueText(flags, record.data(), kHuman), "-");
  EXPECT_EQ(ValueText(ether, record.data(), kHuman), "0x88b5");
}

TEST(ValueTextTest, OnlyColumnsNamedAndTypedLikeThePacketSchemasAreNamed) {
  Record r("proto:u16, tcp_flags:u8");
  r.Set<uint16_t>("proto", 6);
  r.Set<uint8_t>("tcp_flags", 0xff);
  EXPECT_EQ(r.Text("proto", kHuman), "6");  // u16, not the packet's u8
  EXPECT_EQ(r.Text("tcp_flags", kHuman), "FSRP.UEW");
}

TEST(ValueTextTest, Pieces) {
  EXPECT_EQ(ProtocolText(17), "udp");
  EXPECT_EQ(ProtocolText(0), "0");
  EXPECT_EQ(TcpFlagsText(0x11), "F.");
  EXPECT_EQ(TcpFlagsText(0x04), "R");
  EXPECT_EQ(EtherTypeName(0x0800), "ipv4");
  EXPECT_EQ(EtherTypeName(0x0806), "arp");
  EXPECT_EQ(EtherTypeName(0x8100), "vlan");
  EXPECT_EQ(EtherTypeName(0x88A8), "qinq");
  EXPECT_EQ(EtherTypeName(0x88CC), "lldp");
  EXPECT_EQ(EtherTypeName(0), "0x0000");
  EXPECT_EQ(StringLiteral(""), "''");
  EXPECT_EQ(StringLiteral(std::string_view("\0", 1)), "'\\0'");
  EXPECT_EQ(PrintableText("caf\xc3\xa9 \\"), "caf\xc3\xa9 \\\\");
}

}  // namespace
TEST(ValueTextTest, PacketNamesAsLoupectlShowsThem) {
  EXPECT_EQ(ProtocolText(6), "tcp");
  EXPECT_EQ(ProtocolText(17), "udp");
  EXPECT_EQ(ProtocolText(58), "icmpv6");
  EXPECT_EQ(ProtocolText(253), "253");
  EXPECT_EQ(TcpFlagsText(0x02), "S");
  EXPECT_EQ(TcpFlagsText(0x12), "S.");
  EXPECT_EQ(TcpFlagsText(0x18), "P.");
  EXPECT_EQ(TcpFlagsText(0x11), "F.");
  EXPECT_EQ(TcpFlagsText(0), "-");
  EXPECT_EQ(TcpFlagsText(0xff), "FSRP.UEW");
  EXPECT_EQ(EtherTypeName(0x0800), "ipv4");
  EXPECT_EQ(EtherTypeName(0x86dd), "ipv6");
  EXPECT_EQ(EtherTypeName(0x88b5), "0x88b5");
}

TEST(ValueTextTest, AddressesAsLoupectlShowsThem) {
  const uint8_t v4[4] = {10, 1, 2, 3};
  EXPECT_EQ(AddressText(v4, 4), "10.1.2.3");
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_EQ(AddressText(mapped, 16), "192.0.2.1");
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                          0,    0,    0,    0,    0, 0, 0, 1};
  EXPECT_EQ(AddressText(v6, 16), "2001:db8::1");
  const uint8_t zero[16] = {};
  EXPECT_EQ(AddressText(zero, 16), "::");
  const uint8_t mac[6] = {0xaa, 0xbb, 0xcc, 0x00, 0x01, 0xff};
  EXPECT_EQ(MacText(mac), "aa:bb:cc:00:01:ff");
}

}  // namespace loupe
