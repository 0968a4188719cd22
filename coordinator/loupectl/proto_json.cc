#include "coordinator/loupectl/proto_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace loupe::ctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16 |
                       static_cast<uint8_t>(bytes[i + 1]) << 8 |
                       static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void WriteValue(JsonWriter& json, const Message& message,
                const FieldDescriptor* field, int index);

void WriteField(JsonWriter& json, const Message& message,
                const FieldDescriptor* field) {
  const Reflection* reflection = message.GetReflection();
  json.Key(field->name());
  if (field->is_repeated()) {
    json.BeginArray();
    const int n = reflection->FieldSize(message, field);
    for (int i = 0; i < n; ++i) WriteValue(json, message, field, i);
    json.EndArray();
    return;
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
      !reflection->HasField(message, field)) {
    json.Null();
    return;
  }
  WriteValue(json, message, field, -1);
}

// index -1: a singular field.
void WriteValue(JsonWriter& json, const Message& message,
                const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      json.Int(rep ? r->GetRepeatedInt32(message, field, index)
                   : r->GetInt32(message, field));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      json.Int(rep ? r->GetRepeatedInt64(message, field, index)
                   : r->GetInt64(message, field));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      json.Uint(rep ? r->GetRepeatedUInt32(message, field, index)
                    : r->GetUInt32(message, field));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      json.Uint(rep ? r->GetRepeatedUInt64(message, field, index)
                    : r->GetUInt64(message, field));
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      json.Double(rep ? r->GetRepeatedDouble(message, field, index)
                      : r->GetDouble(message, field));
      return;
    case FieldDescriptor::CPPTYPE_FLOAT:
      json.Double(rep ? r->GetRepeatedFloat(message, field, index)
                      : r->GetFloat(message, field));
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      json.Bool(rep ? r->GetRepeatedBool(message, field, index)
                    : r->GetBool(message, field));
      return;
    case FieldDescriptor::CPPTYPE_ENUM:
      json.String((rep ? r->GetRepeatedEnum(message, field, index)
                       : r->GetEnum(message, field))
                      ->name());
      return;
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string value =
          rep ? r->GetRepeatedString(message, field, index)
              : r->GetString(message, field);
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        json.String(Base64(value));
      } else {
        json.String(value);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      WriteProtoJson(json, rep ? r->GetRepeatedMessage(message, field, index)
                               : r->GetMessage(message, field));
      return;
  }
}

}  // namespace

void WriteProtoJson(JsonWriter& json, const Message& message) {
  const auto* descriptor = message.GetDescriptor();
  json.BeginObject();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    WriteField(json, message, descriptor->field(i));
  }
  json.EndObject();
}

}  // namespace loupe::ctl
