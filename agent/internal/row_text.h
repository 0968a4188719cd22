// A record as the API's text rows: each column's value written the way the
// expression language writes literals (numbers in decimal, addresses and
// MACs in their usual form, IPv4-mapped IPv6 as a.b.c.d, strings quoted
// with escapes, bools true/false), and the schema's column names. Pure
// functions; thread-safe. Internal to the agent_service library.
#ifndef LOUPE_AGENT_INTERNAL_ROW_TEXT_H_
#define LOUPE_AGENT_INTERNAL_ROW_TEXT_H_

#include <cstdint>
#include <string>

#include "agent/proto/loupe.pb.h"
#include "multilog/schema.h"

namespace loupe::agent::internal {

// The value of `column` in `record` (the record's first byte).
std::string ValueText(const Column& column, const uint8_t* record);

// Every column of `record`, timestamp first, into *row.
void FillRow(const Schema& schema, uint64_t offset, const uint8_t* record,
             v1::Row* row);

void FillColumns(const Schema& schema,
                 google::protobuf::RepeatedPtrField<std::string>* out);

}  // namespace loupe::agent::internal

#endif  // LOUPE_AGENT_INTERNAL_ROW_TEXT_H_
