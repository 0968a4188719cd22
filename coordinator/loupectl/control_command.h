// loupectl's control commands -- index|filter|aggregate|trigger
// add|remove|list -- driven by one table of the four kinds: each command
// line becomes a loupe::ControlStatement (multilog/control.h), goes to the
// agent as one Control call (agent/control_proto.h translates), and
// `list` is one ListControl call shown as the kind's table. The kinds
// differ only in the table's rows: which arguments make the statement, what
// the confirmation says, which columns the list shows.
// Single-threaded, like every command
// (coordinator/loupectl/loupectl_commands.h).
#ifndef LOUPE_COORDINATOR_LOUPECTL_CONTROL_COMMAND_H_
#define LOUPE_COORDINATOR_LOUPECTL_CONTROL_COMMAND_H_

#include <string>

#include "agent/proto/loupe.pb.h"
#include "coordinator/loupectl/loupectl_commands.h"
#include "multilog/control.h"
#include "multilog/status.h"

namespace loupe::ctl {

// The statement the command line asks for: `verb` on a `kind` object, from
// the arguments that kind's command declares (an index's column and
// --bucket; a filter's name and expression; an aggregate's name, filter and
// expression; a trigger's name, condition and --period). Errors are usage
// errors that name the option ("--period: ...").
Result<ControlStatement> StatementFromArgs(ControlVerb verb, ControlKind kind,
                                           const CommandArgs& args);

// The confirmation of a statement carried out on `multilog`: "added filter
// big to flows", "removed index on flows.bytes", ...
std::string ControlDoneText(const ControlStatement& statement,
                            const std::string& multilog);

// The objects of `kind` in a ListControl answer as that kind's table.
std::string ControlObjectsTable(ControlKind kind,
                                const v1::ListControlResponse& response);

// The commands: add and remove send one Control call, list one ListControl.
int ControlAdd(Session& s, ControlKind kind);
int ControlRemove(Session& s, ControlKind kind);
int ControlList(Session& s, ControlKind kind);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_CONTROL_COMMAND_H_
