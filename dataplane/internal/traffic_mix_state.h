// The inside of TrafficMix (dataplane/traffic_mix.h): its random streams,
// the service and host tables, the state of a flow, and TrafficMix::State,
// whose methods are split between traffic_mix.cc (set-up, the frame loop,
// the summary) and traffic_mix_flows.cc (how each kind of flow moves and
// what its packets carry).
//
// Internal to dataplane; include only from those two files. A State belongs
// to one TrafficMix and is used by one thread at a time.
#ifndef LOUPE_DATAPLANE_INTERNAL_TRAFFIC_MIX_STATE_H_
#define LOUPE_DATAPLANE_INTERNAL_TRAFFIC_MIX_STATE_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "dataplane/frame_builder.h"
#include "dataplane/traffic_mix.h"

namespace loupe::dataplane {
namespace mix {

// xoshiro256** (Blackman, Vigna) seeded with splitmix64: the same stream on
// every platform, unlike the std distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : s_) {
      seed += 0x9e3779b97f4a7c15;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
      z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // [0, n), n > 0.
  uint64_t Below(uint64_t n) {
    const auto k = static_cast<uint64_t>(Unit() * static_cast<double>(n));
    return std::min(k, n - 1);
  }
  // [lo, hi].
  uint32_t Range(uint32_t lo, uint32_t hi) {
    return lo + static_cast<uint32_t>(Below(uint64_t{hi} - lo + 1));
  }
  double Exponential(double mean) { return -mean * std::log1p(-Unit()); }
  double Pareto(double scale, double alpha) {
    return scale / std::pow(1.0 - Unit(), 1.0 / alpha);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Samples items with probability proportional to 1 / rank^exponent.
class ZipfSampler {
 public:
  ZipfSampler() = default;
  ZipfSampler(std::vector<uint32_t> items, double exponent)
      : items_(std::move(items)) {
    double total = 0;
    cdf_.reserve(items_.size());
    for (size_t rank = 1; rank <= items_.size(); ++rank) {
      total += 1.0 / std::pow(static_cast<double>(rank), exponent);
      cdf_.push_back(total);
    }
  }
  uint32_t Sample(Rng& rng) const {
    const double u = rng.Unit() * cdf_.back();
    const size_t i = static_cast<size_t>(
        std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    return items_[std::min(i, items_.size() - 1)];
  }

 private:
  std::vector<uint32_t> items_;
  std::vector<double> cdf_;
};

// A size distribution: uniform in [lo, hi] when alpha is 0, otherwise
// Pareto(scale, alpha) clamped to [lo, hi].
struct SizeDist {
  uint32_t lo;
  uint32_t hi;
  double scale = 0;
  double alpha = 0;

  uint32_t Draw(Rng& rng) const {
    if (alpha == 0) return rng.Range(lo, hi);
    const double x = rng.Pareto(scale, alpha);
    return static_cast<uint32_t>(
        std::clamp(x, static_cast<double>(lo), static_cast<double>(hi)));
  }
};

// What a TCP payload looks like. Dissectors (Wireshark's, an operator's)
// must find real protocol framing where they expect it: HTTP and RESP
// messages start with real headers; the rest looks encrypted.
enum class PayloadStyle : uint8_t { kOpaque, kHttp, kResp };

struct TcpService {
  uint16_t port;
  uint32_t weight;  // share of the hosts serving it
  double external_clients;
  SizeDist request;
  SizeDist response;
  SizeDist rounds;
  PayloadStyle style;
};

constexpr uint16_t kPort8080 = 8080;
// Sizes in bytes; Pareto sizes are {min, max, scale, alpha}. SSH and RESP
// messages fit one segment (small segments of random bytes are not SSH).
// clang-format off
inline constexpr TcpService kTcpServices[] = {
  // port      weight external request         response                      rounds     payload
  {443,        30,    0.5,     {200, 900},     {100, 2'000'000, 2000, 1.2},  {1, 6},    PayloadStyle::kOpaque},
  {80,         10,    0.5,     {300, 700},     {128, 1'000'000, 1500, 1.2},  {1, 3},    PayloadStyle::kHttp},
  {kPort8080,  10,    0.3,     {256, 600},     {128, 200'000, 800, 1.3},     {1, 8},    PayloadStyle::kHttp},
  {22,         5,     0.1,     {36, 120},      {36, 1300, 60, 1.5},          {10, 120}, PayloadStyle::kOpaque},
  {5432,       15,    0,       {80, 600},      {20, 500'000, 300, 1.3},      {2, 40},   PayloadStyle::kOpaque},
  {6379,       15,    0,       {32, 150},      {8, 1300, 40, 1.5},           {5, 100},  PayloadStyle::kResp},
  {9092,       15,    0,       {100, 1'000'000, 2000, 1.3}, {50, 120},       {2, 30},   PayloadStyle::kOpaque},
};
// One short page view per connection.
inline constexpr TcpService kFlashCrowdService =
  {kPort8080,  0,     1,       {300, 600},     {200, 30'000, 1500, 1.5},     {1, 1},    PayloadStyle::kHttp};
// clang-format on
constexpr size_t kService8080 = 2;
constexpr size_t kService22 = 3;

constexpr uint32_t kGatewayHost = 0;  // also the jump host (22/tcp)
inline constexpr uint32_t kDnsHosts[] = {1, 2};
constexpr uint32_t kNtpHost = 3;
constexpr uint32_t kHostsPerSubnet = 250;
constexpr uint32_t kMinHosts = 8;
inline constexpr uint16_t kHostVlans[] = {100, 200, 300};
inline constexpr uint32_t kVnis[] = {5001, 5002, 5003};
constexpr uint32_t kVteps = 8;

constexpr size_t kBaseSlots = 512;
constexpr size_t kTcpSlots = kBaseSlots * 85 / 100;
constexpr size_t kUdpSlots = kBaseSlots * 13 / 100;
constexpr size_t kBurstSlots = 256;

constexpr size_t kLinkMtu = 1500;
constexpr size_t kNoiseBytes = 65536;
static_assert((kNoiseBytes + kMixMaxFrameBytes) % 8 == 0);
constexpr uint32_t kMinHttpRequest = 256;
constexpr uint32_t kMinHttpResponse = 128;
constexpr uint32_t kMinRespRequest = 32;
constexpr uint32_t kMinRespResponse = 8;
constexpr size_t kOverlayMtu = 1450;      // inside VXLAN
constexpr size_t kTcpOverhead = 20 + 12;  // header and timestamps option

constexpr uint16_t kDnsPort = 53;
constexpr uint16_t kNtpPort = 123;
constexpr size_t kNtpBytes = 48;
constexpr size_t kPingPayloadBytes = 56;
constexpr uint8_t kDscpEf = 0xb8;
constexpr uint8_t kDscpAf41 = 0x88;

inline constexpr const char* kDnsNames[] = {
    "api.svc.cluster.local", "db.internal.example",  "cache.internal.example",
    "www.example.com",       "registry.example.org", "metrics.internal.example",
};

enum class FlowKind : uint8_t { kTcp, kDns, kNtp, kMedia, kIcmpEcho };
enum class TcpStage : uint8_t {
  kSyn,
  kSynAck,
  kHandshakeAck,
  kData,
  kFinClient,
  kFinServer,
  kLastAck,
};

struct Endpoint {
  IpAddress ip{};
  MacAddress mac{};
  uint16_t port = 0;
  uint8_t ttl = 64;
  uint16_t ip_id = 0;
  uint32_t seq = 0;
  uint16_t window = 0;
  uint32_t flow_label = 0;
  uint8_t vtep = 0;  // VXLAN: the VTEP in front of it
};

struct Flow {
  bool active = false;
  FlowKind kind = FlowKind::kTcp;
  bool ipv6 = false;
  uint16_t vlan = 0;
  uint32_t vni = 0;  // 0: not VXLAN
  uint8_t tos = 0;
  Endpoint c;  // client
  Endpoint s;  // server
  uint32_t mss = 0;
  // TCP
  const TcpService* service = nullptr;
  TcpStage stage = TcpStage::kSyn;
  bool to_server = true;  // direction of the transfer under way
  bool pending_ack = false;
  uint8_t unacked = 0;
  uint32_t remaining = 0;
  uint32_t message_bytes = 0;  // of the transfer under way
  uint32_t rounds_left = 0;
  // UDP and ICMP
  uint32_t packets_left = 0;
  bool reply_next = false;
  bool video = false;
  uint16_t id = 0;  // DNS id, ICMP echo id
  uint16_t seq = 0;
  uint8_t dns_name = 0;
  bool dns_aaaa = false;
};

struct Host {
  IpAddress v4{};
  IpAddress v6{};
  MacAddress mac{};
  uint16_t vlan = 0;
  uint8_t service = 0;  // index into kTcpServices
};

inline bool IsIpSpec(const FrameSpec& s) {
  return s.l3 == L3Kind::kIpv4 || s.l3 == L3Kind::kIpv6;
}

inline void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}

// length fields (see WriteMessageStart).
constexpr size_t kHttpResponseBase = 77;
constexpr size_t kRespRequestBase = 18;
constexpr size_t kRespResponseBase = 5;

}  // namespace mix

struct TrafficMix::State {
  MixOptions opt;
  mix::Rng rng{0};
  MixSummary summary;
  std::vector<mix::Host> hosts;
  mix::ZipfSampler tcp_servers;
  mix::ZipfSampler clients;
  mix::ZipfSampler icmp_targets;
  std::vector<mix::Flow> flows;
  std::vector<mix::Flow> burst_flows;
  std::deque<FrameSpec> pending;  // fragments, ARP replies; no payload ptr
  uint8_t payload[512] = {};
  // TCP payloads look encrypted: bytes of this noise at the sequence number
  // modulo 64 KiB. (Zeros would decode as bogus Kafka, PostgreSQL, ...)
  std::vector<uint8_t> noise;
  // HTTP bodies: base64 text, no line breaks (so that a body segment whose
  // headers were lost never reads as a header).
  std::vector<uint8_t> text;
  uint8_t message[mix::kLinkMtu] = {};  // first segment of an HTTP/RESP message
  uint64_t emitted = 0;
  double offset_ns = 0;
  uint64_t duration_ns = 0;
  double burst_share = 0;  // of the frames inside the window
  mix::TcpService flash_crowd_service = mix::kFlashCrowdService;
  bool target_is_host = false;
  uint32_t target_host = 0;

  void Init();
  mix::Endpoint HostEndpoint(uint32_t host, bool ipv6);
  mix::Endpoint ExternalEndpoint(bool ipv6, bool flash_crowd);
  uint32_t OtherClient(uint32_t server);
  uint16_t EphemeralPort() {
    return static_cast<uint16_t>(rng.Range(32768, 60999));  // Linux default
  }
  void Finish(mix::Flow& f, bool may_tunnel);
  void MakeTenant(mix::Flow& f);
  void NewFlow(mix::Flow& f, size_t slot);
  void NewTcpFlow(mix::Flow& f, bool flash_crowd);
  FrameSpec Packet(const mix::Flow& f, bool from_client, uint8_t proto);
  void NextPacket(mix::Flow& f, FrameSpec* spec);
  void TcpStep(mix::Flow& f, FrameSpec* spec);
  void Segment(mix::Flow& f, FrameSpec* spec, bool from_client, uint8_t flags,
               uint32_t len);
  void StartRound(mix::Flow& f);
  uint32_t DrawMessage(const mix::Flow& f, bool request);
  void WriteMessageStart(const mix::Flow& f, bool request, FrameSpec* spec);
  void UdpStep(mix::Flow& f, FrameSpec* spec);
  void IcmpStep(mix::Flow& f, FrameSpec* spec);
  void Arp(FrameSpec* spec);
  size_t Damage(uint8_t* frame, size_t len, const FrameSpec& spec,
                const FrameLayout& layout);
};

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_INTERNAL_TRAFFIC_MIX_STATE_H_
