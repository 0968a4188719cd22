#include "coordinator/loupectl/record_text.h"

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
#include "multilog/value_text.h"

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

std::string CellText(const Column& column, const uint8_t* record) {
  if (column.offset == 0 && column.name == Schema::kTimestampColumn) {
    return FormatLocalTime(Load<uint64_t>(record));
  }
  return ValueText(column, record, ValueStyle::kHuman);
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
    literal = StringLiteral(text);
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
      quoted = StringLiteral(value);
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
