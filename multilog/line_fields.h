// The fields of the small line-oriented state files every layer keeps (a
// coordinator's registered agents, network triggers, alert cursors,
// desired programs): words separated by one blank, and whole decimal
// numbers. Inline pure functions; thread-safe.
#ifndef LOUPE_MULTILOG_LINE_FIELDS_H_
#define LOUPE_MULTILOG_LINE_FIELDS_H_

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <vector>

namespace loupe {

// "a b c" -> {"a", "b", "c"}; two blanks in a row make an empty word.
inline std::vector<std::string_view> SplitWords(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    const size_t end = std::min(line.find(' ', i), line.size());
    out.push_back(line.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

// Whether `text` is all of a decimal number that fits; *out then holds it.
inline bool ParseDecimal(std::string_view text, uint64_t* out) {
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace loupe

#endif  // LOUPE_MULTILOG_LINE_FIELDS_H_
