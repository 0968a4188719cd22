// Records as text, both ways, for any Schema: showing a record's columns in
// loupectl's tables and JSON, and reading records that the operator typed
// (for `loupectl append`) into record bytes.
//
// Showing (human): the timestamp as local RFC 3339 with milliseconds,
// addresses in their usual notation (an IPv4-mapped IPv6 address as a.b.c.d),
// MACs as aa:bb:cc:dd:ee:ff, strings without their zero padding and with
// unprintable bytes as \xHH; in the packet schema's columns, `proto` by name
// ("tcp"), `tcp_flags` as tcpdump's letters ("S.", "FP."), `ether_type` by
// name ("ipv4"). JSON keeps numbers as numbers (the timestamp in ns) and
// addresses and strings as the same text.
//
// Reading: two text forms, one record per line, blank lines and lines
// starting with '#' skipped:
//   key=value   src=10.0.0.1 dst=10.0.0.2 bytes=1500 host='a b'
//   CSV         a header line of column names, then one row per record
//               (RFC 4180 quoting: "a, b" and "say ""hi""")
// Values are written as in the expression language (multilog/expression.h),
// which encodes them: numbers (42, 0x1f, 1.5e3), protocol names, addresses,
// MACs, true/false; a string column also takes bare text. The timestamp
// takes every form of ParseTime ("now", "-1s", RFC 3339, ns). A column left
// out is zero; a timestamp left out is the time of reading.
//
// Pure functions and a value-type encoder; thread-safe for distinct objects.
// Everything here points into the Schema, which must outlive it.
#ifndef LOUPE_COORDINATOR_LOUPECTL_RECORD_TEXT_H_
#define LOUPE_COORDINATOR_LOUPECTL_RECORD_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/json_writer.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe::ctl {

// --- Showing -----------------------------------------------------------------

// The value of `column` in `record` for a human table: the timestamp as
// local time (FormatLocalTime), everything else as multilog/value_text.h's
// ValueStyle::kHuman.
std::string CellText(const Column& column, const uint8_t* record);
// Writes the value of `column` in `record` as one JSON value.
void WriteJsonCell(JsonWriter& json, const Column& column,
                   const uint8_t* record);

// Which columns a record table shows. `list` is "a,b,c" (names as in the
// schema; "all" or "*" for every column); empty: every column, except for
// the packet schema, where a compact set (time, addresses, ports, protocol,
// length, TCP flags). Unknown names are kInvalidArgument with a suggestion.
Result<std::vector<const Column*>> SelectColumns(const Schema& schema,
                                                 std::string_view list);

// True when `schema` is the packet schema (multilog/packet_schema.h).
bool IsPacketSchema(const Schema& schema);

// --- Reading -----------------------------------------------------------------

class RecordEncoder {
 public:
  explicit RecordEncoder(const Schema& schema) : schema_(&schema) {}

  // Encodes `text` into `column` of `record` (record_size() bytes).
  Status EncodeValue(const Column& column, std::string_view text,
                     uint8_t* record, uint64_t now_ns) const;

  // One key=value line; appends record_size() bytes to `out`.
  Status EncodeKeyValueLine(std::string_view line, uint64_t now_ns,
                            std::vector<uint8_t>& out) const;

  // CSV: the header names the columns of every later row.
  Status SetCsvHeader(std::string_view line);
  Status EncodeCsvRow(std::string_view line, uint64_t now_ns,
                      std::vector<uint8_t>& out) const;

 private:
  Result<const Column*> FindColumn(std::string_view name) const;

  const Schema* schema_;
  std::vector<const Column*> csv_columns_;
};

// Splits one CSV line into fields, undoing RFC 4180 quoting. Errors: an
// unterminated quote, text after a closing quote.
Result<std::vector<std::string>> SplitCsvLine(std::string_view line);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_RECORD_TEXT_H_
