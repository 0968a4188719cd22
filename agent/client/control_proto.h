// ControlStatement (multilog/control.h) <-> its proto message
// (v1::ControlStatement of agent/proto/loupe.proto): the one translation
// between the control vocabulary and the wire, for every client that sends
// statements (loupectl, loupe-coordinator) and every server that receives
// them. Kinds and verbs map by table, not by a switch; a proto trigger
// period of 0 means the default (1 s). Pure functions; thread-safe.
#ifndef LOUPE_AGENT_CLIENT_CONTROL_PROTO_H_
#define LOUPE_AGENT_CLIENT_CONTROL_PROTO_H_

#include <optional>

#include "agent/proto/loupe.pb.h"
#include "multilog/control.h"
#include "multilog/status.h"

namespace loupe {

v1::ControlKind ControlKindToProto(ControlKind kind);
// nullopt for CONTROL_KIND_UNSPECIFIED (ListControl: every kind) and for
// numbers this build does not know.
std::optional<ControlKind> ControlKindFromProto(v1::ControlKind kind);

// The statement on the wire; `line` (a file position) stays behind.
v1::ControlStatement ControlStatementToProto(const ControlStatement& s);
// kInvalidArgument for an unspecified or unknown verb or kind. Names,
// expressions and the period's range are Apply's to check.
Result<ControlStatement> ControlStatementFromProto(
    const v1::ControlStatement& s);

}  // namespace loupe

#endif  // LOUPE_AGENT_CLIENT_CONTROL_PROTO_H_
