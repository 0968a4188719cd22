#include "multilog/expression.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace loupe {
namespace {

// --- Characters and text ----------------------------------------------------

bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}
char ToLower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  return ToLower(c) - 'a' + 10;
}

// `s` fit for an error message: unprintable bytes as \xNN, cut at `limit`
// characters.
std::string Printable(std::string_view s, size_t limit = 32) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHexDigits[c >> 4];
      out += kHexDigits[c & 15];
    }
  }
  return out;
}

// "line:column" of a byte offset, both 1-based.
std::string Position(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(offset - line_start + 1);
}

// Edit distance ignoring ASCII case, counting a swap of two neighbours as
// one edit ("tpc" is one edit from "tcp"); the inputs are short names.
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t width = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * width);
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * width + j]; };
  for (size_t i = 0; i <= a.size(); ++i) at(i, 0) = i;
  for (size_t j = 0; j <= b.size(); ++j) at(0, j) = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = ToLower(a[i - 1]) == ToLower(b[j - 1]);
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1,
                           at(i - 1, j - 1) + (same ? 0 : 1)});
      if (i > 1 && j > 1 && ToLower(a[i - 1]) == ToLower(b[j - 2]) &&
          ToLower(a[i - 2]) == ToLower(b[j - 1])) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(a.size(), b.size());
}

// The candidate within max(1, |query| / 3) edits of `query`, or "".
template <typename Range>
std::string_view ClosestName(std::string_view query, const Range& names) {
  if (query.empty() || query.size() > 64) return {};
  const size_t limit = std::max<size_t>(1, query.size() / 3);
  std::string_view best;
  size_t best_distance = limit + 1;
  for (std::string_view name : names) {
    size_t distance = EditDistance(query, name);
    if (distance < best_distance) {
      best = name;
      best_distance = distance;
    }
  }
  return best;
}

// --- Vocabulary -------------------------------------------------------------

struct Protocol {
  std::string_view name;
  uint8_t number;
};
constexpr Protocol kProtocols[] = {
    {"icmp", 1},    {"igmp", 2},   {"ipip", 4},      {"tcp", 6},
    {"udp", 17},    {"gre", 47},   {"esp", 50},      {"ah", 51},
    {"icmpv6", 58}, {"ospf", 89},  {"pim", 103},     {"vrrp", 112},
    {"l2tp", 115},  {"sctp", 132}, {"udplite", 136},
};

constexpr std::string_view kLiteralKeywords[] = {
    "true", "false",  "icmp", "igmp", "ipip", "tcp",  "udp",  "gre",     "esp",
    "ah",   "icmpv6", "ospf", "pim",  "vrrp", "l2tp", "sctp", "udplite",
};

constexpr std::string_view kAggregateNames[] = {
    "COUNT", "SUM", "MIN", "MAX", "HIST", "P50", "P90", "P99", "QUANTILE",
};

constexpr std::string_view kExpectedLiteral =
    "a number, an address, a MAC address, a quoted string, true, false or a "
    "protocol name (tcp, udp, icmp...)";

bool IsUnsigned(ColumnType t) {
  return t == ColumnType::kU8 || t == ColumnType::kU16 ||
         t == ColumnType::kU32 || t == ColumnType::kU64;
}
bool IsSigned(ColumnType t) {
  return t == ColumnType::kI8 || t == ColumnType::kI16 ||
         t == ColumnType::kI32 || t == ColumnType::kI64;
}
bool IsNumeric(ColumnType t) {
  return t == ColumnType::kBool || IsUnsigned(t) || IsSigned(t) ||
         t == ColumnType::kF32 || t == ColumnType::kF64;
}

// "u16", "ipv6", "string(16)".
std::string TypeName(const Column& column) {
  std::string name(ColumnTypeName(column.type));
  if (column.type == ColumnType::kString) {
    name += "(" + std::to_string(column.width) + ")";
  }
  return name;
}

// --- Tokens -----------------------------------------------------------------

enum class Tok : uint8_t {
  kEnd,
  kIdent,   // [A-Za-z_][A-Za-z0-9_]*
  kWord,    // a number, address or prefix (or garbage that looks like one)
  kString,  // '...' or "...", quotes included in the text
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kNot,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kComma,
  kInvalid,  // `problem` says what is wrong
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t offset = 0;
  std::string_view text;
  std::string problem;  // kInvalid
};

bool IsCompareOp(Tok t) {
  return t == Tok::kEq || t == Tok::kNe || t == Tok::kLt || t == Tok::kLe ||
         t == Tok::kGt || t == Tok::kGe;
}

CompareOp ToCompareOp(Tok t) {
  switch (t) {
    case Tok::kNe:
      return CompareOp::kNe;
    case Tok::kLt:
      return CompareOp::kLt;
    case Tok::kLe:
      return CompareOp::kLe;
    case Tok::kGt:
      return CompareOp::kGt;
    case Tok::kGe:
      return CompareOp::kGe;
    default:
      return CompareOp::kEq;
  }
}

