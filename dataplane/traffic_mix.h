// TrafficMix: a deterministic model of what a hypervisor's mirror port sees,
// one frame at a time, for loupe-gen, tests and benchmarks.
//
// The model: `hosts` VMs (host i is 10.0.(i / 250).(i % 250 + 1) and
// 2001:db8:2a:1::<i + 1 in hex>, so host 79 is 10.0.0.80 and
// 2001:db8:2a:1::50), each serving one well-known port (443, 80, 8080, 22,
// 5432, 6379, 9092; host 0 is the gateway and SSH jump host, hosts 1 and 2
// DNS resolvers, host 3 NTP, host 79 serves 8080), with Zipf-like
// popularity. Flows run as real conversations: TCP handshakes,
// requests and segmented responses acked every two segments, FIN or RST;
// DNS queries and answers; NTP; RTP-like media and video whose large
// datagrams are IP-fragmented; ICMP echo. Clients use ephemeral ports and
// are other hosts or outside addresses. About `ipv6_fraction` of the
// traffic is IPv6, `vxlan_fraction` tenant overlay traffic (VNIs 5001-5003
// between VTEPs 192.168.100.0/24), a quarter of the hosts sit on VLANs
// 100/200/300, and `arp_fraction` of the frames are ARP. Packet shares are
// fixed by construction: the flow table has TCP, UDP and ICMP slots in the
// ratio 85/13/2, each slot equally busy.
//
// Time: arrivals are Poisson at `rate_pps` from `start_ns`. The burst (a
// flash crowd): between burst_start and burst_end, fractions of the
// capture's expected duration, extra TCP connections from many outside
// addresses (198.18.0.0/15, or 2001:db8:ffff::/64 for an IPv6 target) to
// burst_ip:burst_port arrive at burst_factor * rate_pps on top of the base
// traffic. Burst frames (both directions) fall inside the window only.
//
// Malformed frames: `malformed_fraction` of the frames are damaged so that
// a parser must reject them: cut short inside a header the record needs, or
// given an IPv4 IHL below 5 / an IPv6 version other than 6.
//
// The same options and seed give the same frames, byte for byte, on every
// machine (own PRNG, no std distributions). MixSummary counts what was
// generated, keyed by the fields of the records a correct parser produces.
// Not synchronized; one generator per thread.
#ifndef LOUPE_DATAPLANE_TRAFFIC_MIX_H_
#define LOUPE_DATAPLANE_TRAFFIC_MIX_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "dataplane/frame_builder.h"
#include "multilog/packet_schema.h"
#include "multilog/status.h"

namespace loupe::dataplane {

// No frame of the mix is longer (VXLAN and a VLAN tag included).
inline constexpr size_t kMixMaxFrameBytes = 2048;
inline constexpr uint32_t kMixMaxHosts = 64000;

struct MixOptions {
  uint64_t seed = 1;
  uint64_t packets = 1'000'000;  // frames in all, burst and malformed included
  double rate_pps = 100'000;     // base arrival rate
  uint32_t hosts = 300;          // 8 .. kMixMaxHosts
  uint64_t start_ns = 1'700'000'000'000'000'000;  // 2023-11-14 22:13:20 UTC
  double ipv6_fraction = 0.12;
  double vxlan_fraction = 0.03;
  double arp_fraction = 0.001;
  double malformed_fraction = 0;

  bool burst = false;
  double burst_start = 0.5;  // fractions of the expected duration
  double burst_end = 0.6;
  double burst_factor = 4;  // extra rate, in multiples of rate_pps
  IpAddress burst_ip = Ipv4Address(10, 0, 0, 80);
  uint16_t burst_port = 8080;
};

// Counts of what a generator produced. Every record (every frame but the
// malformed ones) is counted once in each map, keyed by the value of that
// field in the record a parser produces: ARP frames count under proto 0,
// dst_port 0 and the zero address, ICMP under their code as dst_port,
// non-first fragments under dst_port 0, VXLAN frames under their inner
// headers. per_vni and per_vlan count only records with a VNI / VLAN.
struct MixSummary {
  uint64_t packets = 0;    // frames, malformed included
  uint64_t bytes = 0;      // their lengths
  uint64_t malformed = 0;  // frames a parser rejects
  uint64_t records = 0;    // packets - malformed
  uint64_t ipv4 = 0;       // records with kPacketIpv4
  uint64_t ipv6 = 0;
  uint64_t non_ip = 0;
  uint64_t vxlan = 0;
  uint64_t fragments = 0;
  uint64_t burst_packets = 0;    // flash-crowd frames, both directions
  uint64_t burst_to_target = 0;  // of those, records to burst_ip:burst_port
  uint64_t first_timestamp_ns = 0;
  uint64_t last_timestamp_ns = 0;
  uint64_t burst_start_ns = 0;  // the window [start, end); 0, 0 if none
  uint64_t burst_end_ns = 0;
  std::map<uint8_t, uint64_t> per_proto;
  std::map<uint16_t, uint64_t> per_dst_port;
  std::map<IpAddress, uint64_t> per_dst_ip;
  std::map<uint16_t, uint64_t> per_ether_type;
  std::map<uint32_t, uint64_t> per_vni;
  std::map<uint16_t, uint64_t> per_vlan;

  // Counts one record.
  void AddRecord(const PacketRecord& record);
};

// One generated frame.
struct MixFrame {
  uint64_t timestamp_ns = 0;
  uint32_t length = 0;
  bool malformed = false;
  bool burst = false;
  // What a parser must produce (timestamp and port 0); unspecified if
  // malformed.
  PacketRecord record{};
};

class TrafficMix {
 public:
  // Errors name the option: "burst_start 0.7 must be below burst_end 0.6".
  static Result<TrafficMix> Create(const MixOptions& options);

  TrafficMix(TrafficMix&&) noexcept;
  TrafficMix& operator=(TrafficMix&&) noexcept;
  ~TrafficMix();

  // Writes the next frame to out[0, cap) (cap >= kMixMaxFrameBytes) and
  // describes it in *frame. False once options.packets frames were made.
  bool Next(uint8_t* out, size_t cap, MixFrame* frame);

  const MixOptions& options() const;
  const MixSummary& summary() const;
  // packets / (rate_pps * (1 + burst_factor * (burst_end - burst_start))):
  // the duration the burst window is a fraction of.
  uint64_t expected_duration_ns() const;

 private:
  struct State;
  explicit TrafficMix(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_TRAFFIC_MIX_H_
