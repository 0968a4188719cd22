// The packet schema: one 64-byte, cache-line-sized record per mirrored
// packet, written by the dataplane and read by every packet query. The C++
// struct PacketRecord and the Schema returned by PacketSchema() describe the
// same bytes; a test checks that every column's offset and width match.
//
// clang-format off
// | offset | bytes | column      | type   | meaning                                |
// |--------|-------|-------------|--------|----------------------------------------|
// |      0 |     8 | timestamp   | u64    | RX time, ns since the Unix epoch       |
// |      8 |    16 | src_ip      | ipv6   | source address; IPv4 as ::ffff:a.b.c.d |
// |     24 |    16 | dst_ip      | ipv6   | destination address, same encoding     |
// |     40 |     2 | src_port    | u16    | TCP/UDP source port; ICMP type         |
// |     42 |     2 | dst_port    | u16    | TCP/UDP destination port; ICMP code    |
// |     44 |     2 | ip_len      | u16    | IPv4 total length; IPv6 payload + 40   |
// |     46 |     2 | frame_len   | u16    | frame length on the wire (capped)      |
// |     48 |     4 | vni         | u32    | VXLAN VNI of the outer header, 0: none |
// |     52 |     2 | vlan        | u16    | outer 802.1Q VLAN id, 0: untagged      |
// |     54 |     2 | ether_type  | u16    | EtherType of the (inner) L3 header     |
// |     56 |     2 | port        | u16    | mirror port the packet arrived on      |
// |     58 |     1 | proto       | u8     | IP protocol (6 TCP, 17 UDP, 1 ICMP...) |
// |     59 |     1 | tcp_flags   | u8     | TCP flags byte (FIN=1 ... CWR=128)     |
// |     60 |     1 | ttl         | u8     | IPv4 TTL / IPv6 hop limit              |
// |     61 |     1 | tos         | u8     | IPv4 TOS / IPv6 traffic class          |
// |     62 |     1 | flags       | u8     | PacketFlags bits below                 |
// |     63 |     1 | reserved    | u8     | zero; room for one more byte           |
// clang-format on
//
// Numbers are in host byte order, addresses in network byte order (see
// schema.h). Non-IP frames have zero addresses and ports and carry their
// EtherType.
#ifndef LOUPE_MULTILOG_PACKET_SCHEMA_H_
#define LOUPE_MULTILOG_PACKET_SCHEMA_H_

#include <cstddef>
#include <cstdint>

#include "multilog/schema.h"

namespace loupe {

// Bits of PacketRecord::flags.
enum PacketFlags : uint8_t {
  kPacketIpv4 = 1 << 0,
  kPacketIpv6 = 1 << 1,
  kPacketFragment = 1 << 2,  // an IP fragment; only the first has ports
  kPacketVxlan = 1 << 3,     // headers are the inner frame of a VXLAN packet
  // Reserved: the dataplane drops frames truncated inside a header (its
  // parse_* drop reasons) rather than recording them, so never set today.
  kPacketTruncated = 1 << 4,
};

struct alignas(64) PacketRecord {
  uint64_t timestamp;
  uint8_t src_ip[16];
  uint8_t dst_ip[16];
  uint16_t src_port;
  uint16_t dst_port;
  uint16_t ip_len;
  uint16_t frame_len;
  uint32_t vni;
  uint16_t vlan;
  uint16_t ether_type;
  uint16_t port;
  uint8_t proto;
  uint8_t tcp_flags;
  uint8_t ttl;
  uint8_t tos;
  uint8_t flags;
  uint8_t reserved;
};

static_assert(sizeof(PacketRecord) == 64, "a packet record is one cache line");
static_assert(offsetof(PacketRecord, src_port) == 40);
static_assert(offsetof(PacketRecord, vni) == 48);
static_assert(offsetof(PacketRecord, proto) == 58);
static_assert(offsetof(PacketRecord, reserved) == 63);

// The Schema describing PacketRecord. Built once, shared.
const Schema& PacketSchema();

}  // namespace loupe

#endif  // LOUPE_MULTILOG_PACKET_SCHEMA_H_
