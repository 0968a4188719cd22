#include "agent/internal/row_text.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace loupe::agent::internal {
namespace {

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
std::string FloatText(T v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string StringLiteral(const uint8_t* p, uint32_t width) {
  uint32_t n = width;
  while (n > 0 && p[n - 1] == 0) --n;  // zero padding
  std::string out = "'";
  for (uint32_t i = 0; i < n; ++i) {
    const unsigned char c = p[i];
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "'";
  return out;
}

}  // namespace

std::string ValueText(const Column& column, const uint8_t* record) {
  const uint8_t* p = record + column.offset;
  switch (column.type) {
    case ColumnType::kBool:
      return p[0] != 0 ? "true" : "false";
    case ColumnType::kU8:
      return std::to_string(p[0]);
    case ColumnType::kU16:
      return std::to_string(Load<uint16_t>(p));
    case ColumnType::kU32:
      return std::to_string(Load<uint32_t>(p));
    case ColumnType::kU64:
      return std::to_string(Load<uint64_t>(p));
    case ColumnType::kI8:
      return std::to_string(Load<int8_t>(p));
    case ColumnType::kI16:
      return std::to_string(Load<int16_t>(p));
    case ColumnType::kI32:
      return std::to_string(Load<int32_t>(p));
    case ColumnType::kI64:
      return std::to_string(Load<int64_t>(p));
    case ColumnType::kF32:
      return FloatText(Load<float>(p));
    case ColumnType::kF64:
      return FloatText(Load<double>(p));
    case ColumnType::kIpv4: {
      char buf[INET_ADDRSTRLEN];
      return inet_ntop(AF_INET, p, buf, sizeof(buf)) ? buf : "?";
    }
    case ColumnType::kIpv6: {
      static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0,    0,
                                              0, 0, 0, 0, 0xff, 0xff};
      char buf[INET6_ADDRSTRLEN];
      if (std::memcmp(p, kMapped, sizeof(kMapped)) == 0) {
        return inet_ntop(AF_INET, p + 12, buf, sizeof(buf)) ? buf : "?";
      }
      return inet_ntop(AF_INET6, p, buf, sizeof(buf)) ? buf : "?";
    }
    case ColumnType::kMac: {
      char buf[18];
      std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", p[0],
                    p[1], p[2], p[3], p[4], p[5]);
      return buf;
    }
    case ColumnType::kString:
      return StringLiteral(p, column.width);
  }
  return "?";
}

void FillRow(const Schema& schema, uint64_t offset, const uint8_t* record,
             v1::Row* row) {
  row->set_offset(offset);
  auto* values = row->mutable_values();
  values->Reserve(static_cast<int>(schema.columns().size()));
  for (const Column& c : schema.columns()) values->Add(ValueText(c, record));
}

void FillColumns(const Schema& schema,
                 google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const Column& c : schema.columns()) out->Add(std::string(c.name));
}

}  // namespace loupe::agent::internal
