#include "coordinator/loupectl/record_text.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/time_text.h"
#include "multilog/did_you_mean.h"
#include "multilog/expression.h"
#include "multilog/packet_schema.h"
#include "multilog/protocol_names.h"

namespace loupe::ctl {
namespace {

// "; did you mean 'dst_port'?" for a misspelt column, or "".
std::string ColumnSuggestion(const Schema& schema, std::string_view name) {
  std::vector<std::string_view> names;
  names.reserve(schema.columns().size());
  for (const Column& c : schema.columns()) names.push_back(c.name);
  return DidYouMean(name, names);
}

// The packet schema's compact default view.
constexpr std::string_view kPacketColumns[] = {
    "timestamp", "src_ip", "src_port",  "dst_ip",
    "dst_port",  "proto",  "frame_len", "tcp_flags",
};

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

uint64_t LoadUnsigned(const Column& column, const uint8_t* record) {
  const uint8_t* p = record + column.offset;
  switch (column.type) {
    case ColumnType::kBool:
    case ColumnType::kU8:
      return Load<uint8_t>(p);
    case ColumnType::kU16:
      return Load<uint16_t>(p);
    case ColumnType::kU32:
      return Load<uint32_t>(p);
    case ColumnType::kU64:
      return Load<uint64_t>(p);
    default:
      return 0;
  }
}

int64_t LoadSigned(const Column& column, const uint8_t* record) {
  const uint8_t* p = record + column.offset;
  switch (column.type) {
    case ColumnType::kI8:
      return Load<int8_t>(p);
    case ColumnType::kI16:
      return Load<int16_t>(p);
    case ColumnType::kI32:
      return Load<int32_t>(p);
    case ColumnType::kI64:
      return Load<int64_t>(p);
    default:
      return 0;
  }
}

bool IsUnsigned(ColumnType type) {
  return type == ColumnType::kU8 || type == ColumnType::kU16 ||
         type == ColumnType::kU32 || type == ColumnType::kU64;
}

bool IsSigned(ColumnType type) {
  return type == ColumnType::kI8 || type == ColumnType::kI16 ||
         type == ColumnType::kI32 || type == ColumnType::kI64;
}

// A string column's bytes without the zero padding.
std::string_view StringBytes(const Column& column, const uint8_t* record) {
  std::string_view s(reinterpret_cast<const char*>(record + column.offset),
                     column.width);
  while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

std::string Printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      if (c == '\\') {
        out += "\\\\";
        continue;
      }
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;  // UTF-8 passes through
    }
  }
  return out;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

bool IsPacketColumn(const Column& column, std::string_view name,
                    ColumnType type) {
  return column.name == name && column.type == type;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' ||
                        s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// 'text' with the expression language's escapes.
std::string QuoteLiteral(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  out += '\'';
  return out;
}

// The message of an expression error without its "filter 1:12: " position,
// which points into text the user did not write.
std::string WithoutPosition(const std::string& message) {
  constexpr std::string_view kPrefix = "filter ";
  if (message.compare(0, kPrefix.size(), kPrefix) != 0) return message;
  const size_t colon = message.find(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

}  // namespace

// --- Showing -----------------------------------------------------------------

std::string ProtocolName(uint8_t protocol) {
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

std::string CellText(const Column& column, const uint8_t* record) {
  const uint8_t* p = record + column.offset;
  if (column.offset == 0 && column.name == Schema::kTimestampColumn) {
    return FormatLocalTime(Load<uint64_t>(p));
  }
  if (IsPacketColumn(column, "proto", ColumnType::kU8)) {
    return ProtocolName(*p);
  }
  if (IsPacketColumn(column, "tcp_flags", ColumnType::kU8)) {
    return TcpFlagsText(*p);
  }
  if (IsPacketColumn(column, "ether_type", ColumnType::kU16)) {
    return EtherTypeName(Load<uint16_t>(p));
  }
  switch (column.type) {
    case ColumnType::kBool:
      return *p ? "true" : "false";
    case ColumnType::kF32:
      return Number(Load<float>(p));
    case ColumnType::kF64:
      return Number(Load<double>(p));
    case ColumnType::kIpv4:
      return AddressText(p, 4);
    case ColumnType::kIpv6:
      return AddressText(p, 16);
    case ColumnType::kMac:
      return MacText(p);
    case ColumnType::kString:
      return Printable(StringBytes(column, record));
    default:
      break;
  }
  if (IsSigned(column.type)) return std::to_string(LoadSigned(column, record));
  return std::to_string(LoadUnsigned(column, record));
}

void WriteJsonCell(JsonWriter& json, const Column& column,
                   const uint8_t* record) {
  const uint8_t* p = record + column.offset;
  switch (column.type) {
    case ColumnType::kBool:
      json.Bool(*p != 0);
      return;
    case ColumnType::kF32:
      json.Double(Load<float>(p));
      return;
    case ColumnType::kF64:
      json.Double(Load<double>(p));
      return;
    case ColumnType::kIpv4:
      json.String(AddressText(p, 4));
      return;
    case ColumnType::kIpv6:
      json.String(AddressText(p, 16));
      return;
    case ColumnType::kMac:
      json.String(MacText(p));
      return;
    case ColumnType::kString:
      json.String(StringBytes(column, record));
      return;
    default:
      break;
  }
  if (IsSigned(column.type)) {
    json.Int(LoadSigned(column, record));
  } else if (IsUnsigned(column.type)) {
    json.Uint(LoadUnsigned(column, record));
  } else {
    json.Null();
  }
}

bool IsPacketSchema(const Schema& schema) { return schema == PacketSchema(); }

Result<std::vector<const Column*>> SelectColumns(const Schema& schema,
                                                 std::string_view list) {
  std::vector<const Column*> out;
  list = Trim(list);
  if (list == "all" || list == "*" ||
      (list.empty() && !IsPacketSchema(schema))) {
    for (const Column& c : schema.columns()) out.push_back(&c);
    return out;
  }
  if (list.empty()) {
    for (std::string_view name : kPacketColumns) {
      out.push_back(schema.Find(name));
    }
    return out;
  }
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view name = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view()
                                           : list.substr(comma + 1);
    if (name.empty()) continue;
    const Column* column = schema.Find(name);
    if (column == nullptr) {
      return Status::InvalidArgument("--columns: unknown column '" +
                                     std::string(name) + "'" +
                                     ColumnSuggestion(schema, name));
    }
    out.push_back(column);
  }
  if (out.empty()) return Status::InvalidArgument("--columns: no column named");
  return out;
}

// --- Reading -----------------------------------------------------------------

Result<const Column*> RecordEncoder::FindColumn(std::string_view name) const {
  const Column* column = schema_->Find(name);
  if (column != nullptr) return column;
  return Status::InvalidArgument("unknown column '" + std::string(name) + "'" +
                                 ColumnSuggestion(*schema_, name));
}

Status RecordEncoder::EncodeValue(const Column& column, std::string_view text,
                                  uint8_t* record, uint64_t now_ns) const {
  text = Trim(text);
  if (column.offset == 0 && column.name == Schema::kTimestampColumn) {
    Result<uint64_t> t = ParseTime(text, now_ns);
    if (!t.ok()) {
      return Status::InvalidArgument("column 'timestamp': " +
                                     t.status().message());
    }
    std::memcpy(record, &*t, sizeof(uint64_t));
    return Status::Ok();
  }
  // The expression language encodes literals; `column == value` is the
  // smallest filter that carries one.
  std::string literal(text);
  if (column.type == ColumnType::kString &&
      (text.empty() || (text.front() != '\'' && text.front() != '"'))) {
    literal = QuoteLiteral(text);
  }
  if (literal.empty()) {
    return Status::InvalidArgument("column '" + column.name + "': empty value");
  }
  Result<BoundFilter> filter =
      ParseFilter(*schema_, column.name + " == " + literal);
  if (!filter.ok()) {
    return Status::InvalidArgument(
        "column '" + column.name + "' (" +
        std::string(ColumnTypeName(column.type)) + "): bad value '" +
        std::string(text) + "': " + WithoutPosition(filter.status().message()));
  }
  const FilterNode& node = filter->nodes.front();
  if (node.kind != FilterNode::Kind::kCompare ||
      node.value.size() != column.width) {
    return Status::InvalidArgument("column '" + column.name + "': bad value '" +
                                   std::string(text) + "'");
  }
  std::memcpy(record + column.offset, node.value.data(), column.width);
  return Status::Ok();
}

Status RecordEncoder::EncodeKeyValueLine(std::string_view line, uint64_t now_ns,
                                         std::vector<uint8_t>& out) const {
  std::vector<uint8_t> record(schema_->record_size(), 0);
  bool has_timestamp = false;
  std::string_view s = Trim(line);
  while (!s.empty()) {
    const size_t eq = s.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("expected column=value, found '" +
                                     std::string(s) + "'");
    }
    const std::string_view key = Trim(s.substr(0, eq));
    s.remove_prefix(eq + 1);
    s = Trim(s);
    // The value: a quoted literal (kept with its quotes and escapes), or
    // text up to the next blank or comma.
    size_t end = 0;
    if (!s.empty() && (s.front() == '\'' || s.front() == '"')) {
      const char quote = s.front();
      end = 1;
      while (end < s.size() && s[end] != quote) end += s[end] == '\\' ? 2 : 1;
      if (end >= s.size()) {
        return Status::InvalidArgument("column '" + std::string(key) +
                                       "': unterminated quote");
      }
      ++end;
    } else {
      while (end < s.size() && s[end] != ' ' && s[end] != '\t' &&
             s[end] != ',') {
        ++end;
      }
    }
    const std::string_view value = s.substr(0, end);
    s.remove_prefix(end);
    s = Trim(s);
    if (!s.empty() && s.front() == ',') s = Trim(s.substr(1));

    Result<const Column*> column = FindColumn(key);
    if (!column.ok()) return column.status();
    LOUPE_RETURN_IF_ERROR(EncodeValue(**column, value, record.data(), now_ns));
    has_timestamp = has_timestamp || (*column)->offset == 0;
  }
  if (!has_timestamp) std::memcpy(record.data(), &now_ns, sizeof(now_ns));
  out.insert(out.end(), record.begin(), record.end());
  return Status::Ok();
}

Status RecordEncoder::SetCsvHeader(std::string_view line) {
  Result<std::vector<std::string>> fields = SplitCsvLine(line);
  if (!fields.ok()) return fields.status().Annotate("CSV header");
  std::vector<const Column*> columns;
  for (const std::string& name : *fields) {
    Result<const Column*> column = FindColumn(Trim(name));
    if (!column.ok()) return column.status().Annotate("CSV header");
    for (const Column* seen : columns) {
      if (seen == *column) {
        return Status::InvalidArgument("CSV header: column '" + name +
                                       "' appears twice");
      }
    }
    columns.push_back(*column);
  }
  csv_columns_ = std::move(columns);
  return Status::Ok();
}

Status RecordEncoder::EncodeCsvRow(std::string_view line, uint64_t now_ns,
                                   std::vector<uint8_t>& out) const {
  if (csv_columns_.empty()) {
    return Status::FailedPrecondition("CSV: no header line");
  }
  Result<std::vector<std::string>> fields = SplitCsvLine(line);
  if (!fields.ok()) return fields.status();
  if (fields->size() != csv_columns_.size()) {
    return Status::InvalidArgument(
        "expected " + std::to_string(csv_columns_.size()) +
        " fields as in the header, found " + std::to_string(fields->size()));
  }
  std::vector<uint8_t> record(schema_->record_size(), 0);
  bool has_timestamp = false;
  for (size_t i = 0; i < fields->size(); ++i) {
    const Column& column = *csv_columns_[i];
    std::string_view value = (*fields)[i];
    std::string quoted;
    if (column.type == ColumnType::kString) {
      // CSV already unquoted it: the field is the text itself.
      quoted = QuoteLiteral(value);
      value = quoted;
    }
    LOUPE_RETURN_IF_ERROR(EncodeValue(column, value, record.data(), now_ns));
    has_timestamp = has_timestamp || column.offset == 0;
  }
  if (!has_timestamp) std::memcpy(record.data(), &now_ns, sizeof(now_ns));
  out.insert(out.end(), record.begin(), record.end());
  return Status::Ok();
}

Result<std::vector<std::string>> SplitCsvLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
    line.remove_suffix(1);
  }
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    // Leading blanks before a quote are allowed (", " separators).
    size_t j = i;
    while (j < line.size() && line[j] == ' ') ++j;
    if (j < line.size() && line[j] == '"') {
      i = j + 1;
      while (true) {
        if (i >= line.size()) {
          return Status::InvalidArgument("CSV: unterminated quoted field " +
                                         std::to_string(fields.size() + 1));
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] != ',') {
        return Status::InvalidArgument(
            "CSV: text after the closing quote of field " +
            std::to_string(fields.size() + 1));
      }
    } else {
      while (i < line.size() && line[i] != ',') field += line[i++];
      field = std::string(Trim(field));
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

}  // namespace loupe::ctl
