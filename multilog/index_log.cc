#include "multilog/index_log.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

namespace loupe {
namespace {

using Key = RadixTree::Key;

template <class T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <class U>
void StoreBigEndian(U v, uint8_t* out) {
  static_assert(std::is_unsigned_v<U>);
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (sizeof(U) == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof(U) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(U) == 8) v = __builtin_bswap64(v);
  }
  std::memcpy(out, &v, sizeof(v));
}

template <class U>
constexpr U kSignBit = static_cast<U>(U{1} << (8 * sizeof(U) - 1));

// Each encoder writes the key of one column value into the first key_bytes
// bytes of a zero-padded Key.

template <uint32_t N>
struct FixedBytesEncoder {
  void operator()(const uint8_t* value, Key& key) const {
    std::memcpy(key.bytes, value, N);
  }
};

struct BytesEncoder {
  uint32_t n;
  void operator()(const uint8_t* value, Key& key) const {
    std::memcpy(key.bytes, value, n);
  }
};

struct BoolEncoder {
  void operator()(const uint8_t* value, Key& key) const {
    key.bytes[0] = value[0] != 0 ? 1 : 0;
  }
};

template <class U>
struct UnsignedEncoder {
  void operator()(const uint8_t* value, Key& key) const {
    StoreBigEndian(Load<U>(value), key.bytes);
  }
};

// Flipping the sign bit maps [min, max] onto [0, umax] in order.
template <class U>
struct SignedEncoder {
  void operator()(const uint8_t* value, Key& key) const {
    StoreBigEndian(static_cast<U>(Load<U>(value) ^ kSignBit<U>), key.bytes);
  }
};

// U is the float's bit pattern type (uint32_t for f32, uint64_t for f64).
template <class U>
struct FloatEncoder {
  void operator()(const uint8_t* value, Key& key) const {
    U bits = Load<U>(value);
    if (bits == kSignBit<U>) bits = 0;  // -0.0 == +0.0
    bits = (bits & kSignBit<U>) != 0 ? static_cast<U>(~bits)
                                     : static_cast<U>(bits ^ kSignBit<U>);
    StoreBigEndian(bits, key.bytes);
  }
};

template <class U>
struct UnsignedBucketEncoder {
  uint64_t bucket;
  void operator()(const uint8_t* value, Key& key) const {
    StoreBigEndian(static_cast<U>(Load<U>(value) / bucket), key.bytes);
  }
};

// floor(v / bucket) for bucket >= 2; it lies between v and 0, so it fits
// the column's type.
inline int64_t FloorDiv(int64_t v, uint64_t bucket) {
  if (bucket > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return v < 0 ? -1 : 0;
  }
  const int64_t b = static_cast<int64_t>(bucket);
  int64_t q = v / b;
  if (v % b != 0 && v < 0) --q;
  return q;
}

template <class S>
struct SignedBucketEncoder {
  using U = std::make_unsigned_t<S>;
  uint64_t bucket;
  void operator()(const uint8_t* value, Key& key) const {
    const S q = static_cast<S>(FloorDiv(Load<S>(value), bucket));
    StoreBigEndian(static_cast<U>(static_cast<U>(q) ^ kSignBit<U>), key.bytes);
  }
};

bool IsInteger(ColumnType type) {
  switch (type) {
    case ColumnType::kU8:
    case ColumnType::kU16:
    case ColumnType::kU32:
    case ColumnType::kU64:
    case ColumnType::kI8:
    case ColumnType::kI16:
    case ColumnType::kI32:
    case ColumnType::kI64:
      return true;
    default:
      return false;
  }
}

bool IsSigned(ColumnType type) {
  return type == ColumnType::kI8 || type == ColumnType::kI16 ||
         type == ColumnType::kI32 || type == ColumnType::kI64;
}

}  // namespace

Result<std::unique_ptr<IndexLog>> IndexLog::Create(const Schema& schema,
                                                   const IndexSpec& spec,
                                                   uint64_t start_offset) {
  const Column* column = schema.Find(spec.column);
  if (column == nullptr) {
    std::string msg = "index: unknown column '" + spec.column + "'";
    if (std::string near = schema.Suggest(spec.column); !near.empty()) {
      msg += "; did you mean '" + near + "'?";
    }
    return Status::InvalidArgument(std::move(msg));
  }
  const std::string where = "index on column '" + column->name + "' (" +
                            std::string(ColumnTypeName(column->type)) + ")";
  if (spec.bucket != 0 && !IsInteger(column->type)) {
    std::string why;
    if (column->type == ColumnType::kF32 || column->type == ColumnType::kF64) {
      why =
          ": floating-point columns cannot be bucketed; index the exact value "
          "(bucket 0) and query a range";
    } else {
      why =
          ": bucket applies only to integer columns (u8..u64, i8..i64); "
          "use bucket 0";
    }
    return Status::InvalidArgument(where + why);
  }
  const bool bucketed = spec.bucket > 1;
  Encoding encoding = Encoding::kBytes;
  switch (column->type) {
    case ColumnType::kBool:
      encoding = Encoding::kBool;
      break;
    case ColumnType::kF32:
      encoding = Encoding::kF32;
      break;
    case ColumnType::kF64:
      encoding = Encoding::kF64;
      break;
    case ColumnType::kIpv4:
    case ColumnType::kIpv6:
    case ColumnType::kMac:
    case ColumnType::kString:
      encoding = Encoding::kBytes;
      break;
    default:
      if (IsSigned(column->type)) {
        encoding = bucketed ? Encoding::kSignedBucket : Encoding::kSigned;
      } else {
        encoding = bucketed ? Encoding::kUnsignedBucket : Encoding::kUnsigned;
      }
      break;
  }
  const uint32_t key_bytes = std::min(column->width, RadixTree::kMaxKeyBytes);
  const bool exact = !bucketed && column->width <= RadixTree::kMaxKeyBytes;
  return std::unique_ptr<IndexLog>(
      new IndexLog(*column, spec, start_offset, encoding, key_bytes, exact));
}

