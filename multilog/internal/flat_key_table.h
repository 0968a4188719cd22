// FlatKeyTable: fixed-width byte keys to dense indexes 0, 1, 2, ... in
// order of first insertion -- the breakdowns' per-key accumulators live in
// a vector beside it. Open addressing with linear probing over a table of
// at most half-full 32-bit slots; keys are kept padded to whole 8-byte
// words in one arena, hashed and compared a word at a time. Internal to
// multilog.
//
// Cost per lookup: one hash of words() words, one probe run (short at load
// <= 1/2), one key compare. A caller that knows words() at compile time
// passes it as kWords, so that hashing and comparing unroll; a caller that
// builds padded keys in place (the breakdown scan) copies nothing. Growth
// doubles the slots (rehashing from the arena), so a scan allocates
// O(log keys) times, never per record. Not thread-safe.
#ifndef LOUPE_MULTILOG_INTERNAL_FLAT_KEY_TABLE_H_
#define LOUPE_MULTILOG_INTERNAL_FLAT_KEY_TABLE_H_

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace loupe::internal {

class FlatKeyTable {
  // Four string columns of Schema::kMaxStringWidth, and a time bucket.
  static constexpr size_t kMaxWords = 4 * 1024 / 8 + 1;

 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kMaxWidth = kMaxWords * 8;

  // `width` in [1, kMaxWidth]: the bytes of every key.
  explicit FlatKeyTable(size_t width)
      : width_(width), words_((width + 7) / 8), slots_(1024, 0) {}

  size_t size() const { return size_; }
  // Words of a padded key: its width bytes, then zeros to a whole word.
  size_t words() const { return words_; }

  // The index of the padded key (words() words); a new key gets size()
  // when size() < cap, else kNone. kWords: 0, or words().
  template <size_t kWords = 0>
  uint32_t FindOrInsertPadded(const uint64_t* key, size_t cap) {
    const size_t words = kWords != 0 ? kWords : words_;
    const uint64_t h = Hash(key, words);
    const size_t mask = slots_.size() - 1;
    for (size_t at = h & mask;; at = (at + 1) & mask) {
      const uint32_t s = slots_[at];
      if (s == 0) break;
      if (Equal(&arena_[(s - 1) * words], key, words)) return s - 1;
    }
    if (size_ >= cap) return kNone;
    arena_.insert(arena_.end(), key, key + words);
    const uint32_t index = static_cast<uint32_t>(size_++);
    if (2 * size_ > slots_.size()) {
      Grow();
    } else {
      Place(h, index);
    }
    return index;
  }

  // As FindOrInsertPadded, for the width bytes at `key`.
  uint32_t FindOrInsert(const uint8_t* key, size_t cap) {
    uint64_t padded[kMaxWords];
    padded[words_ - 1] = 0;
    std::memcpy(padded, key, width_);
    return FindOrInsertPadded(padded, cap);
  }

  // The key of index i (width bytes).
  std::string_view key(uint32_t i) const {
    return {reinterpret_cast<const char*>(&arena_[i * words_]), width_};
  }

 private:
  static uint64_t Hash(const uint64_t* w, size_t words) {
    uint64_t h = 0x243f6a8885a308d3ULL;
    for (size_t i = 0; i < words; ++i) {
      h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
      h ^= h >> 29;
    }
    return h ^ (h >> 32);
  }
  static bool Equal(const uint64_t* a, const uint64_t* b, size_t words) {
    uint64_t diff = 0;
    for (size_t i = 0; i < words; ++i) diff |= a[i] ^ b[i];
    return diff == 0;
  }
  void Place(uint64_t h, uint32_t index) {
    const size_t mask = slots_.size() - 1;
    size_t at = h & mask;
    while (slots_[at] != 0) at = (at + 1) & mask;
    slots_[at] = index + 1;
  }
  void Grow() {
    slots_.assign(slots_.size() * 2, 0);
    for (uint32_t i = 0; i < size_; ++i) {
      Place(Hash(&arena_[i * words_], words_), i);
    }
  }

  const size_t width_;
  const size_t words_;
  std::vector<uint64_t> arena_;  // size_ keys, words_ each
  std::vector<uint32_t> slots_;  // 0 empty, else index + 1; a power of 2
  size_t size_ = 0;
};

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_FLAT_KEY_TABLE_H_
