// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit MAC of short
// messages, here authenticating page tokens (agent/internal/page_token.h).
// Pure functions; thread-safe.
#ifndef LOUPE_AGENT_INTERNAL_SIPHASH_H_
#define LOUPE_AGENT_INTERNAL_SIPHASH_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace loupe::agent::internal {

// The 128-bit key, as the reference implementation reads its 16 key bytes:
// k0 = bytes 0..7 and k1 = bytes 8..15, little-endian.
struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

SipKey SipKeyFromBytes(const std::array<uint8_t, 16>& bytes);

uint64_t SipHash24(const SipKey& key, std::string_view message);

}  // namespace loupe::agent::internal

#endif  // LOUPE_AGENT_INTERNAL_SIPHASH_H_
