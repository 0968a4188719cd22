#include "agent/internal/snapshot_resolve.h"

#include <algorithm>

#include "agent/grpc_status.h"

namespace loupe::agent::internal {

grpc::Status ResolveSnapshot(SnapshotContext& snapshots, const Multilog& ml,
                             uint64_t snapshot, const std::string& snapshot_id,
                             uint64_t* tail) {
  if (!snapshot_id.empty()) {
    Result<uint64_t> named =
        snapshots.registry.Find(snapshot_id, ml.name(), &ml);
    if (!named.ok()) return ToGrpcStatus(named.status());
    if (snapshot != 0 && snapshot != *named) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "snapshot " + std::to_string(snapshot) + " (or the page_token's) " +
              "differs from snapshot_id '" + snapshot_id + "', whose tail " +
              "for multilog '" + ml.name() + "' is " + std::to_string(*named) +
              "; give one of them");
    }
    *tail = *named;
    return grpc::Status::OK;
  }
  if (snapshot != 0) {
    *tail = snapshot;
    return grpc::Status::OK;
  }
  *tail = snapshots.registry.Cap(ml.name(), &ml).value_or(0);
  return grpc::Status::OK;
}

uint64_t ShownReadTail(SnapshotContext& snapshots, const Multilog& ml,
                       uint64_t read_tail) {
  uint64_t capped = 0;
  grpc::Status s = ResolveSnapshot(snapshots, ml, 0, std::string(), &capped);
  return s.ok() && capped != 0 ? std::min(capped, read_tail) : read_tail;
}

}  // namespace loupe::agent::internal
