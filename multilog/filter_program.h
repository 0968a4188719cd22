// FilterProgram: a bound filter compiled once into a form that tests one
// record in a few nanoseconds, for the writer's filter logs and for queries.
//
// The tree is compiled to "jumping code": a flat array of leaf predicates,
// each with the index of the instruction to run next when it holds and when
// it does not, or the verdict (accept, reject). &&, || and ! cost nothing
// at run time: they only choose those targets (short-circuit, as written).
// Jumps only go forward, so every evaluation ends after at most
// instruction_count() predicates.
//
// Every predicate loads its column as an unsigned key that sorts like the
// column's values: unsigned numbers as they are, signed ones with the sign
// bit flipped, floats with the usual total-order bit trick, addresses and
// MACs big-endian (IPv6 as a 128-bit key). A comparison with a constant is
// then a range test, `key - lo <= span` (`!=` is `==` with its targets
// swapped), and a prefix is the range of its addresses. IEEE semantics
// hold: -0 == 0, and NaN is outside every range, so it fails ==, <, <=, >,
// >= and passes != . Sets are sorted keys, scanned linearly when small.
// Strings are compared with memcmp.
//
// Matches() is const, allocates nothing and takes no lock: any number of
// threads may call it on one program at once. A program owns a copy of its
// BoundFilter, whose Columns point into the Schema; the Schema must outlive
// the program. Copyable and movable.
#ifndef LOUPE_MULTILOG_FILTER_PROGRAM_H_
#define LOUPE_MULTILOG_FILTER_PROGRAM_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/expression.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe {

class FilterProgram {
 public:
  // Parses, binds and compiles; errors are ParseFilter's.
  static Result<FilterProgram> Compile(const Schema& schema,
                                       std::string_view text);
  // `bound` must come from ParseFilter (or obey the same invariants).
  static FilterProgram FromBound(const BoundFilter& bound);

  // Whether the record (schema.record_size() bytes) passes the filter.
  bool Matches(const uint8_t* record) const;
  // Bit i set iff record i of `count` (<= 64) records laid out every
  // `record_size` bytes from `records` passes. Equal to calling Matches on
  // each; single-predicate programs (the common case: a port, a protocol,
  // a prefix, a set, or their negation) run a loop with no dispatch per
  // record.
  uint64_t MatchMask(const uint8_t* records, size_t count,
                     size_t record_size) const;

  const BoundFilter& bound() const { return bound_; }
  // Predicates after constant folding; 0 when the verdict is constant.
  size_t instruction_count() const { return code_.size(); }
  // One line per instruction, for debugging: "0: u16@42 in [443, 443] ? 1 :
  // reject".
  std::string Disassemble() const;

 private:
  __extension__ typedef unsigned __int128 Key128;

  // How a column's bytes become a key; the order matches ColumnType.
  enum class Load : uint8_t {
    kU8,
    kU16,
    kU32,
    kU64,
    kI8,
    kI16,
    kI32,
    kI64,
    kF32,
    kF64,
    kBe32,   // ipv4
    kBe48,   // mac
    kBe128,  // ipv6
    kBytes,  // string(N)
  };

  enum class Opcode : uint8_t {
    // key - lo <= span
    kRangeU8,
    kRangeU16,
    kRangeU32,
    kRangeU64,
    kRangeI8,
    kRangeI16,
    kRangeI32,
    kRangeI64,
    kRangeF32,
    kRangeF64,
    kRangeBe32,
    kRangeBe48,
    kRangeBe128,
    // key in keys64_[pool, pool + count) (keys128_ for kSetBe128); or, when
    // `bitmap`, bit key - lo of the bitmap at keys64_[pool], key - lo <= span
    kSetU8,
    kSetU16,
    kSetU32,
    kSetU64,
    kSetI8,
    kSetI16,
    kSetI32,
    kSetI64,
    kSetF32,
    kSetF64,
    kSetBe32,
    kSetBe48,
    kSetBe128,
    // memcmp(field, bytes_ + pool, width) `op` 0
    kBytesCompare,
    // field equals one of `count` sorted members at bytes_ + pool
    kBytesSet,
  };

