// Writing frames by hand, byte by byte in network order, for the tests and
// benchmarks that build packets the frame builder must not build for them
// (malformed headers, odd options, exact layouts).
//
// Pure inline functions; thread-safe.
#ifndef LOUPE_TESTS_SUPPORT_FRAME_BYTES_H_
#define LOUPE_TESTS_SUPPORT_FRAME_BYTES_H_

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace loupe::test_support {

using Bytes = std::vector<uint8_t>;

// Appends v big-endian.
inline void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

inline void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}

inline void Append(Bytes& b, const Bytes& tail) {
  b.insert(b.end(), tail.begin(), tail.end());
}

// The parts one after the other.
inline Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const Bytes& part : parts) Append(b, part);
  return b;
}

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_FRAME_BYTES_H_
