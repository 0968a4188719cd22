// A record as the API's text rows: each column's value in
// multilog/value_text.h's literal style (ValueStyle::kLiteral, the
// expression language's literals, so that a decoded row can be pasted into
// a filter), and the schema's column names. Pure functions; thread-safe.
// Internal to the agent_service library.
#ifndef LOUPE_AGENT_INTERNAL_ROW_TEXT_H_
#define LOUPE_AGENT_INTERNAL_ROW_TEXT_H_

#include <cstdint>
#include <string>

#include "agent/proto/loupe.pb.h"
#include "multilog/schema.h"

namespace loupe::agent::internal {

// Every column of `record`, timestamp first, into *row.
void FillRow(const Schema& schema, uint64_t offset, const uint8_t* record,
             v1::Row* row);

void FillColumns(const Schema& schema,
                 google::protobuf::RepeatedPtrField<std::string>* out);

}  // namespace loupe::agent::internal

#endif  // LOUPE_AGENT_INTERNAL_ROW_TEXT_H_
