// Page tokens: how a paged answer (ExecuteFilter, QueryFilter, GetAlerts)
// says where its next page starts, as an opaque string the client passes
// back.
//
// token := body ':' hex(mac)
// body  := kind ':' hex(snapshot) ':' hex(a) ':' hex(b) ':' hex(c) ':'
//          hex(fingerprint) [':' hex-bytes(name)]
// kind 'e' (ExecuteFilter): a = next offset (the next page scans from
//   there, nothing before it), b = records sent before it.
// kind 'q' (QueryFilter): a = last bucket, b = last offset, c = records of
//   that bucket up to it.
// kind 'a' (GetAlerts): a = last time_ns, b = last sequence, name = its
//   multilog.
// The fingerprint hashes the request's other arguments, so a token is
// refused with arguments it was not issued for. The mac is SipHash-2-4
// (agent/internal/siphash.h) of the body under a 128-bit key the service
// draws at start (DrawPageKey), so a token that this incarnation of the
// agent did not issue -- forged, altered, or from before a restart -- is
// refused before any of its fields is believed. The handlers still check
// every field against the request (offsets on record boundaries below the
// snapshot, counts below the paging cap).
//
// Value types and pure functions; thread-safe. Internal to the
// agent_service library.
#ifndef LOUPE_AGENT_INTERNAL_PAGE_TOKEN_H_
#define LOUPE_AGENT_INTERNAL_PAGE_TOKEN_H_

#include <grpcpp/support/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/internal/siphash.h"

namespace loupe::agent::internal {

struct PageToken {
  char kind = 0;
  uint64_t snapshot = 0;
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t c = 0;
  uint64_t fingerprint = 0;
  std::string name;
};

// FNV-1a over the arguments a token is bound to.
class Fingerprint {
 public:
  Fingerprint& Add(std::string_view s) {
    for (unsigned char ch : s) Mix(ch);
    Mix(0xff);
    return *this;
  }
  Fingerprint& Add(uint64_t v) {
    for (int i = 0; i < 8; ++i) Mix(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  uint64_t value() const { return h_; }

 private:
  void Mix(uint8_t byte) {
    h_ ^= byte;
    h_ *= 0x100000001b3ull;
  }
  uint64_t h_ = 0xcbf29ce484222325ull;
};

// A key from the system's random source (std::random_device).
SipKey DrawPageKey();

std::string EncodeToken(const PageToken& token, const SipKey& key);

// nullopt when `text` is not a token of `kind` issued under `key` for
// `fingerprint`.
std::optional<PageToken> DecodeToken(std::string_view text, char kind,
                                     uint64_t fingerprint, const SipKey& key);

// INVALID_ARGUMENT for a token DecodeToken refused, saying what to do.
grpc::Status BadToken(std::string_view rpc);

}  // namespace loupe::agent::internal

#endif  // LOUPE_AGENT_INTERNAL_PAGE_TOKEN_H_
