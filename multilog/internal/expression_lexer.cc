#include "multilog/internal/expression_lexer.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

namespace loupe::internal {

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

std::string Printable(std::string_view s, size_t limit) {
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

Status ExpressionErrors::At(size_t offset, std::string_view message) const {
  std::string out(language_);
  out += ' ';
  out += Position(text_, offset);
  out += ": ";
  out += message;
  return Status::InvalidArgument(std::move(out));
}

Token Lexer::Next(Mode mode) {
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
    while (end < text_.size() && (IsLetter(text_[end]) || IsDigit(text_[end])))
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

Token Lexer::String(Token& token) {
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

size_t Lexer::WordLength() const {
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

bool Lexer::IsDecimalMantissa(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsDigit(c) || c == '.'; }) &&
         std::any_of(s.begin(), s.end(), IsDigit);
}

}  // namespace loupe::internal