// Two modes: where a literal may stand, a run such as `fe80::1` or
// `aa:bb:cc:dd:ee:ff` is one word even though it starts with letters.
enum class Mode : uint8_t { kNormal, kLiteral };

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token Next(Mode mode) {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
    Token token;
    token.offset = pos_;
    if (pos_ == text_.size()) return token;  // kEnd
    const size_t start = pos_;
    const char c = text_[pos_];
    auto make = [&](Tok kind, size_t length) {
      pos_ += length;
      token.kind = kind;
      token.text = text_.substr(start, length);
      return token;
    };
    auto next_is = [&](char expected) {
      return pos_ + 1 < text_.size() && text_[pos_ + 1] == expected;
    };
    if (c == '\'' || c == '"') return String(token);
    if (mode == Mode::kLiteral &&
        (IsLetter(c) || IsDigit(c) || c == '.' || c == ':' || c == '-')) {
      return make(Tok::kWord, WordLength());
    }
    if (IsLetter(c)) {
      size_t end = pos_ + 1;
      while (end < text_.size() &&
             (IsLetter(text_[end]) || IsDigit(text_[end])))
        ++end;
      return make(Tok::kIdent, end - pos_);
    }
    if (IsDigit(c) || c == '.' || c == ':' || c == '-') {
      return make(Tok::kWord, WordLength());
    }
    switch (c) {
      case '=':
        if (next_is('=')) return make(Tok::kEq, 2);
        token.problem = "unexpected '='; did you mean '=='?";
        return make(Tok::kInvalid, 1);
      case '!':
        return next_is('=') ? make(Tok::kNe, 2) : make(Tok::kNot, 1);
      case '<':
        return next_is('=') ? make(Tok::kLe, 2) : make(Tok::kLt, 1);
      case '>':
        return next_is('=') ? make(Tok::kGe, 2) : make(Tok::kGt, 1);
      case '&':
        if (next_is('&')) return make(Tok::kAnd, 2);
        token.problem = "unexpected '&'; did you mean '&&'?";
        return make(Tok::kInvalid, 1);
      case '|':
        if (next_is('|')) return make(Tok::kOr, 2);
        token.problem = "unexpected '|'; did you mean '||'?";
        return make(Tok::kInvalid, 1);
      case '(':
        return make(Tok::kLParen, 1);
      case ')':
        return make(Tok::kRParen, 1);
      case '{':
        return make(Tok::kLBrace, 1);
      case '}':
        return make(Tok::kRBrace, 1);
      case ',':
        return make(Tok::kComma, 1);
      default:
        token.problem =
            "unexpected character '" + Printable(text_.substr(pos_, 1)) + "'";
        return make(Tok::kInvalid, 1);
    }
  }

 private:
  // A quoted string; the token text keeps the quotes and escapes.
  Token String(Token& token) {
    const char quote = text_[pos_];
    size_t end = pos_ + 1;
    while (end < text_.size() && text_[end] != quote) {
      end += text_[end] == '\\' ? 2 : 1;
    }
    if (end >= text_.size()) {
      token.kind = Tok::kInvalid;
      token.text = text_.substr(pos_);
      token.problem = std::string("unterminated string; expected a closing ") +
                      (quote == '"' ? "'\"'" : "\"'\"");
      pos_ = text_.size();
      return token;
    }
    token.kind = Tok::kString;
    token.text = text_.substr(pos_, end + 1 - pos_);
    pos_ = end + 1;
    return token;
  }

  // Length of the word at pos_: letters, digits, '_', '.', ':', '/', a
  // leading '-', and a sign after the exponent of a decimal number (1e-6).
  size_t WordLength() const {
    size_t end = pos_;
    if (text_[end] == '-') ++end;
    while (end < text_.size()) {
      char c = text_[end];
      if (IsLetter(c) || IsDigit(c) || c == '.' || c == ':' || c == '/') {
        ++end;
        continue;
      }
      if ((c == '+' || c == '-') && (ToLower(text_[end - 1]) == 'e') &&
          IsDecimalMantissa(text_.substr(pos_, end - 1 - pos_))) {
        ++end;
        continue;
      }
      break;
    }
    return end - pos_;
  }

  // "-1.5", "2", ".5": what may stand before the 'e' of an exponent.
  static bool IsDecimalMantissa(std::string_view s) {
    if (!s.empty() && s.front() == '-') s.remove_prefix(1);
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return IsDigit(c) || c == '.'; }) &&
           std::any_of(s.begin(), s.end(), IsDigit);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// --- Literals ---------------------------------------------------------------

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

// Parses a.b.c.d; on failure returns why.
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

// Maps an IPv4 address to ::ffff:a.b.c.d.
void MapIpv4(const uint8_t v4[4], uint8_t out[16]) {
  std::memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out + 12, v4, 4);
}

// Clears the bits after the first `bits` of `bytes`.
void ClearHostBits(uint8_t* bytes, size_t width, uint32_t bits) {
  for (size_t i = 0; i < width; ++i) {
    if (bits >= 8 * (i + 1)) continue;
    uint32_t keep = bits > 8 * i ? bits - 8 * static_cast<uint32_t>(i) : 0;
    bytes[i] &= static_cast<uint8_t>(0xff00u >> keep);
  }
}

// --- The parser shared by the three languages -------------------------------

