#include "multilog/radix_tree.h"

#include <cassert>
#include <new>

namespace loupe {
namespace {

// Out-of-line chunks: the first is kFirstChunkBytes, each next one twice
// its predecessor, up to kMaxChunkBytes. Doubling keeps the slack of a
// small leaf near half its entries; the cap bounds it for a large one.
constexpr uint64_t kFirstChunkBytes = 256;
constexpr uint64_t kMaxChunkBytes = 8192;
constexpr std::align_val_t kChunkAlignment{64};

// The first nibble at which a and b differ, or 2 * kMaxKeyBytes.
uint32_t FirstDifferentNibble(const RadixTree::Key& a,
                              const RadixTree::Key& b) {
  for (uint32_t word = 0; word < 2; ++word) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a.bytes + 8 * word, 8);
    std::memcpy(&y, b.bytes + 8 * word, 8);
    if (x != y) {
      // Byte-swap so the first byte is the most significant.
      const uint64_t diff = __builtin_bswap64(x) ^ __builtin_bswap64(y);
      return 16 * word + static_cast<uint32_t>(__builtin_clzll(diff)) / 4;
    }
  }
  return 2 * RadixTree::kMaxKeyBytes;
}

}  // namespace

RadixTree::Leaf::Leaf(const Key& key) : tail_(&first_), key_(key) {
  first_.prev = nullptr;
  first_.base = 0;
  first_.capacity = kInlineEntries;
  for (std::atomic<uint64_t>& slot : inline_slots_) {
    slot.store(kUnwritten, std::memory_order_relaxed);
  }
  first_.slots = inline_slots_;
}

RadixTree::RadixTree(uint32_t key_bytes)
    : key_bytes_(key_bytes), nibbles_(2 * key_bytes) {
  assert(key_bytes >= 1 && key_bytes <= kMaxKeyBytes);
}

RadixTree::~RadixTree() { Destroy(root_.load(std::memory_order_acquire)); }

void RadixTree::Destroy(uintptr_t p) {
  if (p == 0) return;
  if (IsLeaf(p)) {
    Leaf* leaf = AsLeaf(p);
    Chunk* c = leaf->first_.next.load(std::memory_order_acquire);
    while (c != nullptr) {
      Chunk* next = c->next.load(std::memory_order_acquire);
      FreeChunk(c);
      c = next;
    }
    delete leaf;
    return;
  }
  Inner* n = AsInner(p);
  for (std::atomic<uintptr_t>& child : n->child) {
    Destroy(child.load(std::memory_order_acquire));
  }
  delete n;
}

RadixTree::Leaf* RadixTree::InsertLeafSlow(const Key& key) {
  Leaf* fresh = nullptr;   // our leaf, allocated once, installed at most once
  Inner* split = nullptr;  // our inner node, reused after a lost CAS
  std::atomic<uintptr_t>* slot = &root_;
  // Nibbles below `pos` match every key below *slot (invariant 1), so
  // FirstDifferentNibble never reports one of them.
  [[maybe_unused]] uint32_t pos = 0;
  uintptr_t p = slot->load(std::memory_order_acquire);
  for (;;) {
    if (p == 0) {
      if (fresh == nullptr) fresh = new Leaf(key);
      // Release publishes the leaf (invariant 3); acquire on failure lets
      // us follow whatever won.
      if (slot->compare_exchange_strong(p, Tag(fresh),
                                        std::memory_order_release,
                                        std::memory_order_acquire)) {
        break;
      }
      continue;
    }
    const bool leaf = IsLeaf(p);
    const Key& other = leaf ? AsLeaf(p)->key_ : AsInner(p)->key;
    const uint32_t end = leaf ? nibbles_ : AsInner(p)->depth;
    const uint32_t diff = FirstDifferentNibble(key, other);
    assert(diff >= pos);
    if (diff >= end) {
      if (leaf) {  // another thread installed the key first
        delete fresh;
        delete split;
        return AsLeaf(p);
      }
      Inner* n = AsInner(p);
      slot = &n->child[Nibble(key, n->depth)];
      pos = n->depth + 1;
      p = slot->load(std::memory_order_acquire);
      continue;
    }
    // `key` leaves the path of p at nibble diff: a new inner node there
    // holds p and our leaf, and replaces p in its slot (invariant 2).
    if (fresh == nullptr) fresh = new Leaf(key);
    if (split == nullptr) split = new Inner;
    split->depth = diff;
    split->key = key;
    for (std::atomic<uintptr_t>& child : split->child) {
      child.store(0, std::memory_order_relaxed);
    }
    split->child[Nibble(other, diff)].store(p, std::memory_order_relaxed);
    split->child[Nibble(key, diff)].store(Tag(fresh),
                                          std::memory_order_relaxed);
    if (slot->compare_exchange_strong(p, reinterpret_cast<uintptr_t>(split),
                                      std::memory_order_release,
                                      std::memory_order_acquire)) {
      memory_bytes_.fetch_add(sizeof(Inner), std::memory_order_relaxed);
      split = nullptr;
      break;
    }
  }
  delete split;
  memory_bytes_.fetch_add(sizeof(Leaf), std::memory_order_relaxed);
  leaves_.fetch_add(1, std::memory_order_relaxed);
  return fresh;
}

