#include "agent/internal/row_text.h"

#include "multilog/value_text.h"

namespace loupe::agent::internal {

void FillRow(const Schema& schema, uint64_t offset, const uint8_t* record,
             v1::Row* row) {
  row->set_offset(offset);
  auto* values = row->mutable_values();
  values->Reserve(static_cast<int>(schema.columns().size()));
  for (const Column& c : schema.columns()) {
    values->Add(ValueText(c, record, ValueStyle::kLiteral));
  }
}

void FillColumns(const Schema& schema,
                 google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const Column& c : schema.columns()) out->Add(std::string(c.name));
}

}  // namespace loupe::agent::internal
