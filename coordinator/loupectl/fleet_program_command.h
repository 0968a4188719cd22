// loupectl's program commands sent to a coordinator (issue 14): with
// --coordinator, `program apply|diff|remove|list` are the coordinator's
// ApplyProgram, DiffProgram, RemoveProgram and ListPrograms
// (coordinator/proto/coordinator.proto) -- the same file and options as for
// one agent (coordinator/loupectl/program_command.h), applied all or
// nothing across the agents the file's `on` selectors pick. `diff` is
// DiffProgram (agents that already have the version are asked with the next
// one, so the answer shows what the text changes), or with --if-version the
// dry run of exactly that ApplyProgram. The answer is
// printed per agent: its state, versions and changes, or its problems.
// Exit 0 when the outcome is APPLIED (apply, remove) or CHECKED (diff), 1
// otherwise. Single-threaded, like every command.
#ifndef LOUPE_COORDINATOR_LOUPECTL_FLEET_PROGRAM_COMMAND_H_
#define LOUPE_COORDINATOR_LOUPECTL_FLEET_PROGRAM_COMMAND_H_

#include <string>

#include "coordinator/loupectl/loupectl_commands.h"
#include "coordinator/loupectl/program_command.h"
#include "coordinator/proto/coordinator.pb.h"

namespace loupe::ctl {

// A headline (the summary), then per agent one line and its problems or
// changes, indented:
//   program web version 2: APPLIED: applied on 2 agents (hv1, hv2)
//     hv1  APPLIED  version 1 -> 2  1 added, 0 removed, 0 replaced, 3 kept
//       + filter big on flows (line 9)
std::string FleetProgramText(const v1::FleetApplyProgramResponse& response);

// One row per program and selected agent, and whether all are in sync.
std::string FleetProgramsTable(const v1::FleetListProgramsResponse& response);

int FleetProgramApply(Session& s, const ProgramArgs& args, bool dry_run);
int FleetProgramRemove(Session& s, const ProgramArgs& args);
int FleetProgramList(Session& s, const ProgramArgs& args);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_FLEET_PROGRAM_COMMAND_H_
