// A standalone driver for libFuzzer targets, for compilers without libFuzzer
// (the project's GCC): it feeds LLVMFuzzerTestOneInput a deterministic
// stream of inputs made from a seed corpus of valid expressions: the seeds
// themselves, stacked mutations (byte flips, inserted tokens, deletions,
// truncations, splices, duplications), deep nesting, overlong inputs and
// random bytes. Not coverage-guided; it finds crashes and sanitizer reports
// in the paths the seeds reach, on every test run.
//
//   expression_fuzz [RUNS] [--seconds S] [--seed N] [--write-seeds DIR]
//
// RUNS (or $LOUPE_FUZZ_RUNS) bounds the inputs, --seconds (default 10) the
// time; the run stops at whichever comes first. --write-seeds writes the
// seed corpus to DIR, one file per seed, for a libFuzzer run, and exits.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr std::string_view kSeeds[] = {
    // filters on the packet schema
    "dst_port == 443",
    "src_ip in 10.0.0.0/8 && dst_port == 443 || !(proto == udp)",
    "dst_port in {80, 443, 8080, 8443, 53, 22, 25, 110, 143, 993}",
    "src_ip in 2001:db8::/32",
    "dst_ip == ::ffff:192.168.1.1 || dst_ip == fe80::1 || src_ip == ::1",
    "proto == tcp && tcp_flags >= 0x12 && ttl < 64",
    "!(vlan != 100) && vni > 5000 && ether_type == 0x86dd",
    "timestamp >= 1700000000000000000 && frame_len <= 1e3",
    "(proto in {icmp, icmpv6}) || (proto == gre && ip_len > -0)",
    "src_port in {1, 2, 3} && !(dst_ip in ::/0) || true",
    "false || src_ip < 10.255.255.255",
    // filters on every type
    "b == true && u8 < 255 && u16 != 0 && u32 >= 1 && u64 > 0xff",
    "i8 > -128 && i16 == -300 && i32 < 3 && i64 != -9223372036854775808",
    "f32 == 0.1 || f64 < -1.5e-3 || f64 in {0, -0, 1.5}",
    "v4 in 192.168.0.0/16 && v6 in {::1, 10.0.0.1} && mac == aa:bb:cc:dd:ee:ff",
    "name == 'web' || name in {\"a\\tb\", '\\x41'} || name > 'm'",
    // aggregates and triggers
    "COUNT()",
    "SUM(ip_len)",
    "p99(frame_len)",
    "QUANTILE(ip_len, 0.25)",
    "HIST(ttl)",
    "http_bytes > 1e6",
    "drops != -0x10",
};

constexpr std::string_view kTokens[] = {
    "&&",
    "||",
    "!",
    "(",
    ")",
    "{",
    "}",
    ",",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    " in ",
    "::",
    ":",
    ".",
    "/",
    "'",
    "\"",
    "\\",
    "0x",
    "-",
    "e",
    "e-",
    "1e309",
    "255",
    "256",
    "/33",
    "/129",
    "ffff",
    "tcp",
    "true",
    "false",
    "src_ip",
    "dst_port",
    "proto",
    "name",
    "f64",
    "i8",
    "mac",
    "COUNT",
    "QUANTILE",
    "P50",
    " ",
    "\n",
    "\t",
    "\x00",
    "\xff",
    "18446744073709551616",
    "-9223372036854775809",
    "1.2.3.4",
    "::ffff:1.2.3.4",
    "aa:bb:cc:dd:ee:ff",
    "\\x4",
    "{}",
};

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {  // splitmix64: the same stream on every platform
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) {
    return n == 0 ? 0 : static_cast<size_t>(Next() % n);
  }
  bool OneIn(size_t n) { return Below(n) == 0; }

 private:
  uint64_t state_;
};

std::string Seed(Rng& rng) {
  return std::string(kSeeds[rng.Below(std::size(kSeeds))]);
}

