// Protocol buffer messages of the agent's API as loupectl's JSON output:
// every field by its proto name, unset ones with their default value (so
// scripts see every key), 64-bit integers as JSON numbers (not strings, as
// the proto3 JSON mapping would have them), enums by name, bytes in base64,
// an unset message field as null. Stateless; thread-safe.
#ifndef LOUPE_COORDINATOR_LOUPECTL_PROTO_JSON_H_
#define LOUPE_COORDINATOR_LOUPECTL_PROTO_JSON_H_

#include <google/protobuf/message.h>

#include "agent/json_writer.h"

namespace loupe::ctl {

void WriteProtoJson(JsonWriter& json, const google::protobuf::Message& message);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_PROTO_JSON_H_
