// The one place where a request's snapshot becomes a read tail: every
// query, read and aggregate handler calls ResolveSnapshot with the
// request's raw `snapshot` and `snapshot_id`, and Stats and ListMultilogs
// call ShownReadTail, so the cap of a prepared snapshot (agent/
// snapshot_registry.h) and named snapshots apply to all of them alike.
// Also SnapshotContext, the service's snapshot state. Internal to the
// agent_service library.
//
// Thread safety: as SnapshotRegistry and AppendsInFlight (any thread).
#ifndef LOUPE_AGENT_INTERNAL_SNAPSHOT_RESOLVE_H_
#define LOUPE_AGENT_INTERNAL_SNAPSHOT_RESOLVE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>

#include "agent/internal/appends_in_flight.h"
#include "agent/snapshot_registry.h"
#include "multilog/multilog.h"

namespace loupe::agent::internal {

struct SnapshotContext {
  SnapshotRegistry registry;
  AppendsInFlight appends;
};

// The tail `ml` is read at: `snapshot_id`'s tail for it (NOT_FOUND if the
// id is unknown, ended or does not cover `ml`; INVALID_ARGUMENT if a
// non-zero `snapshot` differs from it); else `snapshot` if non-zero; else
// the cap of the prepared snapshots; else 0, the multilog's read tail at
// the time of the call.
grpc::Status ResolveSnapshot(SnapshotContext& snapshots, const Multilog& ml,
                             uint64_t snapshot, const std::string& snapshot_id,
                             uint64_t* tail);

// The read tail the API shows for `ml` (Stats, ListMultilogs):
// `read_tail`, capped while a snapshot is prepared.
uint64_t ShownReadTail(SnapshotContext& snapshots, const Multilog& ml,
                       uint64_t read_tail);

}  // namespace loupe::agent::internal

#endif  // LOUPE_AGENT_INTERNAL_SNAPSHOT_RESOLVE_H_
