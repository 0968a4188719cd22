#include "dataplane/packet_parser.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace loupe::dataplane {
namespace {

// Wire constants (IEEE 802.3/802.1Q, RFC 791, 8200, 4302, 9293, 768, 7348).
constexpr size_t kEtherHeader = 14;
constexpr size_t kEtherTypeOffset = 12;
constexpr size_t kVlanTag = 4;  // TPID was the EtherType; TCI, next type
constexpr int kMaxVlanTags = 2;
constexpr uint16_t kVlanIdMask = 0x0fff;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint16_t kEtherTypeQinQ = 0x88a8;
constexpr uint16_t kEtherTypeQinQLegacy = 0x9100;

constexpr size_t kIpv4MinHeader = 20;
constexpr uint16_t kIpv4MoreFragments = 0x2000;
constexpr uint16_t kIpv4FragmentOffset = 0x1fff;

constexpr size_t kIpv6Header = 40;
constexpr size_t kIpv6ExtMinHeader = 8;
constexpr uint16_t kIpv6FragmentOffset = 0xfff8;  // in bytes 2-3, << 3
constexpr uint16_t kIpv6MoreFragments = 0x0001;

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoAuth = 51;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoNoNext = 59;
constexpr uint8_t kProtoDestOptions = 60;

constexpr size_t kTcpMinHeader = 20;
constexpr size_t kUdpHeader = 8;
constexpr size_t kIcmpHeader = 4;  // type, code, checksum: common to all
constexpr size_t kVxlanHeader = 8;
constexpr uint8_t kVxlanFlagI = 0x08;

// Big-endian loads; GCC turns each into one load and a byte swap.
inline uint16_t Load16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

inline bool IsVlanTpid(uint16_t type) {
  return type == kEtherTypeVlan || type == kEtherTypeQinQ ||
         type == kEtherTypeQinQLegacy;
}

inline bool IsIpv6ExtHeader(uint8_t next) {
  return next == kProtoHopByHop || next == kProtoRouting ||
         next == kProtoFragment || next == kProtoDestOptions ||
         next == kProtoAuth;
}

inline void SetIpv4Mapped(uint8_t* address, const uint8_t* ipv4) {
  address[10] = 0xff;
  address[11] = 0xff;
  std::memcpy(address + 12, ipv4, 4);
}

// Zeroes every byte of *out but timestamp and port. The offsets are those of
// the table in packet_schema.h.
inline void ZeroRecord(PacketRecord* out) {
  auto* bytes = reinterpret_cast<uint8_t*>(out);
  constexpr size_t kFirst = offsetof(PacketRecord, src_ip);
  constexpr size_t kAfterPort = offsetof(PacketRecord, proto);
  std::memset(bytes + kFirst, 0, offsetof(PacketRecord, port) - kFirst);
  std::memset(bytes + kAfterPort, 0, sizeof(PacketRecord) - kAfterPort);
}

// Zeroes what an inner frame's parse writes, keeping frame_len, vni, vlan
// (the outer frame's) and what the caller owns.
inline void ZeroInnerFields(PacketRecord* out) {
  auto* bytes = reinterpret_cast<uint8_t*>(out);
  constexpr size_t kFirst = offsetof(PacketRecord, src_ip);
  constexpr size_t kAfterPort = offsetof(PacketRecord, proto);
  std::memset(bytes + kFirst, 0, offsetof(PacketRecord, frame_len) - kFirst);
  out->ether_type = 0;
  std::memset(bytes + kAfterPort, 0, sizeof(PacketRecord) - kAfterPort);
}

// The parse is one template instantiated twice: kInner = false for the
// frame on the wire, true for the frame inside a VXLAN header. The inner
// instantiation neither records VLAN ids nor decodes VXLAN, so recursion
// stops after one level by construction.
template <bool kInner>
ParseResult ParseFrame(const uint8_t* frame, size_t len, PacketRecord* out);

ParseResult ParseVxlan(const uint8_t* vxlan, const uint8_t* end,
                       PacketRecord* out) {
  if (static_cast<size_t>(end - vxlan) < kVxlanHeader ||
      (vxlan[0] & kVxlanFlagI) == 0) {
    return ParseResult::kBadVxlan;
  }
  const uint32_t vni = static_cast<uint32_t>(vxlan[4]) << 16 |
                       static_cast<uint32_t>(vxlan[5]) << 8 | vxlan[6];
  ZeroInnerFields(out);
  const uint8_t* inner = vxlan + kVxlanHeader;
  if (ParseFrame<true>(inner, static_cast<size_t>(end - inner), out) !=
      ParseResult::kOk) {
    return ParseResult::kBadVxlan;
  }
  out->vni = vni;
  out->flags |= kPacketVxlan;
  return ParseResult::kOk;
}

// [l4, end) is what the IP datagram holds after its headers. `whole` is
// false for an IP fragment: VXLAN is then not decoded (the inner frame is
// incomplete), and the record stays the outer UDP flow's.
template <bool kInner>
ParseResult ParseL4(uint8_t proto, const uint8_t* l4, const uint8_t* end,
                    bool whole, PacketRecord* out) {
  const size_t avail = static_cast<size_t>(end - l4);
  switch (proto) {
    case kProtoTcp:
      if (avail < kTcpMinHeader) [[unlikely]] {
        return ParseResult::kTruncatedL4;
      }
      if ((l4[12] >> 4) < 5) [[unlikely]] {
        return ParseResult::kBadTcpHeader;
      }
      out->src_port = Load16(l4);
      out->dst_port = Load16(l4 + 2);
      out->tcp_flags = l4[13];
      return ParseResult::kOk;
    case kProtoUdp:
      if (avail < kUdpHeader) [[unlikely]] {
        return ParseResult::kTruncatedL4;
      }
      out->src_port = Load16(l4);
      out->dst_port = Load16(l4 + 2);
      if constexpr (!kInner) {
        if (out->dst_port == kVxlanPort && whole) {
          return ParseVxlan(l4 + kUdpHeader, end, out);
        }
      }
      return ParseResult::kOk;
    case kProtoIcmp:
    case kProtoIcmpv6:
      if (avail < kIcmpHeader) [[unlikely]] {
        return ParseResult::kTruncatedL4;
      }
      out->src_port = l4[0];  // type
      out->dst_port = l4[1];  // code
      return ParseResult::kOk;
    default:
      return ParseResult::kOk;
  }
}

// [ip, end) is the rest of the frame.
template <bool kInner>
ParseResult ParseIpv4(const uint8_t* ip, const uint8_t* end,
                      PacketRecord* out) {
  const size_t avail = static_cast<size_t>(end - ip);
  if (avail < kIpv4MinHeader) [[unlikely]] {
    return ParseResult::kTruncatedIpv4;
  }
  const size_t header = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || header < kIpv4MinHeader) [[unlikely]] {
    return ParseResult::kBadIpv4Header;
  }
  if (avail < header) [[unlikely]] {
    return ParseResult::kTruncatedIpv4;
  }
  const uint16_t total = Load16(ip + 2);
  if (total < header) [[unlikely]] {
    return ParseResult::kBadIpv4Header;
  }
  out->tos = ip[1];
  out->ip_len = total;
  out->ttl = ip[8];
  out->proto = ip[9];
  SetIpv4Mapped(out->src_ip, ip + 12);
  SetIpv4Mapped(out->dst_ip, ip + 16);
  // The datagram ends at its total length (the rest is Ethernet padding) or
  // where the capture does.
  const uint8_t* datagram_end = total < avail ? ip + total : end;
  const uint16_t fragment = Load16(ip + 6);
  if ((fragment & (kIpv4MoreFragments | kIpv4FragmentOffset)) == 0) [[likely]] {
    out->flags = kPacketIpv4;
    return ParseL4<kInner>(ip[9], ip + header, datagram_end, true, out);
  }
  out->flags = kPacketIpv4 | kPacketFragment;
  if ((fragment & kIpv4FragmentOffset) != 0) return ParseResult::kOk;
  return ParseL4<kInner>(ip[9], ip + header, datagram_end, false, out);
}

