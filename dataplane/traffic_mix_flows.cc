#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/internal/traffic_mix_state.h"

namespace loupe::dataplane {

using namespace mix;  // NOLINT(build/namespaces): this file is mix's inside

namespace {

// A message of `total` bytes whose header has `base` bytes besides a
// decimal length field holding the rest: the value n with total = base +
// digits(n) + n, if there is one (there is none for total - base = 11,
// 102, 1003, ...).
std::optional<size_t> LengthField(size_t total, size_t base) {
  for (size_t digits = 1; digits <= 10 && base + digits <= total; ++digits) {
    const size_t n = total - base - digits;
    if (std::to_string(n).size() == digits) return n;
  }
  return std::nullopt;
}

// A DNS query or its answer (RFC 1035) for one name; returns its length.
size_t WriteDns(uint8_t* p, uint16_t id, bool response, const char* name,
                bool aaaa, const IpAddress& answer) {
  uint8_t* const start = p;
  Put16(p, id);
  Put16(p + 2, response ? 0x8180 : 0x0100);  // RD (and QR, RA)
  Put16(p + 4, 1);
  Put16(p + 6, response ? 1 : 0);
  Put16(p + 8, 0);
  Put16(p + 10, 0);
  p += 12;
  const char* label = name;
  while (*label != '\0') {
    const char* dot = std::strchr(label, '.');
    const size_t n =
        dot != nullptr ? static_cast<size_t>(dot - label) : std::strlen(label);
    *p++ = static_cast<uint8_t>(n);
    std::memcpy(p, label, n);
    p += n;
    label += n + (dot != nullptr ? 1 : 0);
  }
  *p++ = 0;
  const uint16_t qtype = aaaa ? 28 : 1;
  Put16(p, qtype);
  Put16(p + 2, 1);  // IN
  p += 4;
  if (response) {
    Put16(p, 0xc00c);  // the name in the question
    Put16(p + 2, qtype);
    Put16(p + 4, 1);
    Put32(p + 6, 300);
    const size_t rdlength = aaaa ? 16 : 4;
    Put16(p + 10, static_cast<uint16_t>(rdlength));
    std::memcpy(p + 12, aaaa ? answer.data() : answer.data() + 12, rdlength);
    p += 12 + rdlength;
  }
  return static_cast<size_t>(p - start);
}

}  // namespace

Endpoint TrafficMix::State::HostEndpoint(uint32_t host, bool ipv6) {
  Endpoint e;
  e.ip = ipv6 ? hosts[host].v6 : hosts[host].v4;
  e.mac = hosts[host].mac;
  e.ttl = rng.Chance(0.15) ? 128 : 64;  // a few Windows guests
  return e;
}

Endpoint TrafficMix::State::ExternalEndpoint(bool ipv6, bool flash_crowd) {
  static constexpr MacAddress kGatewayMac = {0x00, 0x00, 0x5e,
                                             0x00, 0x01, 0x01};
  Endpoint e;
  e.mac = kGatewayMac;
  if (ipv6) {
    e.ip = IpAddress{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff};
    const uint64_t suffix = rng.Next();
    for (int i = 0; i < 8; ++i) {
      e.ip[8 + i] = static_cast<uint8_t>(suffix >> (8 * i));
    }
    if (!flash_crowd) std::fill(e.ip.begin() + 8, e.ip.begin() + 14, 0);
  } else if (flash_crowd) {
    const uint32_t x = static_cast<uint32_t>(rng.Below(1u << 17));
    e.ip = Ipv4Address(0xc6120000u | x);  // 198.18.0.0/15
  } else {
    const bool first = rng.Chance(0.5);
    e.ip = Ipv4Address(first ? 203 : 198, first ? 0 : 51, first ? 113 : 100,
                       static_cast<uint8_t>(rng.Range(1, 254)));
  }
  e.ttl = static_cast<uint8_t>((rng.Chance(0.3) ? 128 : 64) - rng.Range(4, 20));
  return e;
}

uint32_t TrafficMix::State::OtherClient(uint32_t server) {
  uint32_t c = clients.Sample(rng);
  while (c == server) c = clients.Sample(rng);
  return c;
}

// Per-flow state that every kind draws the same way.
void TrafficMix::State::Finish(Flow& f, bool may_tunnel) {
  f.active = true;
  f.c.ip_id = static_cast<uint16_t>(rng.Next());
  f.s.ip_id = static_cast<uint16_t>(rng.Next());
  f.c.seq = static_cast<uint32_t>(rng.Next());
  f.s.seq = static_cast<uint32_t>(rng.Next());
  f.c.window = static_cast<uint16_t>(rng.Range(502, 65535));
  f.s.window = static_cast<uint16_t>(rng.Range(502, 65535));
  if (f.ipv6) {
    f.c.flow_label = static_cast<uint32_t>(rng.Next()) & 0xfffff;
    f.s.flow_label = static_cast<uint32_t>(rng.Next()) & 0xfffff;
  }
  if (may_tunnel && rng.Chance(opt.vxlan_fraction)) MakeTenant(f);
  const size_t mtu = f.vni != 0 ? kOverlayMtu : kLinkMtu;
  f.mss = static_cast<uint32_t>(mtu - (f.ipv6 ? 40 : 20) - kTcpOverhead);
}

// Moves a flow into a tenant overlay: VXLAN between two VTEPs, tenant
// addresses inside.
void TrafficMix::State::MakeTenant(Flow& f) {
  const uint32_t tenant = static_cast<uint32_t>(rng.Below(std::size(kVnis)));
  f.vni = kVnis[tenant];
  f.vlan = 0;
  const auto place = [&](Endpoint& e, uint8_t x) {
    if (f.ipv6) {
      e.ip = IpAddress{0xfd, 0x00, 0, 0, 0, 0};
      Put16(e.ip.data() + 6, static_cast<uint16_t>(f.vni));
      e.ip[15] = x;
    } else {
      e.ip = Ipv4Address(172, 16, static_cast<uint8_t>(tenant + 1), x);
    }
    e.mac = {0x02, 0x42, 0xac, 0x10, static_cast<uint8_t>(tenant + 1), x};
    e.ttl = 64;
  };
  place(f.s, static_cast<uint8_t>(rng.Range(2, 30)));
  place(f.c, static_cast<uint8_t>(rng.Range(40, 250)));
  f.c.vtep = static_cast<uint8_t>(rng.Range(1, kVteps));
  f.s.vtep = static_cast<uint8_t>(rng.Range(1, kVteps - 1));
  if (f.s.vtep >= f.c.vtep) ++f.s.vtep;
}

void TrafficMix::State::NewTcpFlow(Flow& f, bool flash_crowd) {
  f = Flow{};
  f.kind = FlowKind::kTcp;
  if (flash_crowd) {
    f.service = &flash_crowd_service;
    f.ipv6 = !IsIpv4Mapped(opt.burst_ip);
    if (target_is_host) {
      f.s = HostEndpoint(target_host, f.ipv6);
      f.vlan = hosts[target_host].vlan;
    } else {
      f.s = ExternalEndpoint(f.ipv6, false);
    }
    f.s.ip = opt.burst_ip;
    f.s.ttl = 64;
    f.s.port = opt.burst_port;
    f.c = ExternalEndpoint(f.ipv6, true);
  } else {
    const uint32_t server = tcp_servers.Sample(rng);
    f.service = &kTcpServices[hosts[server].service];
    f.ipv6 = rng.Chance(opt.ipv6_fraction);
    f.s = HostEndpoint(server, f.ipv6);
    f.s.ttl = 64;
    f.s.port = f.service->port;
    f.vlan = hosts[server].vlan;
    f.c = rng.Chance(f.service->external_clients)
              ? ExternalEndpoint(f.ipv6, false)
              : HostEndpoint(OtherClient(server), f.ipv6);
  }
  f.c.port = EphemeralPort();
  f.stage = TcpStage::kSyn;
  f.rounds_left = f.service->rounds.Draw(rng);
  Finish(f, !flash_crowd);
}

void TrafficMix::State::NewFlow(Flow& f, size_t slot) {
  if (slot < kTcpSlots) {
    NewTcpFlow(f, false);
    return;
  }
  f = Flow{};
  f.ipv6 = rng.Chance(opt.ipv6_fraction);
  if (slot < kTcpSlots + kUdpSlots) {
    const double kind = rng.Unit();
    if (kind < 0.986) {
      f.kind = FlowKind::kDns;
      const uint32_t server = kDnsHosts[rng.Below(2)];
      f.s = HostEndpoint(server, f.ipv6);
      f.s.port = kDnsPort;
      f.c = HostEndpoint(OtherClient(server), f.ipv6);
      f.c.port = EphemeralPort();
      f.vlan = hosts[server].vlan;
      f.packets_left = 2;
      f.id = static_cast<uint16_t>(rng.Next());
      f.dns_name = static_cast<uint8_t>(rng.Below(std::size(kDnsNames)));
      f.dns_aaaa = rng.Chance(0.3);
    } else if (kind < 0.996) {
      f.kind = FlowKind::kNtp;
      f.s = HostEndpoint(kNtpHost, f.ipv6);
      f.s.port = kNtpPort;
      f.c = HostEndpoint(OtherClient(kNtpHost), f.ipv6);
      f.c.port = EphemeralPort();
      f.vlan = hosts[kNtpHost].vlan;
      f.packets_left = 2;
    } else {
      f.kind = FlowKind::kMedia;
      f.video = rng.Chance(0.25);
      const uint32_t server = tcp_servers.Sample(rng);
      f.s = HostEndpoint(server, f.ipv6);
      f.s.port = static_cast<uint16_t>(rng.Range(8192, 16383) * 2);
      f.c = rng.Chance(0.5) ? ExternalEndpoint(f.ipv6, false)
                            : HostEndpoint(OtherClient(server), f.ipv6);
      f.c.port = static_cast<uint16_t>(rng.Range(8192, 16383) * 2);
      f.vlan = hosts[server].vlan;
      f.tos = f.video ? kDscpAf41 : kDscpEf;
      f.packets_left = f.video ? rng.Range(200, 1500) : rng.Range(100, 600);
    }
  } else {
    f.kind = FlowKind::kIcmpEcho;
    const uint32_t target = icmp_targets.Sample(rng);
    f.s = HostEndpoint(target, f.ipv6);
    f.c = rng.Chance(0.3) ? ExternalEndpoint(f.ipv6, false)
                          : HostEndpoint(OtherClient(target), f.ipv6);
    f.vlan = hosts[target].vlan;
    f.packets_left = 2 * rng.Range(1, 4);
    f.id = static_cast<uint16_t>(rng.Next());
    f.seq = 1;
  }
  Finish(f, true);
}

FrameSpec TrafficMix::State::Packet(const Flow& f, bool from_client,
                                    uint8_t proto) {
  const Endpoint& from = from_client ? f.c : f.s;
  const Endpoint& to = from_client ? f.s : f.c;
  FrameSpec spec;
  spec.src_mac = from.mac;
  spec.dst_mac = to.mac;
  if (f.vlan != 0) {
    spec.num_vlans = 1;
    spec.vlan_ids[0] = f.vlan;
  }
  spec.l3 = f.ipv6 ? L3Kind::kIpv6 : L3Kind::kIpv4;
  spec.src_ip = from.ip;
  spec.dst_ip = to.ip;
  spec.proto = proto;
  spec.ttl = from.ttl;
  spec.tos = f.tos;
  spec.ip_id = from.ip_id;
  spec.flow_label = from.flow_label;
  spec.src_port = from.port;
  spec.dst_port = to.port;
  if (f.vni != 0) {
    VxlanSpec v;
    v.vni = f.vni;
    v.src_mac = {0x52, 0x54, 0x01, 0, 0, from.vtep};
    v.dst_mac = {0x52, 0x54, 0x01, 0, 0, to.vtep};
    v.src_ip = Ipv4Address(192, 168, 100, from.vtep);
    v.dst_ip = Ipv4Address(192, 168, 100, to.vtep);
    v.src_port = static_cast<uint16_t>(
        49152 + ((f.c.port * 31u + f.s.port + f.c.ip[15]) & 0x3fff));
    spec.vxlan = v;
  }
  return spec;
}

void TrafficMix::State::Segment(Flow& f, FrameSpec* spec, bool from_client,
                                uint8_t flags, uint32_t len) {
  Endpoint& from = from_client ? f.c : f.s;
  Endpoint& to = from_client ? f.s : f.c;
  *spec = Packet(f, from_client, kIpProtoTcp);
  spec->dont_fragment = true;
  spec->tcp_flags = flags;
  spec->tcp_seq = from.seq;
  spec->tcp_ack = (flags & kTcpAck) != 0 ? to.seq : 0;
  spec->tcp_window = from.window;
  spec->tcp_timestamps = true;
  spec->payload_len = static_cast<uint16_t>(len);
  if (len > 0) {
    const std::vector<uint8_t>& bytes =
        f.service->style == PayloadStyle::kOpaque ? noise : text;
    spec->payload = bytes.data() + from.seq % kNoiseBytes;
  }
  from.seq += len + ((flags & (kTcpSyn | kTcpFin)) != 0 ? 1 : 0);
  ++from.ip_id;
}

void TrafficMix::State::StartRound(Flow& f) {
  f.to_server = true;
  f.remaining = f.message_bytes = DrawMessage(f, true);
  f.unacked = 0;
  f.pending_ack = false;
}

// The size of the next request or response; HTTP and RESP messages are
// big enough for their headers, and RESP ones and HTTP requests fit one
// segment.
uint32_t TrafficMix::State::DrawMessage(const Flow& f, bool request) {
  const TcpService& service = *f.service;
  uint32_t n = (request ? service.request : service.response).Draw(rng);
  switch (service.style) {
    case PayloadStyle::kOpaque:
      break;
    case PayloadStyle::kHttp:
      n = std::max(n, request ? kMinHttpRequest : kMinHttpResponse);
      if (request) n = std::min(n, f.mss);
      break;
    case PayloadStyle::kResp:
      n = std::clamp(n, request ? kMinRespRequest : kMinRespResponse, f.mss);
      break;
  }
  const size_t base = service.style == PayloadStyle::kResp
                          ? (request ? kRespRequestBase : kRespResponseBase)
                          : kHttpResponseBase;
  if (service.style != PayloadStyle::kOpaque &&
      !(request && service.style == PayloadStyle::kHttp) &&
      !LengthField(n, base)) {
    --n;  // the sizes without a length field are isolated
  }
  return std::max<uint32_t>(n, 1);
}

// Gives the first segment of an HTTP or RESP message of f.message_bytes its
// header: an HTTP GET padded by an X-Pad header, an HTTP 200 whose body is
// noise, a RESP GET of a key, a RESP bulk string.
void TrafficMix::State::WriteMessageStart(const Flow& f, bool request,
                                          FrameSpec* spec) {
  const size_t total = f.message_bytes;
  const size_t segment = spec->payload_len;
  char* m = reinterpret_cast<char*>(message);
  std::memcpy(message, spec->payload, segment);  // noise after the header
  const auto length_field = [total](size_t base) {
    return *LengthField(total, base);  // DrawMessage made sure it exists
  };
  if (f.service->style == PayloadStyle::kHttp) {
    if (request) {
      const std::string host = FormatIpAddress(f.s.ip);
      const bool v6 = !IsIpv4Mapped(f.s.ip);
      const int head = std::snprintf(
          m, sizeof(message),
          "GET /v1/items/%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
          "User-Agent: loupe-gen\r\nAccept: */*\r\nX-Pad: ",
          static_cast<unsigned>(f.c.port), v6 ? "[" : "", host.c_str(),
          v6 ? "]" : "", static_cast<unsigned>(f.s.port));
      const size_t pad = total - static_cast<size_t>(head) - 4;
      std::memset(m + head, 'a', pad);
      std::memcpy(m + head + pad, "\r\n\r\n", 4);
    } else {
      static constexpr char kHead[] =
          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
          "Content-Length: \r\n\r\n";
      static_assert(sizeof(kHead) - 1 == kHttpResponseBase);
      const size_t body = length_field(kHttpResponseBase);
      std::snprintf(m, sizeof(message),
                    "HTTP/1.1 200 OK\r\nContent-Type: "
                    "application/octet-stream\r\nContent-Length: %zu\r\n\r",
                    body);
      message[total - body - 1] = '\n';  // overwrites snprintf's NUL
    }
  } else if (request) {  // RESP: *2 $3 GET $k key
    const size_t key = length_field(kRespRequestBase);
    const int head =
        std::snprintf(m, sizeof(message), "*2\r\n$3\r\nGET\r\n$%zu\r\n", key);
    std::memset(m + head, 'k', key);
    std::memcpy(m + head + key, "\r\n", 2);
  } else {  // RESP: $m value
    const size_t value = length_field(kRespResponseBase);
    const int head = std::snprintf(m, sizeof(message), "$%zu\r\n", value);
    std::memset(m + head, 'v', value);
    std::memcpy(m + head + value, "\r\n", 2);
  }
  spec->payload = message;
}

// One TCP packet: handshake, then rounds of a request (client to server)
// and a response, each cut into MSS-sized segments that the receiver acks
// every second segment, then FIN/FIN/ACK or, for a few, a RST.
void TrafficMix::State::TcpStep(Flow& f, FrameSpec* spec) {
  switch (f.stage) {
    case TcpStage::kSyn:
      Segment(f, spec, true, kTcpSyn, 0);
      f.stage = TcpStage::kSynAck;
      return;
    case TcpStage::kSynAck:
      Segment(f, spec, false, kTcpSyn | kTcpAck, 0);
      f.stage = TcpStage::kHandshakeAck;
      return;
    case TcpStage::kHandshakeAck:
      Segment(f, spec, true, kTcpAck, 0);
      StartRound(f);
      f.stage = TcpStage::kData;
      return;
    case TcpStage::kData: {
      if (f.pending_ack) {
        Segment(f, spec, !f.to_server, kTcpAck, 0);
        f.pending_ack = false;
        f.unacked = 0;
        if (f.remaining == 0) {  // the response is complete
          if (--f.rounds_left > 0) {
            StartRound(f);
          } else {
            f.stage = TcpStage::kFinClient;
          }
        }
        return;
      }
      const bool first = f.remaining == f.message_bytes;
      const uint32_t len = std::min(f.mss, f.remaining);
      f.remaining -= len;
      const bool last = f.remaining == 0;
      Segment(f, spec, f.to_server, kTcpAck | (last ? kTcpPsh : 0), len);
      if (first && f.service->style != PayloadStyle::kOpaque) {
        WriteMessageStart(f, f.to_server, spec);
      }
      ++f.unacked;
      if (last && f.to_server) {
        // The response acknowledges the request.
        f.to_server = false;
        f.remaining = f.message_bytes = DrawMessage(f, false);
        f.unacked = 0;
      } else if (last || f.unacked >= 2) {
        f.pending_ack = true;
      }
      return;
    }
    case TcpStage::kFinClient:
      if (rng.Chance(0.03)) {
        Segment(f, spec, false, kTcpRst | kTcpAck, 0);
        f.active = false;
        return;
      }
      Segment(f, spec, true, kTcpFin | kTcpAck, 0);
      f.stage = TcpStage::kFinServer;
      return;
    case TcpStage::kFinServer:
      Segment(f, spec, false, kTcpFin | kTcpAck, 0);
      f.stage = TcpStage::kLastAck;
      return;
    case TcpStage::kLastAck:
      Segment(f, spec, true, kTcpAck, 0);
      f.active = false;
      return;
  }
}

void TrafficMix::State::UdpStep(Flow& f, FrameSpec* spec) {
  bool from_client = !f.reply_next;
  size_t len = 0;
  const uint8_t* payload = nullptr;
  switch (f.kind) {
    case FlowKind::kDns: {
      const IpAddress answer = f.dns_aaaa ? hosts[f.dns_name % hosts.size()].v6
                                          : hosts[f.dns_name % hosts.size()].v4;
      len = WriteDns(this->payload, f.id, f.reply_next, kDnsNames[f.dns_name],
                     f.dns_aaaa, answer);
      payload = this->payload;
      f.reply_next = !f.reply_next;
      break;
    }
    case FlowKind::kNtp:
      std::memset(this->payload, 0, kNtpBytes);
      this->payload[0] = f.reply_next ? 0x24 : 0x23;  // v4, server : client
      this->payload[1] = f.reply_next ? 2 : 0;        // stratum
      len = kNtpBytes;
      payload = this->payload;
      f.reply_next = !f.reply_next;
      break;
    default:  // kMedia
      if (f.video) {
        // Mostly MTU-sized RTP; now and then a datagram above the MTU.
        from_client = rng.Chance(0.1);
        len = from_client        ? rng.Range(60, 120)
              : rng.Chance(0.05) ? rng.Range(1500, 4000)
                                 : rng.Range(900, 1200);
      } else {
        from_client = rng.Chance(0.5);
        len = 172;  // 20 ms of G.711 and an RTP header
      }
      break;
  }
  Endpoint& from = from_client ? f.c : f.s;
  *spec = Packet(f, from_client, kIpProtoUdp);
  spec->payload_len = static_cast<uint16_t>(len);
  spec->payload = payload;
  ++from.ip_id;
  if (--f.packets_left == 0) f.active = false;

  // Datagrams above the MTU leave as IP fragments, back to back.
  const size_t mtu = f.vni != 0 ? kOverlayMtu : kLinkMtu;
  const size_t ip_bytes = (f.ipv6 ? 40 : 20) + 8 + len;
  if (ip_bytes > mtu) {
    assert(payload == nullptr);
    std::vector<FrameSpec> fragments =
        FragmentDatagram(*spec, static_cast<uint16_t>(mtu));
    *spec = fragments[0];
    pending.insert(pending.end(), fragments.begin() + 1, fragments.end());
  }
}

void TrafficMix::State::IcmpStep(Flow& f, FrameSpec* spec) {
  const bool request = !f.reply_next;
  Endpoint& from = request ? f.c : f.s;
  *spec = Packet(f, request, f.ipv6 ? kIpProtoIcmpv6 : kIpProtoIcmp);
  const uint8_t type = f.ipv6 ? (request ? 128 : 129) : (request ? 8 : 0);
  spec->src_port = type;
  spec->dst_port = 0;
  spec->icmp_rest = (uint32_t{f.id} << 16) | f.seq;
  spec->payload_len = kPingPayloadBytes;
  ++from.ip_id;
  if (!request) ++f.seq;
  f.reply_next = !f.reply_next;
  if (--f.packets_left == 0) f.active = false;
}

void TrafficMix::State::NextPacket(Flow& f, FrameSpec* spec) {
  switch (f.kind) {
    case FlowKind::kTcp:
      TcpStep(f, spec);
      return;
    case FlowKind::kDns:
    case FlowKind::kNtp:
    case FlowKind::kMedia:
      UdpStep(f, spec);
      return;
    case FlowKind::kIcmpEcho:
      IcmpStep(f, spec);
      return;
  }
}

// A host asks for another's MAC (often the gateway's); the reply follows.
void TrafficMix::State::Arp(FrameSpec* spec) {
  const uint32_t asker = static_cast<uint32_t>(rng.Below(hosts.size()));
  uint32_t target = rng.Chance(0.5)
                        ? kGatewayHost
                        : static_cast<uint32_t>(rng.Below(hosts.size()));
  if (target == asker)
    target = (asker + 1) % static_cast<uint32_t>(hosts.size());
  const Host& a = hosts[asker];
  const Host& t = hosts[target];
  FrameSpec request;
  request.l3 = L3Kind::kArp;
  request.src_mac = a.mac;
  request.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (a.vlan != 0) {
    request.num_vlans = 1;
    request.vlan_ids[0] = a.vlan;
  }
  request.src_ip = a.v4;
  request.dst_ip = t.v4;
  request.arp_op = 1;
  FrameSpec reply = request;
  reply.src_mac = t.mac;
  reply.dst_mac = a.mac;
  reply.src_ip = t.v4;
  reply.dst_ip = a.v4;
  reply.arp_op = 2;
  *spec = request;
  pending.push_back(reply);
}

// Damages a frame so that a parser must reject it; returns its new length.
size_t TrafficMix::State::Damage(uint8_t* frame, size_t len,
                                 const FrameSpec& spec,
                                 const FrameLayout& layout) {
  const bool ip = IsIpSpec(spec);
  if (ip && !spec.vxlan && rng.Chance(0.4)) {
    uint8_t& first = frame[layout.l3_offset];
    if (spec.l3 == L3Kind::kIpv4) {
      first = static_cast<uint8_t>(0x40 | rng.Below(5));  // IHL < 5
    } else {
      uint64_t version = rng.Below(15);
      if (version >= 6) ++version;
      first = static_cast<uint8_t>((version << 4) | (first & 0x0f));
    }
    return len;
  }
  // Cut inside the last header the record needs: ports (or ICMP type and
  // code) if this frame has them, else the IP header, else Ethernet.
  size_t need = layout.l3_offset;
  if (ip) {
    need = layout.l4_offset;
    if (layout.l4_header_end > layout.l4_offset) {
      need +=
          spec.proto == kIpProtoIcmp || spec.proto == kIpProtoIcmpv6 ? 2 : 4;
    }
  }
  return 1 + rng.Below(need - 1);
}

}  // namespace loupe::dataplane
