#include "multilog/protocol_names.h"

namespace loupe {
namespace {

constexpr ProtocolNameEntry kProtocols[] = {
    {"icmp", 1},    {"igmp", 2},   {"ipip", 4},      {"tcp", 6},
    {"udp", 17},    {"gre", 47},   {"esp", 50},      {"ah", 51},
    {"icmpv6", 58}, {"ospf", 89},  {"pim", 103},     {"vrrp", 112},
    {"l2tp", 115},  {"sctp", 132}, {"udplite", 136},
};

}  // namespace

std::span<const ProtocolNameEntry> ProtocolNames() { return kProtocols; }

std::string_view ProtocolNameOf(uint8_t number) {
  for (const ProtocolNameEntry& p : kProtocols) {
    if (p.number == number) return p.name;
  }
  return {};
}

std::optional<uint8_t> ProtocolNumberOf(std::string_view name) {
  for (const ProtocolNameEntry& p : kProtocols) {
    if (p.name == name) return p.number;
  }
  return std::nullopt;
}

}  // namespace loupe
