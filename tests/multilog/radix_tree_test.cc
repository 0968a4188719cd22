// RadixTree on its own: exact, range and prefix lookups against a
// std::multimap, snapshot filtering, reserved-but-unwritten entries, chunk
// growth, and writers racing each other and a reader.
#include "multilog/radix_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "multilog/tails.h"

namespace loupe {
namespace {

using Key = RadixTree::Key;

Key MakeKey(std::initializer_list<uint8_t> bytes) {
  Key key;
  size_t i = 0;
  for (uint8_t b : bytes) key.bytes[i++] = b;
  return key;
}

std::string Hex(const Key& key, uint32_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint32_t i = 0; i < n; ++i) {
    s += kDigits[key.bytes[i] >> 4];
    s += kDigits[key.bytes[i] & 0xf];
  }
  return s;
}

// Keys as the reference orders them: the first n bytes.
struct KeyLess {
  uint32_t n;
  bool operator()(const Key& a, const Key& b) const {
    return std::memcmp(a.bytes, b.bytes, n) < 0;
  }
};

// Random keys with long shared prefixes and near neighbours, so the tree
// splits compressed paths at every nibble position.
Key RandomKey(std::mt19937_64& rng, uint32_t n) {
  static constexpr uint8_t kCommon[] = {0x00, 0x01, 0x0f, 0x10,
                                        0x7f, 0x80, 0xf0, 0xff};
  Key key;
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t r = rng();
    // Early bytes mostly common values, later ones more random.
    key.bytes[i] = (r % 8) < 6 - std::min<uint32_t>(i, 4)
                       ? kCommon[(r >> 8) % 8]
                       : static_cast<uint8_t>(r >> 16);
  }
  return key;
}

std::vector<uint64_t> Sorted(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class RadixTreeKeyBytesTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RadixTreeKeyBytesTest, MatchesMultimap) {
  const uint32_t n = GetParam();
  RadixTree tree(n);
  EXPECT_EQ(tree.key_bytes(), n);
  std::mt19937_64 rng(1234 + n);
  std::multimap<Key, uint64_t, KeyLess> ref(KeyLess{n});
  std::vector<Key> keys;
  const size_t kDistinct = n == 1 ? 200 : 3000;
  for (size_t i = 0; i < kDistinct; ++i) keys.push_back(RandomKey(rng, n));
  for (uint64_t offset = 0; offset < 20000; ++offset) {
    const Key& key = keys[rng() % keys.size()];
    tree.InsertMp(key, offset);
    ref.emplace(key, offset);
  }
  std::set<Key, KeyLess> distinct(KeyLess{n});
  for (const auto& [key, offset] : ref) distinct.insert(key);
  EXPECT_EQ(tree.leaves(), distinct.size());
  EXPECT_EQ(tree.entries(), ref.size());

  // Exact, for present keys and for absent ones.
  for (int i = 0; i < 2000; ++i) {
    const Key key = i % 2 == 0 ? keys[rng() % keys.size()] : RandomKey(rng, n);
    std::vector<uint64_t> got;
    tree.ForEachOffset(key, UINT64_MAX, [&](uint64_t o) { got.push_back(o); });
    std::vector<uint64_t> want;
    for (auto [it, end] = ref.equal_range(key); it != end; ++it) {
      want.push_back(it->second);
    }
    ASSERT_EQ(Sorted(got), want) << Hex(key, n);
    EXPECT_EQ(tree.Find(key) != nullptr, !want.empty());
  }

  // Ranges: leaves in key order, offsets as the reference has them.
  for (int i = 0; i < 300; ++i) {
    Key lo = RandomKey(rng, n);
    Key hi = i % 10 == 0 ? lo : RandomKey(rng, n);
    if (i % 3 != 0 && KeyLess{n}(hi, lo)) std::swap(lo, hi);
    std::vector<Key> got_leaves;
    std::vector<uint64_t> got;
    tree.ForEachLeafInRange(
        lo, hi, [&](const uint8_t* key, const RadixTree::LeafView& leaf) {
          Key k;
          std::memcpy(k.bytes, key, n);
          got_leaves.push_back(k);
          EXPECT_EQ(leaf.key(), key);
        });
    tree.ForEachOffsetInRange(lo, hi, UINT64_MAX,
                              [&](uint64_t o) { got.push_back(o); });
    std::vector<Key> want_leaves;
    std::vector<uint64_t> want;
    if (!KeyLess{n}(hi, lo)) {
      for (auto it = ref.lower_bound(lo); it != ref.upper_bound(hi); ++it) {
        want.push_back(it->second);
        if (want_leaves.empty() || !(want_leaves.back() == it->first)) {
          want_leaves.push_back(it->first);
        }
      }
    }
    ASSERT_EQ(got_leaves.size(), want_leaves.size())
        << "[" << Hex(lo, n) << ", " << Hex(hi, n) << "]";
    for (size_t j = 0; j < got_leaves.size(); ++j) {
      ASSERT_EQ(Hex(got_leaves[j], n), Hex(want_leaves[j], n));
    }
    ASSERT_EQ(Sorted(got), Sorted(want));
  }

  // Prefixes of every length, anchored on present keys half of the time.
  const std::vector<std::pair<Key, uint64_t>> flat(ref.begin(), ref.end());
  for (int i = 0; i < 400; ++i) {
    const Key key = i % 2 == 0 ? keys[rng() % keys.size()] : RandomKey(rng, n);
    const uint32_t bits = static_cast<uint32_t>(rng() % (8 * n + 2));
    std::vector<uint64_t> got;
    tree.ForEachOffsetWithPrefix(key, bits, UINT64_MAX,
                                 [&](uint64_t o) { got.push_back(o); });
    std::vector<uint64_t> want;
    const uint32_t whole = std::min(bits, 8 * n) / 8;
    const uint32_t rest = std::min(bits, 8 * n) % 8;
    const uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
    for (const auto& [k, offset] : flat) {
      if (std::memcmp(k.bytes, key.bytes, whole) == 0 &&
          (rest == 0 || ((k.bytes[whole] ^ key.bytes[whole]) & mask) == 0)) {
        want.push_back(offset);
      }
    }
    ASSERT_EQ(Sorted(got), Sorted(want)) << Hex(key, n) << "/" << bits;
  }
}

