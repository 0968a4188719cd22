#include "multilog/protocol_names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "multilog/expression.h"
#include "multilog/packet_schema.h"

namespace loupe {
namespace {

TEST(ProtocolNamesTest, KnownNumbers) {
  EXPECT_EQ(ProtocolNameOf(1), "icmp");
  EXPECT_EQ(ProtocolNameOf(6), "tcp");
  EXPECT_EQ(ProtocolNameOf(17), "udp");
  EXPECT_EQ(ProtocolNameOf(58), "icmpv6");
  EXPECT_EQ(ProtocolNameOf(136), "udplite");
  EXPECT_EQ(ProtocolNameOf(0), "");
  EXPECT_EQ(ProtocolNameOf(255), "");
}

TEST(ProtocolNamesTest, NamesAreExactAndLowerCase) {
  EXPECT_EQ(ProtocolNumberOf("tcp"), 6);
  EXPECT_EQ(ProtocolNumberOf("sctp"), 132);
  EXPECT_EQ(ProtocolNumberOf("TCP"), std::nullopt);
  EXPECT_EQ(ProtocolNumberOf("tc"), std::nullopt);
  EXPECT_EQ(ProtocolNumberOf(""), std::nullopt);
}

TEST(ProtocolNamesTest, TheTableIsABijection) {
  std::set<std::string_view> names;
  std::set<uint8_t> numbers;
  for (const ProtocolNameEntry& p : ProtocolNames()) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name;
    EXPECT_TRUE(numbers.insert(p.number).second) << p.name;
    EXPECT_EQ(ProtocolNameOf(p.number), p.name);
    EXPECT_EQ(ProtocolNumberOf(p.name), p.number);
  }
  EXPECT_EQ(ProtocolNames().size(), 15u);
}

// Every name is a literal of the expression language, standing for its
// number.
TEST(ProtocolNamesTest, EveryNameIsAnExpressionLiteral) {
  for (const ProtocolNameEntry& p : ProtocolNames()) {
    const std::string by_name = "proto == " + std::string(p.name);
    const std::string by_number = "proto == " + std::to_string(p.number);
    Result<BoundFilter> a = ParseFilter(PacketSchema(), by_name);
    Result<BoundFilter> b = ParseFilter(PacketSchema(), by_number);
    ASSERT_TRUE(a.ok()) << by_name << ": " << a.status().ToString();
    ASSERT_TRUE(b.ok()) << by_number;
    EXPECT_EQ(a->nodes[0].value, b->nodes[0].value) << p.name;
  }
}

}  // namespace
}  // namespace loupe
