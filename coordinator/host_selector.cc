#include "coordinator/host_selector.h"

#include <algorithm>
#include <string>
#include <utility>

#include "multilog/ascii.h"

namespace loupe::coordinator {
namespace {

bool IsKeyStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsKeyChar(char c) { return IsKeyStart(c) || IsDigit(c); }
bool IsTextChar(char c) {
  return IsKeyChar(c) || c == '.' || c == ':' || c == '/' || c == '-';
}
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// How a character is shown in "got ...".
std::string Shown(std::string_view text, size_t at) {
  if (at >= text.size()) return "the end";
  const unsigned char c = static_cast<unsigned char>(text[at]);
  if (c >= 0x20 && c < 0x7f) return std::string("'") + text[at] + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 15];
}

}  // namespace

// A recursive-descent parser over the grammar in the header; `at_` is the
// index of the next unread byte.
class HostSelector::Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<std::vector<Term>> Selector() {
    std::vector<Term> terms;
    SkipBlanks();
    if (at_ == text_.size()) return terms;  // every agent
    for (;;) {
      if (terms.size() == kMaxSelectorTerms) {
        return Error("too many terms; a selector has at most " +
                     std::to_string(kMaxSelectorTerms));
      }
      Result<Term> term = ParseTerm();
      if (!term.ok()) return term.status();
      terms.push_back(std::move(*term));
      SkipBlanks();
      if (at_ == text_.size()) return terms;
      if (text_[at_] != ',') {
        return Error("expected ',' before the next key=value term, got " +
                     Shown(text_, at_));
      }
      ++at_;
      SkipBlanks();
    }
  }

 private:
  Status Error(const std::string& message) const {
    return Status::InvalidArgument("selector column " +
                                   std::to_string(at_ + 1) + ": " + message);
  }

  void SkipBlanks() {
    while (at_ < text_.size() && IsBlank(text_[at_])) ++at_;
  }

  Result<Term> ParseTerm() {
    Term term;
    if (at_ == text_.size() || !IsKeyStart(text_[at_])) {
      return Error(
          "expected a key (host, or a label such as rack) at the start of a "
          "term, got " +
          Shown(text_, at_));
    }
    const size_t start = at_;
    while (at_ < text_.size() && IsKeyChar(text_[at_])) ++at_;
    if (at_ - start > kMaxSelectorKeyBytes) {
      at_ = start;
      return Error("key longer than " + std::to_string(kMaxSelectorKeyBytes) +
                   " characters");
    }
    term.key.assign(text_.substr(start, at_ - start));
    SkipBlanks();
    if (at_ == text_.size() || text_[at_] != '=') {
      return Error("expected '=' after key " + Quoted(term.key) + ", got " +
                   Shown(text_, at_));
    }
    ++at_;
    SkipBlanks();
    while (at_ < text_.size() && text_[at_] != ',' && !IsBlank(text_[at_])) {
      Result<Piece> piece = ParsePiece();
      if (!piece.ok()) return piece.status();
      // Adjacent stars are one star.
      if (piece->kind == Piece::Kind::kStar && !term.pieces.empty() &&
          term.pieces.back().kind == Piece::Kind::kStar) {
        continue;
      }
      term.pieces.push_back(std::move(*piece));
    }
    if (term.pieces.empty()) {
      return Error("expected a value after " + Quoted(term.key + "=") +
                   " (text, '*' or a [1-8] range), got " + Shown(text_, at_));
    }
    return term;
  }

  Result<Piece> ParsePiece() {
    Piece piece;
    const char c = text_[at_];
    if (c == '*') {
      ++at_;
      piece.kind = Piece::Kind::kStar;
      return piece;
    }
    if (c == '[') {
      ++at_;
      piece.kind = Piece::Kind::kNumbers;
      for (;;) {
        if (piece.items.size() == kMaxSelectorItems) {
          return Error("too many items in brackets; at most " +
                       std::to_string(kMaxSelectorItems));
        }
        Result<Item> item = ParseItem();
        if (!item.ok()) return item.status();
        piece.items.push_back(*item);
        if (at_ < text_.size() && text_[at_] == ',') {
          ++at_;
          continue;
        }
        if (at_ < text_.size() && text_[at_] == ']') {
          ++at_;
          return piece;
        }
        return Error("expected ',', '-' or ']' in brackets, got " +
                     Shown(text_, at_));
      }
    }
    if (c == ']') return Error("']' without an opening '['");
    if (!IsTextChar(c)) {
      return Error("unexpected " + Shown(text_, at_) +
                   " in a value (values are letters, digits and _ . : / -, "
                   "with '*' and [1-8] ranges)");
    }
    const size_t start = at_;
    while (at_ < text_.size() && IsTextChar(text_[at_])) ++at_;
    piece.text.assign(text_.substr(start, at_ - start));
    return piece;
  }

  // A number of 1 to kMaxSelectorDigits digits; *digits gets how many.
  Result<uint32_t> ParseNumber(size_t* digits, const char* after) {
    const size_t start = at_;
    while (at_ < text_.size() && IsDigit(text_[at_])) {
      if (at_ - start == kMaxSelectorDigits) {
        at_ = start;
        return Error("number longer than " +
                     std::to_string(kMaxSelectorDigits) + " digits");
      }
      ++at_;
    }
    if (at_ == start) {
      return Error(std::string("expected a number ") + after + ", got " +
                   Shown(text_, at_));
    }
    uint32_t value = 0;
    for (size_t i = start; i < at_; ++i) {
      value = value * 10 + static_cast<uint32_t>(text_[i] - '0');
    }
    *digits = at_ - start;
    return value;
  }

  Result<Item> ParseItem() {
    const size_t start = at_;
    size_t low_digits = 0, high_digits = 0;
    Result<uint32_t> low = ParseNumber(
        &low_digits, text_[at_ - 1] == '[' ? "after '['" : "after ','");
    if (!low.ok()) return low.status();
    Item item;
    item.low = item.high = *low;
    const bool low_padded = low_digits > 1 && text_[start] == '0';
    bool high_padded = false;
    if (at_ < text_.size() && text_[at_] == '-') {
      ++at_;
      const size_t high_start = at_;
      Result<uint32_t> high = ParseNumber(&high_digits, "after '-'");
      if (!high.ok()) return high.status();
      item.high = *high;
      high_padded = high_digits > 1 && text_[high_start] == '0';
      if (item.high < item.low) {
        at_ = start;
        return Error(
            "range " +
            std::string(text_.substr(start, high_start + high_digits - start)) +
            " ends below its start");
      }
    } else {
      high_digits = low_digits;
    }
    if (low_padded || high_padded) {
      if (low_digits != high_digits) {
        at_ = start;
        return Error(
            "a zero-padded range needs both ends of the same width, like "
            "[01-16]");
      }
      item.width = static_cast<uint8_t>(low_digits);
    }
    return item;
  }

  std::string_view text_;
  size_t at_ = 0;
};

