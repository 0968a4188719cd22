// RadixTree: the lock-free radix tree under every index log. It maps
// fixed-length byte-string keys (key_bytes() bytes, 1 to 16, fixed per
// tree; 16 for ipv6 addresses) to leaves, and each leaf holds an
// append-only list of uint64 data-log offsets. Many writer threads insert at
// once, readers never lock, and nothing is freed before the whole tree is:
// the owner retires a tree through RCU, so a reader inside an RCU read-side
// critical section may follow any pointer it loaded. Not copyable.
//
// Shape. A 16-way trie on the key's nibbles (high nibble first, so the
// in-order walk is bytewise order) with path compression: an inner node
// stores the nibble `depth` it branches on and a copy of one key below it;
// the nibbles it skips are those of that key. A slot holding a leaf stands
// for the whole remaining path (lazy expansion). IPv4-mapped src_ip keys of a
// few thousand hosts in one /16 are about five loads deep; the ::ffff:0:0/96
// prefix costs nothing. Writers descend without checking skipped nibbles and
// verify the whole key at the leaf; only a miss takes the careful path.
// FindOrInsertLeavesMp does a window of lookups first and prefetches each
// leaf, its tail chunk and its next slot, so that their cache misses overlap
// instead of queuing behind each append's locked RMW. Nodes and chunks are
// 64-byte aligned: no writer's store shares a line with what descents read.
//
// Growth. A missing key is installed with one CAS on an empty slot; a key
// that diverges inside a compressed path or at a leaf installs a new inner
// node holding the old subtree and the new leaf, with one CAS on the slot
// that pointed at the old subtree. A thread that loses a CAS frees its node
// (nobody saw it) and retries from the slot's new value.
//
// Leaves. A leaf's offsets live in a list of chunks: seven slots inline,
// then chunks of growing size (256 bytes doubling to 8 KiB). A writer
// reserves an entry with one fetch_add on the leaf's `reserved` counter,
// finds the chunk through the leaf's tail hint (installing the next chunk by
// CAS when it is the first to need it), and stores the offset. Slots start
// as kUnwritten, and readers skip them. The counter sits on the leaf's own
// cache line (leaves are 64-byte aligned), so writers share a line only when
// they append to the same key.
//
// Reader contract. A writer appends a record's entry *before* it publishes
// the record (Tails::Complete for the record's batch, a release). A reader
// that loaded a read-tail snapshot S (an acquire that pairs with that
// release) therefore sees every entry for an offset < S, and must ignore
// entries >= S (records it may not read yet) and kUnwritten (entries being
// written). The ForEachOffset* functions do both: they visit exactly the
// stored offsets < snapshot (LeafView::ForEachOffsetIn: in [begin, end)),
// in no particular order.
//
// Concurrency:
//   | operation                                   | may run concurrently with |
//   |---------------------------------------------|---------------------------|
//   | FindOrInsertLeaf(s)Mp, InsertMp, AppendMp,  | everything but ~RadixTree |
//   | ReserveMp                                   |                           |
//   | StoreReservedMp(leaf, i)                    | the same, once per i, by  |
//   |                                             | any one thread            |
//   | Find, ForEach*, LeafView, entries, leaves,  | everything but ~RadixTree |
//   | memory_bytes                                |                           |
//   | ~RadixTree                                  | nothing (after RCU grace) |
//
// Invariants:
//   1. Every key below an inner node agrees with the node's key on nibbles
//      [0, depth), and every key below its child c has nibble `depth` == c.
//   2. A slot (root_ or a child) changes only from 0 to a node, or from a
//      node X to a new inner node that has X as a child. So a key reachable
//      from a slot stays reachable from it; nodes never move or die before
//      the tree does.
//   3. A node is fully written (depth, key, children, first chunk) before
//      the release CAS that installs it; every slot load that is followed
//      by a dereference is an acquire and pairs with that CAS.
//   4. Entry indexes are unique (fetch_add on `reserved`); index i lives in
//      the chunk with base <= i < base + capacity. Chunk i+1 is installed by
//      a release CAS on chunk i's `next` (acquire loads pair with it), after
//      all its slots hold kUnwritten. The tail hint only moves forward (CAS,
//      acq_rel) and always names an installed chunk; its loads are acquires
//      where the chunk is read, and pair with that CAS.
//   5. Each slot is written once, from kUnwritten to an offset, with a
//      relaxed store: the offset carries no payload of its own. The record
//      it names is reached through readTail, and the entry's visibility to a
//      reader with snapshot S > offset comes from invariant 4 and the
//      writer's Complete (release) -> reader's readTail (acquire) chain.
#ifndef LOUPE_MULTILOG_RADIX_TREE_H_
#define LOUPE_MULTILOG_RADIX_TREE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