class Parser {
 public:
  Parser(std::string_view language, std::string_view text, const Schema* schema)
      : language_(language), text_(text), schema_(schema), lexer_(text) {}

 protected:
  Status Error(size_t offset, std::string_view message) const {
    std::string out(language_);
    out += ' ';
    out += Position(text_, offset);
    out += ": ";
    out += message;
    return Status::InvalidArgument(std::move(out));
  }

  // "unexpected ')'; expected X" or "expected X, found end of input".
  Status Unexpected(const Token& token, std::string_view expected) const {
    if (token.kind == Tok::kEnd) {
      return Error(token.offset, "expected " + std::string(expected) +
                                     ", found end of input");
    }
    if (token.kind == Tok::kInvalid) {
      if (token.problem.find("; ") != std::string::npos) {
        return Error(token.offset, token.problem);
      }
      return Error(token.offset,
                   token.problem + "; expected " + std::string(expected));
    }
    return Error(token.offset, "unexpected " + Describe(token) + "; expected " +
                                   std::string(expected));
  }

  static std::string Describe(const Token& token) {
    if (token.kind == Tok::kEnd) return "end of input";
    return "'" + Printable(token.text) + "'";
  }

  Status CheckLength() const {
    if (text_.size() > kMaxExpressionBytes) {
      return Error(0, "expression is " + std::to_string(text_.size()) +
                          " bytes long; expected at most " +
                          std::to_string(kMaxExpressionBytes));
    }
    return Status::Ok();
  }

  void Advance(Mode mode = Mode::kNormal) { token_ = lexer_.Next(mode); }

  // The column named by the identifier token_, or an error with a
  // suggestion.
  Result<const Column*> FindColumn() const {
    const Column* column = schema_->Find(token_.text);
    if (column != nullptr) return column;
    std::string message = "unknown field '" + Printable(token_.text) + "'";
    // Column names have at most 64 characters: a longer word is no typo of
    // one, and the edit distance would cost its length times theirs.
    std::string suggestion =
        token_.text.size() <= 80 ? schema_->Suggest(token_.text) : "";
    if (!suggestion.empty()) {
      message += "; did you mean '" + suggestion + "'?";
    } else {
      message += "; expected one of ";
      const auto& columns = schema_->columns();
      for (size_t i = 0; i < columns.size() && i < 12; ++i) {
        if (i > 0) message += ", ";
        message += columns[i].name;
      }
      if (columns.size() > 12) message += ", ...";
    }
    return Error(token_.offset, message);
  }

  // The literal in token_ (not consumed); `context` completes "expected a
  // literal ...".
  Result<Literal> ReadLiteral(std::string_view context) const {
    Literal literal;
    literal.offset = token_.offset;
    literal.source = token_.text;
    if (token_.kind == Tok::kString) {
      LOUPE_RETURN_IF_ERROR(DecodeString(literal));
      return literal;
    }
    if (token_.kind != Tok::kWord && token_.kind != Tok::kIdent) {
      return Unexpected(token_, "a literal " + std::string(context));
    }
    LOUPE_RETURN_IF_ERROR(ClassifyWord(literal));
    return literal;
  }

  std::string_view language_;
  std::string_view text_;
  const Schema* schema_;
  Lexer lexer_;
  Token token_;

