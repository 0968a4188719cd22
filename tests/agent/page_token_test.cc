// SipHash-2-4 against the reference vectors, and page tokens: round trip,
// and refusal of every altered, truncated or foreign-key token.
#include "agent/internal/page_token.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include "agent/internal/siphash.h"

namespace loupe::agent::internal {
namespace {

// vectors_sip64 of the reference implementation: key 00 01 .. 0f, message
// 00 01 .. (n-1), for n = 0..16.
constexpr uint64_t kReference[] = {
    0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a,
    0x85676696d7fb7e2d, 0xcf2794e0277187b7, 0x18765564cd99a68d,
    0xcbc9466e58fee3ce, 0xab0200f58b01d137, 0x93f5f5799a932462,
    0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
    0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee,
    0xa129ca6149be45e5, 0x3f2acc7f57c29bdb,
};

TEST(SipHashTest, ReferenceVectors) {
  std::array<uint8_t, 16> key_bytes;
  for (int i = 0; i < 16; ++i) key_bytes[i] = static_cast<uint8_t>(i);
  const SipKey key = SipKeyFromBytes(key_bytes);
  EXPECT_EQ(key.k0, 0x0706050403020100u);
  EXPECT_EQ(key.k1, 0x0f0e0d0c0b0a0908u);
  std::string message;
  for (size_t n = 0; n < std::size(kReference); ++n) {
    EXPECT_EQ(SipHash24(key, message), kReference[n]) << "length " << n;
    message += static_cast<char>(n);
  }
}

TEST(PageTokenTest, RoundTripAndRefusals) {
  const SipKey key = DrawPageKey();
  const SipKey other = DrawPageKey();
  ASSERT_FALSE(key.k0 == other.k0 && key.k1 == other.k1);
  PageToken t;
  t.kind = 'a';
  t.snapshot = 0x1234;
  t.a = 7;
  t.b = 8;
  t.c = 9;
  t.fingerprint = 0xfeed;
  t.name = "flows";
  const std::string text = EncodeToken(t, key);
  std::optional<PageToken> back = DecodeToken(text, 'a', 0xfeed, key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->snapshot, t.snapshot);
  EXPECT_EQ(back->a, 7u);
  EXPECT_EQ(back->b, 8u);
  EXPECT_EQ(back->c, 9u);
  EXPECT_EQ(back->name, "flows");
  EXPECT_FALSE(DecodeToken(text, 'e', 0xfeed, key).has_value());
  EXPECT_FALSE(DecodeToken(text, 'a', 0xfeee, key).has_value());
  EXPECT_FALSE(DecodeToken(text, 'a', 0xfeed, other).has_value());
  EXPECT_FALSE(DecodeToken("", 'a', 0xfeed, key).has_value());
  for (size_t i = 0; i < text.size(); ++i) {
    std::string altered = text;
    altered[i] ^= 1;
    EXPECT_FALSE(DecodeToken(altered, 'a', 0xfeed, key).has_value()) << i;
  }
  EXPECT_FALSE(DecodeToken(text.substr(0, text.size() - 1), 'a', 0xfeed, key));
  EXPECT_FALSE(DecodeToken(std::string(2000, 'a'), 'a', 0xfeed, key));
}

}  // namespace
}  // namespace loupe::agent::internal