namespace loupe {

class RadixTree {
 public:
  static constexpr uint32_t kMaxKeyBytes = 16;
  // The value of a reserved entry whose offset is not yet stored.
  static constexpr uint64_t kUnwritten = std::numeric_limits<uint64_t>::max();
  // Entries stored in the leaf itself, before the first chunk.
  static constexpr uint64_t kInlineEntries = 7;

  // A key zero-padded to kMaxKeyBytes: the form the tree works on. Bytes at
  // and past key_bytes() must be zero.
  struct Key {
    alignas(8) uint8_t bytes[kMaxKeyBytes] = {};
    friend bool operator==(const Key& a, const Key& b) {
      return std::memcmp(a.bytes, b.bytes, kMaxKeyBytes) == 0;
    }
  };

  class Leaf;
  class LeafView;

  // key_bytes in [1, kMaxKeyBytes] (asserted).
  explicit RadixTree(uint32_t key_bytes);
  ~RadixTree();
  RadixTree(const RadixTree&) = delete;
  RadixTree& operator=(const RadixTree&) = delete;

  uint32_t key_bytes() const { return key_bytes_; }
  // Pads `key` (key_bytes() bytes) into a Key.
  Key MakeKey(const uint8_t* key) const {
    Key k;
    std::memcpy(k.bytes, key, key_bytes_);
    return k;
  }

  // ---- Writers: multi-producer, lock-free. ----

  // The leaf of `key`, inserted if missing. Allocates only when it inserts.
  Leaf* FindOrInsertLeafMp(const Key& key) {
    uintptr_t p = root_.load(std::memory_order_acquire);  // invariant 3
    while (p != 0 && !IsLeaf(p)) {
      const Inner* n = AsInner(p);
      p = n->child[Nibble(key, n->depth)].load(std::memory_order_acquire);
    }
    if (p != 0 && AsLeaf(p)->key_ == key) [[likely]] {
      return AsLeaf(p);
    }
    return InsertLeafSlow(key);
  }
  // The batch form: leaves[i] = FindOrInsertLeafMp(keys[i]) for i < n. It
  // overlaps the cache misses of the n lookups, and prefetches what the
  // AppendMp calls that follow will touch.
  void FindOrInsertLeavesMp(const Key* keys, size_t n, Leaf** leaves) {
    for (size_t i = 0; i < n; ++i) {
      uintptr_t p = root_.load(std::memory_order_acquire);
      while (p != 0 && !IsLeaf(p)) {
        const Inner* node = AsInner(p);
        p = node->child[Nibble(keys[i], node->depth)].load(
            std::memory_order_acquire);
      }
      leaves[i] = p != 0 ? AsLeaf(p) : nullptr;
      if (p != 0) __builtin_prefetch(leaves[i], 1);
    }
    for (size_t i = 0; i < n; ++i) {
      if (leaves[i] == nullptr || !(leaves[i]->key_ == keys[i])) [[unlikely]] {
        leaves[i] = InsertLeafSlow(keys[i]);
      }
      // Not dereferenced here: relaxed.
      __builtin_prefetch(leaves[i]->tail_.load(std::memory_order_relaxed), 0);
    }
    // The slot the next append will most likely take: a store that misses
    // would stall the locked RMW of the append after it.
    for (size_t i = 0; i < n; ++i) {
      // Acquire: invariant 4 (the chunk may be another writer's).
      const Chunk* c = leaves[i]->tail_.load(std::memory_order_acquire);
      const uint64_t next =
          leaves[i]->reserved_.load(std::memory_order_relaxed) - c->base;
      if (next < c->capacity) __builtin_prefetch(&c->slots[next], 1);
    }
  }
  // Appends `offset` to the leaf of `key`.
  void InsertMp(const Key& key, uint64_t offset) {
    AppendMp(FindOrInsertLeafMp(key), offset);
  }
  // Appends `offset` to `leaf` (one fetch_add and one store when the entry
  // falls in the leaf's tail chunk).
  void AppendMp(Leaf* leaf, uint64_t offset) {
    StoreReservedMp(leaf, ReserveMp(leaf, 1), offset);
  }
  // Reserves `n` consecutive entries of `leaf`; returns the first index.
  // Until StoreReservedMp fills them, readers skip them (kUnwritten).
  uint64_t ReserveMp(Leaf* leaf, uint64_t n) {
    return leaf->reserved_.fetch_add(n, std::memory_order_relaxed);
  }
  // Stores `offset` in reserved entry `index` (invariant 5).
  void StoreReservedMp(Leaf* leaf, uint64_t index, uint64_t offset) {
    Chunk* c = leaf->tail_.load(std::memory_order_acquire);  // invariant 4
    if (index - c->base >= c->capacity) [[unlikely]] {
      c = ChunkForSlow(leaf, c, index);
    }
    c->slots[index - c->base].store(offset, std::memory_order_relaxed);
  }