  static constexpr uint32_t kAccept = 0xffffffff;
  static constexpr uint32_t kReject = 0xfffffffe;
  // Sets up to this size are scanned without branches.
  static constexpr uint32_t kLinearSetMax = 16;
  // Larger sets of keys within this span are bitmaps (at most 8 KiB).
  static constexpr uint64_t kBitmapSpan = 65536;
  static constexpr uint32_t kBitmapSetMin = 5;

  struct Instruction {
    Opcode opcode;
    CompareOp op;     // kBytesCompare
    uint16_t width;   // kBytes*: column width
    uint32_t offset;  // of the column in the record
    uint32_t on_true;
    uint32_t on_false;
    uint32_t pool;   // sets, kBytes*: first element in the pool
    uint32_t count;  // sets: members
    // Ranges. 128-bit keys: lo = lo_high:lo_low, span = span_high:span_low.
    uint64_t lo;
    uint64_t span;
    uint64_t lo_low;
    uint64_t span_low;
    bool bitmap;  // sets of 64-bit keys
  };

  static constexpr uint64_t kSignBit = uint64_t{1} << 63;

  template <typename T>
  static T Read(const uint8_t* p) {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
  }
  static uint32_t BigEndian32(uint32_t v) {
    if constexpr (std::endian::native == std::endian::little) {
      return __builtin_bswap32(v);
    }
    return v;
  }
  static uint64_t BigEndian64(uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) {
      return __builtin_bswap64(v);
    }
    return v;
  }
  template <typename T>
  static uint64_t SignedKey(const uint8_t* p) {
    return static_cast<uint64_t>(static_cast<int64_t>(Read<T>(p))) ^ kSignBit;
  }
  static uint64_t F32Key(const uint8_t* p) {
    uint32_t bits = Read<uint32_t>(p);
    uint32_t flip =
        static_cast<uint32_t>(-static_cast<int32_t>(bits >> 31)) | 0x80000000u;
    return bits ^ flip;
  }
  static uint64_t F64Key(const uint8_t* p) {
    uint64_t bits = Read<uint64_t>(p);
    return bits ^ ((0 - (bits >> 63)) | kSignBit);
  }
  static uint64_t Be48Key(const uint8_t* p) {
    uint64_t v = 0;
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(&v, p, 6);
      return __builtin_bswap64(v) >> 16;
    }
    std::memcpy(reinterpret_cast<uint8_t*>(&v) + 2, p, 6);
    return v;
  }
  static Key128 Be128Key(const uint8_t* p) {
    return static_cast<Key128>(BigEndian64(Read<uint64_t>(p))) << 64 |
           BigEndian64(Read<uint64_t>(p + 8));
  }
  static Load LoadOf(ColumnType type);
  // The key of a column of any load but kBe128 and kBytes.
  static uint64_t Key(Load load, const uint8_t* p);

  static bool InRange128(const Instruction& in, Key128 key) {
    Key128 lo = static_cast<Key128>(in.lo) << 64 | in.lo_low;
    Key128 span = static_cast<Key128>(in.span) << 64 | in.span_low;
    return key - lo <= span;
  }
  bool InSet64(const Instruction& in, uint64_t key) const;
  bool InSet128(const Instruction& in, Key128 key) const;
  bool MatchBytes(const Instruction& in, const uint8_t* field) const;

  // Compilation, in filter_program.cc.
  uint32_t Emit(uint32_t node, uint32_t on_true, uint32_t on_false);
  uint32_t EmitCompare(const FilterNode& node, uint32_t on_true,
                       uint32_t on_false);
  uint32_t EmitSet(const FilterNode& node, uint32_t on_true, uint32_t on_false);
  uint32_t EmitPrefix(const FilterNode& node, uint32_t on_true,
                      uint32_t on_false);
  uint32_t EmitRange(Load load, const Column& column, uint64_t lo, uint64_t hi,
                     uint32_t on_true, uint32_t on_false);
  uint32_t EmitRange128(const Column& column, Key128 lo, Key128 hi,
                        uint32_t on_true, uint32_t on_false);
  uint32_t Append(Instruction in);

  BoundFilter bound_;
  std::vector<Instruction> code_;
  std::vector<uint64_t> keys64_;
  std::vector<Key128> keys128_;
  std::vector<uint8_t> bytes_;
  uint32_t entry_ = kReject;
};

