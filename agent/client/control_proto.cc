#include "agent/client/control_proto.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace loupe {
namespace {

struct KindPair {
  ControlKind kind;
  v1::ControlKind proto;
};
constexpr KindPair kKinds[] = {
    {ControlKind::kIndex, v1::CONTROL_KIND_INDEX},
    {ControlKind::kFilter, v1::CONTROL_KIND_FILTER},
    {ControlKind::kAggregate, v1::CONTROL_KIND_AGGREGATE},
    {ControlKind::kTrigger, v1::CONTROL_KIND_TRIGGER},
};

}  // namespace

v1::ControlKind ControlKindToProto(ControlKind kind) {
  for (const KindPair& k : kKinds) {
    if (k.kind == kind) return k.proto;
  }
  return v1::CONTROL_KIND_UNSPECIFIED;
}

std::optional<ControlKind> ControlKindFromProto(v1::ControlKind kind) {
  for (const KindPair& k : kKinds) {
    if (k.proto == kind) return k.kind;
  }
  return std::nullopt;
}

v1::ControlStatement ControlStatementToProto(const ControlStatement& s) {
  v1::ControlStatement out;
  out.set_verb(s.verb == ControlVerb::kAdd ? v1::CONTROL_VERB_ADD
                                           : v1::CONTROL_VERB_REMOVE);
  out.set_kind(ControlKindToProto(s.kind));
  out.set_name(s.name);
  out.set_filter(s.filter);
  out.set_expression(s.expression);
  out.set_bucket(s.bucket);
  out.set_period_ms(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(s.period).count()));
  return out;
}

Result<ControlStatement> ControlStatementFromProto(
    const v1::ControlStatement& s) {
  ControlStatement out;
  if (s.verb() == v1::CONTROL_VERB_ADD) {
    out.verb = ControlVerb::kAdd;
  } else if (s.verb() == v1::CONTROL_VERB_REMOVE) {
    out.verb = ControlVerb::kRemove;
  } else {
    return Status::InvalidArgument(
        "statement: verb must be CONTROL_VERB_ADD or CONTROL_VERB_REMOVE");
  }
  const std::optional<ControlKind> kind = ControlKindFromProto(s.kind());
  if (!kind) {
    return Status::InvalidArgument(
        "statement: kind must be CONTROL_KIND_INDEX, _FILTER, _AGGREGATE or "
        "_TRIGGER");
  }
  out.kind = *kind;
  out.name = s.name();
  out.filter = s.filter();
  out.expression = s.expression();
  out.bucket = s.bucket();
  // The range (1 ms to 1 h) is the multilog's to check, in Apply.
  if (s.period_ms() != 0) {
    out.period = std::chrono::milliseconds(
        static_cast<int64_t>(std::min<uint64_t>(s.period_ms(), INT32_MAX)));
  }
  return out;
}

}  // namespace loupe