 private:
  Status DecodeString(Literal& literal) const {
    literal.kind = Literal::Kind::kString;
    std::string_view body = literal.source.substr(1, literal.source.size() - 2);
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] != '\\') {
        literal.bytes += body[i];
        continue;
      }
      const size_t at = literal.offset;
      if (i + 1 == body.size()) {
        return Error(at,
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
          return Error(at,
                       "bad escape in string; expected \\xHH with two "
                       "hex digits");
        default:
          return Error(at, "bad escape '\\" + Printable(body.substr(i, 1)) +
                               "' in string; expected one of \\\\ \\' \\\" \\n "
                               "\\t \\0 \\xHH");
      }
    }
    return Status::Ok();
  }

  Status ClassifyWord(Literal& literal) const {
    std::string_view w = literal.source;
    const size_t at = literal.offset;
    const size_t slash = w.find('/');
    if (slash != std::string_view::npos) return ParsePrefix(literal, slash);
    if (w.find(':') != std::string_view::npos) return ParseColonWord(literal);
    if (IsLetter(w.front())) return ParseKeyword(literal);
    if (IsDigit(w.front()) && std::count(w.begin(), w.end(), '.') >= 2) {
      literal.kind = Literal::Kind::kIpv4;
      std::string why = ParseIpv4(w, literal.address);
      if (!why.empty()) {
        return Error(at, "bad IPv4 address '" + Printable(w) + "'" + why);
      }
      return Status::Ok();
    }
    return ParseNumber(literal);
  }

  Status ParsePrefix(Literal& literal, size_t slash) const {
    std::string_view w = literal.source;
    std::string_view address = w.substr(0, slash);
    std::string_view bits = w.substr(slash + 1);
    const size_t at = literal.offset;
    uint32_t max_bits = 0;
    if (address.find(':') != std::string_view::npos) {
      literal.kind = Literal::Kind::kPrefix6;
      max_bits = 128;
      if (!ParseIpv6(address, literal.address)) {
        return Error(at, "bad IPv6 address '" + Printable(address) +
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
        return Error(at, "bad IPv4 address '" + Printable(address) +
                             "' in prefix '" + Printable(w) + "'" + why);
      }
    } else {
      return Error(at, "bad prefix '" + Printable(w) +
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
      return Error(at, "bad prefix length '" + Printable(bits) + "' in '" +
                           Printable(w) + "'; expected 0 to " +
                           std::to_string(max_bits));
    }
    literal.bits = n;
    ClearHostBits(literal.address, max_bits / 8, n);
    return Status::Ok();
  }

  // A MAC address or an IPv6 address.
  Status ParseColonWord(Literal& literal) const {
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
      return Error(literal.offset,
                   "bad MAC address '" + Printable(w) +
                       "'; expected six hex bytes like aa:bb:cc:dd:ee:ff");
    }
    return Error(literal.offset,
                 "bad IPv6 address '" + Printable(w) +
                     "'; expected hex groups like 2001:db8::1 or ::1");
  }

  // true, false, a protocol name, or an error.
  Status ParseKeyword(Literal& literal) const {
    std::string word = Lower(literal.source);
    if (word == "true" || word == "false") {
      literal.kind = Literal::Kind::kBool;
      literal.boolean = word == "true";
      return Status::Ok();
    }
    for (const Protocol& p : kProtocols) {
      if (word == p.name) {
        literal.kind = Literal::Kind::kNumber;
        literal.is_integer = true;
        literal.magnitude = p.number;
        literal.number = p.number;
        literal.protocol = p.name;
        return Status::Ok();
      }
    }
    const std::string shown = Printable(literal.source);
    if (schema_ != nullptr && schema_->Find(literal.source) != nullptr) {
      return Error(literal.offset,
                   "unexpected field '" + shown +
                       "'; expected a literal (comparing two fields is not "
                       "supported)");
    }
    std::string_view close = ClosestName(word, kLiteralKeywords);
    if (!close.empty()) {
      return Error(literal.offset, "unknown literal '" + shown +
                                       "'; did you mean '" +
                                       std::string(close) + "'?");
    }
    return Error(literal.offset, "unknown literal '" + shown + "'; expected " +
                                     std::string(kExpectedLiteral));
  }

  Status ParseNumber(Literal& literal) const {
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
      return Error(literal.offset, bad);
    }
    const char* end = s.data() + s.size();
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      auto [ptr, ec] =
          std::from_chars(s.data() + 2, end, literal.magnitude, 16);
      if (ec == std::errc::result_out_of_range) {
        return Error(literal.offset, "number '" + Printable(literal.source) +
                                         "' is too large; expected at most "
                                         "64 bits");
      }
      if (ec != std::errc() || ptr != end) return Error(literal.offset, bad);
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
        return Error(literal.offset,
                     "number '" + Printable(literal.source) +
                         "' is out of range; expected a magnitude from "
                         "2.2e-308 to 1.8e308");
      }
      if (ec != std::errc() || ptr != end || !std::isfinite(literal.number)) {
        return Error(literal.offset, bad);
      }
    }
    if (literal.negative) literal.number = -literal.number;
    return Status::Ok();
  }
};

// --- Binding literals to columns ---------------------------------------------

