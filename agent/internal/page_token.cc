#include "agent/internal/page_token.h"

#include <charconv>
#include <iterator>

namespace loupe::agent::internal {
namespace {

std::string Hex(uint64_t v) {
  char buf[17];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, 16);
  (void)ec;
  return std::string(buf, end);
}

}  // namespace

std::string EncodeToken(const PageToken& t) {
  std::string out(1, t.kind);
  for (uint64_t v : {t.snapshot, t.a, t.b, t.c, t.fingerprint}) {
    out += ':';
    out += Hex(v);
  }
  if (!t.name.empty()) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += ':';
    for (unsigned char ch : t.name) {
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

std::optional<PageToken> DecodeToken(std::string_view text, char kind,
                                     uint64_t fingerprint) {
  if (text.size() < 2 || text[0] != kind || text[1] != ':') return {};
  PageToken t;
  t.kind = kind;
  std::string_view rest = text.substr(2);
  uint64_t* fields[] = {&t.snapshot, &t.a, &t.b, &t.c, &t.fingerprint};
  for (size_t i = 0; i < std::size(fields); ++i) {
    const size_t colon = rest.find(':');
    std::string_view part = rest.substr(0, colon);
    auto [end, ec] =
        std::from_chars(part.data(), part.data() + part.size(), *fields[i], 16);
    if (ec != std::errc() || end != part.data() + part.size() || part.empty()) {
      return {};
    }
    if (colon == std::string_view::npos) {
      if (i + 1 != std::size(fields)) return {};
      rest = {};
    } else {
      rest = rest.substr(colon + 1);
      if (i + 1 == std::size(fields) && rest.empty()) return {};
    }
  }
  if (rest.size() % 2 != 0) return {};
  for (size_t i = 0; i < rest.size(); i += 2) {
    uint8_t byte = 0;
    auto [end, ec] =
        std::from_chars(rest.data() + i, rest.data() + i + 2, byte, 16);
    if (ec != std::errc() || end != rest.data() + i + 2) return {};
    t.name += static_cast<char>(byte);
  }
  if (t.fingerprint != fingerprint) return {};
  return t;
}

grpc::Status BadToken(std::string_view rpc) {
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      std::string(rpc) +
          ": page_token was not issued for these arguments (or is "
          "damaged); repeat the request that returned it with the "
          "same multilog, expression or filter and time range");
}

}  // namespace loupe::agent::internal
