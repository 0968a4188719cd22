// Frame builder: turns a FrameSpec, a small description of one packet, into
// the bytes of a real Ethernet frame (802.1Q/QinQ tags, IPv4 with options or
// IPv6 with destination-options and fragment headers, TCP/UDP/ICMP/ICMPv6,
// ARP, VXLAN encapsulation), with correct lengths and checksums, and into the
// PacketRecord that a correct header parser produces from those bytes
// (ExpectedRecord), so that tests and the traffic generator can state what
// the dataplane must record. No DPDK; stateless; thread-safe. A FrameSpec is
// a plain value; `payload`, when set, is read only during BuildFrame.
//
// Frame layout (VXLAN adds the outer part in front):
//   [outer Ethernet, tags, IPv4|IPv6, UDP(dst 4789), VXLAN(8)]   if vxlan
//   Ethernet(14) VLAN tag(4)*num_vlans
//   IPv4(20 + 4*ipv4_option_words) |
//   IPv6(40) DestOpts(8)*ipv6_dest_opts [Fragment(8) if a fragment] |
//   ARP(28) | raw payload (any other EtherType)
//   TCP(20, +12 with tcp_timestamps) | UDP(8) | ICMP/ICMPv6(8) | nothing
//   payload(payload_len), zero bytes unless `payload` is set
//   zero padding up to kMinFrameBytes if `pad` (outermost frame only)
//
// Fragments: `frag_bytes` != 0 makes the frame one fragment of the datagram
// the rest of the spec describes: it carries bytes [frag_offset * 8,
// frag_offset * 8 + frag_bytes) of that datagram's IP payload (L4 header and
// payload), exactly as an IP stack would cut it, so the L4 checksum of a
// first fragment covers the whole datagram and fragments reassemble. (A
// range that is the whole datagram is no fragment: no MF, no IPv6 Fragment
// header.) FragmentDatagram() cuts a datagram into such specs.
#ifndef LOUPE_DATAPLANE_FRAME_BUILDER_H_
#define LOUPE_DATAPLANE_FRAME_BUILDER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/packet_schema.h"

namespace loupe::dataplane {

using MacAddress = std::array<uint8_t, 6>;
// IPv6 bytes, network order; IPv4 as ::ffff:a.b.c.d (as in PacketRecord).
using IpAddress = std::array<uint8_t, 16>;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q, inner tag
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // 802.1ad, outer tag

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;

// TCP flag bits, as in the TCP header and PacketRecord::tcp_flags.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

// Ethernet minimum without the FCS, which captures do not contain.
inline constexpr size_t kMinFrameBytes = 60;
inline constexpr size_t kMaxFrameBytes = 65535;

enum class L3Kind : uint8_t {
  kIpv4,
  kIpv6,
  kArp,    // request or reply from src_mac/src_ip to dst_ip (IPv4 only)
  kOther,  // `ether_type`, then payload_len bytes of payload
};

// The outer headers of a VXLAN-encapsulated frame (RFC 7348).
struct VxlanSpec {
  uint32_t vni = 0;  // 24 bits
  MacAddress src_mac{};
  MacAddress dst_mac{};
  uint8_t num_vlans = 0;  // 0, 1 or 2
  std::array<uint16_t, 2> vlan_ids{};
  bool ipv6 = false;
  IpAddress src_ip{};  // the VTEPs
  IpAddress dst_ip{};
  uint16_t src_port = 49152;  // a hash of the inner flow, in practice
  uint8_t ttl = 64;
  uint8_t tos = 0;
};

struct FrameSpec {
  MacAddress src_mac{};
  MacAddress dst_mac{};
  // Tags outermost first; with two, the outer one has TPID 0x88a8 (QinQ).
  uint8_t num_vlans = 0;  // 0, 1 or 2
  std::array<uint16_t, 2> vlan_ids{};

