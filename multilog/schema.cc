#include "multilog/schema.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "multilog/did_you_mean.h"

namespace loupe {
namespace {

constexpr size_t kMaxNameLength = 64;

// Every type in declaration order, for parsing and for error messages.
constexpr ColumnType kAllTypes[] = {
    ColumnType::kBool, ColumnType::kU8,  ColumnType::kU16,    ColumnType::kU32,
    ColumnType::kU64,  ColumnType::kI8,  ColumnType::kI16,    ColumnType::kI32,
    ColumnType::kI64,  ColumnType::kF32, ColumnType::kF64,    ColumnType::kIpv4,
    ColumnType::kIpv6, ColumnType::kMac, ColumnType::kString,
};

constexpr std::string_view kExpectedTypes =
    "bool, u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, ipv4, ipv6, mac, "
    "string(N)";

// Spellings from other languages that are too far from ours for the edit
// distance to catch.
struct TypeAlias {
  std::string_view alias;
  std::string_view type;
};
constexpr TypeAlias kTypeAliases[] = {
    {"boolean", "bool"}, {"uint8", "u8"},      {"uint16", "u16"},
    {"uint32", "u32"},   {"uint64", "u64"},    {"int8", "i8"},
    {"int16", "i16"},    {"int32", "i32"},     {"int64", "i64"},
    {"float", "f32"},    {"double", "f64"},    {"float32", "f32"},
    {"float64", "f64"},  {"str", "string(N)"}, {"text", "string(N)"},
};

bool IsValidType(ColumnType type) {
  return static_cast<uint8_t>(type) <=
         static_cast<uint8_t>(ColumnType::kString);
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

char ToLower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

bool IsIdentifier(std::string_view name) {
  auto letter = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !letter(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return letter(c) || digit(c); });
}

// "schema: column 3 'src_ip'" or, without a name, "schema: column 3".
std::string ColumnRef(size_t position, std::string_view name) {
  std::string s = "schema: column " + std::to_string(position);
  if (!name.empty()) {
    s += " '";
    s += name;
    s += "'";
  }
  return s;
}

Status StringWidthError(size_t position, std::string_view name,
                        std::string_view width) {
  return Status::InvalidArgument(ColumnRef(position, name) + " is string(" +
                                 std::string(width) +
                                 "): a string needs a width from 1 to " +
                                 std::to_string(Schema::kMaxStringWidth));
}

Status TooManyColumns(size_t declared) {
  return Status::InvalidArgument("schema: " + std::to_string(declared) +
                                 " columns declared; at most " +
                                 std::to_string(Schema::kMaxColumns - 1) +
                                 " are allowed (plus the implicit timestamp)");
}

std::string TypeText(ColumnType type, uint32_t width) {
  if (type == ColumnType::kString) {
    return "string(" + std::to_string(width) + ")";
  }
  return std::string(ColumnTypeName(type));
}

// Checks everything Create() promises, naming columns by position starting
// at `first_position` (Parse() counts a leading "timestamp:u64" it skipped).
Status Validate(const std::vector<ColumnSpec>& columns, size_t first_position) {
  // The timestamp counts against kMaxColumns.
  if (columns.size() + 1 > Schema::kMaxColumns) {
    return TooManyColumns(columns.size());
  }
  // Lower-cased name -> position of its first declaration.
  std::unordered_map<std::string, size_t> seen;
  uint64_t record_bytes = ColumnTypeWidth(ColumnType::kU64);
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnSpec& spec = columns[i];
    const size_t position = first_position + i;
    const std::string ref = ColumnRef(position, spec.name);
    if (spec.name.empty()) {
      return Status::InvalidArgument(ref + " has an empty name");
    }
    if (spec.name.size() > kMaxNameLength) {
      return Status::InvalidArgument(
          ref + " has a name of " + std::to_string(spec.name.size()) +
          " characters; names are at most " + std::to_string(kMaxNameLength));
    }
    if (!IsIdentifier(spec.name)) {
      return Status::InvalidArgument(
          ref +
          " is not an identifier (use letters, digits and '_', not starting "
          "with a digit)");
    }
    std::string lower = Lower(spec.name);
    if (lower == Schema::kTimestampColumn) {
      return Status::InvalidArgument(
          ref + " is reserved: every record has an implicit timestamp");
    }
    auto [it, inserted] = seen.emplace(std::move(lower), position);
    if (!inserted) {
      std::string msg = ref + " is declared twice (first as column " +
                        std::to_string(it->second);
      const std::string& first = columns[it->second - first_position].name;
      if (first != spec.name) msg += " '" + first + "'; names ignore case";
      return Status::InvalidArgument(msg + ")");
    }
    if (!IsValidType(spec.type)) {
      return Status::InvalidArgument(
          ref + " has an unknown type (" +
          std::to_string(static_cast<int>(spec.type)) + "); expected one of " +
          std::string(kExpectedTypes));
    }
    uint32_t width = spec.width;
    if (spec.type == ColumnType::kString) {
      if (width == 0 || width > Schema::kMaxStringWidth) {
        return StringWidthError(position, spec.name, std::to_string(width));
      }
    } else {
      const uint32_t type_width = ColumnTypeWidth(spec.type);
      if (width != 0 && width != type_width) {
        return Status::InvalidArgument(
            ref + " is " + std::string(ColumnTypeName(spec.type)) + ", " +
            std::to_string(type_width) + " bytes wide, but width " +
            std::to_string(width) +
            " was given (a width is only for string(N); leave it 0)");
      }
      width = type_width;
    }
    record_bytes += width;
  }
  if (record_bytes > Schema::kMaxRecordBytes) {
    return Status::InvalidArgument(
        "schema: a record would be " + std::to_string(record_bytes) +
        " bytes, over the limit of " + std::to_string(Schema::kMaxRecordBytes) +
        " bytes; drop columns or narrow string(N) columns");
  }
  return Status::Ok();
}

// Parses the type text of column `position`, e.g. "u16" or "string(16)".
// Widths out of range are left to Validate() unless they do not fit a
// uint32_t.
Status ParseType(std::string_view text, size_t position, std::string_view name,
                 ColumnSpec* spec) {
  const std::string ref = ColumnRef(position, name);
  if (text.empty()) {
    return Status::InvalidArgument(ref + ": missing type after ':'; expected " +
                                   "one of " + std::string(kExpectedTypes));
  }
  for (ColumnType type : kAllTypes) {
    if (type != ColumnType::kString && text == ColumnTypeName(type)) {
      spec->type = type;
      spec->width = 0;
      return Status::Ok();
    }
  }
  constexpr std::string_view kString = "string";
  if (text.substr(0, kString.size()) == kString) {
    std::string_view rest = Trim(text.substr(kString.size()));
    if (rest.empty()) {
      return Status::InvalidArgument(
          ref + ": type 'string' needs a width: string(N) with N from 1 to " +
          std::to_string(Schema::kMaxStringWidth));
    }
    if (rest.front() == '(') {
      std::string_view inner;
      bool number = false;
      uint64_t width = 0;
      if (rest.back() == ')') {
        inner = Trim(rest.substr(1, rest.size() - 2));
        auto [end, ec] =
            std::from_chars(inner.data(), inner.data() + inner.size(), width);
        number = !inner.empty() && ec != std::errc::invalid_argument &&
                 end == inner.data() + inner.size();
        if (number && (ec == std::errc::result_out_of_range ||
                       width > std::numeric_limits<uint32_t>::max())) {
          return StringWidthError(position, name, inner);
        }
      }
      if (!number) {
        return Status::InvalidArgument(
            ref + ": bad type '" + std::string(text) +
            "'; expected string(N) with N from 1 to " +
            std::to_string(Schema::kMaxStringWidth));
      }
      spec->type = ColumnType::kString;
      spec->width = static_cast<uint32_t>(width);
      return Status::Ok();
    }
  }
  std::string msg = ref + ": unknown type '" + std::string(text) +
                    "'; expected one of " + std::string(kExpectedTypes);
  // "strng(16)", "str(16)": compare what comes before the width.
  const std::string_view base = Trim(text.substr(0, text.find('(')));
  const std::string lower = Lower(base);
  std::string_view suggestion;
  for (const TypeAlias& alias : kTypeAliases) {
    if (lower == alias.alias) suggestion = alias.type;
  }
  if (suggestion.empty()) {
    NearestName near(base);
    for (ColumnType type : kAllTypes) near.Offer(ColumnTypeName(type));
    if (near.found()) {
      suggestion = kAllTypes[near.index()] == ColumnType::kString
                       ? "string(N)"
                       : ColumnTypeName(kAllTypes[near.index()]);
    }
  }
  if (!suggestion.empty()) {
    msg += "; did you mean '" + std::string(suggestion) + "'?";
  }
  return Status::InvalidArgument(msg);
}

}  // namespace

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
      return "bool";
    case ColumnType::kU8:
      return "u8";
    case ColumnType::kU16:
      return "u16";
    case ColumnType::kU32:
      return "u32";
    case ColumnType::kU64:
      return "u64";
    case ColumnType::kI8:
      return "i8";
    case ColumnType::kI16:
      return "i16";
    case ColumnType::kI32:
      return "i32";
    case ColumnType::kI64:
      return "i64";
    case ColumnType::kF32:
      return "f32";
    case ColumnType::kF64:
      return "f64";
    case ColumnType::kIpv4:
      return "ipv4";
    case ColumnType::kIpv6:
      return "ipv6";
    case ColumnType::kMac:
      return "mac";
    case ColumnType::kString:
      return "string";
  }
  return "invalid";
}

