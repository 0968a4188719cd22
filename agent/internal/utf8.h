// Valid UTF-8 for the text formats the agent emits (Prometheus exposition,
// JSON, syslog structured data), all of which require it while the strings
// they carry (multilog, trigger and sink names, host names) come from
// operators. Each byte that does not start a well-formed sequence (RFC 3629:
// no overlongs, no surrogates, nothing above U+10FFFF) becomes U+FFFD.
// Escaping then works byte by byte on ASCII, since a multi-byte sequence
// never contains an ASCII byte. Pure functions; thread-safe.
#ifndef LOUPE_AGENT_INTERNAL_UTF8_H_
#define LOUPE_AGENT_INTERNAL_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loupe::agent::internal {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// The length of the well-formed sequence at s[i], or 0 if there is none.
inline size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

// Calls ascii(char) for each ASCII byte of `s` and other(std::string_view)
// for each non-ASCII sequence, with U+FFFD in place of ill-formed bytes.
template <typename Ascii, typename Other>
void ForEachUtf8(std::string_view s, Ascii ascii, Other other) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 1) {
      ascii(s[i]);
      i += 1;
    } else if (len == 0) {
      other(kReplacementCharacter);
      i += 1;
    } else {
      other(s.substr(i, len));
      i += len;
    }
  }
}

}  // namespace loupe::agent::internal

#endif  // LOUPE_AGENT_INTERNAL_UTF8_H_