template <bool kInner>
ParseResult ParseIpv6(const uint8_t* ip, const uint8_t* end,
                      PacketRecord* out) {
  const size_t avail = static_cast<size_t>(end - ip);
  if (avail < kIpv6Header) [[unlikely]] {
    return ParseResult::kTruncatedIpv6;
  }
  if ((ip[0] >> 4) != 6) [[unlikely]] {
    return ParseResult::kBadIpv6Header;
  }
  const size_t payload = Load16(ip + 4);
  out->tos = static_cast<uint8_t>(Load16(ip) >> 4);
  out->ip_len = static_cast<uint16_t>(
      payload + kIpv6Header > UINT16_MAX ? UINT16_MAX : payload + kIpv6Header);
  out->ttl = ip[7];
  std::memcpy(out->src_ip, ip + 8, 16);
  std::memcpy(out->dst_ip, ip + 24, 16);
  // Payload length 0 is a jumbogram (RFC 2675) or a lie: then the capture
  // bounds the datagram.
  const uint8_t* datagram_end = payload != 0 && payload < avail - kIpv6Header
                                    ? ip + kIpv6Header + payload
                                    : end;
  uint8_t flags = kPacketIpv6;
  bool whole = true;
  uint8_t next = ip[6];
  const uint8_t* p = ip + kIpv6Header;
  for (int headers = 0; IsIpv6ExtHeader(next); ++headers) {
    if (headers == kMaxIpv6ExtHeaders ||
        static_cast<size_t>(datagram_end - p) < kIpv6ExtMinHeader) {
      return ParseResult::kBadIpv6ExtHeaders;
    }
    size_t length;
    if (next == kProtoFragment) {
      const uint16_t fragment = Load16(p + 2);
      if ((fragment & (kIpv6FragmentOffset | kIpv6MoreFragments)) != 0) {
        flags |= kPacketFragment;
        whole = false;
      }
      if ((fragment & kIpv6FragmentOffset) != 0) {
        // A later fragment: what follows is the middle of the payload.
        out->proto = p[0];
        out->flags = flags;
        return ParseResult::kOk;
      }
      length = kIpv6ExtMinHeader;
    } else if (next == kProtoAuth) {
      length = (static_cast<size_t>(p[1]) + 2) * 4;
    } else {
      length = (static_cast<size_t>(p[1]) + 1) * 8;
    }
    if (static_cast<size_t>(datagram_end - p) < length) {
      return ParseResult::kBadIpv6ExtHeaders;
    }
    next = p[0];
    p += length;
  }
  out->proto = next;
  out->flags = flags;
  if (next == kProtoNoNext) return ParseResult::kOk;
  return ParseL4<kInner>(next, p, datagram_end, whole, out);
}