uint32_t ColumnTypeWidth(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
    case ColumnType::kU8:
    case ColumnType::kI8:
      return 1;
    case ColumnType::kU16:
    case ColumnType::kI16:
      return 2;
    case ColumnType::kU32:
    case ColumnType::kI32:
    case ColumnType::kF32:
    case ColumnType::kIpv4:
      return 4;
    case ColumnType::kU64:
    case ColumnType::kI64:
    case ColumnType::kF64:
      return 8;
    case ColumnType::kIpv6:
      return 16;
    case ColumnType::kMac:
      return 6;
    case ColumnType::kString:
      return 0;
  }
  return 0;
}

Result<Schema> Schema::Create(const std::vector<ColumnSpec>& columns) {
  LOUPE_RETURN_IF_ERROR(Validate(columns, 1));
  Schema schema;
  schema.columns_.reserve(columns.size() + 1);
  uint32_t offset = 0;
  auto add = [&](std::string name, ColumnType type, uint32_t width) {
    schema.columns_.push_back(Column{std::move(name), type, width, offset});
    offset += width;
  };
  add(std::string(kTimestampColumn), ColumnType::kU64,
      ColumnTypeWidth(ColumnType::kU64));
  for (const ColumnSpec& spec : columns) {
    add(spec.name, spec.type,
        spec.type == ColumnType::kString ? spec.width
                                         : ColumnTypeWidth(spec.type));
  }
  schema.record_size_ = offset;
  return schema;
}

