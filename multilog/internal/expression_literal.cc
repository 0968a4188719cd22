#include "multilog/internal/expression_literal.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "multilog/did_you_mean.h"
#include "multilog/protocol_names.h"

namespace loupe::internal {
namespace {

constexpr std::string_view kExpectedLiteral =
    "a number, an address, a MAC address, a quoted string, true, false or a "
    "protocol name (tcp, udp, icmp...)";

// true, false and the protocol names: the words a literal may be.
const std::vector<std::string_view>& LiteralKeywords() {
  static const std::vector<std::string_view> keywords = [] {
    std::vector<std::string_view> out = {"true", "false"};
    for (const ProtocolNameEntry& p : ProtocolNames()) out.push_back(p.name);
    return out;
  }();
  return keywords;
}

// Parses the groups on one side of "::" into `groups`; an IPv4 tail counts
// as two groups.
bool ParseIpv6Groups(std::string_view s, bool allow_ipv4_tail,
                     std::vector<uint16_t>& groups) {
  if (s.empty()) return true;
  while (true) {
    size_t colon = s.find(':');
    std::string_view part = s.substr(0, colon);
    if (part.empty()) return false;
    if (colon == std::string_view::npos && allow_ipv4_tail &&
        part.find('.') != std::string_view::npos) {
      uint8_t v4[4];
      if (!ParseIpv4(part, v4).empty()) return false;
      groups.push_back(static_cast<uint16_t>(v4[0] << 8 | v4[1]));
      groups.push_back(static_cast<uint16_t>(v4[2] << 8 | v4[3]));
      return true;
    }
    if (part.size() > 4 || !std::all_of(part.begin(), part.end(), IsHex)) {
      return false;
    }
    unsigned value = 0;
    for (char c : part) value = value * 16 + static_cast<unsigned>(HexValue(c));
    groups.push_back(static_cast<uint16_t>(value));
    if (groups.size() > 8) return false;
    if (colon == std::string_view::npos) return true;
    s.remove_prefix(colon + 1);
  }
}

}  // namespace

std::string_view KindPhrase(const Literal& literal) {
  switch (literal.kind) {
    case Literal::Kind::kNumber:
      return literal.protocol.empty() ? "a number" : "a protocol name";
    case Literal::Kind::kBool:
      return "a boolean literal";
    case Literal::Kind::kString:
      return "a string literal";
    case Literal::Kind::kIpv4:
      return "an IPv4 address";
    case Literal::Kind::kIpv6:
      return "an IPv6 address";
    case Literal::Kind::kMac:
      return "a MAC address";
    case Literal::Kind::kPrefix4:
      return "an IPv4 prefix";
    case Literal::Kind::kPrefix6:
      return "an IPv6 prefix";
  }
  return "a literal";
}

std::string ParseIpv4(std::string_view s, uint8_t out[4]) {
  size_t parts = 0;
  while (true) {
    size_t dot = s.find('.');
    std::string_view part = s.substr(0, dot);
    if (parts == 4 || part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), IsDigit)) {
      return "; expected four numbers from 0 to 255 like 10.1.2.3";
    }
    unsigned value = 0;
    for (char c : part) value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 255) {
      return ": " + std::string(part) +
             " is more than 255; expected four numbers from 0 to 255";
    }
    out[parts++] = static_cast<uint8_t>(value);
    if (dot == std::string_view::npos) break;
    s.remove_prefix(dot + 1);
  }
  if (parts != 4) return "; expected four numbers from 0 to 255 like 10.1.2.3";
  return {};
}

bool ParseIpv6(std::string_view s, uint8_t out[16]) {
  const size_t gap = s.find("::");
  std::vector<uint16_t> head;
  std::vector<uint16_t> tail;
  if (gap == std::string_view::npos) {
    if (!ParseIpv6Groups(s, true, head) || head.size() != 8) return false;
  } else {
    if (s.find("::", gap + 1) != std::string_view::npos) return false;
    if (!ParseIpv6Groups(s.substr(0, gap), false, head) ||
        !ParseIpv6Groups(s.substr(gap + 2), true, tail) ||
        head.size() + tail.size() > 7) {
      return false;
    }
  }
  uint16_t groups[8] = {};
  std::copy(head.begin(), head.end(), groups);
  std::copy(tail.begin(), tail.end(), groups + 8 - tail.size());
  for (int i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(groups[i]);
  }
  return true;
}

bool ParseMac(std::string_view s, uint8_t out[6]) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < 6; ++i) {
    char hi = s[3 * i];
    char lo = s[3 * i + 1];
    if (!IsHex(hi) || !IsHex(lo) || (i < 5 && s[3 * i + 2] != ':')) {
      return false;
    }
    out[i] = static_cast<uint8_t>(HexValue(hi) << 4 | HexValue(lo));
  }
  return true;
}

