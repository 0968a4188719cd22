// Header parser: turns one Ethernet frame into one 64-byte PacketRecord, or
// names why it cannot.
//
// Understands Ethernet II, 802.1Q and QinQ (0x8100, 0x88a8, 0x9100; the
// outermost VLAN id is recorded), IPv4 with options and fragments (only the
// first fragment has ports: later ones get kPacketFragment and zero ports),
// IPv6 with extension headers (hop-by-hop, routing, fragment, destination
// options, AH; at most kMaxIpv6ExtHeaders of them), TCP (ports, flags), UDP,
// ICMP and ICMPv6 (type and code in src_port/dst_port), and VXLAN (UDP
// destination port 4789): the record then carries the VNI, kPacketVxlan and
// the headers of the *inner* frame, so overlay traffic is broken down per
// tenant. Non-IP frames (ARP, LLDP, ...) become records with their EtherType
// and zero addresses; IP protocols other than the above become records
// without ports.
//
// A frame that ends inside a header it needs, or whose headers contradict
// themselves, produces no record: ParsePacket returns the reason, and the
// caller counts it (every reason is a drop counter of the dataplane).
// kPacketTruncated is never set: a truncated frame is a drop, not a record.
//
// Details a reader of the records may need:
// - L4 and extension headers are looked for inside the IP datagram: it ends
//   at the IPv4 total length or the IPv6 payload length (the rest of the
//   frame is Ethernet padding), or where the capture ends if that is sooner.
//   IPv6 payload length 0 (a jumbogram) is bounded by the capture alone.
// - A TCP header needs 20 bytes, UDP 8, ICMP/ICMPv6 4 (type, code,
//   checksum); TCP options need not be captured.
// - IPv6 ip_len is payload length + 40, saturated at 65535.
// - kPacketFragment: IPv4 MF set or offset != 0; an IPv6 fragment header
//   with M set or offset != 0 (an atomic fragment is not a fragment).
//   Later fragments have proto (IPv6: the fragment header's next header)
//   but no ports and no further checks.
// - VXLAN is decoded only in an unfragmented datagram; a fragment to port
//   4789 stays an outer UDP record. Inside VXLAN: the inner frame is what
//   the outer UDP datagram holds after the 8-byte VXLAN header; its VLAN
//   tags are parsed but not recorded (`vlan` is the outer one), and UDP to
//   4789 inside it is plain UDP. Any reason the inner frame fails for is
//   reported as kBadVxlan.
//
// Contract: reads only frame[0, len), never writes outside *out, allocates
// nothing, takes no locks, throws nothing, terminates in time bounded by
// the header counts above whatever the bytes are. On kOk every byte of *out
// is written except `timestamp` and `port`, which the caller sets (the RX
// stage converts one TSC reading per burst). On any other result *out is
// unspecified. Thread-safe (no state).
#ifndef LOUPE_DATAPLANE_PACKET_PARSER_H_
#define LOUPE_DATAPLANE_PACKET_PARSER_H_

#include <cstddef>
#include <cstdint>

#include "multilog/packet_schema.h"

namespace loupe::dataplane {

inline constexpr int kMaxIpv6ExtHeaders = 8;
inline constexpr uint16_t kVxlanPort = 4789;

enum class ParseResult : uint8_t {
  kOk = 0,
  kRunt,               // shorter than an Ethernet header (14 bytes)
  kTruncatedVlan,      // ended inside an 802.1Q/QinQ tag
  kTooManyVlans,       // more than two VLAN tags
  kTruncatedIpv4,      // ended inside the IPv4 header or its options
  kBadIpv4Header,      // version != 4, IHL < 5, or total length < IHL * 4
  kTruncatedIpv6,      // ended inside the fixed IPv6 header
  kBadIpv6Header,      // version != 6
  kBadIpv6ExtHeaders,  // extension chain truncated or longer than the max
  kTruncatedL4,        // ended inside the TCP/UDP/ICMP header (1st fragment)
  kBadTcpHeader,       // TCP data offset < 5
  kBadVxlan,           // VXLAN header truncated or its I flag clear, or the
                       // inner frame is itself not parseable
  kCount,
};

inline constexpr size_t kNumParseResults =
    static_cast<size_t>(ParseResult::kCount);

// snake_case names, stable: they appear in metrics and stats
// ("ok", "runt", "truncated_vlan", ...).
const char* ParseResultName(ParseResult r);

// Parses frame[0, len). `len` is what was captured (mbuf data length);
// frame_len in the record is min(len, 65535).
ParseResult ParsePacket(const uint8_t* frame, uint32_t len,
                        PacketRecord* out) noexcept;

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_PACKET_PARSER_H_
