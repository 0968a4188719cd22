#include "multilog/internal/literal_binding.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace loupe::internal {
namespace {

bool IsUnsigned(ColumnType t) {
  return t == ColumnType::kU8 || t == ColumnType::kU16 ||
         t == ColumnType::kU32 || t == ColumnType::kU64;
}
bool IsSigned(ColumnType t) {
  return t == ColumnType::kI8 || t == ColumnType::kI16 ||
         t == ColumnType::kI32 || t == ColumnType::kI64;
}
}  // namespace

bool IsNumeric(ColumnType t) {
  return t == ColumnType::kBool || IsUnsigned(t) || IsSigned(t) ||
         t == ColumnType::kF32 || t == ColumnType::kF64;
}

std::string TypeName(const Column& column) {
  std::string name(ColumnTypeName(column.type));
  if (column.type == ColumnType::kString) {
    name += "(" + std::to_string(column.width) + ")";
  }
  return name;
}

namespace {

template <typename T>
std::vector<uint8_t> Encode(T value) {
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

Status Mismatch(const ExpressionErrors& errors, const Column& column,
                const Literal& literal) {
  return errors.At(literal.offset, "type mismatch: column '" + column.name +
                                       "' is " + TypeName(column) + ", found " +
                                       std::string(KindPhrase(literal)));
}

Status OutOfRange(const ExpressionErrors& errors, const Column& column,
                  const Literal& literal, std::string_view range) {
  return errors.At(literal.offset,
                   Printable(literal.source) + " is out of range for column '" +
                       column.name + "'; expected " + TypeName(column) + " " +
                       std::string(range));
}

// A float literal for an integer column of type T: in [low, high) and
// whole.
template <typename T>
Result<std::vector<uint8_t>> BindWholeNumber(const ExpressionErrors& errors,
                                             const Column& column,
                                             const Literal& literal, double low,
                                             double high,
                                             const std::string& range) {
  const double v = literal.number;
  if (v < low || v >= high) return OutOfRange(errors, column, literal, range);
  if (std::trunc(v) != v) {
    return errors.At(literal.offset, Printable(literal.source) +
                                         " is not a whole number; expected " +
                                         TypeName(column) + " " + range +
                                         " for column '" + column.name + "'");
  }
  return Encode(static_cast<T>(v));
}

template <typename T>
Result<std::vector<uint8_t>> BindUnsigned(const ExpressionErrors& errors,
                                          const Column& column,
                                          const Literal& literal) {
  if (literal.kind != Literal::Kind::kNumber) {
    return Mismatch(errors, column, literal);
  }
  constexpr uint64_t kMax = std::numeric_limits<T>::max();
  const std::string range = "from 0 to " + std::to_string(kMax);
  if (literal.is_integer) {
    if ((literal.negative && literal.magnitude != 0) ||
        literal.magnitude > kMax) {
      return OutOfRange(errors, column, literal, range);
    }
    return Encode(static_cast<T>(literal.magnitude));
  }
  // 2^64 is exact as a double; kMax of narrower types is too.
  const double limit =
      sizeof(T) == 8 ? 18446744073709551616.0 : static_cast<double>(kMax) + 1;
  return BindWholeNumber<T>(errors, column, literal, 0, limit, range);
}

template <typename T>
Result<std::vector<uint8_t>> BindSigned(const ExpressionErrors& errors,
                                        const Column& column,
                                        const Literal& literal) {
  if (literal.kind != Literal::Kind::kNumber) {
    return Mismatch(errors, column, literal);
  }
  constexpr int64_t kMin = std::numeric_limits<T>::min();
  constexpr int64_t kMax = std::numeric_limits<T>::max();
  const std::string range =
      "from " + std::to_string(kMin) + " to " + std::to_string(kMax);
  if (literal.is_integer) {
    const uint64_t limit = literal.negative ? static_cast<uint64_t>(kMax) + 1
                                            : static_cast<uint64_t>(kMax);
    if (literal.magnitude > limit) {
      return OutOfRange(errors, column, literal, range);
    }
    // Modular conversion: -2^63 comes out right.
    const uint64_t bits =
        literal.negative ? 0 - literal.magnitude : literal.magnitude;
    return Encode(static_cast<T>(static_cast<int64_t>(bits)));
  }
  const double low = static_cast<double>(kMin);  // exact: -2^(n-1)
  const double high = -low;                      // 2^(n-1), exclusive
  return BindWholeNumber<T>(errors, column, literal, low, high, range);
}

}  // namespace

Result<std::vector<uint8_t>> BindLiteral(const Column& column,
                                         const Literal& literal,
                                         const ExpressionErrors& errors) {
  using Kind = Literal::Kind;
  switch (column.type) {
    case ColumnType::kBool:
      if (literal.kind == Kind::kBool) {
        return Encode<uint8_t>(literal.boolean ? 1 : 0);
      }
      if (literal.kind != Kind::kNumber)
        return Mismatch(errors, column, literal);
      if (literal.number == 0 || literal.number == 1) {
        return Encode<uint8_t>(literal.number == 1 ? 1 : 0);
      }
      return OutOfRange(errors, column, literal, "true, false, 0 or 1");
    case ColumnType::kU8:
      return BindUnsigned<uint8_t>(errors, column, literal);
    case ColumnType::kU16:
      return BindUnsigned<uint16_t>(errors, column, literal);
    case ColumnType::kU32:
      return BindUnsigned<uint32_t>(errors, column, literal);
    case ColumnType::kU64:
      return BindUnsigned<uint64_t>(errors, column, literal);
    case ColumnType::kI8:
      return BindSigned<int8_t>(errors, column, literal);
    case ColumnType::kI16:
      return BindSigned<int16_t>(errors, column, literal);
    case ColumnType::kI32:
      return BindSigned<int32_t>(errors, column, literal);
    case ColumnType::kI64:
      return BindSigned<int64_t>(errors, column, literal);
    case ColumnType::kF32: {
      if (literal.kind != Kind::kNumber)
        return Mismatch(errors, column, literal);
      constexpr double kMax = std::numeric_limits<float>::max();
      if (std::fabs(literal.number) > kMax) {
        return OutOfRange(errors, column, literal, "from -3.4e38 to 3.4e38");
      }
      return Encode(static_cast<float>(literal.number));
    }
    case ColumnType::kF64:
      if (literal.kind != Kind::kNumber)
        return Mismatch(errors, column, literal);
      return Encode(literal.number);
    case ColumnType::kIpv4:
      if (literal.kind != Kind::kIpv4) return Mismatch(errors, column, literal);
      return std::vector<uint8_t>(literal.address, literal.address + 4);
    case ColumnType::kIpv6:
      if (literal.kind == Kind::kIpv6) {
        return std::vector<uint8_t>(literal.address, literal.address + 16);
      }
      if (literal.kind == Kind::kIpv4) {
        std::vector<uint8_t> out(16);
        MapIpv4(literal.address, out.data());
        return out;
      }
      return Mismatch(errors, column, literal);
    case ColumnType::kMac:
      if (literal.kind != Kind::kMac) return Mismatch(errors, column, literal);
      return std::vector<uint8_t>(literal.address, literal.address + 6);
    case ColumnType::kString: {
      if (literal.kind != Kind::kString)
        return Mismatch(errors, column, literal);
      if (literal.bytes.size() > column.width) {
        return errors.At(literal.offset,
                         "string of " + std::to_string(literal.bytes.size()) +
                             " bytes is too long for column '" + column.name +
                             "'; expected at most " +
                             std::to_string(column.width) + " bytes");
      }
      std::vector<uint8_t> out(column.width, 0);
      std::memcpy(out.data(), literal.bytes.data(), literal.bytes.size());
      return out;
    }
  }
  return Mismatch(errors, column, literal);
}

Status BindPrefix(const Column& column, const Literal& literal,
                  const ExpressionErrors& errors, FilterNode& node) {
  node.kind = FilterNode::Kind::kInPrefix;
  if (column.type == ColumnType::kIpv4 &&
      literal.kind == Literal::Kind::kPrefix4) {
    node.value.assign(literal.address, literal.address + 4);
    node.prefix_bits = literal.bits;
    return Status::Ok();
  }
  if (column.type == ColumnType::kIpv6) {
    if (literal.kind == Literal::Kind::kPrefix6) {
      node.value.assign(literal.address, literal.address + 16);
      node.prefix_bits = literal.bits;
      return Status::Ok();
    }
    node.value.resize(16);
    MapIpv4(literal.address, node.value.data());
    node.prefix_bits = 96 + literal.bits;
    return Status::Ok();
  }
  if (column.type == ColumnType::kIpv4)
    return Mismatch(errors, column, literal);
  return errors.At(literal.offset,
                   "type mismatch: column '" + column.name + "' is " +
                       TypeName(column) + ", found " +
                       std::string(KindPhrase(literal)) +
                       "; expected an ipv4 or ipv6 column to match a prefix");
}

}  // namespace loupe::internal
