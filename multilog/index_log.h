// IndexLog: an index on one Schema column, kept up to date by the writers
// as records arrive. It maps each record's column value to the record's
// data-log offset in a RadixTree (radix_tree.h) whose keys are the values
// turned into order-preserving byte strings, so that Equal is one leaf,
// Range an in-order walk, and Prefix (CIDR, MAC OUI, string prefix) a range
// of keys.
//
// Keys, from the record encoding (schema.h) of a column of width w:
//   ipv4, ipv6, mac  the stored bytes (network order already sorts).
//   string(N)        the stored bytes; the first 16 when N > 16.
//   u8..u64          big-endian of the value.
//   i8..i64          big-endian of the value with its sign bit flipped.
//   f32, f64         big-endian of the bits, all inverted if the sign bit is
//                    set, else with the sign bit flipped; -0.0 is first
//                    made +0.0, so Equal(0.0) finds both (IEEE ==). NaNs
//                    sort past +inf (or before -inf if negative) and a NaN
//                    matches only the same bit pattern.
//   bool             one byte, 0 or 1 (any nonzero byte is true).
// With IndexSpec::bucket = b > 1 (integer columns only), the key is
// floor(value / b) encoded like the column (signed division rounds toward
// -inf, so buckets never straddle zero). Floating-point and bool columns
// cannot be bucketed: floor(x / b) is ill-defined for NaN and the
// infinities and pointless for bool; index a float exactly and query a
// Range instead.
//
// Exactness. Equal, Range and Prefix visit *candidates* when exact() is
// false: a bucket holds every value that maps to it, and a string longer
// than 16 bytes is keyed by its first 16. The caller then re-checks each
// record it reads. When exact() is true, they visit exactly the matching
// records.
//
// Coverage. The index covers records at offsets >= start_offset(): every
// batch at or above it goes through InsertBatch, and lookups visit only
// offsets in [start_offset(), snapshot), so a query combines a scan of
// [head, start_offset) with the index and sees no record twice. An index
// added while writers run cannot know that offset when it is created, so
// its owner (writers hold an RCU read lock from loading the index list to
// completing their batch):
//   1. Create(..., start_offset = write_tail()) and publish the new list;
//   2. wait for an RCU grace period: every batch that did not see the index
//      is now complete, and every later claim sees it;
//   3. RaiseStartOffset(write_tail()), and only then let queries use it.
// Records between the two offsets may be partly indexed; lookups skip them.
// (An owner with its own arming protocol, like Multilog, may instead create
// the index with start 0 and pass InsertBatch only the records it covers.)
//
// Thread safety. InsertBatch runs on any number of writer threads at once,
// concurrently with every reader function and with RaiseStartOffset (one
// control thread at a time). Everything else is immutable. A writer calls
// InsertBatch for a batch *before* it publishes the batch (DataLog's
// Tails::Complete); then a reader whose snapshot (a read_tail() it loaded) is S
// finds every covered record below S, and never an offset >= S (radix_tree.h,
// "Reader contract"). Readers run inside an RCU read-side critical section (or
// otherwise keep the IndexLog alive); the owner frees an IndexLog only
// after an RCU grace period. Reader callbacks must not block.
#ifndef LOUPE_MULTILOG_INDEX_LOG_H_
#define LOUPE_MULTILOG_INDEX_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "multilog/radix_tree.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe {

struct IndexSpec {
  std::string column;
  // Integer columns only: key = value / bucket (e.g. ip_len by 64). 0 or 1
  // index the exact value.
  uint64_t bucket = 0;
};

class IndexLog {
 public:
  // kInvalidArgument: unknown column (with a suggestion), or a bucket on a
  // column that is not an integer.
  static Result<std::unique_ptr<IndexLog>> Create(const Schema& schema,
                                                  const IndexSpec& spec,
                                                  uint64_t start_offset);
  IndexLog(const IndexLog&) = delete;
  IndexLog& operator=(const IndexLog&) = delete;

