// The one translation between the control vocabulary of multilog/control.h
// (loupe::ControlStatement) and its wire form in the gRPC API
// (loupe.v1.ControlStatement), in both directions. The agent's Control and
// ListControl handlers, loupectl and the coordinator all translate here, and
// nothing else in the agent maps the four kinds: the enum mapping below is
// the only table of them.
//
// FromProto validates what the wire form can get wrong and Apply cannot see
// (an unspecified verb or kind, a field the statement needs left empty, a
// trigger period over 1 h) and answers kInvalidArgument naming the field
// ("name is empty", "expression is empty"). What remains -- unknown
// columns, bad expressions, names taken -- is Apply's to refuse.
//
// Pure functions over values; thread-safe. Library loupe_control_proto
// (the generated proto and multilog; no DPDK).
#ifndef LOUPE_AGENT_CONTROL_PROTO_H_
#define LOUPE_AGENT_CONTROL_PROTO_H_

#include <optional>

#include "agent/proto/loupe.pb.h"
#include "multilog/control.h"
#include "multilog/status.h"

namespace loupe::agent {

// The longest trigger period a statement may carry.
inline constexpr uint64_t kMaxTriggerPeriodMs = 3'600'000;

Result<ControlStatement> FromProto(const v1::ControlStatement& statement);
v1::ControlStatement ToProto(const ControlStatement& statement);

// CONTROL_KIND_UNSPECIFIED is nullopt (ListControl: every kind); a number
// outside the enum is kInvalidArgument.
Result<std::optional<ControlKind>> KindFromProto(v1::ControlKind kind);
v1::ControlKind KindToProto(ControlKind kind);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_CONTROL_PROTO_H_