Result<Schema> Schema::Parse(std::string_view text) {
  std::vector<ColumnSpec> specs;
  size_t position = 0;        // of the current item in the text, 1-based
  size_t first_position = 1;  // of specs[0]
  while (!text.empty()) {
    size_t end = text.find_first_of(",\n");
    std::string_view item = Trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (item.empty()) continue;  // "a:u8,\nb:u8" or a trailing separator
    ++position;
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument(
          "schema: column " + std::to_string(position) + " '" +
          std::string(item) + "' is not name:type, e.g. 'src:ipv4'");
    }
    std::string_view name = Trim(item.substr(0, colon));
    std::string_view type = Trim(item.substr(colon + 1));
    ColumnSpec spec{std::string(name), ColumnType::kU8, 0};
    LOUPE_RETURN_IF_ERROR(ParseType(type, position, name, &spec));
    if (position == 1 && spec.name == kTimestampColumn) {
      if (spec.type != ColumnType::kU64) {
        return Status::InvalidArgument(
            ColumnRef(position, name) + " is " + std::string(type) +
            ", but the implicit timestamp is u64; write 'timestamp:u64' or "
            "leave it out");
      }
      first_position = 2;
      continue;
    }
    specs.push_back(std::move(spec));
  }
  LOUPE_RETURN_IF_ERROR(Validate(specs, first_position));
  return Create(specs);
}

std::string Schema::Serialize() const {
  std::string out;
  for (const Column& column : columns_) {
    if (!out.empty()) out += ", ";
    out += column.name;
    out += ':';
    out += TypeText(column.type, column.width);
  }
  return out;
}

const Column* Schema::Find(std::string_view name) const {
  for (const Column& column : columns_) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

std::string Schema::Suggest(std::string_view name) const {
  NearestName near(name);
  for (const Column& column : columns_) near.Offer(column.name);
  return near.found() ? columns_[near.index()].name : std::string();
}

double ReadNumber(const Column& column, const uint8_t* record) {
  const uint8_t* p = record + column.offset;
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return static_cast<double>(v);
  };
  switch (column.type) {
    case ColumnType::kBool:
    case ColumnType::kU8:
      return load(uint8_t{});
    case ColumnType::kU16:
      return load(uint16_t{});
    case ColumnType::kU32:
      return load(uint32_t{});
    case ColumnType::kU64:
      return load(uint64_t{});
    case ColumnType::kI8:
      return load(int8_t{});
    case ColumnType::kI16:
      return load(int16_t{});
    case ColumnType::kI32:
      return load(int32_t{});
    case ColumnType::kI64:
      return load(int64_t{});
    case ColumnType::kF32:
      return load(float{});
    case ColumnType::kF64:
      return load(double{});
    default:
      return 0;
  }
}

}  // namespace loupe