template <bool kInner>
ParseResult ParseFrame(const uint8_t* frame, size_t len, PacketRecord* out) {
  if (len < kEtherHeader) [[unlikely]] {
    return ParseResult::kRunt;
  }
  size_t at = kEtherTypeOffset;  // of the current EtherType/TPID
  uint16_t type = Load16(frame + at);
  if (IsVlanTpid(type)) [[unlikely]] {
    if (len < at + 2 + kVlanTag) return ParseResult::kTruncatedVlan;
    if constexpr (!kInner) out->vlan = Load16(frame + at + 2) & kVlanIdMask;
    at += kVlanTag;
    type = Load16(frame + at);
    if (IsVlanTpid(type)) {
      if (len < at + 2 + kVlanTag) return ParseResult::kTruncatedVlan;
      at += kVlanTag;
      type = Load16(frame + at);
      static_assert(kMaxVlanTags == 2);
      if (IsVlanTpid(type)) return ParseResult::kTooManyVlans;
    }
  }
  out->ether_type = type;
  const uint8_t* l3 = frame + at + 2;
  if (type == kEtherTypeIpv4) [[likely]] {
    return ParseIpv4<kInner>(l3, frame + len, out);
  }
  if (type == kEtherTypeIpv6) return ParseIpv6<kInner>(l3, frame + len, out);
  return ParseResult::kOk;  // not IP: a record with the EtherType alone
}

}  // namespace

const char* ParseResultName(ParseResult r) {
  switch (r) {
    case ParseResult::kOk:
      return "ok";
    case ParseResult::kRunt:
      return "runt";
    case ParseResult::kTruncatedVlan:
      return "truncated_vlan";
    case ParseResult::kTooManyVlans:
      return "too_many_vlans";
    case ParseResult::kTruncatedIpv4:
      return "truncated_ipv4";
    case ParseResult::kBadIpv4Header:
      return "bad_ipv4_header";
    case ParseResult::kTruncatedIpv6:
      return "truncated_ipv6";
    case ParseResult::kBadIpv6Header:
      return "bad_ipv6_header";
    case ParseResult::kBadIpv6ExtHeaders:
      return "bad_ipv6_ext_headers";
    case ParseResult::kTruncatedL4:
      return "truncated_l4";
    case ParseResult::kBadTcpHeader:
      return "bad_tcp_header";
    case ParseResult::kBadVxlan:
      return "bad_vxlan";
    case ParseResult::kCount:
      break;
  }
  return "unknown";
}

ParseResult ParsePacket(const uint8_t* frame, uint32_t len,
                        PacketRecord* out) noexcept {
  ZeroRecord(out);
  out->frame_len = static_cast<uint16_t>(len < UINT16_MAX ? len : UINT16_MAX);
  return ParseFrame<false>(frame, len, out);
}

}  // namespace loupe::dataplane
