#include "agent/control_proto.h"

#include <array>
#include <chrono>
#include <string>

namespace loupe::agent {
namespace {

// What a statement of each kind carries besides its name, in the order of
// kAllControlKinds: the one table of the kinds in the agent.
struct KindShape {
  ControlKind kind;
  v1::ControlKind wire;
  bool has_filter;      // an aggregate's filter
  bool has_expression;  // a filter's expression, an aggregate's function,
                        // a trigger's condition
  bool has_bucket;      // an index's key bucket
  bool has_period;      // a trigger's period
};

constexpr std::array<KindShape, 4> kShapes = {{
    {ControlKind::kIndex, v1::CONTROL_KIND_INDEX, false, false, true, false},
    {ControlKind::kFilter, v1::CONTROL_KIND_FILTER, false, true, false, false},
    {ControlKind::kAggregate, v1::CONTROL_KIND_AGGREGATE, true, true, false,
     false},
    {ControlKind::kTrigger, v1::CONTROL_KIND_TRIGGER, false, true, false, true},
}};

const KindShape& ShapeOf(ControlKind kind) {
  for (const KindShape& s : kShapes) {
    if (s.kind == kind) return s;
  }
  return kShapes[0];  // unreachable: every kind is in the table
}

Status RequireField(const char* field, const std::string& value) {
  if (value.empty()) {
    return Status::InvalidArgument(std::string(field) + " is empty");
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<ControlKind>> KindFromProto(v1::ControlKind kind) {
  if (kind == v1::CONTROL_KIND_UNSPECIFIED) {
    return std::optional<ControlKind>();
  }
  for (const KindShape& s : kShapes) {
    if (s.wire == kind) return std::optional<ControlKind>(s.kind);
  }
  return Status::InvalidArgument("kind: unknown control kind " +
                                 std::to_string(kind) +
                                 "; use index, filter, aggregate or trigger");
}

v1::ControlKind KindToProto(ControlKind kind) { return ShapeOf(kind).wire; }

Result<ControlStatement> FromProto(const v1::ControlStatement& in) {
  ControlStatement out;
  switch (in.verb()) {
    case v1::CONTROL_VERB_ADD:
      out.verb = ControlVerb::kAdd;
      break;
    case v1::CONTROL_VERB_REMOVE:
      out.verb = ControlVerb::kRemove;
      break;
    default:
      return Status::InvalidArgument(
          "verb: " +
          std::string(in.verb() == v1::CONTROL_VERB_UNSPECIFIED
                          ? "unspecified"
                          : "unknown verb " + std::to_string(in.verb())) +
          "; use add or remove");
  }
  Result<std::optional<ControlKind>> kind = KindFromProto(in.kind());
  if (!kind.ok()) return kind.status();
  if (!kind->has_value()) {
    return Status::InvalidArgument(
        "kind: unspecified; use index, filter, aggregate or trigger");
  }
  const KindShape& shape = ShapeOf(**kind);
  out.kind = shape.kind;
  LOUPE_RETURN_IF_ERROR(RequireField("name", in.name()));
  out.name = in.name();
  if (out.verb == ControlVerb::kRemove) return out;
  if (shape.has_filter) {
    LOUPE_RETURN_IF_ERROR(RequireField("filter", in.filter()));
    out.filter = in.filter();
  }
  if (shape.has_expression) {
    LOUPE_RETURN_IF_ERROR(RequireField("expression", in.expression()));
    out.expression = in.expression();
  }
  if (shape.has_bucket) out.bucket = in.bucket();
  if (shape.has_period && in.period_ms() != 0) {
    if (in.period_ms() > kMaxTriggerPeriodMs) {
      return Status::InvalidArgument("trigger period " +
                                     std::to_string(in.period_ms()) +
                                     " ms is longer than 1 h");
    }
    out.period = std::chrono::milliseconds(in.period_ms());
  }
  return out;
}

v1::ControlStatement ToProto(const ControlStatement& in) {
  const KindShape& shape = ShapeOf(in.kind);
  v1::ControlStatement out;
  out.set_verb(in.verb == ControlVerb::kAdd ? v1::CONTROL_VERB_ADD
                                            : v1::CONTROL_VERB_REMOVE);
  out.set_kind(shape.wire);
  out.set_name(in.name);
  if (in.verb == ControlVerb::kRemove) return out;
  if (shape.has_filter) out.set_filter(in.filter);
  if (shape.has_expression) out.set_expression(in.expression);
  if (shape.has_bucket) out.set_bucket(in.bucket);
  if (shape.has_period) {
    out.set_period_ms(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(in.period)
            .count()));
  }
  return out;
}

}  // namespace loupe::agent
