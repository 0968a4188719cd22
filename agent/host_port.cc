#include "agent/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <string_view>

#include "multilog/ascii.h"
namespace loupe {
namespace {

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         IsAsciiDigit(c) || c == '.' || c == '-';
}

}  // namespace

Status CheckHostPort(std::string_view text, bool port_zero_ok,
                     std::string_view example) {
  const std::string expected = "expected HOST:PORT such as " + Quoted(example) +
                               " or \"[::1]:7070\", got " + Quoted(text);
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return Status::InvalidArgument(expected);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr address;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &address) != 1) {
      return Status::InvalidArgument(Quoted(host) +
                                     " is not an IPv6 address; " + expected);
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument(expected);
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Status::InvalidArgument(
          "an IPv6 address needs brackets, as in \"[::1]:7070\"; got " +
          Quoted(text));
    }
    bool valid = !host.empty() && host.size() <= 253;
    for (char c : host) valid = valid && IsHostNameChar(c);
    if (!valid) {
      return Status::InvalidArgument(
          Quoted(host) + " is not a host name or address; " + expected);
    }
  }
  uint16_t value = 0;
  if (!ParsePort(port, &value) || (value == 0 && !port_zero_ok)) {
    return Status::InvalidArgument(
        "port " + Quoted(port) + " is not a port number (" +
        (port_zero_ok ? "0" : "1") + " to 65535); " + expected);
  }
  return Status::Ok();
}

}  // namespace loupe
