// "HOST:PORT" as operators write listen and target addresses, the one
// grammar for every daemon and client: HOST is a name, an IPv4 address or
// a bracketed IPv6 address ("[::1]:9470"), PORT a decimal number 0..65535.
// SplitHostPort and ParsePort take addresses apart (inline: they sit on
// start-up paths of libraries that link nothing else of loupe_text);
// CheckHostPort validates a configured address with a message an operator
// can act on. Pure functions; thread-safe.
#ifndef LOUPE_AGENT_HOST_PORT_H_
#define LOUPE_AGENT_HOST_PORT_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe {

// Parses a decimal port; false unless all of `s` is a number <= 65535.
inline bool ParsePort(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned value = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), value);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || value > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

// Splits "HOST:PORT" or "[IPV6]:PORT"; HOST comes back without brackets and
// may be empty (":9470"). False for anything else, including an IPv6
// address without brackets.
inline bool SplitHostPort(std::string_view s, std::string* host,
                          uint16_t* port) {
  std::string_view h, p;
  if (s.starts_with('[')) {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() ||
        s[close + 1] != ':') {
      return false;
    }
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
    if (h.empty()) return false;
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) return false;
  }
  if (h.find_first_of(" \t/[]@") != std::string_view::npos) return false;
  if (!ParsePort(p, port)) return false;
  host->assign(h);
  return true;
}

// A configured HOST:PORT: HOST a name ([A-Za-z0-9_.-], at most 253 bytes),
// an IPv4 address or a bracketed IPv6 address; PORT 1..65535, or 0 too
// when `port_zero_ok` (a listen address that lets the system choose).
// Errors (kInvalidArgument) quote the text and show `example`
// ("127.0.0.1:7070"); an IPv6 address without brackets is told so.
Status CheckHostPort(std::string_view text, bool port_zero_ok,
                     std::string_view example);

}  // namespace loupe

#endif  // LOUPE_AGENT_HOST_PORT_H_