inline bool FilterProgram::InSet64(const Instruction& in, uint64_t key) const {
  const uint64_t* keys = keys64_.data() + in.pool;
  if (in.bitmap) {
    const uint64_t bit = key - in.lo;
    return bit <= in.span && ((keys[bit / 64] >> (bit % 64)) & 1) != 0;
  }
  if (in.count <= kLinearSetMax) {
    bool found = false;
    for (uint32_t i = 0; i < in.count; ++i) found |= keys[i] == key;
    return found;
  }
  uint32_t low = 0;
  uint32_t n = in.count;
  while (n > 1) {
    uint32_t half = n / 2;
    low = keys[low + half] <= key ? low + half : low;
    n -= half;
  }
  return keys[low] == key;
}

inline bool FilterProgram::InSet128(const Instruction& in, Key128 key) const {
  const Key128* keys = keys128_.data() + in.pool;
  uint32_t low = 0;
  uint32_t n = in.count;
  while (n > 1) {
    uint32_t half = n / 2;
    low = keys[low + half] <= key ? low + half : low;
    n -= half;
  }
  return keys[low] == key;
}

inline bool FilterProgram::Matches(const uint8_t* record) const {
  const Instruction* code = code_.data();
  uint32_t pc = entry_;
  while (pc < kReject) {
    const Instruction& in = code[pc];
    const uint8_t* field = record + in.offset;
    bool hit = false;
    switch (in.opcode) {
      case Opcode::kRangeU8:
        hit = uint64_t{Read<uint8_t>(field)} - in.lo <= in.span;
        break;
      case Opcode::kRangeU16:
        hit = uint64_t{Read<uint16_t>(field)} - in.lo <= in.span;
        break;
      case Opcode::kRangeU32:
        hit = uint64_t{Read<uint32_t>(field)} - in.lo <= in.span;
        break;
      case Opcode::kRangeU64:
        hit = Read<uint64_t>(field) - in.lo <= in.span;
        break;
      case Opcode::kRangeI8:
        hit = SignedKey<int8_t>(field) - in.lo <= in.span;
        break;
      case Opcode::kRangeI16:
        hit = SignedKey<int16_t>(field) - in.lo <= in.span;
        break;
      case Opcode::kRangeI32:
        hit = SignedKey<int32_t>(field) - in.lo <= in.span;
        break;
      case Opcode::kRangeI64:
        hit = SignedKey<int64_t>(field) - in.lo <= in.span;
        break;
      case Opcode::kRangeF32:
        hit = F32Key(field) - in.lo <= in.span;
        break;
      case Opcode::kRangeF64:
        hit = F64Key(field) - in.lo <= in.span;
        break;
      case Opcode::kRangeBe32:
        hit = uint64_t{BigEndian32(Read<uint32_t>(field))} - in.lo <= in.span;
        break;
      case Opcode::kRangeBe48:
        hit = Be48Key(field) - in.lo <= in.span;
        break;
      case Opcode::kRangeBe128:
        hit = InRange128(in, Be128Key(field));
        break;
      case Opcode::kSetU8:
        hit = InSet64(in, Read<uint8_t>(field));
        break;
      case Opcode::kSetU16:
        hit = InSet64(in, Read<uint16_t>(field));
        break;
      case Opcode::kSetU32:
        hit = InSet64(in, Read<uint32_t>(field));
        break;
      case Opcode::kSetU64:
        hit = InSet64(in, Read<uint64_t>(field));
        break;
      case Opcode::kSetI8:
        hit = InSet64(in, SignedKey<int8_t>(field));
        break;
      case Opcode::kSetI16:
        hit = InSet64(in, SignedKey<int16_t>(field));
        break;
      case Opcode::kSetI32:
        hit = InSet64(in, SignedKey<int32_t>(field));
        break;
      case Opcode::kSetI64:
        hit = InSet64(in, SignedKey<int64_t>(field));
        break;
      case Opcode::kSetF32:
        hit = InSet64(in, F32Key(field));
        break;
      case Opcode::kSetF64:
        hit = InSet64(in, F64Key(field));
        break;
      case Opcode::kSetBe32:
        hit = InSet64(in, BigEndian32(Read<uint32_t>(field)));
        break;
      case Opcode::kSetBe48:
        hit = InSet64(in, Be48Key(field));
        break;
      case Opcode::kSetBe128:
        hit = InSet128(in, Be128Key(field));
        break;
      case Opcode::kBytesCompare:
      case Opcode::kBytesSet:
        hit = MatchBytes(in, field);
        break;
    }
    pc = hit ? in.on_true : in.on_false;
  }
  return pc == kAccept;
}

