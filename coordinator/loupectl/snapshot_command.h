// loupectl's leased-snapshot commands (issue 13, section 1): `snapshot
// prepare|commit|abort|release|list`, one RPC each (PrepareSnapshot,
// CommitSnapshot, AbortSnapshot, ReleaseSnapshot, ListSnapshots), shown
// as a table of tails per multilog or, with --json, the answer itself.
// Queries read at a snapshot with --snapshot-id (CommandArgs::snapshot_id).
// Single-threaded, like every command
// (coordinator/loupectl/loupectl_commands.h).
#ifndef LOUPE_COORDINATOR_LOUPECTL_SNAPSHOT_COMMAND_H_
#define LOUPE_COORDINATOR_LOUPECTL_SNAPSHOT_COMMAND_H_

#include <cstdint>
#include <string>

#include "coordinator/loupectl/loupectl_commands.h"
#include "multilog/status.h"

namespace loupe::ctl {

int SnapshotPrepare(Session& s);
int SnapshotCommit(Session& s);
int SnapshotAbort(Session& s);
int SnapshotRelease(Session& s);
int SnapshotList(Session& s);

// --lease / --keep as a whole number of `unit_ns` (kNsPerMs, kNsPerS), or
// kInvalidArgument naming `option`.
Result<uint32_t> WholeUnits(const std::string& option, const std::string& text,
                            uint64_t unit_ns);

// The tail of `multilog` in the open snapshot `id` (ListSnapshots), for
// `read` without --offset.
Result<uint64_t> SnapshotTailOf(Session& s, const std::string& id,
                                const std::string& multilog);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_SNAPSHOT_COMMAND_H_
