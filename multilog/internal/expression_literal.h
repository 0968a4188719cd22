// The literals of the expression language (multilog/expression.h) as the
// parsers read them from a token: numbers, booleans, strings, IPv4 and IPv6
// addresses and prefixes, MAC addresses and protocol names, before they are
// bound to a column (multilog/internal/literal_binding.h).
//
// Internal to the expression parsers. A Literal views the text of its token,
// which must outlive it; pure functions, thread-safe.
#ifndef LOUPE_MULTILOG_INTERNAL_EXPRESSION_LITERAL_H_
#define LOUPE_MULTILOG_INTERNAL_EXPRESSION_LITERAL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/internal/expression_lexer.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe::internal {

struct Literal {
  enum class Kind : uint8_t {
    kNumber,
    kBool,
    kString,
    kIpv4,
    kIpv6,
    kMac,
    kPrefix4,
    kPrefix6,
  };
  Kind kind = Kind::kNumber;
  size_t offset = 0;
  std::string_view source;
  // kNumber: integers keep their exact magnitude; every number has `number`.
  bool is_integer = false;
  bool negative = false;
  uint64_t magnitude = 0;
  double number = 0;
  std::string_view protocol;  // set when the number was a protocol name
  bool boolean = false;       // kBool
  std::string bytes;          // kString, decoded
  uint8_t address[16] = {};   // kIpv4 (4), kIpv6 (16), kMac (6), prefixes
  uint32_t bits = 0;          // prefixes
};

// "a number", "an IPv4 prefix", ...: what the operator wrote.
std::string_view KindPhrase(const Literal& literal);

// Parses a.b.c.d; on failure returns why ("; expected four numbers...").
std::string ParseIpv4(std::string_view s, uint8_t out[4]);
bool ParseIpv6(std::string_view s, uint8_t out[16]);
bool ParseMac(std::string_view s, uint8_t out[6]);
// Maps an IPv4 address to ::ffff:a.b.c.d.
void MapIpv4(const uint8_t v4[4], uint8_t out[16]);
// Clears the bits after the first `bits` of `bytes`.
void ClearHostBits(uint8_t* bytes, size_t width, uint32_t bits);

// The literal written by `token`, a kString, kWord or kIdent token. `schema`
// (may be null) only improves the message when a field stands where a
// literal belongs.
Result<Literal> DecodeLiteral(const Token& token,
                              const ExpressionErrors& errors,
                              const Schema* schema);

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_EXPRESSION_LITERAL_H_
