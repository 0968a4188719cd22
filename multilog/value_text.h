// A column's value in a record as text: the one encoding of record values
// that the agent's decoded rows (decode=true) and loupectl's tables share.
//
// Two styles:
//   kLiteral  the value as the expression language writes it
//             (multilog/expression.h), so that a decoded row can be pasted
//             into a filter: true/false, integers, floats in their shortest
//             round-trip form ("1.5", "1e+300", "inf", "nan"), addresses
//             (an IPv4-mapped IPv6 address as a.b.c.d), MACs as
//             aa:bb:cc:dd:ee:ff, strings quoted with the language's escapes
//             ('it\'s', \\ \n \t \0 and \xHH for other bytes below 0x20 or
//             from 0x7f), zero padding dropped.
//   kHuman    the value as a person reads it in a table: numbers as above
//             but floats with six significant digits (%g), strings without
//             quotes or padding (bytes below 0x20 and 0x7f as \xHH, '\' as
//             \\, UTF-8 passes through), and in the columns of the packet
//             schema (multilog/packet_schema.h), recognised by name and
//             type: `proto` by name ("tcp", else the number), `tcp_flags` as
//             tcpdump's letters ("S.", "-" for none), `ether_type` by name
//             ("ipv4", else "0x88b5").
// The timestamp column is a u64 like any other here; formatting it as a
// time is the caller's business (multilog knows no time zones).
//
// Pure functions; thread-safe. `record` must hold the whole record of the
// Schema that `column` belongs to.
#ifndef LOUPE_MULTILOG_VALUE_TEXT_H_
#define LOUPE_MULTILOG_VALUE_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/schema.h"

namespace loupe {

enum class ValueStyle : uint8_t { kLiteral, kHuman };

// The value of `column` in `record` in `style`.
std::string ValueText(const Column& column, const uint8_t* record,
                      ValueStyle style);

// The pieces, for callers that lay values out themselves (JSON, top lists).

// 4 bytes: a.b.c.d; 16 bytes: RFC 5952 text, IPv4-mapped ones as a.b.c.d.
std::string AddressText(const uint8_t* bytes, size_t width);
// aa:bb:cc:dd:ee:ff.
std::string MacText(const uint8_t bytes[6]);
// A string column's bytes without the zero padding; views the record.
std::string_view StringBytes(const Column& column, const uint8_t* record);
// 'text' with the expression language's escapes (kLiteral strings).
std::string StringLiteral(std::string_view bytes);
// Text with bytes below 0x20 and 0x7f as \xHH and '\' as \\ (kHuman).
std::string PrintableText(std::string_view bytes);
// "tcp", "udp", ... (multilog/protocol_names.h) or the number.
std::string ProtocolText(uint8_t protocol);
// tcpdump's notation: F S R P U E W for FIN SYN RST PSH URG ECE CWR, '.' for
// ACK; "-" for none. SYN+ACK is "S.".
std::string TcpFlagsText(uint8_t flags);
// "ipv4", "ipv6", "arp", "vlan", "qinq", "lldp" or "0x88cc".
std::string EtherTypeName(uint16_t ether_type);

}  // namespace loupe

#endif  // LOUPE_MULTILOG_VALUE_TEXT_H_
