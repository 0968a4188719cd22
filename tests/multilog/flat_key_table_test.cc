// FlatKeyTable: dense indexes in order of first insertion, found again
// after growth, refused past the cap, for narrow and wide keys.
#include "multilog/internal/flat_key_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace loupe::internal {
namespace {

void CheckAgainstAMap(size_t width, size_t keys, size_t lookups) {
  FlatKeyTable t(width);
  std::unordered_map<std::string, uint32_t> want;
  std::mt19937_64 rng(width);
  std::vector<std::string> made;
  for (size_t i = 0; i < keys; ++i) {
    std::string k(width, '\0');
    for (char& c : k) c = static_cast<char>(rng() % 7);  // collisions likely
    made.push_back(k);
  }
  for (size_t n = 0; n < lookups; ++n) {
    const std::string& k = made[rng() % made.size()];
    const uint32_t i =
        t.FindOrInsert(reinterpret_cast<const uint8_t*>(k.data()), SIZE_MAX);
    auto [it, fresh] = want.emplace(k, static_cast<uint32_t>(want.size()));
    ASSERT_EQ(i, it->second) << "width " << width;
    ASSERT_EQ(t.key(i), k);
  }
  EXPECT_EQ(t.size(), want.size());
}

TEST(FlatKeyTableTest, MatchesAMapForNarrowAndWideKeys) {
  CheckAgainstAMap(1, 100, 10000);
  CheckAgainstAMap(3, 5000, 50000);
  CheckAgainstAMap(16, 20000, 100000);  // grows several times
  CheckAgainstAMap(20, 3000, 20000);    // not a whole number of words
  CheckAgainstAMap(4096, 50, 500);      // four 1024-byte strings
}

TEST(FlatKeyTableTest, NewKeysPastTheCapAreRefusedOldOnesFound) {
  FlatKeyTable t(8);
  for (uint64_t k = 0; k < 10; ++k) {
    EXPECT_EQ(t.FindOrInsert(reinterpret_cast<const uint8_t*>(&k), 10), k);
  }
  const uint64_t fresh = 99;
  EXPECT_EQ(t.FindOrInsert(reinterpret_cast<const uint8_t*>(&fresh), 10),
            FlatKeyTable::kNone);
  const uint64_t old = 3;
  EXPECT_EQ(t.FindOrInsert(reinterpret_cast<const uint8_t*>(&old), 10), 3u);
  EXPECT_EQ(t.size(), 10u);
}

}  // namespace
}  // namespace loupe::internal