INSTANTIATE_TEST_SUITE_P(KeyBytes, RadixTreeKeyBytesTest,
                         ::testing::Values(1u, 2u, 3u, 4u, 6u, 16u));

TEST(RadixTreeTest, EmptyTreeFindsNothing) {
  RadixTree tree(16);
  const Key key = MakeKey({1, 2, 3});
  EXPECT_EQ(tree.Find(key), nullptr);
  int calls = 0;
  tree.ForEachOffset(key, UINT64_MAX, [&](uint64_t) { ++calls; });
  tree.ForEachOffsetInRange(Key(), MakeKey({0xff, 0xff}), UINT64_MAX,
                            [&](uint64_t) { ++calls; });
  tree.ForEachOffsetWithPrefix(key, 0, UINT64_MAX, [&](uint64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(tree.entries(), 0u);
  EXPECT_EQ(tree.leaves(), 0u);
  EXPECT_EQ(tree.memory_bytes(), 0u);
}

TEST(RadixTreeTest, SnapshotHidesLaterOffsets) {
  RadixTree tree(4);
  const Key a = MakeKey({10, 0, 0, 1});
  const Key b = MakeKey({10, 0, 0, 2});
  for (uint64_t o = 0; o < 100; ++o) tree.InsertMp(o % 2 ? a : b, o * 64);
  for (uint64_t snapshot : {0ull, 64ull, 65ull, 640ull, 6400ull}) {
    std::vector<uint64_t> got;
    tree.ForEachOffset(a, snapshot, [&](uint64_t o) { got.push_back(o); });
    for (uint64_t o : got) EXPECT_LT(o, snapshot);
    size_t want = 0;
    for (uint64_t o = 1; o < 100; o += 2) want += o * 64 < snapshot;
    EXPECT_EQ(got.size(), want) << snapshot;
  }
}

TEST(RadixTreeTest, UnwrittenEntriesAreSkipped) {
  RadixTree tree(16);
  Key key;
  key.bytes[10] = key.bytes[11] = 0xff;
  key.bytes[12] = 10;
  RadixTree::Leaf* leaf = tree.FindOrInsertLeafMp(key);
  ASSERT_EQ(tree.FindOrInsertLeafMp(key), leaf);
  // Reserve across the inline chunk and the first chunk; store every third.
  const uint64_t first = tree.ReserveMp(leaf, 40);
  EXPECT_EQ(first, 0u);
  for (uint64_t i = 0; i < 40; i += 3) tree.StoreReservedMp(leaf, i, i * 64);
  RadixTree::LeafView view(tree.Find(key));
  EXPECT_EQ(view.reserved(), 40u);
  std::vector<uint64_t> got;
  view.ForEachOffset(UINT64_MAX, [&](uint64_t o) { got.push_back(o); });
  std::vector<uint64_t> want;
  for (uint64_t i = 0; i < 40; i += 3) want.push_back(i * 64);
  EXPECT_EQ(Sorted(got), want);
  // Filling the holes in any order makes them visible.
  for (uint64_t i = 40; i-- > 0;) {
    if (i % 3 != 0) tree.StoreReservedMp(leaf, i, i * 64);
  }
  got.clear();
  view.ForEachOffset(UINT64_MAX, [&](uint64_t o) { got.push_back(o); });
  EXPECT_EQ(got.size(), 40u);
  // The sentinel never passes a snapshot, not even the largest one.
  tree.ReserveMp(leaf, 1);
  got.clear();
  view.ForEachOffset(UINT64_MAX, [&](uint64_t o) { got.push_back(o); });
  EXPECT_EQ(got.size(), 40u);
}

// The batch lookup agrees with one-at-a-time lookups, with repeated keys
// and keys new to the tree in the same batch.
TEST(RadixTreeTest, BatchLookupMatchesSingleLookups) {
  RadixTree tree(16);
  std::mt19937_64 rng(5);
  std::vector<Key> keys(16);
  for (int round = 0; round < 200; ++round) {
    for (Key& key : keys) {
      key = Key();
      key.bytes[10] = key.bytes[11] = 0xff;
      key.bytes[12] = 10;
      key.bytes[14] = static_cast<uint8_t>(rng() % 3);
      key.bytes[15] = static_cast<uint8_t>(rng() % 64);
    }
    RadixTree::Leaf* leaves[16];
    const size_t n = 1 + rng() % 16;
    tree.FindOrInsertLeavesMp(keys.data(), n, leaves);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(leaves[i], tree.FindOrInsertLeafMp(keys[i]));
      ASSERT_EQ(leaves[i], tree.Find(keys[i]));
      tree.AppendMp(leaves[i], static_cast<uint64_t>(round) * 16 + i);
    }
  }
  EXPECT_LE(tree.leaves(), 3u * 64u);
  uint64_t total = 0;
  tree.ForEachOffsetWithPrefix(Key(), 0, UINT64_MAX,
                               [&](uint64_t) { ++total; });
  EXPECT_EQ(total, tree.entries());
}

TEST(RadixTreeTest, OffsetWindow) {
  RadixTree tree(1);
  const Key key = MakeKey({42});
  for (uint64_t o = 0; o < 100; ++o) tree.InsertMp(key, o);
  RadixTree::LeafView view(tree.Find(key));
  std::vector<uint64_t> got;
  view.ForEachOffsetIn(10, 20, [&](uint64_t o) { got.push_back(o); });
  EXPECT_EQ(Sorted(got),
            (std::vector<uint64_t>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
  got.clear();
  view.ForEachOffsetIn(20, 10, [&](uint64_t o) { got.push_back(o); });
  view.ForEachOffsetIn(50, 50, [&](uint64_t o) { got.push_back(o); });
  EXPECT_TRUE(got.empty());
  view.ForEachOffsetIn(95, UINT64_MAX, [&](uint64_t o) { got.push_back(o); });
  EXPECT_EQ(got.size(), 5u);
}

TEST(RadixTreeTest, LargeLeafGrowsChunks) {
  RadixTree tree(2);
  const Key key = MakeKey({0x01, 0xbb});
  constexpr uint64_t kEntries = 200'000;
  for (uint64_t o = 0; o < kEntries; ++o) tree.InsertMp(key, o);
  uint64_t count = 0;
  uint64_t sum = 0;
  tree.ForEachOffset(key, UINT64_MAX, [&](uint64_t o) {
    ++count;
    sum += o;
  });
  EXPECT_EQ(count, kEntries);
  EXPECT_EQ(sum, kEntries * (kEntries - 1) / 2);
  // Chunks cost little more than the offsets themselves.
  EXPECT_LT(tree.memory_bytes(), kEntries * 8 * 105 / 100 + 16384);
}

TEST(RadixTreeTest, CallbackReturningFalseStops) {
  RadixTree tree(1);
  for (uint64_t o = 0; o < 100; ++o) {
    tree.InsertMp(MakeKey({static_cast<uint8_t>(o % 10)}), o);
  }
  int calls = 0;
  EXPECT_FALSE(
      tree.ForEachOffsetInRange(MakeKey({0}), MakeKey({9}), UINT64_MAX,
                                [&](uint64_t) { return ++calls < 15; }));
  EXPECT_EQ(calls, 15);
  calls = 0;
  EXPECT_TRUE(
      tree.ForEachOffsetWithPrefix(MakeKey({4}), 8, UINT64_MAX, [&](uint64_t) {
        ++calls;
        return true;
      }));
  EXPECT_EQ(calls, 10);
}

TEST(RadixTreeTest, RangeWithLoAboveHiIsEmpty) {
  RadixTree tree(2);
  tree.InsertMp(MakeKey({1, 1}), 0);
  tree.InsertMp(MakeKey({2, 2}), 1);
  int calls = 0;
  tree.ForEachOffsetInRange(MakeKey({2, 0}), MakeKey({1, 0}), UINT64_MAX,
                            [&](uint64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
  tree.ForEachOffsetInRange(MakeKey({1, 1}), MakeKey({1, 1}), UINT64_MAX,
                            [&](uint64_t) { ++calls; });
  EXPECT_EQ(calls, 1);
}

// Writers racing to insert the same new keys: exactly one leaf per key,
// and no entry lost (the losers of every CAS use the winner's node).
TEST(RadixTreeTest, RacingInsertsOfTheSameKeys) {
  constexpr int kThreads = 4;
  constexpr uint64_t kKeys = 5000;
  RadixTree tree(16);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (uint64_t i = 0; i < kKeys; ++i) {
        Key key;
        key.bytes[10] = key.bytes[11] = 0xff;
        const uint64_t h = (i * 0x9e3779b97f4a7c15ull) >> 40;
        std::memcpy(key.bytes + 12, &h, 4);
        tree.InsertMp(key, i * kThreads + static_cast<uint64_t>(t));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(tree.leaves(), kKeys);
  EXPECT_EQ(tree.entries(), kKeys * kThreads);
  std::vector<uint64_t> all;
  tree.ForEachOffsetWithPrefix(Key(), 0, UINT64_MAX,
                               [&](uint64_t o) { all.push_back(o); });
  ASSERT_EQ(all.size(), kKeys * kThreads);
  std::sort(all.begin(), all.end());
  for (uint64_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i);
}

// Four writers claim offsets from a real Tails, index every record before
// completing its batch (the reader contract), and a reader checks at each
// snapshot S that it sees every offset below S exactly once, under the right
// key, and nothing at or above S.
TEST(RadixTreeTest, ConcurrentWritersAndReaderSeeMonotonicPrefix) {
  constexpr uint32_t kWriters = 4;
  constexpr uint64_t kPerWriter = 250'000;
  constexpr uint64_t kKeys = 700;
  auto key_of = [](uint64_t offset) {
    Key key;
    key.bytes[10] = key.bytes[11] = 0xff;
    const uint64_t host = (offset * 0x9e3779b97f4a7c15ull >> 32) % kKeys;
    key.bytes[12] = 10;
    key.bytes[14] = static_cast<uint8_t>(host >> 8);
    key.bytes[15] = static_cast<uint8_t>(host);
    return key;
  };
  RadixTree tree(16);
  Tails tails(0, kWriters);
  tails.SetSlotsInUse(kWriters);
  std::atomic<uint32_t> running{kWriters};
  std::vector<std::thread> writers;
  for (uint32_t w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937_64 rng(w);
      uint64_t done = 0;
      while (done < kPerWriter) {
        const uint64_t n =
            std::min<uint64_t>(1 + rng() % 32, kPerWriter - done);
        tails.Announce(w);
        const uint64_t first = tails.ClaimFetchAdd(w, n);
        for (uint64_t o = first; o < first + n; ++o)
          tree.InsertMp(key_of(o), o);
        tails.Complete(w);
        done += n;
      }
      running.fetch_sub(1);
    });
  }
  uint64_t last = 0;
  uint64_t rounds = 0;
  std::vector<uint8_t> seen;
  bool last_round = false;
  while (!last_round) {
    last_round = running.load() == 0;
    const uint64_t snapshot = tails.read_tail();
    ASSERT_GE(snapshot, last);
    last = snapshot;
    seen.assign(snapshot, 0);
    uint64_t count = 0;
    bool ok = true;
    for (uint64_t h = 0; h < kKeys && ok; ++h) {
      Key key = key_of(0);
      key.bytes[14] = static_cast<uint8_t>(h >> 8);
      key.bytes[15] = static_cast<uint8_t>(h);
      tree.ForEachOffset(key, snapshot, [&](uint64_t o) {
        if (o >= snapshot || seen[o] || !(key_of(o) == key)) {
          ADD_FAILURE() << "offset " << o << " at snapshot " << snapshot;
          ok = false;
          return false;
        }
        seen[o] = 1;
        ++count;
        return true;
      });
    }
    ASSERT_TRUE(ok);
    ASSERT_EQ(count, snapshot) << "an entry below the snapshot is missing";
    // The whole tree as one prefix query agrees.
    uint64_t all = 0;
    tree.ForEachOffsetWithPrefix(Key(), 0, snapshot, [&](uint64_t) { ++all; });
    ASSERT_EQ(all, snapshot);
    ++rounds;
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(last, kWriters * kPerWriter);
  EXPECT_EQ(tree.leaves(), kKeys);
  EXPECT_GT(rounds, 1u);
  RecordProperty("reader_rounds", static_cast<int>(rounds));
}

}  // namespace
}  // namespace loupe
