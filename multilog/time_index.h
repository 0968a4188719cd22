// TimeIndex<T>: a lock-free radix tree from time-bucket numbers (bucket =
// timestamp_ns / bucket_ns) to objects T, the spine of the filter and
// aggregate logs. The tree has a fixed height of 8 levels of 256 slots (one
// byte of the 64-bit bucket number per level); inner nodes and the Ts are
// created on demand, installed with one CAS, and never removed or moved
// until the index is destroyed, which frees every node and deletes every T.
// Buckets are nearly contiguous in time (1 ms buckets: 1000 per second fill
// about four leaves), so a range walk touches a few nodes and skips absent
// subtrees by one null check.
//
// Concurrency:
//   | operation                 | may run concurrently with          |
//   |---------------------------|------------------------------------|
//   | GetOrCreate               | everything (many threads)          |
//   | Find, ForEach*, size, ... | everything                         |
//   | destructor                | nothing                            |
// Invariants:
//   1. A slot goes from null to a pointer once (CAS, acq_rel) and never
//      changes again; a thread that loses the CAS deletes what it built and
//      uses the winner's.
//   2. Every load of a slot is acquire and pairs with the CAS that
//      installed it, so a node's zeroed slots and a T's constructor are
//      visible to whoever finds them.
// What a T contains and how it is shared is the T's business: the index
// only hands out pointers.
#ifndef LOUPE_MULTILOG_TIME_INDEX_H_
#define LOUPE_MULTILOG_TIME_INDEX_H_

#include <atomic>
#include <cstdint>
#include <type_traits>

namespace loupe {

template <class T>
class TimeIndex {
 public:
  TimeIndex() = default;
  ~TimeIndex() { Free(&root_, 0); }
  TimeIndex(const TimeIndex&) = delete;
  TimeIndex& operator=(const TimeIndex&) = delete;

  // The T of `bucket`, or nullptr.
  T* Find(uint64_t bucket) const {
    const Node* node = &root_;
    for (int level = 0; level < kLevels - 1; ++level) {
      node = static_cast<const Node*>(
          node->slots[Digit(bucket, level)].load(std::memory_order_acquire));
      if (node == nullptr) return nullptr;
    }
    return static_cast<T*>(node->slots[Digit(bucket, kLevels - 1)].load(
        std::memory_order_acquire));
  }

  // The T of `bucket`, built as T(args...) if there is none yet. Threads
  // racing on one bucket all get the same T.
  template <class... Args>
  T* GetOrCreate(uint64_t bucket, const Args&... args) {
    Node* node = &root_;
    for (int level = 0; level < kLevels - 1; ++level) {
      std::atomic<void*>& slot = node->slots[Digit(bucket, level)];
      void* p = slot.load(std::memory_order_acquire);
      if (p == nullptr) {
        Node* fresh = new Node();
        // Invariant 1: release publishes the zeroed node; acquire on
        // failure reads the winner's.
        if (slot.compare_exchange_strong(p, fresh, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
          p = fresh;
          nodes_.fetch_add(1, std::memory_order_relaxed);
        } else {
          delete fresh;
        }
      }
      node = static_cast<Node*>(p);
    }
    std::atomic<void*>& slot = node->slots[Digit(bucket, kLevels - 1)];
    void* p = slot.load(std::memory_order_acquire);
    if (p == nullptr) {
      T* fresh = new T(args...);
      if (slot.compare_exchange_strong(p, fresh, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        p = fresh;
        size_.fetch_add(1, std::memory_order_relaxed);
      } else {
        delete fresh;
      }
    }
    return static_cast<T*>(p);
  }

  // Calls fn(uint64_t bucket, T&) for every bucket in [b0, b1] (both
  // inclusive) that has a T, in increasing order. fn may return bool
  // (false stops the walk) or void. Returns false if fn stopped it.
  // Buckets created during the walk may or may not be visited.
  template <class Fn>
  bool ForEach(uint64_t b0, uint64_t b1, Fn&& fn) const {
    return b0 > b1 || Visit<true>(&root_, 0, 0, b0, b1, fn);
  }
  // As ForEach, in decreasing order.
  template <class Fn>
  bool ForEachReverse(uint64_t b0, uint64_t b1, Fn&& fn) const {
    return b0 > b1 || Visit<false>(&root_, 0, 0, b0, b1, fn);
  }

  // Number of Ts installed.
  uint64_t size() const { return size_.load(std::memory_order_relaxed); }
  // Bytes of the tree's nodes, the root included (not the Ts).
  uint64_t memory_bytes() const {
    return sizeof(*this) +
           nodes_.load(std::memory_order_relaxed) * sizeof(Node);
  }

 private:
  static constexpr int kBits = 8;
  static constexpr uint32_t kFanout = 1u << kBits;
  static constexpr int kLevels = 64 / kBits;

  struct Node {
    std::atomic<void*> slots[kFanout] = {};
  };

  static uint32_t Digit(uint64_t key, int level) {
    return static_cast<uint32_t>(key >> (kBits * (kLevels - 1 - level))) &
           (kFanout - 1);
  }

  template <class Fn>
  static bool Call(Fn& fn, uint64_t bucket, T& t) {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn&, uint64_t, T&>,
                                 bool>) {
      return fn(bucket, t);
    } else {
      fn(bucket, t);
      return true;
    }
  }

  // Visits the keys in [lo, hi] under `node`, whose keys all start with
  // `prefix` (the digits above `level`); lo and hi lie in node's range.
  template <bool kForward, class Fn>
  static bool Visit(const Node* node, int level, uint64_t prefix, uint64_t lo,
                    uint64_t hi, Fn& fn) {
    const int shift = kBits * (kLevels - 1 - level);
    const uint32_t d_lo = static_cast<uint32_t>(lo >> shift) & (kFanout - 1);
    const uint32_t d_hi = static_cast<uint32_t>(hi >> shift) & (kFanout - 1);
    for (uint32_t i = 0; i <= d_hi - d_lo; ++i) {
      const uint32_t d = kForward ? d_lo + i : d_hi - i;
      void* p = node->slots[d].load(std::memory_order_acquire);
      if (p == nullptr) continue;
      const uint64_t base = prefix | (uint64_t{d} << shift);
      if (level == kLevels - 1) {
        if (!Call(fn, base, *static_cast<T*>(p))) return false;
        continue;
      }
      const uint64_t last = base | ((uint64_t{1} << shift) - 1);
      if (!Visit<kForward>(static_cast<const Node*>(p), level + 1, base,
                           d == d_lo ? lo : base, d == d_hi ? hi : last, fn)) {
        return false;
      }
    }
    return true;
  }

  static void Free(Node* node, int level) {
    for (std::atomic<void*>& slot : node->slots) {
      void* p = slot.load(std::memory_order_relaxed);
      if (p == nullptr) continue;
      if (level == kLevels - 1) {
        delete static_cast<T*>(p);
      } else {
        Free(static_cast<Node*>(p), level + 1);
        delete static_cast<Node*>(p);
      }
    }
  }

  Node root_;
  std::atomic<uint64_t> nodes_{0};  // allocated below the root
  std::atomic<uint64_t> size_{0};
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_TIME_INDEX_H_