  // ---- Readers: never lock, never allocate. ----

  // fn(const uint8_t* key, const LeafView&) for leaves, and fn(uint64_t
  // offset) for offsets, may return void or bool; false stops the walk and
  // makes the ForEach* call return false.

  // The leaf of `key`, or nullptr.
  const Leaf* Find(const Key& key) const {
    uintptr_t p = root_.load(std::memory_order_acquire);
    while (p != 0 && !IsLeaf(p)) {
      const Inner* n = AsInner(p);
      p = n->child[Nibble(key, n->depth)].load(std::memory_order_acquire);
    }
    return p != 0 && AsLeaf(p)->key_ == key ? AsLeaf(p) : nullptr;
  }
  // Leaves with lo <= key <= hi (bytewise), in key order.
  template <class Fn>
  bool ForEachLeafInRange(const Key& lo, const Key& hi, Fn&& fn) const;
  // Leaves whose key's first `bits` bits equal those of `key`, in key order.
  // bits > 8 * key_bytes() means the whole key; 0 means every leaf.
  template <class Fn>
  bool ForEachLeafWithPrefix(const Key& key, uint32_t bits, Fn&& fn) const;
  // Offsets < snapshot of `key`'s leaf.
  template <class Fn>
  bool ForEachOffset(const Key& key, uint64_t snapshot, Fn&& fn) const;
  template <class Fn>
  bool ForEachOffsetInRange(const Key& lo, const Key& hi, uint64_t snapshot,
                            Fn&& fn) const;
  template <class Fn>
  bool ForEachOffsetWithPrefix(const Key& key, uint32_t bits, uint64_t snapshot,
                               Fn&& fn) const;

  // Bytes allocated for nodes and chunks (relaxed; exact once writers stop).
  uint64_t memory_bytes() const {
    return memory_bytes_.load(std::memory_order_relaxed);
  }
  uint64_t leaves() const { return leaves_.load(std::memory_order_relaxed); }
  // Entries reserved in all leaves (including ones still being written).
  // Walks the tree: O(nodes).
  uint64_t entries() const;

 private:
  struct Chunk {
    std::atomic<Chunk*> next{nullptr};  // invariant 4
    Chunk* prev;                        // nullptr for the inline chunk
    uint64_t base;                      // index of slots[0]
    uint64_t capacity;
    std::atomic<uint64_t>* slots;
  };

 public:
  // A key's offsets. Opaque: use LeafView or the tree's functions.
  class alignas(64) Leaf {
   private:
    friend class RadixTree;
    friend class LeafView;
    explicit Leaf(const Key& key);

    // The first line holds what every append and lookup touches: reserved_,
    // tail_, key_ and the inline chunk's header (all but its `slots`).
    std::atomic<uint64_t> reserved_{0};
    std::atomic<Chunk*> tail_;  // hint: the newest chunk some writer used
    Key key_;
    Chunk first_;
    std::atomic<uint64_t> inline_slots_[kInlineEntries];
  };
  static_assert(sizeof(Leaf) == 128, "a leaf is two cache lines");

