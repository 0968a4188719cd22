// IPv4 addresses in the 16-byte address columns of the packet schema
// (::ffff:a.b.c.d), as tests and benchmarks build and read them.
//
// Pure inline functions; thread-safe.
#ifndef LOUPE_TESTS_SUPPORT_IPV4_MAPPED_H_
#define LOUPE_TESTS_SUPPORT_IPV4_MAPPED_H_

#include <cstdint>
#include <cstring>

namespace loupe::test_support {

// Writes ::ffff:v4 (v4 in host order: 0x0a000001 is 10.0.0.1) to ip[16].
inline void SetV4(uint8_t* ip, uint32_t v4) {
  std::memset(ip, 0, 16);
  ip[10] = ip[11] = 0xff;
  ip[12] = static_cast<uint8_t>(v4 >> 24);
  ip[13] = static_cast<uint8_t>(v4 >> 16);
  ip[14] = static_cast<uint8_t>(v4 >> 8);
  ip[15] = static_cast<uint8_t>(v4);
}

// The IPv4 address in the last four bytes of ip[16], in host order.
inline uint32_t V4(const uint8_t* ip) {
  return uint32_t{ip[12]} << 24 | uint32_t{ip[13]} << 16 |
         uint32_t{ip[14]} << 8 | ip[15];
}

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_IPV4_MAPPED_H_
