#include "dataplane/traffic_mix.h"

#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/internal/traffic_mix_state.h"

namespace loupe::dataplane {

using namespace mix;  // NOLINT(build/namespaces): this file is mix's inside

void TrafficMix::State::Init() {
  rng = Rng(opt.seed);
  noise.resize(kNoiseBytes + kMixMaxFrameBytes);  // a multiple of 8
  for (size_t i = 0; i < noise.size(); i += 8) {
    const uint64_t word = rng.Next();
    std::memcpy(noise.data() + i, &word, 8);
  }
  static constexpr char kBase64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  text.resize(noise.size());
  for (size_t i = 0; i < text.size(); ++i) {
    text[i] = static_cast<uint8_t>(kBase64[noise[i] & 63]);
  }
  hosts.resize(opt.hosts);
  uint32_t weight_total = 0;
  for (const TcpService& s : kTcpServices) weight_total += s.weight;
  for (uint32_t i = 0; i < opt.hosts; ++i) {
    Host& h = hosts[i];
    h.v4 = Ipv4Address(10, 0, static_cast<uint8_t>(i / kHostsPerSubnet),
                       static_cast<uint8_t>(i % kHostsPerSubnet + 1));
    h.v6 = IpAddress{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x2a, 0x00, 0x01};
    Put16(h.v6.data() + 14, static_cast<uint16_t>(i + 1));
    h.mac = {0x52, 0x54, 0x00, 0, 0, 0};  // QEMU's OUI
    h.mac[3] = static_cast<uint8_t>(i >> 16);
    h.mac[4] = static_cast<uint8_t>(i >> 8);
    h.mac[5] = static_cast<uint8_t>(i);
    if (rng.Chance(0.25)) h.vlan = kHostVlans[rng.Below(std::size(kHostVlans))];
    uint32_t pick = static_cast<uint32_t>(rng.Below(weight_total));
    h.service = 0;
    while (pick >= kTcpServices[h.service].weight) {
      pick -= kTcpServices[h.service].weight;
      ++h.service;
    }
  }
  hosts[kGatewayHost].service = kService22;
  if (opt.hosts > 79) hosts[79].service = kService8080;  // 10.0.0.80

  // Popularity: Zipf over a seeded permutation, so that the popular hosts
  // are spread over the address range.
  auto shuffled = [&](std::vector<uint32_t> v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);
    return v;
  };
  std::vector<uint32_t> servers;
  std::vector<uint32_t> all;
  for (uint32_t i = 0; i < opt.hosts; ++i) {
    all.push_back(i);
    if (i != kDnsHosts[0] && i != kDnsHosts[1] && i != kNtpHost) {
      servers.push_back(i);
    }
  }
  tcp_servers = ZipfSampler(shuffled(servers), 0.9);
  clients = ZipfSampler(shuffled(all), 0.6);
  icmp_targets = ZipfSampler(shuffled(all), 0.9);

  flows.resize(kBaseSlots);
  burst_flows.resize(opt.burst ? kBurstSlots : 0);

  const double burst_span =
      opt.burst ? opt.burst_factor * (opt.burst_end - opt.burst_start) : 0;
  duration_ns = static_cast<uint64_t>(static_cast<double>(opt.packets) /
                                      (opt.rate_pps * (1 + burst_span)) * 1e9);
  if (opt.burst) {
    summary.burst_start_ns =
        opt.start_ns + static_cast<uint64_t>(opt.burst_start *
                                             static_cast<double>(duration_ns));
    summary.burst_end_ns =
        opt.start_ns +
        static_cast<uint64_t>(opt.burst_end * static_cast<double>(duration_ns));
    burst_share = opt.burst_factor / (1 + opt.burst_factor);
    // Payloads as the target port's service has them: HTTP only on HTTP
    // ports (plain text on 443 would decode as nonsense).
    flash_crowd_service.port = opt.burst_port;
    flash_crowd_service.style = PayloadStyle::kOpaque;
    for (const TcpService& service : kTcpServices) {
      if (service.port == opt.burst_port) {
        flash_crowd_service.style = service.style;
      }
    }
    for (uint32_t i = 0; i < opt.hosts; ++i) {
      if (hosts[i].v4 == opt.burst_ip || hosts[i].v6 == opt.burst_ip) {
        target_is_host = true;
        target_host = i;
      }
    }
  }
}

void MixSummary::AddRecord(const PacketRecord& r) {
  ++records;
  if ((r.flags & kPacketIpv4) != 0) ++ipv4;
  if ((r.flags & kPacketIpv6) != 0) ++ipv6;
  if ((r.flags & (kPacketIpv4 | kPacketIpv6)) == 0) ++non_ip;
  if ((r.flags & kPacketVxlan) != 0) {
    ++vxlan;
    ++per_vni[r.vni];
  }
  if ((r.flags & kPacketFragment) != 0) ++fragments;
  if (r.vlan != 0) ++per_vlan[r.vlan];
  ++per_proto[r.proto];
  ++per_dst_port[r.dst_port];
  IpAddress dst;
  std::memcpy(dst.data(), r.dst_ip, 16);
  ++per_dst_ip[dst];
  ++per_ether_type[r.ether_type];
}

