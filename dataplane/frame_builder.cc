#include "dataplane/frame_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "dataplane/packet_parser.h"

namespace loupe::dataplane {
namespace {

constexpr size_t kEthernetBytes = 14;
constexpr size_t kVlanTagBytes = 4;
constexpr size_t kIpv4HeaderBytes = 20;
constexpr size_t kIpv6HeaderBytes = 40;
constexpr size_t kIpv6ExtBytes = 8;  // our Destination Options and Fragment
constexpr size_t kMaxIpv4OptionWords = 10;
constexpr size_t kArpBytes = 28;
constexpr size_t kTcpHeaderBytes = 20;
constexpr size_t kTcpTimestampOptionBytes = 12;
constexpr size_t kUdpHeaderBytes = 8;
constexpr size_t kIcmpHeaderBytes = 8;
constexpr size_t kVxlanHeaderBytes = 8;
constexpr size_t kMaxL4HeaderBytes = kTcpHeaderBytes + kTcpTimestampOptionBytes;
constexpr uint8_t kIpv6NextDestOpts = 60;
constexpr uint8_t kIpv6NextFragment = 44;

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Internet checksum (RFC 1071) in memory order: native loads, native store.
// The ones' complement sum does not depend on byte order, so summing native
// words and storing the result natively gives the network-order checksum.
// Only the last span of a sum may have odd length.
uint64_t SumBytes(const uint8_t* p, size_t n, uint64_t acc) {
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    const uint8_t last[2] = {*p, 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    acc += w;
  }
  return acc;
}

void StoreChecksum(uint64_t acc, uint8_t* field, bool zero_is_ffff) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint16_t sum = static_cast<uint16_t>(~acc);
  if (sum == 0 && zero_is_ffff) sum = 0xffff;  // UDP: 0 means "none"
  std::memcpy(field, &sum, 2);
}

// Sum of the pseudo-header of an upper-layer protocol (RFC 768, RFC 8200).
uint64_t PseudoHeaderSum(bool ipv6, const IpAddress& src, const IpAddress& dst,
                         uint8_t proto, uint32_t length) {
  uint8_t ph[40] = {};
  if (ipv6) {
    std::memcpy(ph, src.data(), 16);
    std::memcpy(ph + 16, dst.data(), 16);
    Put32(ph + 32, length);
    ph[39] = proto;
    return SumBytes(ph, 40, 0);
  }
  std::memcpy(ph, src.data() + 12, 4);
  std::memcpy(ph + 4, dst.data() + 12, 4);
  ph[9] = proto;
  Put16(ph + 10, static_cast<uint16_t>(length));
  return SumBytes(ph, 12, 0);
}

bool IsIp(const FrameSpec& s) {
  return s.l3 == L3Kind::kIpv4 || s.l3 == L3Kind::kIpv6;
}

bool IsIcmp(uint8_t proto) {
  return proto == kIpProtoIcmp || proto == kIpProtoIcmpv6;
}

size_t L4HeaderBytes(const FrameSpec& s) {
  if (!IsIp(s)) return 0;
  switch (s.proto) {
    case kIpProtoTcp:
      return kTcpHeaderBytes +
             (s.tcp_timestamps ? kTcpTimestampOptionBytes : 0);
    case kIpProtoUdp:
      return kUdpHeaderBytes;
    case kIpProtoIcmp:
    case kIpProtoIcmpv6:
      return kIcmpHeaderBytes;
    default:
      return 0;
  }
}

// Sizes of the (inner) frame a spec describes, before VXLAN and padding.
struct Sizes {
  size_t l2 = 0;
  size_t l3 = 0;                // IP header with options/ext headers, or ARP
  size_t l4_header = 0;         // of the datagram
  size_t datagram_payload = 0;  // IP payload of the whole datagram
  size_t ip_payload = 0;        // IP payload in this frame
  bool fragment = false;
  bool more_fragments = false;
  size_t frame() const { return l2 + l3 + ip_payload; }
};

bool Measure(const FrameSpec& s, Sizes* z) {
  if (s.num_vlans > 2) return false;
  z->l2 = kEthernetBytes + kVlanTagBytes * s.num_vlans;
  z->l4_header = L4HeaderBytes(s);
  z->datagram_payload = z->l4_header + s.payload_len;
  const size_t frag_end = static_cast<size_t>(s.frag_offset) * 8 +
                          static_cast<size_t>(s.frag_bytes);
  if (s.frag_bytes != 0) {
    if (!IsIp(s) || s.frag_offset > 0x1fff || frag_end > z->datagram_payload) {
      return false;
    }
    z->more_fragments = frag_end < z->datagram_payload;
    z->fragment = s.frag_offset != 0 || z->more_fragments;
  }
  z->ip_payload = z->fragment ? s.frag_bytes : z->datagram_payload;
  switch (s.l3) {
    case L3Kind::kIpv4:
      if (s.ipv4_option_words > kMaxIpv4OptionWords) return false;
      if (!IsIpv4Mapped(s.src_ip) || !IsIpv4Mapped(s.dst_ip)) return false;
      z->l3 = kIpv4HeaderBytes + 4 * size_t{s.ipv4_option_words};
      if (z->l3 + z->ip_payload > 0xffff) return false;
      break;
    case L3Kind::kIpv6:
      z->l3 = kIpv6HeaderBytes + kIpv6ExtBytes * s.ipv6_dest_opts +
              (z->fragment ? kIpv6ExtBytes : 0);
      if (z->l3 - kIpv6HeaderBytes + z->ip_payload > 0xffff) return false;
      break;
    case L3Kind::kArp:
      if (!IsIpv4Mapped(s.src_ip) || !IsIpv4Mapped(s.dst_ip)) return false;
      z->l3 = kArpBytes;
      z->ip_payload = 0;
      break;
    case L3Kind::kOther:
      z->l3 = 0;
      z->ip_payload = s.payload_len;
      break;
  }
  return true;
}

size_t OuterBytes(const VxlanSpec& v) {
  return kEthernetBytes + kVlanTagBytes * v.num_vlans +
         (v.ipv6 ? kIpv6HeaderBytes : kIpv4HeaderBytes) + kUdpHeaderBytes +
         kVxlanHeaderBytes;
}

bool ValidOuter(const VxlanSpec& v) {
  return v.num_vlans <= 2 &&
         (v.ipv6 || (IsIpv4Mapped(v.src_ip) && IsIpv4Mapped(v.dst_ip)));
}

uint8_t* WriteEthernet(uint8_t* p, const MacAddress& src, const MacAddress& dst,
                       uint8_t num_vlans,
                       const std::array<uint16_t, 2>& vlan_ids,
                       uint16_t ether_type) {
  std::memcpy(p, dst.data(), 6);
  std::memcpy(p + 6, src.data(), 6);
  p += 12;
  for (uint8_t i = 0; i < num_vlans; ++i) {
    const bool outer_of_two = num_vlans == 2 && i == 0;
    Put16(p, outer_of_two ? kEtherTypeQinQ : kEtherTypeVlan);
    Put16(p + 2, vlan_ids[i] & 0x0fff);
    p += kVlanTagBytes;
  }
  Put16(p, ether_type);
  return p + 2;
}

void WriteIpv4Header(uint8_t* p, size_t header_bytes, uint8_t tos,
                     uint16_t total_length, uint16_t id, uint16_t flags_frag,
                     uint8_t ttl, uint8_t proto, const IpAddress& src,
                     const IpAddress& dst) {
  p[0] = static_cast<uint8_t>(0x40 | (header_bytes / 4));
  p[1] = tos;
  Put16(p + 2, total_length);
  Put16(p + 4, id);
  Put16(p + 6, flags_frag);
  p[8] = ttl;
  p[9] = proto;
  p[10] = p[11] = 0;
  std::memcpy(p + 12, src.data() + 12, 4);
  std::memcpy(p + 16, dst.data() + 12, 4);
  if (header_bytes > kIpv4HeaderBytes) {
    // NOPs, then End of Option List.
    std::memset(p + kIpv4HeaderBytes, 1, header_bytes - kIpv4HeaderBytes - 1);
    p[header_bytes - 1] = 0;
  }
  StoreChecksum(SumBytes(p, header_bytes, 0), p + 10, false);
}

void WriteIpv6Header(uint8_t* p, uint8_t tclass, uint32_t flow_label,
                     uint16_t payload_length, uint8_t next_header,
                     uint8_t hop_limit, const IpAddress& src,
                     const IpAddress& dst) {
  Put32(p, (6u << 28) | (uint32_t{tclass} << 20) | (flow_label & 0xfffff));
  Put16(p + 4, payload_length);
  p[6] = next_header;
  p[7] = hop_limit;
  std::memcpy(p + 8, src.data(), 16);
  std::memcpy(p + 24, dst.data(), 16);
}

// The L4 header of the whole datagram, its checksum included (the checksum
// covers the whole payload, even when this frame is a fragment).
void BuildL4Header(const FrameSpec& s, size_t header_bytes, uint8_t* h) {
  const bool ipv6 = s.l3 == L3Kind::kIpv6;
  const uint32_t l4_length =
      static_cast<uint32_t>(header_bytes + s.payload_len);
  size_t checksum_at = 0;
  bool pseudo = true;
  bool zero_is_ffff = false;
  std::memset(h, 0, header_bytes);
  switch (s.proto) {
    case kIpProtoTcp:
      Put16(h, s.src_port);
      Put16(h + 2, s.dst_port);
      Put32(h + 4, s.tcp_seq);
      Put32(h + 8, s.tcp_ack);
      h[12] = static_cast<uint8_t>((header_bytes / 4) << 4);
      h[13] = s.tcp_flags;
      Put16(h + 14, s.tcp_window);
      if (s.tcp_timestamps) {
        h[20] = 1;  // NOP
        h[21] = 1;  // NOP
        h[22] = 8;  // Timestamps
        h[23] = 10;
        Put32(h + 24, s.tcp_seq);
        Put32(h + 28, s.tcp_ack);
      }
      checksum_at = 16;
      break;
    case kIpProtoUdp:
      Put16(h, s.src_port);
      Put16(h + 2, s.dst_port);
      Put16(h + 4, static_cast<uint16_t>(l4_length));
      checksum_at = 6;
      zero_is_ffff = true;
      break;
    default:  // ICMP, ICMPv6
      h[0] = static_cast<uint8_t>(s.src_port);
      h[1] = static_cast<uint8_t>(s.dst_port);
      Put32(h + 4, s.icmp_rest);
      checksum_at = 2;
      pseudo = s.proto == kIpProtoIcmpv6;
      break;
  }
  uint64_t acc =
      pseudo ? PseudoHeaderSum(ipv6, s.src_ip, s.dst_ip, s.proto, l4_length)
             : 0;
  acc = SumBytes(h, header_bytes, acc);
  if (s.payload != nullptr) acc = SumBytes(s.payload, s.payload_len, acc);
  StoreChecksum(acc, h + checksum_at, zero_is_ffff);
}

// Copies bytes [from, from + n) of the datagram's IP payload (L4 header
// `h` followed by the payload, or zeros) to `p`.
void CopyDatagram(const FrameSpec& s, const uint8_t* h, size_t header_bytes,
                  size_t from, size_t n, uint8_t* p) {
  if (from < header_bytes) {
    const size_t k = std::min(n, header_bytes - from);
    std::memcpy(p, h + from, k);
    p += k;
    from += k;
    n -= k;
  }
  if (n == 0) return;
  if (s.payload != nullptr) {
    std::memcpy(p, s.payload + (from - header_bytes), n);
  } else {
    std::memset(p, 0, n);
  }
}

// Writes the frame a spec describes, without VXLAN and padding.
void WritePlain(const FrameSpec& s, const Sizes& z, uint8_t* frame,
                FrameLayout* layout) {
  uint16_t ether_type = s.ether_type;
  if (s.l3 == L3Kind::kIpv4) ether_type = kEtherTypeIpv4;
  if (s.l3 == L3Kind::kIpv6) ether_type = kEtherTypeIpv6;
  if (s.l3 == L3Kind::kArp) ether_type = kEtherTypeArp;
  uint8_t* p = WriteEthernet(frame, s.src_mac, s.dst_mac, s.num_vlans,
                             s.vlan_ids, ether_type);
  layout->l3_offset = static_cast<size_t>(p - frame);
  switch (s.l3) {
    case L3Kind::kIpv4: {
      uint16_t flags_frag = s.dont_fragment ? 0x4000 : 0;
      if (z.fragment) {
        flags_frag |= static_cast<uint16_t>((z.more_fragments ? 0x2000 : 0) |
                                            (s.frag_offset & 0x1fff));
      }
      WriteIpv4Header(p, z.l3, s.tos,
                      static_cast<uint16_t>(z.l3 + z.ip_payload), s.ip_id,
                      flags_frag, s.ttl, s.proto, s.src_ip, s.dst_ip);
      break;
    }
    case L3Kind::kIpv6: {
      // Destination Options headers, then Fragment, then the protocol.
      const uint8_t after_opts = z.fragment ? kIpv6NextFragment : s.proto;
      const uint8_t first_next =
          s.ipv6_dest_opts > 0 ? kIpv6NextDestOpts : after_opts;
      WriteIpv6Header(
          p, s.tos, s.flow_label,
          static_cast<uint16_t>(z.l3 - kIpv6HeaderBytes + z.ip_payload),
          first_next, s.ttl, s.src_ip, s.dst_ip);
      uint8_t* e = p + kIpv6HeaderBytes;
      for (uint8_t i = 0; i < s.ipv6_dest_opts; ++i) {
        const bool last = i + 1 == s.ipv6_dest_opts;
        e[0] = last ? after_opts : kIpv6NextDestOpts;
        e[1] = 0;  // 8 bytes
        e[2] = 1;  // PadN
        e[3] = 4;
        std::memset(e + 4, 0, 4);
        e += kIpv6ExtBytes;
      }
      if (z.fragment) {
        e[0] = s.proto;
        e[1] = 0;
        Put16(e + 2, static_cast<uint16_t>((s.frag_offset << 3) |
                                           (z.more_fragments ? 1 : 0)));
        Put32(e + 4, s.ip_id);
      }
      break;
    }
    case L3Kind::kArp:
      Put16(p, 1);  // Ethernet
      Put16(p + 2, kEtherTypeIpv4);
      p[4] = 6;
      p[5] = 4;
      Put16(p + 6, s.arp_op);
      std::memcpy(p + 8, s.src_mac.data(), 6);
      std::memcpy(p + 14, s.src_ip.data() + 12, 4);
      if (s.arp_op == 1) {
        std::memset(p + 18, 0, 6);
      } else {
        std::memcpy(p + 18, s.dst_mac.data(), 6);
      }
      std::memcpy(p + 24, s.dst_ip.data() + 12, 4);
      break;
    case L3Kind::kOther:
      break;
  }
  p += z.l3;
  layout->l4_offset = static_cast<size_t>(p - frame);
  layout->l4_header_end = layout->l4_offset;
  if (s.l3 == L3Kind::kOther) {
    if (s.payload != nullptr) {
      std::memcpy(p, s.payload, s.payload_len);
    } else {
      std::memset(p, 0, s.payload_len);
    }
    return;
  }
  if (!IsIp(s)) return;
  uint8_t h[kMaxL4HeaderBytes];
  if (z.l4_header > 0) BuildL4Header(s, z.l4_header, h);
  const size_t from = z.fragment ? size_t{s.frag_offset} * 8 : 0;
  CopyDatagram(s, h, z.l4_header, from, z.ip_payload, p);
  if (from < z.l4_header) {
    layout->l4_header_end += std::min(z.ip_payload, z.l4_header - from);
  }
}

}  // namespace