Result<HostSelector> HostSelector::Parse(std::string_view text) {
  if (text.size() > kMaxSelectorBytes) {
    return Status::InvalidArgument(
        "selector of " + std::to_string(text.size()) + " characters; at most " +
        std::to_string(kMaxSelectorBytes));
  }
  Parser parser(text);
  Result<std::vector<Term>> terms = parser.Selector();
  if (!terms.ok()) return terms.status();
  HostSelector selector;
  selector.text_.assign(text);
  selector.terms_ = std::move(*terms);
  return selector;
}

std::vector<std::string> HostSelector::keys() const {
  std::vector<std::string> keys;
  for (const Term& t : terms_) keys.push_back(t.key);
  return keys;
}

bool HostSelector::Matches(std::string_view name, const Labels& labels) const {
  for (const Term& t : terms_) {
    std::string_view value;
    if (t.key == kHostKey) {
      value = name;
    } else {
      auto it = labels.find(t.key);
      if (it == labels.end()) return false;
      value = it->second;
    }
    if (!MatchPattern(t.pieces, value)) return false;
  }
  return true;
}

bool HostSelector::InItems(const std::vector<Item>& items,
                           std::string_view digits) {
  uint32_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<uint32_t>(c - '0');
  const bool canonical = digits.size() == 1 || digits[0] != '0';
  for (const Item& item : items) {
    const bool written =
        item.width == 0 ? canonical : digits.size() == item.width;
    if (written && value >= item.low && value <= item.high) return true;
  }
  return false;
}

// The set of positions of `value` each prefix of the pattern can end at,
// one piece at a time: O(pieces x |value| x digits), with no backtracking,
// whatever the stars.
bool HostSelector::MatchPattern(const std::vector<Piece>& pieces,
                                std::string_view value) {
  std::vector<char> reach(value.size() + 1, 0), next(value.size() + 1, 0);
  reach[0] = 1;
  for (const Piece& piece : pieces) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t p = 0; p <= value.size(); ++p) {
      if (!reach[p]) continue;
      switch (piece.kind) {
        case Piece::Kind::kText:
          if (value.substr(p).starts_with(piece.text)) {
            next[p + piece.text.size()] = 1;
            any = true;
          }
          break;
        case Piece::Kind::kStar:
          std::fill(next.begin() + static_cast<std::ptrdiff_t>(p), next.end(),
                    1);
          any = true;
          p = value.size();  // every later position is reached already
          break;
        case Piece::Kind::kNumbers:
          for (size_t n = 1; n <= kMaxSelectorDigits && p + n <= value.size() &&
                             IsDigit(value[p + n - 1]);
               ++n) {
            if (InItems(piece.items, value.substr(p, n))) {
              next[p + n] = 1;
              any = true;
            }
          }
          break;
      }
    }
    if (!any) return false;
    reach.swap(next);
  }
  return reach[value.size()] != 0;
}

}  // namespace loupe::coordinator