Result<TrafficMix> TrafficMix::Create(const MixOptions& options) {
  const auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", v);
    return std::string(buf);
  };
  const auto fraction = [&num](const char* name, double v) -> Status {
    if (!(v >= 0 && v <= 1)) {
      return Status::InvalidArgument(std::string(name) + " " + num(v) +
                                     " must be between 0 and 1");
    }
    return Status::Ok();
  };
  if (options.packets == 0) {
    return Status::InvalidArgument("packets must be at least 1");
  }
  if (!(options.rate_pps > 0 && std::isfinite(options.rate_pps))) {
    return Status::InvalidArgument("rate_pps " + num(options.rate_pps) +
                                   " must be a positive number");
  }
  if (static_cast<double>(options.packets) / options.rate_pps > 1e9) {
    return Status::InvalidArgument(
        std::to_string(options.packets) + " packets at " +
        num(options.rate_pps) +
        " packets/s would span more than 1e9 s (pcap time ends in 2106)");
  }
  if (options.hosts < kMinHosts || options.hosts > kMixMaxHosts) {
    return Status::InvalidArgument(
        "hosts " + std::to_string(options.hosts) + " must be between " +
        std::to_string(kMinHosts) + " and " + std::to_string(kMixMaxHosts));
  }
  LOUPE_RETURN_IF_ERROR(fraction("ipv6_fraction", options.ipv6_fraction));
  LOUPE_RETURN_IF_ERROR(fraction("vxlan_fraction", options.vxlan_fraction));
  LOUPE_RETURN_IF_ERROR(fraction("arp_fraction", options.arp_fraction));
  LOUPE_RETURN_IF_ERROR(
      fraction("malformed_fraction", options.malformed_fraction));
  if (options.burst) {
    LOUPE_RETURN_IF_ERROR(fraction("burst_start", options.burst_start));
    LOUPE_RETURN_IF_ERROR(fraction("burst_end", options.burst_end));
    if (options.burst_start >= options.burst_end) {
      return Status::InvalidArgument("burst_start " + num(options.burst_start) +
                                     " must be below burst_end " +
                                     num(options.burst_end));
    }
    if (!(options.burst_factor > 0 && options.burst_factor <= 1000)) {
      return Status::InvalidArgument("burst_factor " +
                                     num(options.burst_factor) +
                                     " must be above 0 and at most 1000");
    }
    if (options.burst_port == 0) {
      return Status::InvalidArgument("burst_port must not be 0");
    }
  }
  auto state = std::make_unique<State>();
  state->opt = options;
  state->Init();
  return TrafficMix(std::move(state));
}

TrafficMix::TrafficMix(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
TrafficMix::TrafficMix(TrafficMix&&) noexcept = default;
TrafficMix& TrafficMix::operator=(TrafficMix&&) noexcept = default;
TrafficMix::~TrafficMix() = default;

const MixOptions& TrafficMix::options() const { return state_->opt; }
const MixSummary& TrafficMix::summary() const { return state_->summary; }
uint64_t TrafficMix::expected_duration_ns() const {
  return state_->duration_ns;
}

bool TrafficMix::Next(uint8_t* out, size_t cap, MixFrame* frame) {
  State& s = *state_;
  if (s.emitted == s.opt.packets) return false;
  const uint64_t now = s.opt.start_ns + static_cast<uint64_t>(s.offset_ns);
  const bool in_burst = s.opt.burst && now >= s.summary.burst_start_ns &&
                        now < s.summary.burst_end_ns;
  const double rate =
      s.opt.rate_pps * (in_burst ? 1 + s.opt.burst_factor : 1.0);
  s.offset_ns += s.rng.Exponential(1e9 / rate);
  const uint64_t ts = s.opt.start_ns + static_cast<uint64_t>(s.offset_ns);
  const bool burst_now = s.opt.burst && ts >= s.summary.burst_start_ns &&
                         ts < s.summary.burst_end_ns;

  FrameSpec spec;
  bool burst = false;
  if (!s.pending.empty()) {
    spec = s.pending.front();
    s.pending.pop_front();
  } else if (s.rng.Chance(s.opt.arp_fraction)) {
    s.Arp(&spec);
  } else if (burst_now && s.rng.Chance(s.burst_share)) {
    burst = true;
    Flow& f = s.burst_flows[s.rng.Below(s.burst_flows.size())];
    if (!f.active) s.NewTcpFlow(f, true);
    s.NextPacket(f, &spec);
  } else {
    const size_t slot = s.rng.Below(s.flows.size());
    Flow& f = s.flows[slot];
    if (!f.active) s.NewFlow(f, slot);
    s.NextPacket(f, &spec);
  }

  FrameLayout layout;
  size_t len = BuildFrame(spec, out, cap, &layout);
  assert(len > 0 && "every spec of the mix builds");
  frame->timestamp_ns = ts;
  frame->burst = burst;
  frame->record = ExpectedRecord(spec);
  frame->malformed =
      s.opt.malformed_fraction > 0 && s.rng.Chance(s.opt.malformed_fraction);
  if (frame->malformed) len = s.Damage(out, len, spec, layout);
  frame->length = static_cast<uint32_t>(len);

  MixSummary& sum = s.summary;
  if (sum.packets == 0) sum.first_timestamp_ns = ts;
  sum.last_timestamp_ns = ts;
  ++sum.packets;
  sum.bytes += len;
  if (frame->malformed) {
    ++sum.malformed;
  } else {
    sum.AddRecord(frame->record);
  }
  if (burst) {
    ++sum.burst_packets;
    IpAddress dst;
    std::memcpy(dst.data(), frame->record.dst_ip, 16);
    if (!frame->malformed && dst == s.opt.burst_ip &&
        frame->record.dst_port == s.opt.burst_port) {
      ++sum.burst_to_target;
    }
  }
  ++s.emitted;
  return true;
}

}  // namespace loupe::dataplane