  L3Kind l3 = L3Kind::kIpv4;
  uint16_t ether_type = 0;  // only for L3Kind::kOther
  IpAddress src_ip{};
  IpAddress dst_ip{};
  uint8_t proto = kIpProtoTcp;    // IP protocol; 6, 17, 1, 58 get L4 headers
  uint8_t ttl = 64;               // IPv6: hop limit
  uint8_t tos = 0;                // IPv6: traffic class
  uint16_t ip_id = 0;             // IPv4 identification, IPv6 fragment id
  bool dont_fragment = false;     // IPv4 DF
  uint32_t flow_label = 0;        // IPv6, 20 bits
  uint8_t ipv4_option_words = 0;  // 0..10 words of NOP options
  uint8_t ipv6_dest_opts = 0;     // 8-byte Destination Options headers

  // Fragment (see the header comment): 0 frag_bytes = not a fragment.
  uint16_t frag_offset = 0;  // in 8-byte units
  uint16_t frag_bytes = 0;

  // TCP/UDP ports; ICMP/ICMPv6 type (src_port) and code (dst_port).
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = kTcpAck;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 65535;
  bool tcp_timestamps = false;  // NOP, NOP, TS: the usual Linux option
  uint32_t icmp_rest = 0;       // ICMP bytes 4..7 (echo: id << 16 | seq)
  uint16_t arp_op = 1;          // 1 request, 2 reply

  uint16_t payload_len = 0;
  const uint8_t* payload = nullptr;  // payload_len bytes, or zeros if null

  bool pad = true;  // pad the (outermost) frame to kMinFrameBytes
  std::optional<VxlanSpec> vxlan;
};

// Where BuildFrame put the headers of the frame that the record describes
// (for VXLAN the inner one). Offsets from the frame start.
struct FrameLayout {
  size_t length = 0;         // the frame, padding included
  size_t inner_offset = 0;   // the inner Ethernet header; 0 without VXLAN
  size_t l3_offset = 0;      // IP or ARP header
  size_t l4_offset = 0;      // TCP/UDP/ICMP header, or the payload if none
  size_t l4_header_end = 0;  // end of the L4 header in this frame
};

// "10.0.0.1" -> ::ffff:10.0.0.1.
constexpr IpAddress Ipv4Address(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}
constexpr IpAddress Ipv4Address(uint32_t host_order) {
  return Ipv4Address(static_cast<uint8_t>(host_order >> 24),
                     static_cast<uint8_t>(host_order >> 16),
                     static_cast<uint8_t>(host_order >> 8),
                     static_cast<uint8_t>(host_order));
}
bool IsIpv4Mapped(const IpAddress& ip);
// Accepts dotted IPv4 (returned IPv4-mapped) and any IPv6 text form.
std::optional<IpAddress> ParseIpAddress(std::string_view text);
// Dotted quad for IPv4-mapped addresses, RFC 5952 text otherwise.
std::string FormatIpAddress(const IpAddress& ip);

// Bytes the frame takes, or 0 if the spec cannot be built: more than two
// VLAN tags, more than 10 option words, an IPv4 address that is not
// IPv4-mapped, a fragment outside its datagram or of a frame that is not IP,
// a frame longer than kMaxFrameBytes.
size_t FrameSize(const FrameSpec& spec);

// Writes the frame into out[0, cap) and returns its length, or 0 if the spec
// cannot be built or cap is too small (nothing useful is written then).
size_t BuildFrame(const FrameSpec& spec, uint8_t* out, size_t cap,
                  FrameLayout* layout = nullptr);
// The frame as a vector; empty if the spec cannot be built.
std::vector<uint8_t> BuildFrame(const FrameSpec& spec);

// The record ParsePacket (dataplane/packet_parser.h) produces from
// BuildFrame(spec), timestamp and port left 0. Defined for specs that
// build and whose first fragments hold the whole L4 header.
PacketRecord ExpectedRecord(const FrameSpec& spec);

// The fragments of `datagram` (a spec with frag_bytes 0) for a link MTU of
// `mtu` bytes of IP packet, in order: every fragment but the last carries a
// multiple of 8 bytes. One unfragmented spec if the datagram fits, none if
// the datagram is not IP or the MTU leaves no room for 8 bytes of data.
std::vector<FrameSpec> FragmentDatagram(const FrameSpec& datagram,
                                        uint16_t mtu);

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_FRAME_BUILDER_H_
