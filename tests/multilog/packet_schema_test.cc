#include "multilog/packet_schema.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <iterator>
#include <string>

namespace loupe {
namespace {

// One row per PacketRecord member, in struct order. The documented offset
// is the table in packet_schema.h; offsetof/sizeof are the struct itself.
struct Expected {
  const char* name;
  ColumnType type;
  size_t documented_offset;
  size_t offset;
  size_t size;
};

#define LOUPE_MEMBER(m) offsetof(PacketRecord, m), sizeof(PacketRecord::m)

const Expected kExpected[] = {
    {"timestamp", ColumnType::kU64, 0, LOUPE_MEMBER(timestamp)},
    {"src_ip", ColumnType::kIpv6, 8, LOUPE_MEMBER(src_ip)},
    {"dst_ip", ColumnType::kIpv6, 24, LOUPE_MEMBER(dst_ip)},
    {"src_port", ColumnType::kU16, 40, LOUPE_MEMBER(src_port)},
    {"dst_port", ColumnType::kU16, 42, LOUPE_MEMBER(dst_port)},
    {"ip_len", ColumnType::kU16, 44, LOUPE_MEMBER(ip_len)},
    {"frame_len", ColumnType::kU16, 46, LOUPE_MEMBER(frame_len)},
    {"vni", ColumnType::kU32, 48, LOUPE_MEMBER(vni)},
    {"vlan", ColumnType::kU16, 52, LOUPE_MEMBER(vlan)},
    {"ether_type", ColumnType::kU16, 54, LOUPE_MEMBER(ether_type)},
    {"port", ColumnType::kU16, 56, LOUPE_MEMBER(port)},
    {"proto", ColumnType::kU8, 58, LOUPE_MEMBER(proto)},
    {"tcp_flags", ColumnType::kU8, 59, LOUPE_MEMBER(tcp_flags)},
    {"ttl", ColumnType::kU8, 60, LOUPE_MEMBER(ttl)},
    {"tos", ColumnType::kU8, 61, LOUPE_MEMBER(tos)},
    {"flags", ColumnType::kU8, 62, LOUPE_MEMBER(flags)},
    {"reserved", ColumnType::kU8, 63, LOUPE_MEMBER(reserved)},
};

#undef LOUPE_MEMBER

TEST(PacketSchemaTest, RecordIsOneCacheLine) {
  EXPECT_EQ(PacketSchema().record_size(), 64u);
  EXPECT_EQ(PacketSchema().record_size(), sizeof(PacketRecord));
}

TEST(PacketSchemaTest, ColumnsMatchPacketRecord) {
  const Schema& schema = PacketSchema();
  ASSERT_EQ(schema.columns().size(), std::size(kExpected));
  size_t covered = 0;
  for (size_t i = 0; i < std::size(kExpected); ++i) {
    const Expected& want = kExpected[i];
    const Column& column = schema.columns()[i];
    SCOPED_TRACE(want.name);
    EXPECT_EQ(column.name, want.name);
    EXPECT_EQ(column.type, want.type);
    EXPECT_EQ(column.offset, want.offset);
    EXPECT_EQ(column.width, want.size);
    EXPECT_EQ(column.offset, want.documented_offset);
    EXPECT_EQ(ColumnTypeWidth(column.type), want.size);
    covered += want.size;
  }
  // Every byte of the struct belongs to exactly one column.
  EXPECT_EQ(covered, sizeof(PacketRecord));
}

TEST(PacketSchemaTest, FindReachesEveryMember) {
  for (const Expected& want : kExpected) {
    const Column* column = PacketSchema().Find(want.name);
    ASSERT_NE(column, nullptr) << want.name;
    EXPECT_EQ(column->offset, want.offset) << want.name;
  }
  EXPECT_EQ(PacketSchema().Suggest("dst_prot"), "dst_port");
}

TEST(PacketSchemaTest, IsBuiltOnce) {
  EXPECT_EQ(&PacketSchema(), &PacketSchema());
}

TEST(PacketSchemaTest, SerializesAndRoundTrips) {
  const std::string text = PacketSchema().Serialize();
  EXPECT_EQ(text,
            "timestamp:u64, src_ip:ipv6, dst_ip:ipv6, src_port:u16, "
            "dst_port:u16, ip_len:u16, frame_len:u16, vni:u32, vlan:u16, "
            "ether_type:u16, port:u16, proto:u8, tcp_flags:u8, ttl:u8, tos:u8, "
            "flags:u8, reserved:u8");
  Result<Schema> parsed = Schema::Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, PacketSchema());
}

}  // namespace
}  // namespace loupe
