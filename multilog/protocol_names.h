// IP protocol names: the one table that the expression language reads
// (`proto == tcp`) and that every layer writes records with ("tcp" in
// loupectl's tables and JSON). A name here is a literal of the expression
// language, so the two can never disagree.
//
// Constant data and pure functions; thread-safe.
#ifndef LOUPE_MULTILOG_PROTOCOL_NAMES_H_
#define LOUPE_MULTILOG_PROTOCOL_NAMES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace loupe {

struct ProtocolNameEntry {
  std::string_view name;
  uint8_t number;
};

// icmp igmp ipip tcp udp gre esp ah icmpv6 ospf pim vrrp l2tp sctp udplite.
std::span<const ProtocolNameEntry> ProtocolNames();

// "tcp" for 6; "" for a number without a name.
std::string_view ProtocolNameOf(uint8_t number);
// 6 for "tcp" (exact, lower case); nullopt for anything else.
std::optional<uint8_t> ProtocolNumberOf(std::string_view name);

}  // namespace loupe

#endif  // LOUPE_MULTILOG_PROTOCOL_NAMES_H_