void Mutate(Rng& rng, std::string& s) {
  switch (rng.Below(9)) {
    case 0:  // flip or replace bytes
      for (size_t n = 1 + rng.Below(4); n > 0 && !s.empty(); --n) {
        char& c = s[rng.Below(s.size())];
        c = rng.OneIn(2) ? static_cast<char>(c ^ (1 << rng.Below(8)))
                         : static_cast<char>(rng.Next());
      }
      break;
    case 1:
    case 2: {  // insert a token
      std::string_view token = kTokens[rng.Below(std::size(kTokens))];
      if (token.empty()) token = std::string_view("\0", 1);
      s.insert(rng.Below(s.size() + 1), token);
      break;
    }
    case 3:  // delete a range
      if (!s.empty()) {
        size_t at = rng.Below(s.size());
        s.erase(at, 1 + rng.Below(std::min<size_t>(8, s.size() - at)));
      }
      break;
    case 4:  // truncate
      s.resize(rng.Below(s.size() + 1));
      break;
    case 5: {  // splice with another seed
      std::string other = Seed(rng);
      s = s.substr(0, rng.Below(s.size() + 1)) +
          other.substr(rng.Below(other.size() + 1));
      break;
    }
    case 6: {  // join with another seed
      s += rng.OneIn(2) ? " && " : " || ";
      s += Seed(rng);
      break;
    }
    case 7:  // duplicate a range
      if (!s.empty()) {
        size_t at = rng.Below(s.size());
        s.insert(rng.Below(s.size() + 1), s.substr(at, 1 + rng.Below(16)));
      }
      break;
    default: {  // nest
      size_t depth = rng.OneIn(4) ? 50 + rng.Below(30) : rng.Below(8);
      std::string open;
      for (size_t i = 0; i < depth; ++i) open += rng.OneIn(2) ? "(" : "!";
      std::string close;
      for (char c : open) {
        if (c == '(') close += ")";
      }
      s = open + s + close;
      break;
    }
  }
}

std::string NextInput(Rng& rng, uint64_t run) {
  if (run < std::size(kSeeds)) return std::string(kSeeds[run]);
  const size_t kind = rng.Below(100);
  if (kind < 5) {  // random bytes
    std::string s(rng.Below(64), '\0');
    for (char& c : s) c = static_cast<char>(rng.Next());
    return s;
  }
  if (kind < 6) {  // random printable soup of tokens
    std::string s;
    for (size_t n = rng.Below(40); n > 0; --n)
      s += kTokens[rng.Below(std::size(kTokens))];
    return s;
  }
  if (kind < 7 && rng.OneIn(20)) {  // around the length limit
    std::string s = "ttl == 1";
    const size_t target = 65536 - 64 + rng.Below(128);
    while (s.size() < target) s += " || ttl == 1";
    s.resize(target);
    return s;
  }
  if (kind < 8) {  // very deep nesting
    return std::string(1000 + rng.Below(9000), rng.OneIn(2) ? '(' : '!') +
           Seed(rng);
  }
  std::string s = Seed(rng);
  for (size_t n = 1 + rng.Below(4); n > 0; --n) Mutate(rng, s);
  return s;
}

int WriteSeeds(const char* dir) {
  for (size_t i = 0; i < std::size(kSeeds); ++i) {
    std::string path = std::string(dir) + "/seed-" + std::to_string(i);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      std::perror(path.c_str());
      return 1;
    }
    std::fwrite(kSeeds[i].data(), 1, kSeeds[i].size(), f);
    std::fclose(f);
  }
  std::printf("wrote %zu seeds to %s\n", std::size(kSeeds), dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 10'000'000;
  double seconds = 10;
  uint64_t seed = 1;
  if (const char* env = std::getenv("LOUPE_FUZZ_RUNS"))
    runs = std::strtoull(env, nullptr, 10);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--write-seeds" && i + 1 < argc) return WriteSeeds(argv[++i]);
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::strtod(argv[++i], nullptr);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (!arg.empty() && arg[0] >= '0' && arg[0] <= '9') {
      runs = std::strtoull(argv[i], nullptr, 10);
    } else {
      std::fprintf(
          stderr,
          "usage: %s [RUNS] [--seconds S] [--seed N] [--write-seeds DIR]\n",
          argv[0]);
      return 2;
    }
  }
  Rng rng(seed);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  uint64_t run = 0;
  size_t bytes = 0;
  for (; run < runs; ++run) {
    if (run % 256 == 0 && elapsed() > seconds) break;
    const std::string input = NextInput(rng, run);
    bytes += input.size();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                           input.size());
  }
  std::printf(
      "fuzz_driver: %llu inputs (%zu bytes) in %.1f s, seed %llu: no failure\n",
      static_cast<unsigned long long>(run), bytes, elapsed(),
      static_cast<unsigned long long>(seed));
  return 0;
}
