// ASCII pieces that the parsers and error messages of every layer share
// (sizes and durations, times, HOST:PORT, the environment, TOML, Prometheus
// names): character classes that ignore the locale, trimming of blanks
// around operator text, and the one way a message quotes what an operator
// wrote. Inline pure functions; thread-safe.
#ifndef LOUPE_MULTILOG_ASCII_H_
#define LOUPE_MULTILOG_ASCII_H_

#include <string>
#include <string_view>

namespace loupe {

inline bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

inline bool IsAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// `s` without the spaces and tabs around it.
inline std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// "\"text\"" with '"' and '\' escaped: operator text inside a message.
inline std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace loupe

#endif  // LOUPE_MULTILOG_ASCII_H_
