// loupectl's program commands -- program apply|diff|remove|list -- over
// ApplyProgram, RemoveProgram and ListPrograms (agent/program_registry.h
// holds their semantics): `apply FILE --name N --version V` installs a
// program file all or nothing, `diff` is the same call as a dry run and
// shows what would be added, removed, replaced and kept (or every problem),
// `remove NAME` removes a program's objects, `list` shows the installed
// programs. Single-threaded, like every command
// (coordinator/loupectl/loupectl_commands.h).
#ifndef LOUPE_COORDINATOR_LOUPECTL_PROGRAM_COMMAND_H_
#define LOUPE_COORDINATOR_LOUPECTL_PROGRAM_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>

#include "agent/proto/loupe.pb.h"
#include "coordinator/loupectl/loupectl_commands.h"

namespace loupe::ctl {

// The program commands' own options.
struct ProgramArgs {
  std::string file;
  std::string name;
  uint64_t version = 0;
  std::optional<uint64_t> if_version;
};

// The client's bound on a program file, as the agent's.
inline constexpr size_t kMaxProgramFileBytes = 1 << 20;

// The text of a program file, at most kMaxProgramFileBytes.
Result<std::string> ReadProgramFile(const std::string& path);

// An ApplyProgram answer as text: a headline, then one line per change
// ("+ filter https on flows (line 7)"), or the problems, one a line.
std::string ProgramChangesText(const std::string& name, uint64_t version,
                               const v1::ApplyProgramResponse& response,
                               bool dry_run);

// apply (dry_run false) and diff (true) send one ApplyProgram call.
int ProgramApply(Session& s, const ProgramArgs& args, bool dry_run);
int ProgramRemove(Session& s, const ProgramArgs& args);
int ProgramList(Session& s, const ProgramArgs& args);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_PROGRAM_COMMAND_H_