void MapIpv4(const uint8_t v4[4], uint8_t out[16]) {
  std::memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out + 12, v4, 4);
}

void ClearHostBits(uint8_t* bytes, size_t width, uint32_t bits) {
  for (size_t i = 0; i < width; ++i) {
    if (bits >= 8 * (i + 1)) continue;
    uint32_t keep = bits > 8 * i ? bits - 8 * static_cast<uint32_t>(i) : 0;
    bytes[i] &= static_cast<uint8_t>(0xff00u >> keep);
  }
}

namespace {

Status DecodeString(const ExpressionErrors& errors, Literal& literal) {
  literal.kind = Literal::Kind::kString;
  std::string_view body = literal.source.substr(1, literal.source.size() - 2);
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      literal.bytes += body[i];
      continue;
    }
    const size_t at = literal.offset;
    if (i + 1 == body.size()) {
      return errors.At(at,
                       "bad escape at the end of a string; expected a "
                       "character after '\\'");
    }
    const char e = body[++i];
    switch (e) {
      case '\\':
      case '\'':
      case '"':
        literal.bytes += e;
        break;
      case 'n':
        literal.bytes += '\n';
        break;
      case 't':
        literal.bytes += '\t';
        break;
      case '0':
        literal.bytes += '\0';
        break;
      case 'x':
        if (i + 2 < body.size() && IsHex(body[i + 1]) && IsHex(body[i + 2])) {
          literal.bytes += static_cast<char>(HexValue(body[i + 1]) << 4 |
                                             HexValue(body[i + 2]));
          i += 2;
          break;
        }
        return errors.At(at,
                         "bad escape in string; expected \\xHH with two "
                         "hex digits");
      default:
        return errors.At(at,
                         "bad escape '\\" + Printable(body.substr(i, 1)) +
                             "' in string; expected one of \\\\ \\' \\\" \\n "
                             "\\t \\0 \\xHH");
    }
  }
  return Status::Ok();
}

Status ParsePrefix(const ExpressionErrors& errors, Literal& literal,
                   size_t slash) {
  std::string_view w = literal.source;
  std::string_view address = w.substr(0, slash);
  std::string_view bits = w.substr(slash + 1);
  const size_t at = literal.offset;
  uint32_t max_bits = 0;
  if (address.find(':') != std::string_view::npos) {
    literal.kind = Literal::Kind::kPrefix6;
    max_bits = 128;
    if (!ParseIpv6(address, literal.address)) {
      return errors.At(at, "bad IPv6 address '" + Printable(address) +
                               "' in prefix '" + Printable(w) +
                               "'; expected hex groups like 2001:db8::/32");
    }
  } else if (!address.empty() && IsDigit(address.front()) &&
             std::all_of(address.begin(), address.end(),
                         [](char c) { return IsDigit(c) || c == '.'; })) {
    literal.kind = Literal::Kind::kPrefix4;
    max_bits = 32;
    std::string why = ParseIpv4(address, literal.address);
    if (!why.empty()) {
      return errors.At(at, "bad IPv4 address '" + Printable(address) +
                               "' in prefix '" + Printable(w) + "'" + why);
    }
  } else {
    return errors.At(at, "bad prefix '" + Printable(w) +
                             "'; expected an address and a length like "
                             "10.0.0.0/8 or 2001:db8::/32");
  }
  uint32_t n = 0;
  bool ok = !bits.empty() && bits.size() <= 3 &&
            std::all_of(bits.begin(), bits.end(), IsDigit);
  if (ok) {
    for (char c : bits) n = n * 10 + static_cast<uint32_t>(c - '0');
    ok = n <= max_bits;
  }
  if (!ok) {
    return errors.At(at, "bad prefix length '" + Printable(bits) + "' in '" +
                             Printable(w) + "'; expected 0 to " +
                             std::to_string(max_bits));
  }
  literal.bits = n;
  ClearHostBits(literal.address, max_bits / 8, n);
  return Status::Ok();
}

// A MAC address or an IPv6 address.

Status ParseColonWord(const ExpressionErrors& errors, Literal& literal) {
  std::string_view w = literal.source;
  if (ParseMac(w, literal.address)) {
    literal.kind = Literal::Kind::kMac;
    return Status::Ok();
  }
  if (ParseIpv6(w, literal.address)) {
    literal.kind = Literal::Kind::kIpv6;
    return Status::Ok();
  }
  // Five to seven groups of one or two digits, no "::": meant as a MAC.
  const auto colons = std::count(w.begin(), w.end(), ':');
  bool mac_like = colons >= 4 && colons <= 6;
  size_t group = 0;
  for (size_t i = 0; i <= w.size(); ++i) {
    if (i == w.size() || w[i] == ':') {
      if (group == 0) mac_like = false;
      group = 0;
    } else if (++group > 2) {
      mac_like = false;
    }
  }
  if (mac_like) {
    return errors.At(literal.offset,
                     "bad MAC address '" + Printable(w) +
                         "'; expected six hex bytes like aa:bb:cc:dd:ee:ff");
  }
  return errors.At(literal.offset,
                   "bad IPv6 address '" + Printable(w) +
                       "'; expected hex groups like 2001:db8::1 or ::1");
}