  // A read-only view of one leaf, valid as long as the tree is.
  class LeafView {
   public:
    explicit LeafView(const Leaf* leaf) : leaf_(leaf) {}
    const uint8_t* key() const { return leaf_->key_.bytes; }
    // Entries reserved so far, written or not (an upper bound on what
    // ForEachOffset visits).
    uint64_t reserved() const {
      return leaf_->reserved_.load(std::memory_order_relaxed);
    }
    // fn(uint64_t offset) for every stored offset < snapshot.
    template <class Fn>
    bool ForEachOffset(uint64_t snapshot, Fn&& fn) const {
      return ForEachOffsetIn(0, snapshot, fn);
    }
    // fn(uint64_t offset) for every stored offset in [begin, end).
    template <class Fn>
    bool ForEachOffsetIn(uint64_t begin, uint64_t end, Fn&& fn) const;

   private:
    const Leaf* leaf_;
  };

 private:
  // Cache-line aligned, so that no writer's store to a chunk or a leaf
  // nearby invalidates the lines every descent reads.
  struct alignas(64) Inner {
    uint32_t depth;  // the nibble this node branches on
    Key key;         // a key below this node (invariant 1)
    std::atomic<uintptr_t> child[16] = {};
  };

  static constexpr uintptr_t kLeafTag = 1;

  static bool IsLeaf(uintptr_t p) { return (p & kLeafTag) != 0; }
  static Leaf* AsLeaf(uintptr_t p) {
    return reinterpret_cast<Leaf*>(p & ~kLeafTag);
  }
  static Inner* AsInner(uintptr_t p) { return reinterpret_cast<Inner*>(p); }
  static uintptr_t Tag(Leaf* leaf) {
    return reinterpret_cast<uintptr_t>(leaf) | kLeafTag;
  }
  // Nibble `i` of the key, high nibble of each byte first.
  static uint32_t Nibble(const Key& key, uint32_t i) {
    return (key.bytes[i >> 1] >> (((i & 1) ^ 1) << 2)) & 0xf;
  }
  // Compares the first `nibbles` nibbles of a and b: <0, 0, >0.
  static int ComparePrefix(const Key& a, const Key& b, uint32_t nibbles) {
    if (int c = std::memcmp(a.bytes, b.bytes, nibbles >> 1); c != 0) return c;
    if ((nibbles & 1) == 0) return 0;
    return static_cast<int>(a.bytes[nibbles >> 1] >> 4) -
           static_cast<int>(b.bytes[nibbles >> 1] >> 4);
  }
  template <class Fn, class... Args>
  static bool Visit(Fn& fn, Args&&... args) {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn&, Args...>, bool>) {
      return fn(std::forward<Args>(args)...);
    } else {
      fn(std::forward<Args>(args)...);
      return true;
    }
  }

  Leaf* InsertLeafSlow(const Key& key);
  Chunk* ChunkForSlow(Leaf* leaf, Chunk* hint, uint64_t index);
  Chunk* NewChunk(Chunk* prev);
  static void FreeChunk(Chunk* chunk);
  void Destroy(uintptr_t p);
  static uint64_t CountEntries(uintptr_t p);

  template <class Fn>
  bool VisitRange(uintptr_t p, const Key& lo, const Key& hi, bool lo_tight,
                  bool hi_tight, Fn& fn) const;

  const uint32_t key_bytes_;
  const uint32_t nibbles_;  // 2 * key_bytes_
  alignas(64) std::atomic<uintptr_t> root_{0};
  // Touched only when a node or chunk is allocated.
  alignas(64) std::atomic<uint64_t> memory_bytes_{0};
  std::atomic<uint64_t> leaves_{0};
};

template <class Fn>
bool RadixTree::LeafView::ForEachOffsetIn(uint64_t begin, uint64_t end,
                                          Fn&& fn) const {
  if (end <= begin) return true;
  const uint64_t width = end - begin;
  const uint64_t reserved = leaf_->reserved_.load(std::memory_order_relaxed);
  for (const Chunk* c = &leaf_->first_; c != nullptr && c->base < reserved;
       c = c->next.load(std::memory_order_acquire)) {  // invariant 4
    const uint64_t n =
        reserved - c->base < c->capacity ? reserved - c->base : c->capacity;
    for (uint64_t i = 0; i < n; ++i) {
      // Relaxed (invariant 5). One unsigned compare tests begin <= offset
      // < end, and kUnwritten >= any end, so it also skips entries being
      // written.
      const uint64_t offset = c->slots[i].load(std::memory_order_relaxed);
      if (offset - begin < width) {
        if (!Visit(fn, offset)) return false;
      }
    }
  }
  return true;
}

