// Fuzz target for the header parser. Each input is parsed twice:
//   1. as a frame, byte for byte;
//   2. as edits of one of a few valid template frames (Ethernet/VLAN,
//      IPv4 with options and fragments, IPv6 with an extension chain,
//      TCP/UDP/ICMP, VXLAN): byte 0 picks the template; byte 1, if its top
//      bit is set, how many bytes (0-127) to cut off its end; each
//      following pair (position, value) XORs a byte. Mutations of valid frames
//      reach the deep paths even from the seed corpus of
//      tests/fuzz/fuzz_driver.cc, which is text.
// Every frame is copied into a heap buffer of exactly its length, so a read
// past the end trips AddressSanitizer. Nothing may crash, hang or trip a
// sanitizer, and the invariants in Check must hold; a violation aborts.
//
// Built twice: with GCC and tests/fuzz/fuzz_driver.cc (a bounded,
// deterministic campaign in the stress suite), and with clang++
// -fsanitize=fuzzer as a real libFuzzer binary run by scripts/test.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/packet_parser.h"
#include "multilog/packet_schema.h"

namespace loupe::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

void Require(bool condition, const char* what, const uint8_t* frame,
             size_t len) {
  if (condition) return;
  std::fprintf(stderr,
               "packet_parser_fuzz: invariant broken: %s\nframe:", what);
  for (size_t i = 0; i < len && i < 256; ++i) {
    std::fprintf(stderr, " %02x", frame[i]);
  }
  std::fprintf(stderr, "\n");
  std::abort();
}

constexpr uint64_t kTimestamp = 0x1122334455667788ull;
constexpr uint16_t kPort = 0xbeef;

void Check(const uint8_t* frame, size_t len) {
  PacketRecord record;
  std::memset(&record, 0x5a, sizeof(record));
  record.timestamp = kTimestamp;
  record.port = kPort;
  const ParseResult result =
      ParsePacket(frame, static_cast<uint32_t>(len), &record);
  Require(static_cast<size_t>(result) < kNumParseResults, "result in range",
          frame, len);
  Require(std::strcmp(ParseResultName(result), "unknown") != 0,
          "result has a name", frame, len);
  if (result != ParseResult::kOk) {
    Require(len >= 14 || result == ParseResult::kRunt, "runt iff short", frame,
            len);
    return;
  }
  const PacketRecord& r = record;
  Require(len >= 14, "a record needs an Ethernet header", frame, len);
  Require(r.timestamp == kTimestamp && r.port == kPort,
          "timestamp and port untouched", frame, len);
  Require(r.frame_len == (len < 65535 ? len : 65535), "frame_len", frame, len);
  Require(r.reserved == 0, "reserved is zero", frame, len);
  Require((r.flags &
           ~(kPacketIpv4 | kPacketIpv6 | kPacketFragment | kPacketVxlan)) == 0,
          "known flags only", frame, len);
  const bool v4 = (r.flags & kPacketIpv4) != 0;
  const bool v6 = (r.flags & kPacketIpv6) != 0;
  Require(!(v4 && v6), "IPv4 or IPv6, not both", frame, len);
  Require(!v4 || r.ether_type == 0x0800, "IPv4 has its EtherType", frame, len);
  Require(!v6 || r.ether_type == 0x86dd, "IPv6 has its EtherType", frame, len);
  Require(v4 || v6 || (r.ether_type != 0x0800 && r.ether_type != 0x86dd),
          "an IP EtherType gives an IP record", frame, len);
  Require(v4 || v6 || (r.flags & kPacketFragment) == 0, "only IP has fragments",
          frame, len);
  Require((r.flags & kPacketVxlan) != 0 || r.vni == 0, "vni only for VXLAN",
          frame, len);
  Require(r.vni < (1u << 24), "vni has 24 bits", frame, len);
  Require(r.vlan < 4096, "vlan has 12 bits", frame, len);
  static constexpr uint8_t kZero[16] = {};
  if (!v4 && !v6) {
    Require(std::memcmp(r.src_ip, kZero, 16) == 0 &&
                std::memcmp(r.dst_ip, kZero, 16) == 0 && r.src_port == 0 &&
                r.dst_port == 0 && r.ip_len == 0 && r.proto == 0 &&
                r.tcp_flags == 0 && r.ttl == 0 && r.tos == 0,
            "non-IP records have no IP fields", frame, len);
  }
  if (v4) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0,    0,
                                            0, 0, 0, 0, 0xff, 0xff};
    Require(std::memcmp(r.src_ip, kMapped, 12) == 0 &&
                std::memcmp(r.dst_ip, kMapped, 12) == 0,
            "IPv4 addresses are IPv4-mapped", frame, len);
    Require(r.ip_len >= 20, "IPv4 total length covers the header", frame, len);
  }
  if (v6) Require(r.ip_len >= 40, "IPv6 ip_len covers the header", frame, len);
  if (r.proto != 6) Require(r.tcp_flags == 0, "TCP flags of TCP", frame, len);
  if (r.proto == 1 || r.proto == 58) {
    Require(r.src_port < 256 && r.dst_port < 256, "ICMP type and code", frame,
            len);
  }

  // Deterministic, and the same whatever the record held before.
  PacketRecord again;
  std::memset(&again, 0xc3, sizeof(again));
  again.timestamp = kTimestamp;
  again.port = kPort;
  Require(ParsePacket(frame, static_cast<uint32_t>(len), &again) == result &&
              std::memcmp(&again, &record, sizeof(record)) == 0,
          "deterministic", frame, len);
}

