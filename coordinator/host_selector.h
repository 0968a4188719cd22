// HostSelector: which agents a coordinator request is about, written the
// way operators name hosts -- "host=hv[1-8],rack=r2" -- and matched against
// each agent's name (the key `host`) and labels. The grammar:
//
//   selector := "" | term ("," term)*       (the empty selector: every agent)
//   term     := key "=" pattern              (terms are ANDed)
//   key      := [A-Za-z_][A-Za-z0-9_]*       (at most kMaxSelectorKeyBytes)
//   pattern  := piece+
//   piece    := text | "*" | "[" item ("," item)* "]"
//   text     := [A-Za-z0-9_.:/-]+
//   item     := number | number "-" number   (number: 1 to 9 digits)
//
// Blanks around terms, "=" and "," are ignored. "*" matches any run of
// characters, empty included. A bracket matches one decimal number in its
// items: [1-8] matches "1" to "8" written without leading zeros; an item
// written with a leading zero is zero-padded to its width, so [01-16]
// matches "01" to "16" (both ends of a padded range have the same width).
// Ranges are never expanded: matching is a pass over the value per piece,
// so [1-999999999] costs what [1-2] does.
//
// Bounds: at most kMaxSelectorBytes of text, kMaxSelectorTerms terms and
// kMaxSelectorItems items per bracket. Parse errors are kInvalidArgument,
// naming the 1-based column and what was expected:
//
//   selector column 8: expected a number after '[', got 'x'
//
// A HostSelector is an immutable value: thread-safe once parsed.
#ifndef LOUPE_COORDINATOR_HOST_SELECTOR_H_
#define LOUPE_COORDINATOR_HOST_SELECTOR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/fleet_identity.h"
#include "multilog/status.h"

namespace loupe::coordinator {

inline constexpr size_t kMaxSelectorBytes = 1024;
inline constexpr size_t kMaxSelectorTerms = 16;
inline constexpr size_t kMaxSelectorItems = 64;
inline constexpr size_t kMaxSelectorKeyBytes = 64;
inline constexpr size_t kMaxSelectorDigits = 9;

// The key that names the agent itself, and an agent's labels
// (agent/fleet_identity.h).
using agent::kHostKey;
using agent::Labels;

class HostSelector {
 public:
  // The selector of every agent.
  HostSelector() = default;

  static Result<HostSelector> Parse(std::string_view text);

  // Whether the agent `name` with `labels` is selected: every term's key
  // (`host`: the name) has a value its pattern matches. A label the agent
  // lacks matches no pattern.
  bool Matches(std::string_view name, const Labels& labels) const;

  bool all() const { return terms_.empty(); }
  // The keys the terms name, in order, repeats included.
  std::vector<std::string> keys() const;
  // The text it was parsed from.
  const std::string& text() const { return text_; }

 private:
  struct Item {
    uint32_t low = 0;
    uint32_t high = 0;
    uint8_t width = 0;  // 0: no padding; else the digits of a padded number
  };
  struct Piece {
    enum class Kind : uint8_t { kText, kStar, kNumbers };
    Kind kind = Kind::kText;
    std::string text;         // kText
    std::vector<Item> items;  // kNumbers
  };
  struct Term {
    std::string key;
    std::vector<Piece> pieces;
  };
  class Parser;

  static bool MatchPattern(const std::vector<Piece>& pieces,
                           std::string_view value);
  static bool InItems(const std::vector<Item>& items, std::string_view digits);

  std::string text_;
  std::vector<Term> terms_;
};

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_HOST_SELECTOR_H_
