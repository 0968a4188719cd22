#include "multilog/value_text.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "multilog/protocol_names.h"

namespace loupe {
namespace {

constexpr char kHex[] = "0123456789abcdef";

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

void AppendHexByte(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// Shortest text that reads back as the same value.
template <typename T>
std::string RoundTripText(T v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string SixDigitText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// A column of the packet schema that kHuman shows by meaning.
bool IsPacketColumn(const Column& column, std::string_view name,
                    ColumnType type) {
  return column.name == name && column.type == type;
}

}  // namespace

std::string AddressText(const uint8_t* bytes, size_t width) {
  char buf[INET6_ADDRSTRLEN];
  if (width == 4) {
    return inet_ntop(AF_INET, bytes, buf, sizeof(buf)) ? buf : "?";
  }
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    return inet_ntop(AF_INET, bytes + 12, buf, sizeof(buf)) ? buf : "?";
  }
  return inet_ntop(AF_INET6, bytes, buf, sizeof(buf)) ? buf : "?";
}

std::string MacText(const uint8_t bytes[6]) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]);
  return buf;
}

std::string_view StringBytes(const Column& column, const uint8_t* record) {
  std::string_view s(reinterpret_cast<const char*>(record + column.offset),
                     column.width);
  while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

std::string StringLiteral(std::string_view bytes) {
  std::string out = "'";
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
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
          AppendHexByte(out, c);
        } else {
          out += ch;
        }
    }
  }
  out += "'";
  return out;
}

std::string PrintableText(std::string_view bytes) {
  std::string out;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      AppendHexByte(out, c);
    } else {
      out += ch;  // UTF-8 passes through
    }
  }
  return out;
}

std::string ProtocolText(uint8_t protocol) {
  const std::string_view name = ProtocolNameOf(protocol);
  return name.empty() ? std::to_string(protocol) : std::string(name);
}

std::string TcpFlagsText(uint8_t flags) {
  struct Flag {
    uint8_t bit;
    char letter;
  };
  // tcpdump's order.
  static constexpr Flag kFlags[] = {
      {0x01, 'F'}, {0x02, 'S'}, {0x04, 'R'}, {0x08, 'P'},
      {0x10, '.'}, {0x20, 'U'}, {0x40, 'E'}, {0x80, 'W'},
  };
  if (flags == 0) return "-";
  std::string out;
  for (const Flag& f : kFlags) {
    if (flags & f.bit) out += f.letter;
  }
  return out;
}

std::string EtherTypeName(uint16_t ether_type) {
  switch (ether_type) {
    case 0x0800:
      return "ipv4";
    case 0x86DD:
      return "ipv6";
    case 0x0806:
      return "arp";
    case 0x8100:
      return "vlan";
    case 0x88A8:
      return "qinq";
    case 0x88CC:
      return "lldp";
    default: {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "0x%04x", ether_type);
      return buf;
    }
  }
}

std::string ValueText(const Column& column, const uint8_t* record,
                      ValueStyle style) {
  const uint8_t* p = record + column.offset;
  const bool human = style == ValueStyle::kHuman;
  if (human) {
    if (IsPacketColumn(column, "proto", ColumnType::kU8)) {
      return ProtocolText(*p);
    }
    if (IsPacketColumn(column, "tcp_flags", ColumnType::kU8)) {
      return TcpFlagsText(*p);
    }
    if (IsPacketColumn(column, "ether_type", ColumnType::kU16)) {
      return EtherTypeName(Load<uint16_t>(p));
    }
  }
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
      return human ? SixDigitText(Load<float>(p))
                   : RoundTripText(Load<float>(p));
    case ColumnType::kF64:
      return human ? SixDigitText(Load<double>(p))
                   : RoundTripText(Load<double>(p));
    case ColumnType::kIpv4:
      return AddressText(p, 4);
    case ColumnType::kIpv6:
      return AddressText(p, 16);
    case ColumnType::kMac:
      return MacText(p);
    case ColumnType::kString: {
      const std::string_view bytes = StringBytes(column, record);
      return human ? PrintableText(bytes) : StringLiteral(bytes);
    }
  }
  return "?";
}

}  // namespace loupe