void CheckExact(const uint8_t* data, size_t len) {
  auto copy = std::make_unique<uint8_t[]>(len);
  if (len != 0) std::memcpy(copy.get(), data, len);
  Check(copy.get(), len);
}

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void Append(Bytes& b, const Bytes& tail) {
  b.insert(b.end(), tail.begin(), tail.end());
}

Bytes Ether(uint16_t type, const Bytes& payload, int tags = 0) {
  Bytes b = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  if (tags >= 1) Append(b, {0x88, 0xa8, 0x00, 0x64});
  if (tags >= 2) Append(b, {0x81, 0x00, 0x00, 0xc8});
  Put16(b, type);
  Append(b, payload);
  return b;
}

Bytes Ipv4(uint8_t proto, const Bytes& payload, uint16_t fragment = 0,
           size_t option_bytes = 0) {
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x45 + option_bytes / 4));
  b.push_back(0x10);
  Put16(b, static_cast<uint16_t>(20 + option_bytes + payload.size()));
  Put16(b, 0x1234);
  Put16(b, fragment);
  Append(b, {64, proto, 0, 0, 10, 0, 0, 1, 192, 168, 1, 2});
  b.resize(b.size() + option_bytes, 0x01);
  Append(b, payload);
  return b;
}

Bytes Ipv6(uint8_t next, const Bytes& payload) {
  Bytes b = {0x60, 0x0a, 0xbc, 0xde};
  Put16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(64);
  for (int i = 0; i < 32; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  Append(b, payload);
  return b;
}

Bytes Tcp(size_t data = 0) {
  static constexpr uint8_t kHeader[20] = {0x9c, 0x40, 0x01, 0xbb, 0, 0,    0,
                                          1,    0,    0,    0,    2, 0x50, 0x12,
                                          0xff, 0xff, 0,    0,    0, 0};
  Bytes b(sizeof(kHeader) + data, 'x');
  std::memcpy(b.data(), kHeader, sizeof(kHeader));
  return b;
}

Bytes Udp(uint16_t dst, const Bytes& payload) {
  Bytes b = {0xc0, 0x00};
  Put16(b, dst);
  Put16(b, static_cast<uint16_t>(8 + payload.size()));
  Put16(b, 0);
  Append(b, payload);
  return b;
}

Bytes Vxlan(const Bytes& inner) {
  static constexpr uint8_t kHeader[8] = {0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0};
  Bytes b(sizeof(kHeader) + inner.size());
  std::memcpy(b.data(), kHeader, sizeof(kHeader));
  std::copy(inner.begin(), inner.end(), b.begin() + sizeof(kHeader));
  return b;
}

std::vector<Bytes> MakeTemplates() {
  const Bytes icmp = {8, 0, 0, 0, 0, 1, 0, 1};
  // hop-by-hop -> destination options -> routing -> fragment -> AH -> TCP
  Bytes chain = {60, 0, 0, 0, 0, 0, 0, 0};
  Append(chain, {43, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  Append(chain, {44, 0, 0, 0, 0, 0, 0, 0});
  Append(chain, {51, 0, 0, 1, 0, 0, 0, 9});
  Append(chain, {6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  Append(chain, Tcp(4));
  return {
      Ether(0x0800, Ipv4(6, Tcp(8))),
      Ether(0x0800, Ipv4(6, Tcp(), 0x2000, 8), 2),
      Ether(0x0800, Ipv4(17, Udp(53, Bytes(12, 0)), 0x00b9)),
      Ether(0x0800, Ipv4(1, icmp), 1),
      Ether(0x86dd, Ipv6(6, Tcp(4))),
      Ether(0x86dd, Ipv6(0, chain), 1),
      Ether(0x86dd, Ipv6(58, icmp)),
      Ether(0x0800,
            Ipv4(17, Udp(kVxlanPort, Vxlan(Ether(0x0800, Ipv4(6, Tcp(2))))))),
      Ether(0x86dd,
            Ipv6(17, Udp(kVxlanPort,
                         Vxlan(Ether(0x86dd, Ipv6(17, Udp(9, {})), 2)))),
            1),
      Ether(0x0806, Bytes(28, 0x11)),
  };
}

}  // namespace
}  // namespace loupe::dataplane

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loupe::dataplane;
  static const std::vector<Bytes> templates = MakeTemplates();
  CheckExact(data, size);
  if (size < 2) return 0;
  Bytes frame = templates[data[0] % templates.size()];
  for (size_t i = 2; i + 1 < size; i += 2) {
    frame[data[i] % frame.size()] ^= data[i + 1];
  }
  if ((data[1] & 0x80) != 0) {
    // Cut from the end (erase never grows, which GCC at -O1 cannot see of
    // resize).
    const size_t cut = std::min<size_t>(data[1] & 0x7f, frame.size());
    frame.erase(frame.end() - static_cast<std::ptrdiff_t>(cut), frame.end());
  }
  CheckExact(frame.data(), frame.size());
  return 0;
}