template <typename T>
std::vector<uint8_t> Encode(T value) {
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

class FilterParser : public Parser {
 public:
  FilterParser(const Schema& schema, std::string_view text)
      : Parser("filter", text, &schema) {}

  Result<BoundFilter> Parse() {
    LOUPE_RETURN_IF_ERROR(CheckLength());
    Advance();
    if (token_.kind == Tok::kEnd) {
      return Error(token_.offset,
                   "empty filter; expected a condition such as "
                   "'dst_port == 443'");
    }
    Result<uint32_t> root = ParseOr(0);
    if (!root.ok()) return root.status();
    if (token_.kind != Tok::kEnd) {
      return Unexpected(token_, "'&&', '||' or end of input");
    }
    BoundFilter bound;
    bound.text = std::string(text_);
    bound.nodes.reserve(nodes_.size());
    CopyPreorder(*root, bound.nodes);
    return bound;
  }

 private:
  Result<uint32_t> ParseOr(int depth) {
    return ParseChain(depth, Tok::kOr, FilterNode::Kind::kOr);
  }

  // or := and ('||' and)*; and := unary ('&&' unary)*.
  Result<uint32_t> ParseChain(int depth, Tok separator, FilterNode::Kind kind) {
    std::vector<uint32_t> operands;
    while (true) {
      Result<uint32_t> operand =
          kind == FilterNode::Kind::kOr
              ? ParseChain(depth, Tok::kAnd, FilterNode::Kind::kAnd)
              : ParseUnary(depth);
      if (!operand.ok()) return operand.status();
      FilterNode& node = nodes_[*operand];
      if (node.kind == kind) {
        // (a || b) || c: one node with three children.
        operands.insert(operands.end(), node.children.begin(),
                        node.children.end());
      } else {
        operands.push_back(*operand);
      }
      if (token_.kind != separator) break;
      Advance();
    }
    if (operands.size() == 1) return operands.front();
    FilterNode node;
    node.kind = kind;
    node.children = std::move(operands);
    return Add(std::move(node));
  }

  Result<uint32_t> ParseUnary(int depth) {
    if (token_.kind == Tok::kNot || token_.kind == Tok::kLParen) {
      if (depth >= kMaxExpressionDepth) {
        return Error(token_.offset,
                     "nesting deeper than " +
                         std::to_string(kMaxExpressionDepth) +
                         " levels of '(' and '!'; expected a flatter "
                         "expression");
      }
    }
    if (token_.kind == Tok::kNot) {
      Advance();
      Result<uint32_t> operand = ParseUnary(depth + 1);
      if (!operand.ok()) return operand.status();
      FilterNode node;
      node.kind = FilterNode::Kind::kNot;
      node.children = {*operand};
      return Add(std::move(node));
    }
    if (token_.kind == Tok::kLParen) {
      const size_t open = token_.offset;
      Advance();
      Result<uint32_t> inner = ParseOr(depth + 1);
      if (!inner.ok()) return inner.status();
      if (token_.kind != Tok::kRParen) {
        return Unexpected(token_,
                          "')' to close the '(' at " + Position(text_, open));
      }
      Advance();
      return inner;
    }
    if (token_.kind == Tok::kIdent) return ParseCompare();
    return Unexpected(token_,
                      "a condition such as 'dst_port == 443', '(' or '!'");
  }

  Result<uint32_t> ParseCompare() {
    const Token field = token_;
    if ((field.text == "true" || field.text == "false") &&
        schema_->Find(field.text) == nullptr) {
      Advance();
      FilterNode node;
      node.kind = FilterNode::Kind::kTrue;
      uint32_t id = Add(std::move(node));
      if (field.text == "true") return id;
      FilterNode negation;
      negation.kind = FilterNode::Kind::kNot;
      negation.children = {id};
      return Add(std::move(negation));
    }
    Result<const Column*> found = FindColumn();
    if (!found.ok()) return found.status();
    const Column& column = **found;
    Advance();
    FilterNode node;
    node.column = &column;
    if (IsCompareOp(token_.kind)) {
      node.kind = FilterNode::Kind::kCompare;
      node.op = ToCompareOp(token_.kind);
      const std::string after = "after '" + std::string(token_.text) + "'";
      Advance(Mode::kLiteral);
      Result<Literal> literal = ReadLiteral(after);
      if (!literal.ok()) return literal.status();
      if (literal->kind == Literal::Kind::kPrefix4 ||
          literal->kind == Literal::Kind::kPrefix6) {
        return Error(literal->offset,
                     "unexpected prefix '" + Printable(literal->source) + "' " +
                         after + "; expected a single value (write '" +
                         column.name + " in " + Printable(literal->source) +
                         "' to match a prefix)");
      }
      Result<std::vector<uint8_t>> value = Bind(column, *literal);
      if (!value.ok()) return value.status();
      node.value = std::move(value).value();
      Advance();
      return Add(std::move(node));
    }
    if (token_.kind == Tok::kIdent && token_.text == "in") {
      Advance(Mode::kLiteral);
      if (token_.kind == Tok::kLBrace) return ParseSet(std::move(node));
      Result<Literal> literal = ReadLiteral("after 'in'");
      if (!literal.ok()) return literal.status();
      if (literal->kind != Literal::Kind::kPrefix4 &&
          literal->kind != Literal::Kind::kPrefix6) {
        return Error(literal->offset,
                     "unexpected " + std::string(KindPhrase(*literal)) +
                         " after 'in'; expected a prefix like 10.0.0.0/8 or "
                         "a set like {1, 2}");
      }
      LOUPE_RETURN_IF_ERROR(BindPrefix(column, *literal, node));
      Advance();
      return Add(std::move(node));
    }
    return Unexpected(token_,
                      "a comparison (==, !=, <, <=, >, >=) or 'in' "
                      "after '" +
                          column.name + "'");
  }

  Result<uint32_t> ParseSet(FilterNode node) {
    node.kind = FilterNode::Kind::kInSet;
    const size_t open = token_.offset;
    Advance(Mode::kLiteral);
    if (token_.kind == Tok::kRBrace) {
      return Error(open, "empty set after 'in'; expected at least one literal");
    }
    while (true) {
      Result<Literal> literal = ReadLiteral("in the set");
      if (!literal.ok()) return literal.status();
      if (literal->kind == Literal::Kind::kPrefix4 ||
          literal->kind == Literal::Kind::kPrefix6) {
        return Error(literal->offset, "unexpected prefix '" +
                                          Printable(literal->source) +
                                          "' in a set; expected single values");
      }
      Result<std::vector<uint8_t>> value = Bind(*node.column, *literal);
      if (!value.ok()) return value.status();
      node.set.push_back(std::move(value).value());
      Advance();
      if (token_.kind == Tok::kRBrace) break;
      if (token_.kind != Tok::kComma) {
        return Unexpected(
            token_, "',' or '}' in the set opened at " + Position(text_, open));
      }
      Advance(Mode::kLiteral);
    }
    Advance();
    return Add(std::move(node));
  }

  Status Mismatch(const Column& column, const Literal& literal) const {
    return Error(literal.offset, "type mismatch: column '" + column.name +
                                     "' is " + TypeName(column) + ", found " +
                                     std::string(KindPhrase(literal)));
  }

  Status OutOfRange(const Column& column, const Literal& literal,
                    std::string_view range) const {
    return Error(literal.offset,
                 Printable(literal.source) + " is out of range for column '" +
                     column.name + "'; expected " + TypeName(column) + " " +
                     std::string(range));
  }

  Result<std::vector<uint8_t>> Bind(const Column& column,
                                    const Literal& literal) const {
    using Kind = Literal::Kind;
    switch (column.type) {
      case ColumnType::kBool:
        if (literal.kind == Kind::kBool) {
          return Encode<uint8_t>(literal.boolean ? 1 : 0);
        }
        if (literal.kind != Kind::kNumber) return Mismatch(column, literal);
        if (literal.number == 0 || literal.number == 1) {
          return Encode<uint8_t>(literal.number == 1 ? 1 : 0);
        }
        return OutOfRange(column, literal, "true, false, 0 or 1");
      case ColumnType::kU8:
        return BindUnsigned<uint8_t>(column, literal);
      case ColumnType::kU16:
        return BindUnsigned<uint16_t>(column, literal);
      case ColumnType::kU32:
        return BindUnsigned<uint32_t>(column, literal);
      case ColumnType::kU64:
        return BindUnsigned<uint64_t>(column, literal);
      case ColumnType::kI8:
        return BindSigned<int8_t>(column, literal);
      case ColumnType::kI16:
        return BindSigned<int16_t>(column, literal);
      case ColumnType::kI32:
        return BindSigned<int32_t>(column, literal);
      case ColumnType::kI64:
        return BindSigned<int64_t>(column, literal);
      case ColumnType::kF32: {
        if (literal.kind != Kind::kNumber) return Mismatch(column, literal);
        constexpr double kMax = std::numeric_limits<float>::max();
        if (std::fabs(literal.number) > kMax) {
          return OutOfRange(column, literal, "from -3.4e38 to 3.4e38");
        }
        return Encode(static_cast<float>(literal.number));
      }
      case ColumnType::kF64:
        if (literal.kind != Kind::kNumber) return Mismatch(column, literal);
        return Encode(literal.number);
      case ColumnType::kIpv4:
        if (literal.kind != Kind::kIpv4) return Mismatch(column, literal);
        return std::vector<uint8_t>(literal.address, literal.address + 4);
      case ColumnType::kIpv6:
        if (literal.kind == Kind::kIpv6) {
          return std::vector<uint8_t>(literal.address, literal.address + 16);
        }
        if (literal.kind == Kind::kIpv4) {
          std::vector<uint8_t> out(16);
          MapIpv4(literal.address, out.data());
          return out;
        }
        return Mismatch(column, literal);
      case ColumnType::kMac:
        if (literal.kind != Kind::kMac) return Mismatch(column, literal);
        return std::vector<uint8_t>(literal.address, literal.address + 6);
      case ColumnType::kString: {
        if (literal.kind != Kind::kString) return Mismatch(column, literal);
        if (literal.bytes.size() > column.width) {
          return Error(literal.offset,
                       "string of " + std::to_string(literal.bytes.size()) +
                           " bytes is too long for column '" + column.name +
                           "'; expected at most " +
                           std::to_string(column.width) + " bytes");
        }
        std::vector<uint8_t> out(column.width, 0);
        std::memcpy(out.data(), literal.bytes.data(), literal.bytes.size());
        return out;
      }
    }
    return Mismatch(column, literal);
  }

  template <typename T>
  Result<std::vector<uint8_t>> BindUnsigned(const Column& column,
                                            const Literal& literal) const {
    if (literal.kind != Literal::Kind::kNumber) {
      return Mismatch(column, literal);
    }
    constexpr uint64_t kMax = std::numeric_limits<T>::max();
    const std::string range = "from 0 to " + std::to_string(kMax);
    if (literal.is_integer) {
      if ((literal.negative && literal.magnitude != 0) ||
          literal.magnitude > kMax) {
        return OutOfRange(column, literal, range);
      }
      return Encode(static_cast<T>(literal.magnitude));
    }
    const double v = literal.number;
    // 2^64 is exact as a double; kMax of narrower types is too.
    const double limit =
        sizeof(T) == 8 ? 18446744073709551616.0 : static_cast<double>(kMax) + 1;
    if (v < 0 || v >= limit) {
      return OutOfRange(column, literal, range);
    }
    if (std::trunc(v) != v) {
      return Error(literal.offset, Printable(literal.source) +
                                       " is not a whole number; expected " +
                                       TypeName(column) + " " + range +
                                       " for column '" + column.name + "'");
    }
    return Encode(static_cast<T>(v));
  }

  template <typename T>
  Result<std::vector<uint8_t>> BindSigned(const Column& column,
                                          const Literal& literal) const {
    if (literal.kind != Literal::Kind::kNumber) {
      return Mismatch(column, literal);
    }
    constexpr int64_t kMin = std::numeric_limits<T>::min();
    constexpr int64_t kMax = std::numeric_limits<T>::max();
    const std::string range =
        "from " + std::to_string(kMin) + " to " + std::to_string(kMax);
    if (literal.is_integer) {
      const uint64_t limit = literal.negative ? static_cast<uint64_t>(kMax) + 1
                                              : static_cast<uint64_t>(kMax);
      if (literal.magnitude > limit) return OutOfRange(column, literal, range);
      // Modular conversion: -2^63 comes out right.
      const uint64_t bits =
          literal.negative ? 0 - literal.magnitude : literal.magnitude;
      return Encode(static_cast<T>(static_cast<int64_t>(bits)));
    }
    const double v = literal.number;
    const double low = static_cast<double>(kMin);  // exact: -2^(n-1)
    const double high = -low;                      // 2^(n-1), exclusive
    if (v < low || v >= high) return OutOfRange(column, literal, range);
    if (std::trunc(v) != v) {
      return Error(literal.offset, Printable(literal.source) +
                                       " is not a whole number; expected " +
                                       TypeName(column) + " " + range +
                                       " for column '" + column.name + "'");
    }
    return Encode(static_cast<T>(v));
  }

  Status BindPrefix(const Column& column, const Literal& literal,
                    FilterNode& node) const {
    node.kind = FilterNode::Kind::kInPrefix;
    if (column.type == ColumnType::kIpv4 &&
        literal.kind == Literal::Kind::kPrefix4) {
      node.value.assign(literal.address, literal.address + 4);
      node.prefix_bits = literal.bits;
      return Status::Ok();
    }
    if (column.type == ColumnType::kIpv6) {
      if (literal.kind == Literal::Kind::kPrefix6) {
        node.value.assign(literal.address, literal.address + 16);
        node.prefix_bits = literal.bits;
        return Status::Ok();
      }
      node.value.resize(16);
      MapIpv4(literal.address, node.value.data());
      node.prefix_bits = 96 + literal.bits;
      return Status::Ok();
    }
    if (column.type == ColumnType::kIpv4) return Mismatch(column, literal);
    return Error(literal.offset,
                 "type mismatch: column '" + column.name + "' is " +
                     TypeName(column) + ", found " +
                     std::string(KindPhrase(literal)) +
                     "; expected an ipv4 or ipv6 column to match a prefix");
  }

  uint32_t Add(FilterNode node) {
    nodes_.push_back(std::move(node));
    return static_cast<uint32_t>(nodes_.size() - 1);
  }

  // Copies the tree under `id` to `out` in pre-order, so that the root is
  // node 0. Recursion is bounded by the nesting limit.
  uint32_t CopyPreorder(uint32_t id, std::vector<FilterNode>& out) {
    const auto index = static_cast<uint32_t>(out.size());
    out.push_back(std::move(nodes_[id]));
    std::vector<uint32_t> children = std::move(out[index].children);
    out[index].children.clear();
    for (uint32_t child : children) {
      uint32_t copied = CopyPreorder(child, out);
      out[index].children.push_back(copied);
    }
    return index;
  }

  std::vector<FilterNode> nodes_;
};

// --- Aggregates and triggers ------------------------------------------------

class AggregateParser : public Parser {
 public:
  AggregateParser(const Schema& schema, std::string_view text)
      : Parser("aggregate", text, &schema) {}

  Result<AggregateSpec> Parse() {
    LOUPE_RETURN_IF_ERROR(CheckLength());
    AggregateSpec spec;
    spec.text = std::string(text_);
    Advance();
    if (token_.kind == Tok::kEnd) {
      return Error(token_.offset,
                   "empty aggregate; expected a function such as COUNT() or "
                   "SUM(field)");
    }
    if (token_.kind != Tok::kIdent) {
      return Unexpected(token_,
                        "an aggregate function such as COUNT() or SUM(field)");
    }
    const std::string name = Upper(token_.text);
    if (!Lookup(name, spec)) {
      std::string message =
          "unknown aggregate function '" + Printable(token_.text) + "'";
      std::string_view close = ClosestName(name, kAggregateNames);
      if (!close.empty()) {
        message += "; did you mean '" + std::string(close) + "'?";
      } else {
        message +=
            "; expected COUNT, SUM, MIN, MAX, HIST, P50, P90, P99 or QUANTILE";
      }
      return Error(token_.offset, message);
    }
    Advance();
    if (token_.kind != Tok::kLParen) {
      return Unexpected(token_, "'(' after '" + name + "'");
    }
    Advance();
    if (spec.function == AggregateFunction::kCount) {
      if (token_.kind != Tok::kRParen) {
        return Unexpected(token_, "')': COUNT() takes no field");
      }
    } else {
      if (token_.kind != Tok::kIdent) {
        return Unexpected(token_, "a field name after '" + name + "('");
      }
      Result<const Column*> column = FindColumn();
      if (!column.ok()) return column.status();
      if (!IsNumeric((*column)->type)) {
        return Error(token_.offset,
                     "column '" + (*column)->name + "' is " +
                         TypeName(**column) +
                         "; expected a numeric column "
                         "(bool, u8 to u64, i8 to i64, f32, f64) for " +
                         name);
      }
      spec.column = *column;
      Advance();
      if (name == "QUANTILE") {
        if (token_.kind != Tok::kComma) {
          return Unexpected(token_, "',' and a quantile such as 0.99");
        }
        Advance(Mode::kLiteral);
        Result<Literal> q = ReadLiteral("for the quantile");
        if (!q.ok()) return q.status();
        if (q->kind != Literal::Kind::kNumber || !q->protocol.empty() ||
            !(q->number > 0 && q->number < 1)) {
          return Error(q->offset,
                       "quantile '" + Printable(q->source) +
                           "' is out of range; expected a number between 0 "
                           "and 1 (exclusive), such as 0.99");
        }
        spec.quantile = q->number;
        Advance();
      }
      if (token_.kind != Tok::kRParen) {
        return Unexpected(token_, "')'");
      }
    }
    Advance();
    if (token_.kind != Tok::kEnd) {
      return Unexpected(token_, "end of input after ')'");
    }
    return spec;
  }

 private:
  // Recognizes COUNT, SUM, MIN, MAX, HIST, QUANTILE and percentiles: Pnn
  // with two digits (P50 = 0.5, P05 = 0.05) or only nines (P999 = 0.999).
  static bool Lookup(const std::string& name, AggregateSpec& spec) {
    struct Named {
      std::string_view name;
      AggregateFunction function;
    };
    static constexpr Named kNamed[] = {
        {"COUNT", AggregateFunction::kCount},
        {"SUM", AggregateFunction::kSum},
        {"MIN", AggregateFunction::kMin},
        {"MAX", AggregateFunction::kMax},
        {"HIST", AggregateFunction::kHist},
        {"QUANTILE", AggregateFunction::kQuantile},
    };
    for (const Named& n : kNamed) {
      if (name == n.name) {
        spec.function = n.function;
        return true;
      }
    }
    std::string_view digits = std::string_view(name).substr(1);
    if (name.size() < 3 || name[0] != 'P' || digits.size() > 6 ||
        !std::all_of(digits.begin(), digits.end(), IsDigit)) {
      return false;
    }
    double q = 0;
    if (digits.size() == 2) {
      q = ((digits[0] - '0') * 10 + (digits[1] - '0')) / 100.0;
    } else if (std::all_of(digits.begin(), digits.end(),
                           [](char c) { return c == '9'; })) {
      q = 1 - std::pow(10.0, -static_cast<double>(digits.size()));
    }
    if (!(q > 0 && q < 1)) return false;
    spec.function = AggregateFunction::kQuantile;
    spec.quantile = q;
    return true;
  }
};

class TriggerParser : public Parser {
 public:
  explicit TriggerParser(std::string_view text)
      : Parser("trigger", text, nullptr) {}

  Result<TriggerSpec> Parse() {
    LOUPE_RETURN_IF_ERROR(CheckLength());
    TriggerSpec spec;
    spec.text = std::string(text_);
    Advance();
    if (token_.kind == Tok::kEnd) {
      return Error(token_.offset,
                   "empty trigger; expected a condition such as "
                   "'http_bytes > 1e6'");
    }
    if (token_.kind != Tok::kIdent) {
      return Unexpected(token_, "the name of an aggregate");
    }
    spec.aggregate = std::string(token_.text);
    Advance();
    if (!IsCompareOp(token_.kind)) {
      return Unexpected(token_, "a comparison (==, !=, <, <=, >, >=) after '" +
                                    spec.aggregate + "'");
    }
    spec.op = ToCompareOp(token_.kind);
    const std::string after = "after '" + std::string(token_.text) + "'";
    Advance(Mode::kLiteral);
    Result<Literal> threshold = ReadLiteral(after);
    if (!threshold.ok()) return threshold.status();
    if (threshold->kind != Literal::Kind::kNumber ||
        !threshold->protocol.empty()) {
      return Error(threshold->offset, "unexpected " +
                                          std::string(KindPhrase(*threshold)) +
                                          " " + after + "; expected a number");
    }
    spec.threshold = threshold->number;
    Advance();
    if (token_.kind != Tok::kEnd) {
      return Unexpected(token_, "end of input after the threshold");
    }
    return spec;
  }
};

}  // namespace

std::string_view CompareOpName(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "==";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

std::string_view AggregateFunctionName(AggregateFunction function) {
  switch (function) {
    case AggregateFunction::kCount:
      return "COUNT";
    case AggregateFunction::kSum:
      return "SUM";
    case AggregateFunction::kMin:
      return "MIN";
    case AggregateFunction::kMax:
      return "MAX";
    case AggregateFunction::kHist:
      return "HIST";
    case AggregateFunction::kQuantile:
      return "QUANTILE";
  }
  return "?";
}

Result<BoundFilter> ParseFilter(const Schema& schema, std::string_view text) {
  return FilterParser(schema, text).Parse();
}

Result<AggregateSpec> ParseAggregate(const Schema& schema,
                                     std::string_view text) {
  return AggregateParser(schema, text).Parse();
}

Result<TriggerSpec> ParseTrigger(std::string_view text) {
  return TriggerParser(text).Parse();
}

}  // namespace loupe