RadixTree::Chunk* RadixTree::NewChunk(Chunk* prev) {
  const uint64_t prev_bytes =
      prev->prev == nullptr ? 0 : sizeof(Chunk) + 8 * prev->capacity;
  uint64_t bytes = prev_bytes == 0 ? kFirstChunkBytes : 2 * prev_bytes;
  if (bytes > kMaxChunkBytes) bytes = kMaxChunkBytes;
  // Aligned like nodes, so chunks share no line with them (false sharing).
  void* memory = ::operator new(bytes, kChunkAlignment);
  Chunk* c = new (memory) Chunk;
  c->prev = prev;
  c->base = prev->base + prev->capacity;
  c->capacity = (bytes - sizeof(Chunk)) / 8;
  c->slots = reinterpret_cast<std::atomic<uint64_t>*>(c + 1);
  for (uint64_t i = 0; i < c->capacity; ++i) {
    new (&c->slots[i]) std::atomic<uint64_t>(kUnwritten);
  }
  return c;
}

void RadixTree::FreeChunk(Chunk* chunk) {
  // Chunk and std::atomic<uint64_t> are trivially destructible.
  ::operator delete(chunk, kChunkAlignment);
}

RadixTree::Chunk* RadixTree::ChunkForSlow(Leaf* leaf, Chunk* hint,
                                          uint64_t index) {
  Chunk* c = hint;
  // A writer that reserved early may find the hint already past its entry.
  while (index < c->base) c = c->prev;
  while (index - c->base >= c->capacity) {
    Chunk* next = c->next.load(std::memory_order_acquire);  // invariant 4
    if (next == nullptr) {
      Chunk* fresh = NewChunk(c);
      // Release publishes the chunk's kUnwritten slots (invariant 4).
      if (c->next.compare_exchange_strong(next, fresh,
                                          std::memory_order_release,
                                          std::memory_order_acquire)) {
        memory_bytes_.fetch_add(sizeof(Chunk) + 8 * fresh->capacity,
                                std::memory_order_relaxed);
        next = fresh;
      } else {
        FreeChunk(fresh);  // lost: use the winner's
      }
    }
    c = next;
  }
  // Move the hint forward, never back. Release pairs with the acquire in
  // StoreReservedMp; acquire here, since we read the chunk we find there.
  Chunk* tail = leaf->tail_.load(std::memory_order_acquire);
  while (tail->base < c->base &&
         !leaf->tail_.compare_exchange_weak(tail, c, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
  }
  return c;
}

uint64_t RadixTree::CountEntries(uintptr_t p) {
  if (p == 0) return 0;
  if (IsLeaf(p)) return AsLeaf(p)->reserved_.load(std::memory_order_relaxed);
  uint64_t sum = 0;
  for (const std::atomic<uintptr_t>& child : AsInner(p)->child) {
    sum += CountEntries(child.load(std::memory_order_acquire));
  }
  return sum;
}

uint64_t RadixTree::entries() const {
  return CountEntries(root_.load(std::memory_order_acquire));
}

}  // namespace loupe
