#include "tests/support/reference_filter.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "multilog/schema.h"

namespace loupe::test_support {
namespace {

template <typename T>
bool CompareAs(const uint8_t* field, const std::vector<uint8_t>& value,
               CompareOp op) {
  T a;
  T b;
  std::memcpy(&a, field, sizeof(T));
  std::memcpy(&b, value.data(), sizeof(T));
  switch (op) {
    case CompareOp::kEq:
      return a == b;
    case CompareOp::kNe:
      return a != b;
    case CompareOp::kLt:
      return a < b;
    case CompareOp::kLe:
      return a <= b;
    case CompareOp::kGt:
      return a > b;
    case CompareOp::kGe:
      return a >= b;
  }
  return false;
}

bool ReferenceCompare(const Column& column, const uint8_t* record,
                      const std::vector<uint8_t>& value, CompareOp op) {
  const uint8_t* field = record + column.offset;
  switch (column.type) {
    case ColumnType::kBool:
    case ColumnType::kU8:
      return CompareAs<uint8_t>(field, value, op);
    case ColumnType::kU16:
      return CompareAs<uint16_t>(field, value, op);
    case ColumnType::kU32:
      return CompareAs<uint32_t>(field, value, op);
    case ColumnType::kU64:
      return CompareAs<uint64_t>(field, value, op);
    case ColumnType::kI8:
      return CompareAs<int8_t>(field, value, op);
    case ColumnType::kI16:
      return CompareAs<int16_t>(field, value, op);
    case ColumnType::kI32:
      return CompareAs<int32_t>(field, value, op);
    case ColumnType::kI64:
      return CompareAs<int64_t>(field, value, op);
    case ColumnType::kF32:
      return CompareAs<float>(field, value, op);
    case ColumnType::kF64:
      return CompareAs<double>(field, value, op);
    case ColumnType::kIpv4:
    case ColumnType::kIpv6:
    case ColumnType::kMac:
    case ColumnType::kString: {
      int c = std::memcmp(field, value.data(), column.width);
      switch (op) {
        case CompareOp::kEq:
          return c == 0;
        case CompareOp::kNe:
          return c != 0;
        case CompareOp::kLt:
          return c < 0;
        case CompareOp::kLe:
          return c <= 0;
        case CompareOp::kGt:
          return c > 0;
        case CompareOp::kGe:
          return c >= 0;
      }
    }
  }
  return false;
}

bool ReferencePrefix(const Column& column, const uint8_t* record,
                     const std::vector<uint8_t>& prefix, uint32_t bits) {
  const uint8_t* field = record + column.offset;
  for (uint32_t bit = 0; bit < bits; ++bit) {
    int shift = 7 - static_cast<int>(bit % 8);
    if (((field[bit / 8] >> shift) & 1) != ((prefix[bit / 8] >> shift) & 1)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool Reference(const BoundFilter& filter, uint32_t id, const uint8_t* record) {
  const FilterNode& node = filter.nodes[id];
  switch (node.kind) {
    case FilterNode::Kind::kAnd:
      for (uint32_t child : node.children) {
        if (!Reference(filter, child, record)) return false;
      }
      return true;
    case FilterNode::Kind::kOr:
      for (uint32_t child : node.children) {
        if (Reference(filter, child, record)) return true;
      }
      return false;
    case FilterNode::Kind::kNot:
      return !Reference(filter, node.children[0], record);
    case FilterNode::Kind::kCompare:
      return ReferenceCompare(*node.column, record, node.value, node.op);
    case FilterNode::Kind::kInSet:
      for (const auto& member : node.set) {
        if (ReferenceCompare(*node.column, record, member, CompareOp::kEq)) {
          return true;
        }
      }
      return false;
    case FilterNode::Kind::kInPrefix:
      return ReferencePrefix(*node.column, record, node.value,
                             node.prefix_bits);
    case FilterNode::Kind::kTrue:
      return true;
  }
  return false;
}

}  // namespace loupe::test_support