bool IsIpv4Mapped(const IpAddress& ip) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0,    0,
                                          0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip.data(), kPrefix, 12) == 0;
}

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  if (text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip{};
  in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    ip = Ipv4Address(0, 0, 0, 0);
    std::memcpy(ip.data() + 12, &v4, 4);
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.data()) == 1) return ip;
  return std::nullopt;
}

std::string FormatIpAddress(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN];
  if (IsIpv4Mapped(ip)) {
    inet_ntop(AF_INET, ip.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf));
  }
  return buf;
}

size_t FrameSize(const FrameSpec& spec) {
  Sizes z;
  if (!Measure(spec, &z)) return 0;
  size_t n = z.frame();
  if (spec.vxlan) {
    if (!ValidOuter(*spec.vxlan)) return 0;
    const size_t outer_ip_payload = kUdpHeaderBytes + kVxlanHeaderBytes + n;
    if (outer_ip_payload + kIpv4HeaderBytes > 0xffff) return 0;
    n += OuterBytes(*spec.vxlan);
  }
  if (spec.pad) n = std::max(n, kMinFrameBytes);
  return n <= kMaxFrameBytes ? n : 0;
}

size_t BuildFrame(const FrameSpec& spec, uint8_t* out, size_t cap,
                  FrameLayout* layout) {
  const size_t length = FrameSize(spec);
  if (length == 0 || length > cap) return 0;
  Sizes z;
  Measure(spec, &z);
  FrameLayout scratch;
  FrameLayout* l = layout != nullptr ? layout : &scratch;
  *l = FrameLayout{};
  l->length = length;

  size_t inner_offset = 0;
  if (spec.vxlan) inner_offset = OuterBytes(*spec.vxlan);
  WritePlain(spec, z, out + inner_offset, l);
  const size_t unpadded = inner_offset + z.frame();

  if (spec.vxlan) {
    const VxlanSpec& v = *spec.vxlan;
    l->inner_offset = inner_offset;
    l->l3_offset += inner_offset;
    l->l4_offset += inner_offset;
    l->l4_header_end += inner_offset;
    uint8_t* ip =
        WriteEthernet(out, v.src_mac, v.dst_mac, v.num_vlans, v.vlan_ids,
                      v.ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
    const size_t ip_header = v.ipv6 ? kIpv6HeaderBytes : kIpv4HeaderBytes;
    uint8_t* udp = ip + ip_header;
    const size_t udp_length = static_cast<size_t>(out + unpadded - udp);
    Put16(udp, v.src_port);
    Put16(udp + 2, kVxlanPort);
    Put16(udp + 4, static_cast<uint16_t>(udp_length));
    udp[6] = udp[7] = 0;
    uint8_t* vx = udp + kUdpHeaderBytes;
    vx[0] = 0x08;  // I: the VNI is valid
    vx[1] = vx[2] = vx[3] = 0;
    Put32(vx + 4, (v.vni & 0xffffff) << 8);
    if (v.ipv6) {
      WriteIpv6Header(ip, v.tos, 0, static_cast<uint16_t>(udp_length),
                      kIpProtoUdp, v.ttl, v.src_ip, v.dst_ip);
    } else {
      WriteIpv4Header(ip, kIpv4HeaderBytes, v.tos,
                      static_cast<uint16_t>(kIpv4HeaderBytes + udp_length), 0,
                      0x4000, v.ttl, kIpProtoUdp, v.src_ip, v.dst_ip);
    }
    const uint64_t acc =
        PseudoHeaderSum(v.ipv6, v.src_ip, v.dst_ip, kIpProtoUdp,
                        static_cast<uint32_t>(udp_length));
    StoreChecksum(SumBytes(udp, udp_length, acc), udp + 6, true);
  }
  if (unpadded < length) std::memset(out + unpadded, 0, length - unpadded);
  return length;
}

std::vector<uint8_t> BuildFrame(const FrameSpec& spec) {
  std::vector<uint8_t> frame(FrameSize(spec));
  if (!frame.empty()) BuildFrame(spec, frame.data(), frame.size());
  return frame;
}

PacketRecord ExpectedRecord(const FrameSpec& spec) {
  PacketRecord r;
  std::memset(&r, 0, sizeof(r));
  Sizes z;
  if (!Measure(spec, &z)) return r;
  r.frame_len =
      static_cast<uint16_t>(std::min<size_t>(FrameSize(spec), 0xffff));
  if (spec.vxlan) {
    r.vni = spec.vxlan->vni & 0xffffff;
    r.flags |= kPacketVxlan;
    if (spec.vxlan->num_vlans > 0) r.vlan = spec.vxlan->vlan_ids[0] & 0x0fff;
  } else if (spec.num_vlans > 0) {
    r.vlan = spec.vlan_ids[0] & 0x0fff;
  }
  switch (spec.l3) {
    case L3Kind::kIpv4:
      r.ether_type = kEtherTypeIpv4;
      r.flags |= kPacketIpv4;
      break;
    case L3Kind::kIpv6:
      r.ether_type = kEtherTypeIpv6;
      r.flags |= kPacketIpv6;
      break;
    case L3Kind::kArp:
      r.ether_type = kEtherTypeArp;
      return r;
    case L3Kind::kOther:
      r.ether_type = spec.ether_type;
      return r;
  }
  std::memcpy(r.src_ip, spec.src_ip.data(), 16);
  std::memcpy(r.dst_ip, spec.dst_ip.data(), 16);
  r.ip_len = static_cast<uint16_t>(z.l3 + z.ip_payload);
  r.proto = spec.proto;
  r.ttl = spec.ttl;
  r.tos = spec.tos;
  if (z.fragment) r.flags |= kPacketFragment;
  if (z.fragment && spec.frag_offset != 0) return r;
  if (spec.proto == kIpProtoTcp || spec.proto == kIpProtoUdp) {
    r.src_port = spec.src_port;
    r.dst_port = spec.dst_port;
    if (spec.proto == kIpProtoTcp) r.tcp_flags = spec.tcp_flags;
  } else if (IsIcmp(spec.proto)) {
    r.src_port = static_cast<uint8_t>(spec.src_port);
    r.dst_port = static_cast<uint8_t>(spec.dst_port);
  }
  return r;
}

std::vector<FrameSpec> FragmentDatagram(const FrameSpec& datagram,
                                        uint16_t mtu) {
  std::vector<FrameSpec> out;
  Sizes z;
  if (!IsIp(datagram) || datagram.frag_bytes != 0 || !Measure(datagram, &z)) {
    return out;
  }
  if (z.l3 + z.ip_payload <= mtu) {
    out.push_back(datagram);
    return out;
  }
  const size_t fragment_header =
      z.l3 + (datagram.l3 == L3Kind::kIpv6 ? kIpv6ExtBytes : 0);
  if (mtu < fragment_header + 8) return out;
  const size_t per_fragment = (mtu - fragment_header) & ~size_t{7};
  for (size_t from = 0; from < z.datagram_payload; from += per_fragment) {
    FrameSpec f = datagram;
    f.dont_fragment = false;
    f.frag_offset = static_cast<uint16_t>(from / 8);
    f.frag_bytes = static_cast<uint16_t>(
        std::min(per_fragment, z.datagram_payload - from));
    out.push_back(f);
  }
  return out;
}

}  // namespace loupe::dataplane
