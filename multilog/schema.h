// Schema: the fixed-width record layout of one multilog. A schema is an
// ordered list of named, typed columns; column 0 is always the implicit
// `timestamp` (u64, nanoseconds since the Unix epoch), followed by the user's
// columns packed without padding in declaration order. Every record of a
// multilog has exactly record_size() bytes, so a record is addressed by its
// byte offset in the data log and never updated once written.
//
// Byte order inside a record: numeric columns (bool, u*, i*, f*) are stored
// in host order; ipv4, ipv6 and mac are stored as on the wire (network
// order), so their bytes sort like their values and prefixes are byte
// prefixes; string(N) is N bytes, zero-padded.
//
// Immutable after Create(); safe to share between threads.
#ifndef LOUPE_MULTILOG_SCHEMA_H_
#define LOUPE_MULTILOG_SCHEMA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/status.h"

namespace loupe {

enum class ColumnType : uint8_t {
  kBool,
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
  kIpv4,
  kIpv6,
  kMac,
  kString,  // string(N): N bytes, zero-padded
};

// "u16", "ipv6", "string" ...
std::string_view ColumnTypeName(ColumnType type);
// Width in bytes of a fixed-size type; 0 for kString (its width is N).
uint32_t ColumnTypeWidth(ColumnType type);

// What the user declares.
struct ColumnSpec {
  std::string name;
  ColumnType type;
  uint32_t width = 0;  // string(N) only; must be 0 or equal to the type's
};

struct Column {
  std::string name;
  ColumnType type;
  uint32_t width;   // bytes
  uint32_t offset;  // bytes from the start of the record
};

// The value of a numeric column (bool, u*, i*, f*) of `record` as a double
// (u64/i64 above 2^53 lose precision). 0 for other types.
double ReadNumber(const Column& column, const uint8_t* record);

class Schema {
 public:
  static constexpr std::string_view kTimestampColumn = "timestamp";
  static constexpr size_t kMaxColumns = 256;
  static constexpr uint32_t kMaxStringWidth = 1024;
  static constexpr uint32_t kMaxRecordBytes = 4096;

  // Validates and lays out the columns (the timestamp is added first; do not
  // declare it). Names are identifiers: [A-Za-z_][A-Za-z0-9_]*, at most 64
  // characters, unique ignoring case. Errors name the column by position
  // and name.
  static Result<Schema> Create(const std::vector<ColumnSpec>& columns);

  // Parses the text form "name:type, name:type, ..." (newlines also
  // separate), e.g. "src:ipv4, bytes:u32, host:string(16)". The implicit
  // timestamp column may be listed first as "timestamp:u64"; it is then
  // skipped. This is also the form Serialize() writes.
  static Result<Schema> Parse(std::string_view text);
  std::string Serialize() const;

  size_t record_size() const { return record_size_; }
  const std::vector<Column>& columns() const { return columns_; }
  // The column named `name` (case-sensitive), or nullptr.
  const Column* Find(std::string_view name) const;
  // The column name closest to `name` by edit distance, for "did you mean"
  // messages; empty when nothing is close.
  std::string Suggest(std::string_view name) const;

  friend bool operator==(const Schema& a, const Schema& b) {
    return a.Serialize() == b.Serialize();
  }

 private:
  Schema() = default;

  std::vector<Column> columns_;
  size_t record_size_ = 0;
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_SCHEMA_H_