// true, false, a protocol name, or an error.

Status ParseKeyword(const ExpressionErrors& errors, const Schema* schema,
                    Literal& literal) {
  std::string word = Lower(literal.source);
  if (word == "true" || word == "false") {
    literal.kind = Literal::Kind::kBool;
    literal.boolean = word == "true";
    return Status::Ok();
  }
  if (std::optional<uint8_t> number = ProtocolNumberOf(word)) {
    literal.kind = Literal::Kind::kNumber;
    literal.is_integer = true;
    literal.magnitude = *number;
    literal.number = *number;
    literal.protocol = ProtocolNameOf(*number);
    return Status::Ok();
  }
  const std::string shown = Printable(literal.source);
  if (schema != nullptr && schema->Find(literal.source) != nullptr) {
    return errors.At(literal.offset,
                     "unexpected field '" + shown +
                         "'; expected a literal (comparing two fields is not "
                         "supported)");
  }
  const std::string close = Closest(word, LiteralKeywords());
  if (!close.empty()) {
    return errors.At(literal.offset, "unknown literal '" + shown +
                                         "'; did you mean '" + close + "'?");
  }
  return errors.At(literal.offset, "unknown literal '" + shown +
                                       "'; expected " +
                                       std::string(kExpectedLiteral));
}

Status ParseNumber(const ExpressionErrors& errors, Literal& literal) {
  std::string_view s = literal.source;
  const std::string bad = "bad number '" + Printable(s) +
                          "'; expected a decimal, hex (0x1f) or float "
                          "(1.5, 1e6) number";
  literal.kind = Literal::Kind::kNumber;
  if (!s.empty() && s.front() == '-') {
    literal.negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || !(IsDigit(s.front()) || s.front() == '.')) {
    return errors.At(literal.offset, bad);
  }
  const char* end = s.data() + s.size();
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    auto [ptr, ec] = std::from_chars(s.data() + 2, end, literal.magnitude, 16);
    if (ec == std::errc::result_out_of_range) {
      return errors.At(literal.offset, "number '" + Printable(literal.source) +
                                           "' is too large; expected at most "
                                           "64 bits");
    }
    if (ec != std::errc() || ptr != end) return errors.At(literal.offset, bad);
    literal.is_integer = true;
  } else if (std::all_of(s.begin(), s.end(), IsDigit)) {
    auto [ptr, ec] = std::from_chars(s.data(), end, literal.magnitude, 10);
    literal.is_integer = ec == std::errc();
  }
  if (literal.is_integer) {
    literal.number = static_cast<double>(literal.magnitude);
  } else {
    auto [ptr, ec] = std::from_chars(s.data(), end, literal.number);
    if (ec == std::errc::result_out_of_range) {
      return errors.At(literal.offset,
                       "number '" + Printable(literal.source) +
                           "' is out of range; expected a magnitude from "
                           "2.2e-308 to 1.8e308");
    }
    if (ec != std::errc() || ptr != end || !std::isfinite(literal.number)) {
      return errors.At(literal.offset, bad);
    }
  }
  if (literal.negative) literal.number = -literal.number;
  return Status::Ok();
}

Status ClassifyWord(const ExpressionErrors& errors, const Schema* schema,
                    Literal& literal) {
  std::string_view w = literal.source;
  const size_t at = literal.offset;
  const size_t slash = w.find('/');
  if (slash != std::string_view::npos)
    return ParsePrefix(errors, literal, slash);
  if (w.find(':') != std::string_view::npos)
    return ParseColonWord(errors, literal);
  if (IsLetter(w.front())) return ParseKeyword(errors, schema, literal);
  if (IsDigit(w.front()) && std::count(w.begin(), w.end(), '.') >= 2) {
    literal.kind = Literal::Kind::kIpv4;
    std::string why = ParseIpv4(w, literal.address);
    if (!why.empty()) {
      return errors.At(at, "bad IPv4 address '" + Printable(w) + "'" + why);
    }
    return Status::Ok();
  }
  return ParseNumber(errors, literal);
}

}  // namespace

Result<Literal> DecodeLiteral(const Token& token,
                              const ExpressionErrors& errors,
                              const Schema* schema) {
  Literal literal;
  literal.offset = token.offset;
  literal.source = token.text;
  if (token.kind == Tok::kString) {
    LOUPE_RETURN_IF_ERROR(DecodeString(errors, literal));
  } else {
    LOUPE_RETURN_IF_ERROR(ClassifyWord(errors, schema, literal));
  }
  return literal;
}

}  // namespace loupe::internal