template <class Fn>
bool RadixTree::VisitRange(uintptr_t p, const Key& lo, const Key& hi,
                           bool lo_tight, bool hi_tight, Fn& fn) const {
  // lo_tight: the path so far equals lo's prefix, so lo still bounds the
  // subtree; likewise hi_tight.
  if (p == 0) return true;
  if (IsLeaf(p)) {
    const Leaf* leaf = AsLeaf(p);
    if (lo_tight && std::memcmp(leaf->key_.bytes, lo.bytes, key_bytes_) < 0) {
      return true;
    }
    if (hi_tight && std::memcmp(leaf->key_.bytes, hi.bytes, key_bytes_) > 0) {
      return true;
    }
    return Visit(fn, static_cast<const uint8_t*>(leaf->key_.bytes),
                 LeafView(leaf));
  }
  const Inner* n = AsInner(p);
  const uint32_t depth = n->depth;
  // The skipped nibbles decide the whole subtree against a tight bound.
  if (lo_tight) {
    const int c = ComparePrefix(n->key, lo, depth);
    if (c < 0) return true;
    lo_tight = c == 0;
  }
  if (hi_tight) {
    const int c = ComparePrefix(n->key, hi, depth);
    if (c > 0) return true;
    hi_tight = c == 0;
  }
  const uint32_t first = lo_tight ? Nibble(lo, depth) : 0;
  const uint32_t last = hi_tight ? Nibble(hi, depth) : 15;
  for (uint32_t c = first; c <= last; ++c) {
    const uintptr_t child = n->child[c].load(std::memory_order_acquire);
    if (!VisitRange(child, lo, hi, lo_tight && c == first,
                    hi_tight && c == last, fn)) {
      return false;
    }
  }
  return true;
}

template <class Fn>
bool RadixTree::ForEachLeafInRange(const Key& lo, const Key& hi,
                                   Fn&& fn) const {
  if (std::memcmp(lo.bytes, hi.bytes, key_bytes_) > 0) return true;
  return VisitRange(root_.load(std::memory_order_acquire), lo, hi, true, true,
                    fn);
}

template <class Fn>
bool RadixTree::ForEachLeafWithPrefix(const Key& key, uint32_t bits,
                                      Fn&& fn) const {
  Key lo;
  Key hi;
  const uint32_t key_bits = 8 * key_bytes_;
  if (bits > key_bits) bits = key_bits;
  for (uint32_t i = 0; i < key_bytes_; ++i) {
    const uint32_t keep = bits > 8 * i ? bits - 8 * i : 0;  // bits of byte i
    const uint8_t mask =
        keep >= 8 ? 0xff : static_cast<uint8_t>(0xff00u >> keep);
    lo.bytes[i] = key.bytes[i] & mask;
    hi.bytes[i] = static_cast<uint8_t>(key.bytes[i] | ~mask);
  }
  return ForEachLeafInRange(lo, hi, fn);
}

template <class Fn>
bool RadixTree::ForEachOffset(const Key& key, uint64_t snapshot,
                              Fn&& fn) const {
  const Leaf* leaf = Find(key);
  return leaf == nullptr || LeafView(leaf).ForEachOffset(snapshot, fn);
}

template <class Fn>
bool RadixTree::ForEachOffsetInRange(const Key& lo, const Key& hi,
                                     uint64_t snapshot, Fn&& fn) const {
  return ForEachLeafInRange(lo, hi, [&](const uint8_t*, const LeafView& leaf) {
    return leaf.ForEachOffset(snapshot, fn);
  });
}

template <class Fn>
bool RadixTree::ForEachOffsetWithPrefix(const Key& key, uint32_t bits,
                                        uint64_t snapshot, Fn&& fn) const {
  return ForEachLeafWithPrefix(key, bits,
                               [&](const uint8_t*, const LeafView& leaf) {
                                 return leaf.ForEachOffset(snapshot, fn);
                               });
}

}  // namespace loupe

#endif  // LOUPE_MULTILOG_RADIX_TREE_H_
