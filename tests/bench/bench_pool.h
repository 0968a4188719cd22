// What the packet pools of the benchmarks share: their seeded random
// stream, the skewed VM addresses (a few VMs carry most of the traffic) and
// the IPv6 hosts of 2001:db8:2a:1::/64. Each benchmark draws its own pool
// from these, in its own order, so its records stay what they were.
//
// Single-threaded use (a pool is built once, before anything is timed).
#ifndef LOUPE_TESTS_BENCH_BENCH_POOL_H_
#define LOUPE_TESTS_BENCH_BENCH_POOL_H_

#include <cstdint>
#include <cstring>
#include <random>

namespace loupe::bench {

// A uniform draw in [0, n) from the pools' one seeded stream.
class PoolRng {
 public:
  uint64_t operator()(uint64_t n) { return rng_() % n; }

 private:
  std::mt19937_64 rng_{20240601};
};

// 10.0.x.y: half the draws among 16 VMs, most of the rest among 256, a few
// among 4096.
inline uint32_t SkewedVm(PoolRng& uniform) {
  const uint64_t r = uniform(1000);
  const uint32_t host = r < 500   ? static_cast<uint32_t>(uniform(16))
                        : r < 850 ? static_cast<uint32_t>(uniform(256))
                                  : static_cast<uint32_t>(uniform(4096));
  return (10u << 24) | (host + 2);
}

// 2001:db8:2a:1:: with `host` in the last 8 bytes, least significant first.
inline void SetPoolIpv6(uint8_t* a, uint64_t host) {
  static constexpr uint8_t kPrefix[8] = {0x20, 0x01, 0x0d, 0xb8,
                                         0x00, 0x2a, 0x00, 0x01};
  std::memcpy(a, kPrefix, 8);
  for (int i = 0; i < 8; ++i) a[8 + i] = static_cast<uint8_t>(host >> (8 * i));
}

}  // namespace loupe::bench

#endif  // LOUPE_TESTS_BENCH_BENCH_POOL_H_
