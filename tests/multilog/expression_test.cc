#include "multilog/expression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/packet_schema.h"
#include "multilog/schema.h"
#include "tests/support/all_types_schema.h"

namespace loupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Kind = FilterNode::Kind;

const Schema& AllTypes() { return test_support::AllTypesSchema(); }

template <typename T>
std::string ErrorOf(const Result<T>& result) {
  EXPECT_FALSE(result.ok());
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), Status::Code::kInvalidArgument)
      << result.status().ToString();
  return result.status().message();
}

std::string FilterError(std::string_view text,
                        const Schema& schema = PacketSchema()) {
  return ErrorOf(ParseFilter(schema, text));
}

BoundFilter Parse(std::string_view text,
                  const Schema& schema = PacketSchema()) {
  Result<BoundFilter> result = ParseFilter(schema, text);
  EXPECT_TRUE(result.ok()) << text << ": " << result.status().ToString();
  if (!result.ok()) return {};
  return std::move(result).value();
}

template <typename T>
std::vector<uint8_t> Bytes(T value) {
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

std::vector<uint8_t> Mapped(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

// The single comparison that `text` parses to.
FilterNode Single(std::string_view text,
                  const Schema& schema = PacketSchema()) {
  BoundFilter bound = Parse(text, schema);
  EXPECT_EQ(bound.nodes.size(), 1u) << text;
  if (bound.nodes.empty()) return {};
  return bound.nodes[0];
}

// --- Grammar ----------------------------------------------------------------

TEST(ParseFilterTest, EveryComparisonOperator) {
  struct Case {
    std::string_view text;
    CompareOp op;
  };
  const Case cases[] = {
      {"dst_port == 443", CompareOp::kEq}, {"dst_port != 443", CompareOp::kNe},
      {"dst_port < 443", CompareOp::kLt},  {"dst_port <= 443", CompareOp::kLe},
      {"dst_port > 443", CompareOp::kGt},  {"dst_port >= 443", CompareOp::kGe},
  };
  for (const Case& c : cases) {
    FilterNode node = Single(c.text);
    EXPECT_EQ(node.kind, Kind::kCompare) << c.text;
    EXPECT_EQ(node.op, c.op) << c.text;
    ASSERT_NE(node.column, nullptr);
    EXPECT_EQ(node.column->name, "dst_port");
    EXPECT_EQ(node.value, Bytes<uint16_t>(443)) << c.text;
  }
}

TEST(ParseFilterTest, CompareOpNames) {
  EXPECT_EQ(CompareOpName(CompareOp::kEq), "==");
  EXPECT_EQ(CompareOpName(CompareOp::kNe), "!=");
  EXPECT_EQ(CompareOpName(CompareOp::kLt), "<");
  EXPECT_EQ(CompareOpName(CompareOp::kLe), "<=");
  EXPECT_EQ(CompareOpName(CompareOp::kGt), ">");
  EXPECT_EQ(CompareOpName(CompareOp::kGe), ">=");
}

TEST(ParseFilterTest, KeepsTheText) {
  EXPECT_EQ(Parse("proto == tcp").text, "proto == tcp");
}

TEST(ParseFilterTest, NoSpacesNeeded) {
  BoundFilter bound = Parse("dst_port==443&&proto==tcp||!(ttl<=-0)");
  ASSERT_EQ(bound.nodes.size(), 6u);
  EXPECT_EQ(bound.nodes[0].kind, Kind::kOr);
}

TEST(ParseFilterTest, NumberLiterals) {
  const Schema& s = AllTypes();
  EXPECT_EQ(Single("u32 == 1000000", s).value, Bytes<uint32_t>(1000000));
  EXPECT_EQ(Single("u32 == 1e6", s).value, Bytes<uint32_t>(1000000));
  EXPECT_EQ(Single("u32 == 1E+6", s).value, Bytes<uint32_t>(1000000));
  EXPECT_EQ(Single("u16 == 0x1bb", s).value, Bytes<uint16_t>(443));
  EXPECT_EQ(Single("u16 == 0X1BB", s).value, Bytes<uint16_t>(443));
  EXPECT_EQ(Single("i32 == -5", s).value, Bytes<int32_t>(-5));
  EXPECT_EQ(Single("i32 == -0x10", s).value, Bytes<int32_t>(-16));
  EXPECT_EQ(Single("i32 == -2e3", s).value, Bytes<int32_t>(-2000));
  EXPECT_EQ(Single("f64 == 1.5", s).value, Bytes<double>(1.5));
  EXPECT_EQ(Single("f64 == .5", s).value, Bytes<double>(0.5));
  EXPECT_EQ(Single("f64 == -1.5e-3", s).value, Bytes<double>(-1.5e-3));
  EXPECT_EQ(Single("f64 == 7", s).value, Bytes<double>(7));
  EXPECT_EQ(Single("f32 == 0.1", s).value, Bytes<float>(0.1f));
  EXPECT_EQ(Single("u8 == 255", s).value, Bytes<uint8_t>(255));
  EXPECT_EQ(Single("u8 == -0", s).value, Bytes<uint8_t>(0));
  EXPECT_EQ(Single("u64 == 18446744073709551615", s).value,
            Bytes<uint64_t>(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(Single("u64 == 0xffffffffffffffff", s).value,
            Bytes<uint64_t>(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(Single("i64 == -9223372036854775808", s).value,
            Bytes<int64_t>(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(Single("i64 == 9223372036854775807", s).value,
            Bytes<int64_t>(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(Single("i8 == -128", s).value, Bytes<int8_t>(-128));
  EXPECT_EQ(Single("i8 == 127", s).value, Bytes<int8_t>(127));
  // Integers too large for 64 bits are still fine as doubles.
  EXPECT_EQ(Single("f64 == 100000000000000000000", s).value,
            Bytes<double>(1e20));
  EXPECT_EQ(Single("timestamp >= 1700000000000000000").value,
            Bytes<uint64_t>(1700000000000000000ull));
}

TEST(ParseFilterTest, BoolLiterals) {
  const Schema& s = AllTypes();
  EXPECT_EQ(Single("b == true", s).value, Bytes<uint8_t>(1));
  EXPECT_EQ(Single("b == false", s).value, Bytes<uint8_t>(0));
  EXPECT_EQ(Single("b == TRUE", s).value, Bytes<uint8_t>(1));
  EXPECT_EQ(Single("b == 1", s).value, Bytes<uint8_t>(1));
  EXPECT_EQ(Single("b != 0", s).value, Bytes<uint8_t>(0));
}

TEST(ParseFilterTest, ProtocolNames) {
  struct Case {
    std::string_view name;
    uint8_t number;
  };
  const Case cases[] = {
      {"tcp", 6},  {"udp", 17}, {"icmp", 1},  {"icmpv6", 58},
      {"gre", 47}, {"esp", 50}, {"ah", 51},   {"sctp", 132},
      {"TCP", 6},  {"igmp", 2}, {"ospf", 89}, {"udplite", 136},
  };
  for (const Case& c : cases) {
    std::string text = "proto == " + std::string(c.name);
    EXPECT_EQ(Single(text).value, Bytes<uint8_t>(c.number)) << text;
  }
  // A protocol name is a number, valid on any numeric column.
  EXPECT_EQ(Single("dst_port == tcp").value, Bytes<uint16_t>(6));
  EXPECT_EQ(Single("f64 == udp", AllTypes()).value, Bytes<double>(17));
}

TEST(ParseFilterTest, Ipv4Literals) {
  EXPECT_EQ(Single("v4 == 10.1.2.3", AllTypes()).value,
            (std::vector<uint8_t>{10, 1, 2, 3}));
  EXPECT_EQ(Single("v4 == 0.0.0.0", AllTypes()).value,
            (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(Single("v4 == 255.255.255.255", AllTypes()).value,
            (std::vector<uint8_t>{255, 255, 255, 255}));
  // On an ipv6 column, IPv4 is v4-mapped.
  EXPECT_EQ(Single("src_ip == 192.168.1.20").value, Mapped(192, 168, 1, 20));
}

TEST(ParseFilterTest, Ipv6Literals) {
  auto v6 = [](std::string_view text) {
    return Single("dst_ip == " + std::string(text)).value;
  };
  std::vector<uint8_t> loopback(16, 0);
  loopback[15] = 1;
  EXPECT_EQ(v6("::1"), loopback);
  EXPECT_EQ(v6("0:0:0:0:0:0:0:1"), loopback);
  EXPECT_EQ(v6("::"), std::vector<uint8_t>(16, 0));
  std::vector<uint8_t> link_local(16, 0);
  link_local[0] = 0xfe;
  link_local[1] = 0x80;
  link_local[15] = 1;
  EXPECT_EQ(v6("fe80::1"), link_local);
  EXPECT_EQ(v6("FE80::0001"), link_local);
  EXPECT_EQ(v6("::ffff:1.2.3.4"), Mapped(1, 2, 3, 4));
  EXPECT_EQ(v6("::ffff:102:304"), Mapped(1, 2, 3, 4));
  EXPECT_EQ(v6("2001:db8:0:1:2:3:4:5"),
            (std::vector<uint8_t>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 2, 0,
                                  3, 0, 4, 0, 5}));
  std::vector<uint8_t> trailing(16, 0);
  trailing[0] = 0x20;
  trailing[1] = 0x01;
  EXPECT_EQ(v6("2001::"), trailing);
  EXPECT_EQ(
      v6("1:2:3:4:5:6:7::"),
      (std::vector<uint8_t>{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0}));
  EXPECT_EQ(
      v6("1:2:3:4:5:6:1.2.3.4"),
      (std::vector<uint8_t>{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4}));
}

TEST(ParseFilterTest, MacLiterals) {
  EXPECT_EQ(Single("mac == aa:bb:cc:dd:ee:ff", AllTypes()).value,
            (std::vector<uint8_t>{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}));
  EXPECT_EQ(Single("mac == 00:1B:21:0a:00:01", AllTypes()).value,
            (std::vector<uint8_t>{0x00, 0x1b, 0x21, 0x0a, 0x00, 0x01}));
  // Ordering on MACs is allowed (bytewise).
  EXPECT_EQ(Single("mac >= 02:00:00:00:00:00", AllTypes()).op, CompareOp::kGe);
}

TEST(ParseFilterTest, StringLiterals) {
  const Schema& s = AllTypes();
  auto padded = [](std::string_view text) {
    std::vector<uint8_t> out(8, 0);
    std::memcpy(out.data(), text.data(), text.size());
    return out;
  };
  EXPECT_EQ(Single("name == 'web'", s).value, padded("web"));
  EXPECT_EQ(Single("name == \"web\"", s).value, padded("web"));
  EXPECT_EQ(Single("name == ''", s).value, padded(""));
  EXPECT_EQ(Single("name == 'exactly8'", s).value, padded("exactly8"));
  EXPECT_EQ(Single(R"(name == 'it\'s')", s).value, padded("it's"));
  EXPECT_EQ(Single(R"(name == "a\"b\\")", s).value, padded("a\"b\\"));
  EXPECT_EQ(Single(R"(name == 'a\tb\n')", s).value, padded("a\tb\n"));
  EXPECT_EQ(Single(R"(name == '\x41\x7a')", s).value, padded("Az"));
  EXPECT_EQ(Single("name == 'a || b'", s).value, padded("a || b"));
  EXPECT_EQ(Single("name < 'm'", s).op, CompareOp::kLt);
}

TEST(ParseFilterTest, Prefixes) {
  FilterNode v4 = Single("v4 in 10.0.0.0/8", AllTypes());
  EXPECT_EQ(v4.kind, Kind::kInPrefix);
  EXPECT_EQ(v4.value, (std::vector<uint8_t>{10, 0, 0, 0}));
  EXPECT_EQ(v4.prefix_bits, 8u);

  // IPv4 on an ipv6 column: v4-mapped, 96 more bits.
  FilterNode mapped = Single("src_ip in 10.0.0.0/8");
  EXPECT_EQ(mapped.kind, Kind::kInPrefix);
  EXPECT_EQ(mapped.value, Mapped(10, 0, 0, 0));
  EXPECT_EQ(mapped.prefix_bits, 104u);

  FilterNode v6 = Single("dst_ip in 2001:db8::/32");
  std::vector<uint8_t> db8(16, 0);
  db8[0] = 0x20;
  db8[1] = 0x01;
  db8[2] = 0x0d;
  db8[3] = 0xb8;
  EXPECT_EQ(v6.value, db8);
  EXPECT_EQ(v6.prefix_bits, 32u);

  // Host bits are cleared.
  EXPECT_EQ(Single("v4 in 10.1.2.3/8", AllTypes()).value,
            (std::vector<uint8_t>{10, 0, 0, 0}));
  EXPECT_EQ(Single("v4 in 10.1.255.3/20", AllTypes()).value,
            (std::vector<uint8_t>{10, 1, 240, 0}));
  EXPECT_EQ(Single("dst_ip in 2001:db8:ffff::/36").value[4], 0xf0);

  EXPECT_EQ(Single("v4 in 0.0.0.0/0", AllTypes()).prefix_bits, 0u);
  EXPECT_EQ(Single("v4 in 1.2.3.4/32", AllTypes()).prefix_bits, 32u);
  EXPECT_EQ(Single("src_ip in ::1/128").prefix_bits, 128u);
  EXPECT_EQ(Single("src_ip in 1.2.3.4/32").prefix_bits, 128u);
  EXPECT_EQ(Single("src_ip in ::/0").prefix_bits, 0u);
}

TEST(ParseFilterTest, Sets) {
  FilterNode ports = Single("dst_port in {443, 80, 0x50, 8080}");
  EXPECT_EQ(ports.kind, Kind::kInSet);
  EXPECT_THAT(ports.set,
              ElementsAre(Bytes<uint16_t>(443), Bytes<uint16_t>(80),
                          Bytes<uint16_t>(80), Bytes<uint16_t>(8080)));
  FilterNode one = Single("proto in {tcp}");
  EXPECT_THAT(one.set, ElementsAre(Bytes<uint8_t>(6)));
  FilterNode addresses = Single("src_ip in {10.0.0.1, ::1}");
  ASSERT_EQ(addresses.set.size(), 2u);
  EXPECT_EQ(addresses.set[0], Mapped(10, 0, 0, 1));
  FilterNode names = Single("name in {'a', \"b\"}", AllTypes());
  ASSERT_EQ(names.set.size(), 2u);
  EXPECT_EQ(names.set[1].size(), 8u);
}

TEST(ParseFilterTest, TimestampIsAField) {
  FilterNode node = Single("timestamp > 5");
  ASSERT_NE(node.column, nullptr);
  EXPECT_EQ(node.column->name, "timestamp");
  EXPECT_EQ(node.column->offset, 0u);
}

TEST(ParseFilterTest, OrderingOnAddressesIsAllowed) {
  EXPECT_EQ(Single("src_ip < 10.0.0.0").op, CompareOp::kLt);
  EXPECT_EQ(Single("v4 >= 10.0.0.0", AllTypes()).op, CompareOp::kGe);
}

TEST(ParseFilterTest, AndBindsTighterThanOr) {
  // a || b && c  ==  a || (b && c)
  BoundFilter bound = Parse("proto == 1 || proto == 2 && ttl == 3");
  ASSERT_EQ(bound.nodes.size(), 5u);
  const FilterNode& root = bound.nodes[0];
  EXPECT_EQ(root.kind, Kind::kOr);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(bound.nodes[root.children[0]].kind, Kind::kCompare);
  const FilterNode& conjunction = bound.nodes[root.children[1]];
  EXPECT_EQ(conjunction.kind, Kind::kAnd);
  ASSERT_EQ(conjunction.children.size(), 2u);
  EXPECT_EQ(bound.nodes[conjunction.children[1]].column->name, "ttl");

  // a && b || c  ==  (a && b) || c
  BoundFilter other = Parse("proto == 1 && proto == 2 || ttl == 3");
  EXPECT_EQ(other.nodes[0].kind, Kind::kOr);
  EXPECT_EQ(other.nodes[other.nodes[0].children[0]].kind, Kind::kAnd);
}

TEST(ParseFilterTest, NotBindsTighterThanAnd) {
  BoundFilter bound = Parse("!proto == 1 && ttl == 3");
  const FilterNode& root = bound.nodes[0];
  EXPECT_EQ(root.kind, Kind::kAnd);
  ASSERT_EQ(root.children.size(), 2u);
  const FilterNode& negation = bound.nodes[root.children[0]];
  EXPECT_EQ(negation.kind, Kind::kNot);
  ASSERT_EQ(negation.children.size(), 1u);
  EXPECT_EQ(bound.nodes[negation.children[0]].column->name, "proto");
  EXPECT_EQ(bound.nodes[root.children[1]].column->name, "ttl");
}

TEST(ParseFilterTest, ParenthesesOverridePrecedence) {
  BoundFilter bound = Parse("(proto == 1 || proto == 2) && ttl == 3");
  const FilterNode& root = bound.nodes[0];
  EXPECT_EQ(root.kind, Kind::kAnd);
  EXPECT_EQ(bound.nodes[root.children[0]].kind, Kind::kOr);

  BoundFilter negated = Parse("!(proto == 1 || ttl == 2)");
  EXPECT_EQ(negated.nodes[0].kind, Kind::kNot);
  EXPECT_EQ(negated.nodes[negated.nodes[0].children[0]].kind, Kind::kOr);

  BoundFilter doubled = Parse("!!(proto == 1)");
  EXPECT_EQ(doubled.nodes[0].kind, Kind::kNot);
  EXPECT_EQ(doubled.nodes[1].kind, Kind::kNot);
  EXPECT_EQ(doubled.nodes[2].kind, Kind::kCompare);
}

TEST(ParseFilterTest, ChainsAreFlattened) {
  BoundFilter flat = Parse("ttl == 1 || ttl == 2 || ttl == 3");
  EXPECT_EQ(flat.nodes[0].kind, Kind::kOr);
  EXPECT_EQ(flat.nodes[0].children.size(), 3u);
  BoundFilter grouped = Parse("(ttl == 1 || ttl == 2) || (ttl == 3)");
  EXPECT_EQ(grouped.nodes[0].children.size(), 3u);
  EXPECT_EQ(grouped.nodes.size(), 4u);
  BoundFilter conjunction = Parse("ttl == 1 && (ttl == 2 && ttl == 3)");
  EXPECT_EQ(conjunction.nodes[0].kind, Kind::kAnd);
  EXPECT_EQ(conjunction.nodes[0].children.size(), 3u);
  // Different kinds are not merged.
  BoundFilter mixed = Parse("ttl == 1 && (ttl == 2 || ttl == 3)");
  EXPECT_EQ(mixed.nodes[0].children.size(), 2u);
}

TEST(ParseFilterTest, NodesArePreorder) {
  BoundFilter bound = Parse(
      "(ttl == 1 || !(tos == 2 && vlan == 3)) && src_ip in ::/0 && "
      "dst_port in {1, 2}");
  for (uint32_t i = 0; i < bound.nodes.size(); ++i) {
    for (uint32_t child : bound.nodes[i].children) {
      EXPECT_GT(child, i);
      EXPECT_LT(child, bound.nodes.size());
    }
  }
  EXPECT_EQ(bound.nodes.size(), 9u);
}

TEST(ParseFilterTest, TrueAndFalseStandAlone) {
  BoundFilter all = Parse("true");
  ASSERT_EQ(all.nodes.size(), 1u);
  EXPECT_EQ(all.nodes[0].kind, Kind::kTrue);
  BoundFilter none = Parse("false");
  ASSERT_EQ(none.nodes.size(), 2u);
  EXPECT_EQ(none.nodes[0].kind, Kind::kNot);
  EXPECT_EQ(none.nodes[1].kind, Kind::kTrue);
  EXPECT_EQ(Parse("true && proto == 6").nodes[0].kind, Kind::kAnd);
}

TEST(ParseFilterTest, WhitespaceAndNewlines) {
  BoundFilter bound = Parse("\tproto == tcp\n  && dst_port == 443\r\n");
  EXPECT_EQ(bound.nodes[0].kind, Kind::kAnd);
}

TEST(ParseFilterTest, MaximumNestingIsAccepted) {
  std::string text(kMaxExpressionDepth, '(');
  text += "proto == 6";
  text += std::string(kMaxExpressionDepth, ')');
  EXPECT_EQ(Parse(text).nodes.size(), 1u);
  std::string negations(kMaxExpressionDepth, '!');
  negations += "proto == 6";
  EXPECT_EQ(Parse(negations).nodes.size(), kMaxExpressionDepth + 1u);
}

TEST(ParseFilterTest, LongFlatInputIsFine) {
  std::string text = "ttl == 1";
  while (text.size() < kMaxExpressionBytes - 20) text += " || ttl == 1";
  BoundFilter bound = Parse(text);
  EXPECT_EQ(bound.nodes[0].kind, Kind::kOr);
  EXPECT_GT(bound.nodes[0].children.size(), 5000u);
}

// --- Errors -----------------------------------------------------------------

TEST(FilterErrorTest, UnknownFieldWithSuggestion) {
  EXPECT_EQ(FilterError("dst_prot == 443"),
            "filter 1:1: unknown field 'dst_prot'; did you mean 'dst_port'?");
  EXPECT_EQ(FilterError("proto == 6 && scr_ip in 10.0.0.0/8"),
            "filter 1:15: unknown field 'scr_ip'; did you mean 'src_ip'?");
  EXPECT_EQ(FilterError("ttl == 1 ||\n  dst_prot == 1"),
            "filter 2:3: unknown field 'dst_prot'; did you mean 'dst_port'?");
}

TEST(FilterErrorTest, UnknownFieldWithoutSuggestion) {
  EXPECT_THAT(FilterError("zzzzzzzz == 1"),
              StartsWith("filter 1:1: unknown field 'zzzzzzzz'; expected one "
                         "of timestamp, src_ip, dst_ip"));
  // Field names are case-sensitive.
  EXPECT_THAT(FilterError("PROTO == 6"),
              StartsWith("filter 1:1: unknown field 'PROTO'"));
}

TEST(FilterErrorTest, MissingLiteral) {
  EXPECT_EQ(FilterError("proto == "),
            "filter 1:10: expected a literal after '==', found end of input");
  EXPECT_EQ(FilterError("proto=="),
            "filter 1:8: expected a literal after '==', found end of input");
  EXPECT_EQ(FilterError("(proto >= )"),
            "filter 1:11: unexpected ')'; expected a literal after '>='");
  EXPECT_EQ(FilterError("dst_port in"),
            "filter 1:12: expected a literal after 'in', found end of input");
}

TEST(FilterErrorTest, MissingOperator) {
  EXPECT_EQ(FilterError("dst_port 443"),
            "filter 1:10: unexpected '443'; expected a comparison (==, !=, <, "
            "<=, >, >=) or 'in' after 'dst_port'");
  EXPECT_EQ(FilterError("dst_port"),
            "filter 1:9: expected a comparison (==, !=, <, <=, >, >=) or 'in' "
            "after 'dst_port', found end of input");
}

TEST(FilterErrorTest, SingleCharacterOperators) {
  EXPECT_EQ(FilterError("dst_port = 443"),
            "filter 1:10: unexpected '='; did you mean '=='?");
  EXPECT_EQ(FilterError("ttl == 1 & ttl == 2"),
            "filter 1:10: unexpected '&'; did you mean '&&'?");
  EXPECT_EQ(FilterError("ttl == 1 | ttl == 2"),
            "filter 1:10: unexpected '|'; did you mean '||'?");
}

TEST(FilterErrorTest, UnexpectedCharacters) {
  EXPECT_EQ(FilterError("ttl == 1 # comment"),
            "filter 1:10: unexpected character '#'; expected '&&', '||' or "
            "end of input");
  EXPECT_EQ(FilterError("ttl == 1 \xff"),
            "filter 1:10: unexpected character '\\xff'; expected '&&', '||' "
            "or end of input");
  EXPECT_EQ(FilterError(std::string_view("ttl == \0", 8)),
            "filter 1:8: unexpected character '\\x00'; expected a literal "
            "after '=='");
}

TEST(FilterErrorTest, UnexpectedClosingParenthesis) {
  EXPECT_EQ(FilterError("ttl == 1)"),
            "filter 1:9: unexpected ')'; expected '&&', '||' or end of input");
  EXPECT_EQ(FilterError(")"),
            "filter 1:1: unexpected ')'; expected a condition such as "
            "'dst_port == 443', '(' or '!'");
  EXPECT_EQ(FilterError("()"),
            "filter 1:2: unexpected ')'; expected a condition such as "
            "'dst_port == 443', '(' or '!'");
}

TEST(FilterErrorTest, UnbalancedParentheses) {
  EXPECT_EQ(FilterError("(ttl == 1"),
            "filter 1:10: expected ')' to close the '(' at 1:1, found end of "
            "input");
  EXPECT_EQ(FilterError("((ttl == 1) || (ttl == 2)"),
            "filter 1:26: expected ')' to close the '(' at 1:1, found end of "
            "input");
  EXPECT_EQ(FilterError("(ttl == 1 ttl"),
            "filter 1:11: unexpected 'ttl'; expected ')' to close the '(' at "
            "1:1");
}

TEST(FilterErrorTest, TrailingGarbage) {
  EXPECT_EQ(FilterError("ttl == 1 foo"),
            "filter 1:10: unexpected 'foo'; expected '&&', '||' or end of "
            "input");
  EXPECT_EQ(FilterError("ttl == 1 2"),
            "filter 1:10: unexpected '2'; expected '&&', '||' or end of input");
  EXPECT_EQ(FilterError("ttl == 1 &&"),
            "filter 1:12: expected a condition such as 'dst_port == 443', '(' "
            "or '!', found end of input");
  EXPECT_EQ(FilterError("ttl == 1 || || ttl == 2"),
            "filter 1:13: unexpected '||'; expected a condition such as "
            "'dst_port == 443', '(' or '!'");
}

TEST(FilterErrorTest, EmptyInput) {
  const std::string expected =
      "filter 1:1: empty filter; expected a condition such as "
      "'dst_port == 443'";
  EXPECT_EQ(FilterError(""), expected);
  EXPECT_THAT(FilterError("   "), HasSubstr("empty filter"));
  EXPECT_THAT(FilterError("\n\n"), StartsWith("filter 3:1: empty filter"));
}

TEST(FilterErrorTest, TooDeepNesting) {
  std::string parens(kMaxExpressionDepth + 1, '(');
  parens += "ttl == 1";
  parens += std::string(kMaxExpressionDepth + 1, ')');
  EXPECT_EQ(FilterError(parens),
            "filter 1:65: nesting deeper than 64 levels of '(' and '!'; "
            "expected a flatter expression");
  std::string mixed;
  for (int i = 0; i < 40; ++i) mixed += "!(";
  EXPECT_THAT(FilterError(mixed + "ttl == 1"),
              StartsWith("filter 1:65: nesting deeper than 64 levels"));
  // Far too deep: an error, not a stack overflow.
  EXPECT_THAT(FilterError(std::string(kMaxExpressionBytes, '(')),
              HasSubstr("nesting deeper"));
  EXPECT_THAT(FilterError(std::string(kMaxExpressionBytes, '!')),
              HasSubstr("nesting deeper"));
}

TEST(FilterErrorTest, OverlongInput) {
  std::string text = "ttl == 1";
  while (text.size() <= kMaxExpressionBytes) text += " || ttl == 1";
  EXPECT_EQ(FilterError(text), "filter 1:1: expression is " +
                                   std::to_string(text.size()) +
                                   " bytes long; expected at most 65536");
  EXPECT_THAT(FilterError(std::string(1 << 20, '(')), HasSubstr("bytes long"));
}

TEST(FilterErrorTest, TypeMismatch) {
  EXPECT_EQ(FilterError("src_ip > \"abc\""),
            "filter 1:10: type mismatch: column 'src_ip' is ipv6, found a "
            "string literal");
  EXPECT_EQ(FilterError("dst_port == 'http'"),
            "filter 1:13: type mismatch: column 'dst_port' is u16, found a "
            "string literal");
  EXPECT_EQ(FilterError("dst_port == 10.0.0.1"),
            "filter 1:13: type mismatch: column 'dst_port' is u16, found an "
            "IPv4 address");
  EXPECT_EQ(FilterError("src_ip == 5"),
            "filter 1:11: type mismatch: column 'src_ip' is ipv6, found a "
            "number");
  EXPECT_EQ(FilterError("src_ip == tcp"),
            "filter 1:11: type mismatch: column 'src_ip' is ipv6, found a "
            "protocol name");
  EXPECT_EQ(FilterError("proto == true"),
            "filter 1:10: type mismatch: column 'proto' is u8, found a "
            "boolean literal");
  EXPECT_EQ(FilterError("src_ip == aa:bb:cc:dd:ee:ff"),
            "filter 1:11: type mismatch: column 'src_ip' is ipv6, found a MAC "
            "address");
  const Schema& s = AllTypes();
  EXPECT_EQ(FilterError("v4 == ::1", s),
            "filter 1:7: type mismatch: column 'v4' is ipv4, found an IPv6 "
            "address");
  EXPECT_EQ(FilterError("mac == 10.0.0.1", s),
            "filter 1:8: type mismatch: column 'mac' is mac, found an IPv4 "
            "address");
  EXPECT_EQ(FilterError("name == 5", s),
            "filter 1:9: type mismatch: column 'name' is string(8), found a "
            "number");
  EXPECT_EQ(FilterError("f64 == 'x'", s),
            "filter 1:8: type mismatch: column 'f64' is f64, found a string "
            "literal");
  EXPECT_EQ(FilterError("b == 'x'", s),
            "filter 1:6: type mismatch: column 'b' is bool, found a string "
            "literal");
  EXPECT_EQ(FilterError("dst_port in {80, 'x'}"),
            "filter 1:18: type mismatch: column 'dst_port' is u16, found a "
            "string literal");
}

TEST(FilterErrorTest, OutOfRange) {
  EXPECT_EQ(FilterError("proto > 300"),
            "filter 1:9: 300 is out of range for column 'proto'; expected u8 "
            "from 0 to 255");
  EXPECT_EQ(FilterError("dst_port == -1"),
            "filter 1:13: -1 is out of range for column 'dst_port'; expected "
            "u16 from 0 to 65535");
  EXPECT_EQ(FilterError("dst_port == 65536"),
            "filter 1:13: 65536 is out of range for column 'dst_port'; "
            "expected u16 from 0 to 65535");
  EXPECT_EQ(FilterError("dst_port == 1e5"),
            "filter 1:13: 1e5 is out of range for column 'dst_port'; expected "
            "u16 from 0 to 65535");
  EXPECT_EQ(FilterError("ttl == 0x100"),
            "filter 1:8: 0x100 is out of range for column 'ttl'; expected u8 "
            "from 0 to 255");
  EXPECT_EQ(FilterError("ttl == -0.5"),
            "filter 1:8: -0.5 is out of range for column 'ttl'; expected u8 "
            "from 0 to 255");
  const Schema& s = AllTypes();
  EXPECT_EQ(FilterError("i8 == 128", s),
            "filter 1:7: 128 is out of range for column 'i8'; expected i8 "
            "from -128 to 127");
  EXPECT_EQ(FilterError("i8 == -129", s),
            "filter 1:7: -129 is out of range for column 'i8'; expected i8 "
            "from -128 to 127");
  EXPECT_THAT(FilterError("i64 == 9223372036854775808", s),
              HasSubstr("out of range for column 'i64'; expected i64 from "
                        "-9223372036854775808 to 9223372036854775807"));
  EXPECT_THAT(FilterError("i64 == -9223372036854775809", s),
              HasSubstr("out of range for column 'i64'"));
  EXPECT_THAT(FilterError("u64 == 18446744073709551616", s),
              HasSubstr("out of range for column 'u64'; expected u64 from 0 "
                        "to 18446744073709551615"));
  EXPECT_THAT(FilterError("u64 == 2e19", s),
              HasSubstr("out of range for column 'u64'"));
  EXPECT_EQ(FilterError("b == 2", s),
            "filter 1:6: 2 is out of range for column 'b'; expected bool "
            "true, false, 0 or 1");
  EXPECT_EQ(FilterError("b == tcp", s),
            "filter 1:6: tcp is out of range for column 'b'; expected bool "
            "true, false, 0 or 1");
  EXPECT_THAT(FilterError("f32 == 1e39", s),
              HasSubstr("1e39 is out of range for column 'f32'"));
}

TEST(FilterErrorTest, NotAWholeNumber) {
  EXPECT_EQ(FilterError("dst_port == 1.5"),
            "filter 1:13: 1.5 is not a whole number; expected u16 from 0 to "
            "65535 for column 'dst_port'");
  EXPECT_THAT(FilterError("i32 == -2.25", AllTypes()),
              HasSubstr("-2.25 is not a whole number"));
}

TEST(FilterErrorTest, BadNumbers) {
  const std::string expected =
      "; expected a decimal, hex (0x1f) or float (1.5, 1e6) number";
  EXPECT_EQ(FilterError("ttl == 12abc"),
            "filter 1:8: bad number '12abc'" + expected);
  EXPECT_EQ(FilterError("ttl == 0x"), "filter 1:8: bad number '0x'" + expected);
  EXPECT_EQ(FilterError("ttl == 0xfg"),
            "filter 1:8: bad number '0xfg'" + expected);
  EXPECT_EQ(FilterError("ttl == -"), "filter 1:8: bad number '-'" + expected);
  EXPECT_EQ(FilterError("ttl == 1e"), "filter 1:8: bad number '1e'" + expected);
  EXPECT_EQ(FilterError("ttl == -inf"),
            "filter 1:8: bad number '-inf'" + expected);
  EXPECT_EQ(FilterError("ttl == 1_000"),
            "filter 1:8: bad number '1_000'" + expected);
  EXPECT_EQ(FilterError("ttl == 0x10000000000000000"),
            "filter 1:8: number '0x10000000000000000' is too large; expected "
            "at most 64 bits");
  EXPECT_THAT(FilterError("f64 == 1e999", AllTypes()),
              HasSubstr("number '1e999' is out of range"));
}

TEST(FilterErrorTest, BadIpv4) {
  EXPECT_EQ(FilterError("src_ip == 300.1.1.1"),
            "filter 1:11: bad IPv4 address '300.1.1.1': 300 is more than 255; "
            "expected four numbers from 0 to 255");
  EXPECT_EQ(FilterError("src_ip == 1.2.3"),
            "filter 1:11: bad IPv4 address '1.2.3'; expected four numbers "
            "from 0 to 255 like 10.1.2.3");
  EXPECT_THAT(FilterError("src_ip == 1.2.3.4.5"),
              HasSubstr("bad IPv4 address '1.2.3.4.5'"));
  EXPECT_THAT(FilterError("src_ip == 1..2.3"),
              HasSubstr("bad IPv4 address '1..2.3'"));
  EXPECT_THAT(FilterError("src_ip == 1.2.3.4x"),
              HasSubstr("bad IPv4 address '1.2.3.4x'"));
  EXPECT_THAT(FilterError("src_ip == 1.2.3.1000"),
              HasSubstr("bad IPv4 address '1.2.3.1000'"));
}

TEST(FilterErrorTest, BadIpv6) {
  const std::string expected = "'; expected hex groups like 2001:db8::1 or ::1";
  EXPECT_EQ(FilterError("src_ip == fe80:::1"),
            "filter 1:11: bad IPv6 address 'fe80:::1" + expected);
  EXPECT_EQ(FilterError("src_ip == 1::2::3"),
            "filter 1:11: bad IPv6 address '1::2::3" + expected);
  EXPECT_EQ(FilterError("src_ip == 12345::1"),
            "filter 1:11: bad IPv6 address '12345::1" + expected);
  EXPECT_EQ(FilterError("src_ip == 1:2:3:4:5:6:7:8:9"),
            "filter 1:11: bad IPv6 address '1:2:3:4:5:6:7:8:9" + expected);
  EXPECT_EQ(FilterError("src_ip == 1:2:3:4:5:6:7::8"),
            "filter 1:11: bad IPv6 address '1:2:3:4:5:6:7::8" + expected);
  EXPECT_EQ(FilterError("src_ip == :1"),
            "filter 1:11: bad IPv6 address ':1" + expected);
  EXPECT_EQ(FilterError("src_ip == ::ffff:300.1.1.1"),
            "filter 1:11: bad IPv6 address '::ffff:300.1.1.1" + expected);
  EXPECT_EQ(FilterError("src_ip == gggg::1"),
            "filter 1:11: bad IPv6 address 'gggg::1" + expected);
}

TEST(FilterErrorTest, BadMac) {
  const std::string expected =
      "'; expected six hex bytes like aa:bb:cc:dd:ee:ff";
  EXPECT_EQ(FilterError("mac == aa:bb:cc:dd:ee", AllTypes()),
            "filter 1:8: bad MAC address 'aa:bb:cc:dd:ee" + expected);
  EXPECT_EQ(FilterError("mac == aa:bb:cc:dd:ee:gg", AllTypes()),
            "filter 1:8: bad MAC address 'aa:bb:cc:dd:ee:gg" + expected);
  EXPECT_EQ(FilterError("mac == aa:bb:cc:dd:ee:ff:00", AllTypes()),
            "filter 1:8: bad MAC address 'aa:bb:cc:dd:ee:ff:00" + expected);
}

TEST(FilterErrorTest, BadPrefixes) {
  EXPECT_EQ(FilterError("src_ip in 1.2.3.4/33"),
            "filter 1:11: bad prefix length '33' in '1.2.3.4/33'; expected 0 "
            "to 32");
  EXPECT_EQ(FilterError("src_ip in 2001:db8::/129"),
            "filter 1:11: bad prefix length '129' in '2001:db8::/129'; "
            "expected 0 to 128");
  EXPECT_EQ(FilterError("src_ip in 10.0.0.0/"),
            "filter 1:11: bad prefix length '' in '10.0.0.0/'; expected 0 to "
            "32");
  EXPECT_EQ(FilterError("src_ip in 10.0.0.0/8/8"),
            "filter 1:11: bad prefix length '8/8' in '10.0.0.0/8/8'; expected "
            "0 to 32");
  EXPECT_EQ(FilterError("src_ip in 300.0.0.0/8"),
            "filter 1:11: bad IPv4 address '300.0.0.0' in prefix "
            "'300.0.0.0/8': 300 is more than 255; expected four numbers from 0 "
            "to 255");
  EXPECT_EQ(FilterError("src_ip in fe80:::/10"),
            "filter 1:11: bad IPv6 address 'fe80:::' in prefix 'fe80:::/10'; "
            "expected hex groups like 2001:db8::/32");
  EXPECT_EQ(FilterError("src_ip in abc/8"),
            "filter 1:11: bad prefix 'abc/8'; expected an address and a length "
            "like 10.0.0.0/8 or 2001:db8::/32");
}

TEST(FilterErrorTest, PrefixesOnlyWithIn) {
  EXPECT_EQ(FilterError("src_ip == 10.0.0.0/8"),
            "filter 1:11: unexpected prefix '10.0.0.0/8' after '=='; expected "
            "a single value (write 'src_ip in 10.0.0.0/8' to match a prefix)");
  EXPECT_EQ(FilterError("src_ip in 10.0.0.1"),
            "filter 1:11: unexpected an IPv4 address after 'in'; expected a "
            "prefix like 10.0.0.0/8 or a set like {1, 2}");
  EXPECT_EQ(FilterError("dst_port in 10.0.0.0/8"),
            "filter 1:13: type mismatch: column 'dst_port' is u16, found an "
            "IPv4 prefix; expected an ipv4 or ipv6 column to match a prefix");
  EXPECT_EQ(FilterError("v4 in 2001:db8::/32", AllTypes()),
            "filter 1:7: type mismatch: column 'v4' is ipv4, found an IPv6 "
            "prefix");
  EXPECT_EQ(FilterError("src_ip in {10.0.0.0/8}"),
            "filter 1:12: unexpected prefix '10.0.0.0/8' in a set; expected "
            "single values");
}

TEST(FilterErrorTest, BadStrings) {
  const Schema& s = AllTypes();
  EXPECT_EQ(FilterError("name == 'abc", s),
            "filter 1:9: unterminated string; expected a closing \"'\"");
  EXPECT_EQ(FilterError("name == \"abc", s),
            "filter 1:9: unterminated string; expected a closing '\"'");
  EXPECT_EQ(FilterError(R"(name == 'abc\')", s),
            "filter 1:9: unterminated string; expected a closing \"'\"");
  EXPECT_EQ(FilterError("name == 'waytoolong'", s),
            "filter 1:9: string of 10 bytes is too long for column 'name'; "
            "expected at most 8 bytes");
  EXPECT_EQ(FilterError(R"(name == 'a\qb')", s),
            "filter 1:9: bad escape '\\q' in string; expected one of \\\\ \\' "
            "\\\" \\n \\t \\0 \\xHH");
  EXPECT_EQ(FilterError(R"(name == '\x4')", s),
            "filter 1:9: bad escape in string; expected \\xHH with two hex "
            "digits");
}

TEST(FilterErrorTest, BadSets) {
  EXPECT_EQ(FilterError("dst_port in {}"),
            "filter 1:13: empty set after 'in'; expected at least one literal");
  EXPECT_EQ(FilterError("dst_port in { }"),
            "filter 1:13: empty set after 'in'; expected at least one literal");
  EXPECT_EQ(FilterError("dst_port in {1, 2"),
            "filter 1:18: expected ',' or '}' in the set opened at 1:13, "
            "found end of input");
  EXPECT_EQ(FilterError("dst_port in {1 2}"),
            "filter 1:16: unexpected '2'; expected ',' or '}' in the set "
            "opened at 1:13");
  EXPECT_EQ(FilterError("dst_port in {1,}"),
            "filter 1:16: unexpected '}'; expected a literal in the set");
  EXPECT_EQ(FilterError("dst_port in {,1}"),
            "filter 1:14: unexpected ','; expected a literal in the set");
  EXPECT_EQ(FilterError("dst_port in {1, 70000}"),
            "filter 1:17: 70000 is out of range for column 'dst_port'; "
            "expected u16 from 0 to 65535");
}

TEST(FilterErrorTest, BadLiteralWords) {
  EXPECT_EQ(FilterError("proto == tpc"),
            "filter 1:10: unknown literal 'tpc'; did you mean 'tcp'?");
  EXPECT_EQ(FilterError("proto == http"),
            "filter 1:10: unknown literal 'http'; expected a number, an "
            "address, a MAC address, a quoted string, true, false or a "
            "protocol name (tcp, udp, icmp...)");
  EXPECT_EQ(FilterError("src_ip == dst_ip"),
            "filter 1:11: unexpected field 'dst_ip'; expected a literal "
            "(comparing two fields is not supported)");
}

TEST(FilterErrorTest, LongTokensAreShortenedInMessages) {
  std::string field(200, 'x');
  std::string message = FilterError(field + " == 1");
  EXPECT_THAT(message, StartsWith("filter 1:1: unknown field '" +
                                  std::string(32, 'x') + "...'"));
  EXPECT_THAT(message, Not(HasSubstr(std::string(33, 'x'))));
}

// --- Aggregates -------------------------------------------------------------

AggregateSpec Aggregate(std::string_view text,
                        const Schema& schema = PacketSchema()) {
  Result<AggregateSpec> result = ParseAggregate(schema, text);
  EXPECT_TRUE(result.ok()) << text << ": " << result.status().ToString();
  if (!result.ok()) return {};
  return std::move(result).value();
}

std::string AggregateError(std::string_view text,
                           const Schema& schema = PacketSchema()) {
  return ErrorOf(ParseAggregate(schema, text));
}

TEST(ParseAggregateTest, EveryFunction) {
  AggregateSpec count = Aggregate("COUNT()");
  EXPECT_EQ(count.function, AggregateFunction::kCount);
  EXPECT_EQ(count.column, nullptr);
  EXPECT_EQ(count.text, "COUNT()");

  struct Case {
    std::string_view text;
    AggregateFunction function;
    double quantile;
  };
  const Case cases[] = {
      {"SUM(ip_len)", AggregateFunction::kSum, 0},
      {"MIN(ip_len)", AggregateFunction::kMin, 0},
      {"MAX(ip_len)", AggregateFunction::kMax, 0},
      {"HIST(ip_len)", AggregateFunction::kHist, 0},
      {"P50(ip_len)", AggregateFunction::kQuantile, 0.5},
      {"P90(ip_len)", AggregateFunction::kQuantile, 0.9},
      {"P99(ip_len)", AggregateFunction::kQuantile, 0.99},
      {"P05(ip_len)", AggregateFunction::kQuantile, 0.05},
      {"P999(ip_len)", AggregateFunction::kQuantile, 0.999},
      {"QUANTILE(ip_len, 0.25)", AggregateFunction::kQuantile, 0.25},
      {"QUANTILE(ip_len, 1e-3)", AggregateFunction::kQuantile, 0.001},
  };
  for (const Case& c : cases) {
    AggregateSpec spec = Aggregate(c.text);
    EXPECT_EQ(spec.function, c.function) << c.text;
    ASSERT_NE(spec.column, nullptr) << c.text;
    EXPECT_EQ(spec.column->name, "ip_len");
    EXPECT_DOUBLE_EQ(spec.quantile, c.quantile) << c.text;
    EXPECT_EQ(spec.text, c.text);
  }
}

TEST(ParseAggregateTest, NamesIgnoreCaseAndSpaces) {
  EXPECT_EQ(Aggregate("count ( )").function, AggregateFunction::kCount);
  EXPECT_EQ(Aggregate("Sum(frame_len)").function, AggregateFunction::kSum);
  EXPECT_DOUBLE_EQ(Aggregate(" p99 ( frame_len ) ").quantile, 0.99);
  EXPECT_DOUBLE_EQ(Aggregate("quantile(frame_len,0.5)").quantile, 0.5);
}

TEST(ParseAggregateTest, EveryNumericTypeAndTimestamp) {
  for (std::string_view column : {"b", "u8", "u16", "u32", "u64", "i8", "i16",
                                  "i32", "i64", "f32", "f64"}) {
    std::string text = "MAX(" + std::string(column) + ")";
    EXPECT_EQ(Aggregate(text, AllTypes()).column->name, column);
  }
  EXPECT_EQ(Aggregate("MIN(timestamp)").column->name, "timestamp");
}

TEST(ParseAggregateTest, Names) {
  EXPECT_EQ(AggregateFunctionName(AggregateFunction::kCount), "COUNT");
  EXPECT_EQ(AggregateFunctionName(AggregateFunction::kQuantile), "QUANTILE");
}

TEST(AggregateErrorTest, NonNumericColumns) {
  EXPECT_EQ(AggregateError("SUM(src_ip)"),
            "aggregate 1:5: column 'src_ip' is ipv6; expected a numeric "
            "column (bool, u8 to u64, i8 to i64, f32, f64) for SUM");
  EXPECT_THAT(AggregateError("P99(mac)", AllTypes()),
              StartsWith("aggregate 1:5: column 'mac' is mac; expected a "
                         "numeric column"));
  EXPECT_THAT(AggregateError("hist(name)", AllTypes()),
              StartsWith("aggregate 1:6: column 'name' is string(8)"));
  EXPECT_THAT(AggregateError("MIN(v4)", AllTypes()),
              HasSubstr("column 'v4' is ipv4"));
}

TEST(AggregateErrorTest, UnknownFunctions) {
  EXPECT_EQ(AggregateError("AVG(ip_len)"),
            "aggregate 1:1: unknown aggregate function 'AVG'; expected COUNT, "
            "SUM, MIN, MAX, HIST, P50, P90, P99 or QUANTILE");
  EXPECT_EQ(AggregateError("CONT()"),
            "aggregate 1:1: unknown aggregate function 'CONT'; did you mean "
            "'COUNT'?");
  EXPECT_THAT(AggregateError("P00(ip_len)"),
              HasSubstr("unknown aggregate function 'P00'"));
  EXPECT_THAT(AggregateError("P100(ip_len)"),
              HasSubstr("unknown aggregate function 'P100'"));
}

TEST(AggregateErrorTest, Fields) {
  EXPECT_EQ(AggregateError("SUM(ip_lne)"),
            "aggregate 1:5: unknown field 'ip_lne'; did you mean 'ip_len'?");
  EXPECT_EQ(AggregateError("SUM()"),
            "aggregate 1:5: unexpected ')'; expected a field name after "
            "'SUM('");
  EXPECT_EQ(AggregateError("COUNT(ip_len)"),
            "aggregate 1:7: unexpected 'ip_len'; expected ')': COUNT() takes "
            "no field");
}

TEST(AggregateErrorTest, Quantiles) {
  const std::string expected =
      "' is out of range; expected a number between 0 and 1 (exclusive), such "
      "as 0.99";
  EXPECT_EQ(AggregateError("QUANTILE(ip_len, 1)"),
            "aggregate 1:18: quantile '1" + expected);
  EXPECT_EQ(AggregateError("QUANTILE(ip_len, 0)"),
            "aggregate 1:18: quantile '0" + expected);
  EXPECT_EQ(AggregateError("QUANTILE(ip_len, -0.5)"),
            "aggregate 1:18: quantile '-0.5" + expected);
  EXPECT_EQ(AggregateError("QUANTILE(ip_len, 'x')"),
            "aggregate 1:18: quantile ''x'" + expected);
  EXPECT_EQ(AggregateError("QUANTILE(ip_len)"),
            "aggregate 1:16: unexpected ')'; expected ',' and a quantile such "
            "as 0.99");
  EXPECT_EQ(AggregateError("QUANTILE(ip_len,"),
            "aggregate 1:17: expected a literal for the quantile, found end "
            "of input");
}

TEST(AggregateErrorTest, Syntax) {
  EXPECT_EQ(AggregateError(""),
            "aggregate 1:1: empty aggregate; expected a function such as "
            "COUNT() or SUM(field)");
  EXPECT_EQ(AggregateError("COUNT"),
            "aggregate 1:6: expected '(' after 'COUNT', found end of input");
  EXPECT_EQ(AggregateError("SUM(ip_len"),
            "aggregate 1:11: expected ')', found end of input");
  EXPECT_EQ(AggregateError("COUNT() + 1"),
            "aggregate 1:9: unexpected character '+'; expected end of input "
            "after ')'");
  EXPECT_EQ(AggregateError("COUNT() x"),
            "aggregate 1:9: unexpected 'x'; expected end of input after ')'");
  EXPECT_EQ(AggregateError("(COUNT())"),
            "aggregate 1:1: unexpected '('; expected an aggregate function "
            "such as COUNT() or SUM(field)");
  EXPECT_THAT(AggregateError(std::string(kMaxExpressionBytes + 1, ' ')),
              HasSubstr("bytes long"));
}

// --- Triggers ---------------------------------------------------------------

TEST(ParseTriggerTest, EveryOperator) {
  Result<TriggerSpec> trigger = ParseTrigger("http_bytes > 1e6");
  ASSERT_TRUE(trigger.ok()) << trigger.status().ToString();
  EXPECT_EQ(trigger->aggregate, "http_bytes");
  EXPECT_EQ(trigger->op, CompareOp::kGt);
  EXPECT_EQ(trigger->threshold, 1e6);
  EXPECT_EQ(trigger->text, "http_bytes > 1e6");

  struct Case {
    std::string_view text;
    CompareOp op;
    double threshold;
  };
  const Case cases[] = {
      {"a == 1", CompareOp::kEq, 1},    {"a != -2", CompareOp::kNe, -2},
      {"a < 0.5", CompareOp::kLt, 0.5}, {"a <= 0x10", CompareOp::kLe, 16},
      {"a>=3", CompareOp::kGe, 3},      {"a > -1.5e3", CompareOp::kGt, -1500},
  };
  for (const Case& c : cases) {
    Result<TriggerSpec> t = ParseTrigger(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status().ToString();
    EXPECT_EQ(t->op, c.op) << c.text;
    EXPECT_EQ(t->threshold, c.threshold) << c.text;
  }
}

TEST(TriggerErrorTest, Errors) {
  EXPECT_EQ(ErrorOf(ParseTrigger("")),
            "trigger 1:1: empty trigger; expected a condition such as "
            "'http_bytes > 1e6'");
  EXPECT_EQ(ErrorOf(ParseTrigger("> 5")),
            "trigger 1:1: unexpected '>'; expected the name of an aggregate");
  EXPECT_EQ(ErrorOf(ParseTrigger("drops 5")),
            "trigger 1:7: unexpected '5'; expected a comparison (==, !=, <, "
            "<=, >, >=) after 'drops'");
  EXPECT_EQ(ErrorOf(ParseTrigger("drops >")),
            "trigger 1:8: expected a literal after '>', found end of input");
  EXPECT_EQ(ErrorOf(ParseTrigger("drops > 'x'")),
            "trigger 1:9: unexpected a string literal after '>'; expected a "
            "number");
  EXPECT_EQ(ErrorOf(ParseTrigger("drops > tcp")),
            "trigger 1:9: unexpected a protocol name after '>'; expected a "
            "number");
  EXPECT_EQ(ErrorOf(ParseTrigger("drops > 10.0.0.1")),
            "trigger 1:9: unexpected an IPv4 address after '>'; expected a "
            "number");
  EXPECT_EQ(ErrorOf(ParseTrigger("drops > 5 6")),
            "trigger 1:11: unexpected '6'; expected end of input after the "
            "threshold");
  EXPECT_EQ(ErrorOf(ParseTrigger("drops > 5 && x > 1")),
            "trigger 1:11: unexpected '&&'; expected end of input after the "
            "threshold");
  EXPECT_EQ(ErrorOf(ParseTrigger("drops = 5")),
            "trigger 1:7: unexpected '='; did you mean '=='?");
  EXPECT_THAT(ErrorOf(ParseTrigger("drops > 12abc")),
              StartsWith("trigger 1:9: bad number '12abc'"));
}

}  // namespace
}  // namespace loupe