inline uint64_t FilterProgram::MatchMask(const uint8_t* records, size_t count,
                                         size_t record_size) const {
  const uint64_t all = count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
  if (code_.empty()) return entry_ == kAccept ? all : 0;
  uint64_t mask = 0;
  if (code_.size() == 1) {
    // One predicate: its targets are accept and reject, in some order.
    const Instruction& in = code_[0];
    const uint8_t* field = records + in.offset;
    auto loop = [&](auto hit) {
      for (size_t i = 0; i < count; ++i, field += record_size) {
        mask |= uint64_t{hit(field)} << i;
      }
    };
    switch (in.opcode) {
      case Opcode::kRangeU8:
        loop([&](const uint8_t* f) {
          return uint64_t{Read<uint8_t>(f)} - in.lo <= in.span;
        });
        break;
      case Opcode::kRangeU16:
        loop([&](const uint8_t* f) {
          return uint64_t{Read<uint16_t>(f)} - in.lo <= in.span;
        });
        break;
      case Opcode::kRangeU32:
        loop([&](const uint8_t* f) {
          return uint64_t{Read<uint32_t>(f)} - in.lo <= in.span;
        });
        break;
      case Opcode::kRangeU64:
        loop([&](const uint8_t* f) {
          return Read<uint64_t>(f) - in.lo <= in.span;
        });
        break;
      case Opcode::kRangeBe128:
        loop([&](const uint8_t* f) { return InRange128(in, Be128Key(f)); });
        break;
      case Opcode::kSetU8:
        loop([&](const uint8_t* f) { return InSet64(in, Read<uint8_t>(f)); });
        break;
      case Opcode::kSetU16:
        loop([&](const uint8_t* f) { return InSet64(in, Read<uint16_t>(f)); });
        break;
      case Opcode::kSetU32:
        loop([&](const uint8_t* f) { return InSet64(in, Read<uint32_t>(f)); });
        break;
      default:
        for (size_t i = 0; i < count; ++i) {
          mask |= uint64_t{Matches(records + i * record_size)} << i;
        }
        return mask;
    }
    return in.on_true == kAccept ? mask : ~mask & all;
  }
  for (size_t i = 0; i < count; ++i) {
    mask |= uint64_t{Matches(records + i * record_size)} << i;
  }
  return mask;
}

}  // namespace loupe

#endif  // LOUPE_MULTILOG_FILTER_PROGRAM_H_