IndexLog::IndexLog(const Column& column, const IndexSpec& spec,
                   uint64_t start_offset, Encoding encoding, uint32_t key_bytes,
                   bool exact)
    : column_(column),
      spec_(spec),
      start_offset_(start_offset),
      encoding_(encoding),
      exact_(exact),
      tree_(key_bytes) {}

// Calls f(encoder) with the encoder of this index's column, so that the
// per-record loop is compiled once per encoding with nothing to dispatch.
template <class F>
void IndexLog::WithEncoder(F&& f) const {
  const uint32_t width = column_.width;
  switch (encoding_) {
    case Encoding::kBytes:
      switch (tree_.key_bytes()) {
        case 16:
          return f(FixedBytesEncoder<16>());
        case 6:
          return f(FixedBytesEncoder<6>());
        case 4:
          return f(FixedBytesEncoder<4>());
        default:
          return f(BytesEncoder{tree_.key_bytes()});
      }
    case Encoding::kBool:
      return f(BoolEncoder());
    case Encoding::kF32:
      return f(FloatEncoder<uint32_t>());
    case Encoding::kF64:
      return f(FloatEncoder<uint64_t>());
    case Encoding::kUnsigned:
      switch (width) {
        case 1:
          return f(UnsignedEncoder<uint8_t>());
        case 2:
          return f(UnsignedEncoder<uint16_t>());
        case 4:
          return f(UnsignedEncoder<uint32_t>());
        default:
          return f(UnsignedEncoder<uint64_t>());
      }
    case Encoding::kSigned:
      switch (width) {
        case 1:
          return f(SignedEncoder<uint8_t>());
        case 2:
          return f(SignedEncoder<uint16_t>());
        case 4:
          return f(SignedEncoder<uint32_t>());
        default:
          return f(SignedEncoder<uint64_t>());
      }
    case Encoding::kUnsignedBucket:
      switch (width) {
        case 1:
          return f(UnsignedBucketEncoder<uint8_t>{spec_.bucket});
        case 2:
          return f(UnsignedBucketEncoder<uint16_t>{spec_.bucket});
        case 4:
          return f(UnsignedBucketEncoder<uint32_t>{spec_.bucket});
        default:
          return f(UnsignedBucketEncoder<uint64_t>{spec_.bucket});
      }
    case Encoding::kSignedBucket:
      switch (width) {
        case 1:
          return f(SignedBucketEncoder<int8_t>{spec_.bucket});
        case 2:
          return f(SignedBucketEncoder<int16_t>{spec_.bucket});
        case 4:
          return f(SignedBucketEncoder<int32_t>{spec_.bucket});
        default:
          return f(SignedBucketEncoder<int64_t>{spec_.bucket});
      }
  }
}

Key IndexLog::EncodeKey(const uint8_t* value) const {
  Key key;
  WithEncoder([&](auto encode) { encode(value, key); });
  return key;
}

template <class Encode>
void IndexLog::InsertAll(const uint8_t* field, size_t count, size_t record_size,
                         uint64_t offset, Encode encode) {
  // In windows: all the lookups of a window first, so that their cache
  // misses overlap, then the appends (each a locked RMW, which would
  // serialize them).
  constexpr size_t kWindow = 16;
  Key keys[kWindow];  // encoders write key_bytes bytes; the rest stay zero
  RadixTree::Leaf* leaves[kWindow];
  while (count > 0) {
    const size_t n = std::min(count, kWindow);
    for (size_t i = 0; i < n; ++i) encode(field + i * record_size, keys[i]);
    tree_.FindOrInsertLeavesMp(keys, n, leaves);
    for (size_t i = 0; i < n; ++i) {
      tree_.AppendMp(leaves[i], offset + i * record_size);
    }
    field += n * record_size;
    offset += n * record_size;
    count -= n;
  }
}

void IndexLog::InsertBatch(const uint8_t* records, size_t count,
                           size_t record_size, uint64_t first_offset) {
  const uint64_t start = start_offset_.load(std::memory_order_relaxed);
  if (first_offset < start) [[unlikely]] {
    const uint64_t skip =
        (start - first_offset + record_size - 1) / record_size;
    if (skip >= count) return;
    records += skip * record_size;
    count -= skip;
    first_offset += skip * record_size;
  }
  const uint8_t* field = records + column_.offset;
  WithEncoder([&](auto encode) {
    InsertAll(field, count, record_size, first_offset, encode);
  });
}

void IndexLog::RaiseStartOffset(uint64_t offset) {
  uint64_t cur = start_offset_.load(std::memory_order_relaxed);
  // Release pairs with the acquire in start_offset().
  while (cur < offset && !start_offset_.compare_exchange_weak(
                             cur, offset, std::memory_order_release,
                             std::memory_order_relaxed)) {
  }
}

uint64_t IndexLog::memory_bytes() const {
  return tree_.memory_bytes() + sizeof(*this);
}

}  // namespace loupe
