// The tokens of the expression language (multilog/expression.h), the lexer
// that cuts a text into them, and what every parser of the language shares:
// character classes, "line:column" positions and error messages that quote
// the input safely (ExpressionErrors, Printable).
//
// Internal to the expression parsers. A Lexer, its Tokens and an
// ExpressionErrors view the text they were given, which must outlive them;
// no shared state, so distinct objects may be used on distinct threads.
#ifndef LOUPE_MULTILOG_INTERNAL_EXPRESSION_LEXER_H_
#define LOUPE_MULTILOG_INTERNAL_EXPRESSION_LEXER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/expression.h"
#include "multilog/status.h"

namespace loupe::internal {

// --- Characters and text ----------------------------------------------------

inline bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}
inline char ToLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
// The value of a hex digit (IsHex(c) holds).
inline int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  return ToLower(c) - 'a' + 10;
}

std::string Lower(std::string_view s);
std::string Upper(std::string_view s);

// `s` fit for an error message: unprintable bytes as \xNN, cut at `limit`
// characters.
std::string Printable(std::string_view s, size_t limit = 32);

// "line:column" of a byte offset, both 1-based.
std::string Position(std::string_view text, size_t offset);

// The errors of one expression: "filter 1:12: <message>".
class ExpressionErrors {
 public:
  // `language` is "filter", "aggregate" or "trigger".
  ExpressionErrors(std::string_view language, std::string_view text)
      : language_(language), text_(text) {}

  // kInvalidArgument "<language> <line>:<column>: <message>".
  Status At(size_t offset, std::string_view message) const;

 private:
  std::string_view language_;
  std::string_view text_;
};

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

inline bool IsCompareOp(Tok t) {
  return t == Tok::kEq || t == Tok::kNe || t == Tok::kLt || t == Tok::kLe ||
         t == Tok::kGt || t == Tok::kGe;
}

inline CompareOp ToCompareOp(Tok t) {
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

  // The next token; kEnd at the end of the text (and ever after).
  Token Next(Mode mode);

 private:
  // A quoted string; the token text keeps the quotes and escapes.
  Token String(Token& token);

  // Length of the word at pos_: letters, digits, '_', '.', ':', '/', a
  // leading '-', and a sign after the exponent of a decimal number (1e-6).
  size_t WordLength() const;

  // "-1.5", "2", ".5": what may stand before the 'e' of an exponent.
  static bool IsDecimalMantissa(std::string_view s);

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_EXPRESSION_LEXER_H_
