#include "agent/internal/page_token.h"

#include <charconv>
#include <iterator>
#include <random>

namespace loupe::agent::internal {
namespace {

std::string Hex(uint64_t v) {
  char buf[17];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, 16);
  (void)ec;
  return std::string(buf, end);
}

constexpr size_t kMacChars = 16;

std::string MacText(const SipKey& key, std::string_view body) {
  std::string out = Hex(SipHash24(key, body));
  return std::string(kMacChars - out.size(), '0') + out;
}

}  // namespace

SipKey DrawPageKey() {
  std::random_device random;
  auto draw64 = [&] {
    return (uint64_t{random()} << 32) ^ uint64_t { random() };
  };
  SipKey key;
  key.k0 = draw64();
  key.k1 = draw64();
  return key;
}

std::string EncodeToken(const PageToken& t, const SipKey& key) {
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
  out += ':';
  out += MacText(key, std::string_view(out).substr(0, out.size() - 1));
  return out;
}

std::optional<PageToken> DecodeToken(std::string_view text, char kind,
                                     uint64_t fingerprint, const SipKey& key) {
  // The mac first: nothing of a token this agent did not issue is parsed.
  if (text.size() < kMacChars + 1 || text.size() > 1024) return {};
  const size_t body_size = text.size() - kMacChars - 1;
  if (text[body_size] != ':') return {};
  const std::string expected = MacText(key, text.substr(0, body_size));
  // Constant time, so that the comparison does not leak the mac.
  uint8_t diff = 0;
  for (size_t i = 0; i < kMacChars; ++i) {
    diff |= static_cast<uint8_t>(expected[i] ^ text[body_size + 1 + i]);
  }
  if (diff != 0) return {};
  text = text.substr(0, body_size);
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
          ": page_token was not issued by this agent for these arguments "
          "(it is damaged or altered, was issued before the agent "
          "restarted, or the multilog, expression, filter or time range "
          "differ); repeat the request without page_token");
}

}  // namespace loupe::agent::internal