  const Column& column() const { return column_; }
  const IndexSpec& spec() const { return spec_; }
  // Acquire: pairs with the release in RaiseStartOffset.
  uint64_t start_offset() const {
    return start_offset_.load(std::memory_order_acquire);
  }
  // Control path: moves start_offset() up to `offset` (never down); see
  // Coverage above.
  void RaiseStartOffset(uint64_t offset);
  // True when lookups visit exactly the matching records; false when they
  // visit candidates to re-check (bucketed, or a string longer than 16).
  bool exact() const { return exact_; }

  // Writer side, multi-producer: indexes `count` records laid out
  // contiguously at `records`, record_size bytes each, the first at data-log
  // offset `first_offset`. Records below start_offset() are skipped. No
  // locks; allocates only for a new key or a full leaf chunk.
  void InsertBatch(const uint8_t* records, size_t count, size_t record_size,
                   uint64_t first_offset);

  // Reader side: fn(uint64_t offset) for the offsets in [start_offset(),
  // snapshot) of records whose column value (given in record encoding,
  // column().width bytes) matches, in no particular order. fn may return bool:
  // false stops.

  // Value == *value (candidates for the bucket, see exact()).
  template <class Fn>
  void Equal(const uint8_t* value, uint64_t snapshot, Fn&& fn) const {
    const RadixTree::Leaf* leaf = tree_.Find(EncodeKey(value));
    if (leaf != nullptr) {
      RadixTree::LeafView(leaf).ForEachOffsetIn(start_offset(), snapshot, fn);
    }
  }
  // lo <= value <= hi in the column's value order (nothing if lo > hi).
  template <class Fn>
  void Range(const uint8_t* lo, const uint8_t* hi, uint64_t snapshot,
             Fn&& fn) const {
    const uint64_t begin = start_offset();
    tree_.ForEachLeafInRange(
        EncodeKey(lo), EncodeKey(hi),
        [&](const uint8_t*, const RadixTree::LeafView& leaf) {
          return leaf.ForEachOffsetIn(begin, snapshot, fn);
        });
  }
  // The first `bits` bits of the value equal those of *value: a CIDR block
  // for ipv4/ipv6 (for an IPv4 block in an ipv6 column, ::ffff:a.b.c.d with
  // 96 + len bits), an OUI for mac, a byte prefix (8 bits per character)
  // for string. On other columns the bits are those of the key described
  // above. bits past the key's length are clamped to it; 0 matches all.
  template <class Fn>
  void Prefix(const uint8_t* value, uint32_t bits, uint64_t snapshot,
              Fn&& fn) const {
    const uint64_t begin = start_offset();
    tree_.ForEachLeafWithPrefix(
        EncodeKey(value), bits,
        [&](const uint8_t*, const RadixTree::LeafView& leaf) {
          return leaf.ForEachOffsetIn(begin, snapshot, fn);
        });
  }

  // The key of a column value given in record encoding.
  RadixTree::Key EncodeKey(const uint8_t* value) const;
  uint32_t key_bytes() const { return tree_.key_bytes(); }
  const RadixTree& tree() const { return tree_; }

  // Bytes of the tree and this object (relaxed; exact once writers stop).
  uint64_t memory_bytes() const;
  // Entries reserved (records indexed or being indexed). O(tree nodes).
  uint64_t entries() const { return tree_.entries(); }

 private:
  // How a column value becomes a key; chosen once by Create.
  enum class Encoding : uint8_t {
    kBytes,  // ipv4, ipv6, mac, string: copy key_bytes bytes
    kBool,
    kUnsigned,
    kSigned,
    kF32,
    kF64,
    kUnsignedBucket,
    kSignedBucket,
  };

  IndexLog(const Column& column, const IndexSpec& spec, uint64_t start_offset,
           Encoding encoding, uint32_t key_bytes, bool exact);

  template <class F>
  void WithEncoder(F&& f) const;
  template <class Encode>
  void InsertAll(const uint8_t* field, size_t count, size_t record_size,
                 uint64_t offset, Encode encode);

  const Column column_;
  const IndexSpec spec_;
  // Raised (release) by RaiseStartOffset; writers load it relaxed (a
  // stale value only indexes records that readers skip).
  std::atomic<uint64_t> start_offset_;
  const Encoding encoding_;
  const bool exact_;
  RadixTree tree_;
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_INDEX_LOG_H_
