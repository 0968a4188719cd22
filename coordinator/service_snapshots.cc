// CoordinatorService: distributed atomic snapshots (CreateSnapshot,
// GetSnapshot, ListSnapshots, ReleaseSnapshot) over the SnapshotStore.
#include <string>
#include <vector>

#include "agent/grpc_status.h"
#include "coordinator/service.h"
#include "multilog/ascii.h"

namespace loupe::coordinator {

grpc::Status CoordinatorService::CreateSnapshot(
    grpc::ServerContext*, const v1::CreateSnapshotRequest* request,
    v1::CreateSnapshotResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  if (request->multilogs_size() > 256) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::to_string(request->multilogs_size()) +
                            " multilogs named; at most 256");
  }
  Targets targets;
  grpc::Status s =
      Select(request->selector(), request->allow_partial(), nullptr, &targets);
  if (!s.ok()) return s;
  Result<v1::FleetSnapshot> taken =
      snapshots_->Create(targets.agents, targets.excluded, *request);
  if (!taken.ok()) return agent::ToGrpcStatus(taken.status());
  if (!taken->committed()) {
    return grpc::Status(grpc::StatusCode::ABORTED,
                        "snapshot " + Quoted(taken->id()) +
                            " was aborted on every host: " + taken->problem());
  }
  *response->mutable_snapshot() = std::move(*taken);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetSnapshot(
    grpc::ServerContext*, const v1::GetSnapshotRequest* request,
    v1::GetSnapshotResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  Result<v1::FleetSnapshot> s = snapshots_->Get(request->id());
  if (!s.ok()) return agent::ToGrpcStatus(s.status());
  *response->mutable_snapshot() = std::move(*s);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ListSnapshots(
    grpc::ServerContext*, const v1::ListFleetSnapshotsRequest*,
    v1::ListFleetSnapshotsResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  for (v1::FleetSnapshot& s : snapshots_->List()) {
    *response->add_snapshots() = std::move(s);
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ReleaseSnapshot(
    grpc::ServerContext*, const v1::ReleaseFleetSnapshotRequest* request,
    v1::ReleaseFleetSnapshotResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  Result<v1::FleetSnapshot> s = snapshots_->Forget(request->id());
  if (!s.ok()) return agent::ToGrpcStatus(s.status());
  for (const std::string& failed : ReleaseOnHosts(*s)) {
    response->add_failed(failed);
  }
  return grpc::Status::OK;
}

std::vector<std::string> CoordinatorService::ReleaseOnHosts(
    const v1::FleetSnapshot& snapshot) const {
  std::vector<std::string> names;
  for (const v1::FleetSnapshotHost& h : snapshot.hosts()) {
    if (h.state() != v1::FLEET_HOST_STATE_EXCLUDED) names.push_back(h.agent());
  }
  const std::vector<FleetAgent> agents = AgentsNamed(names);
  std::vector<std::string> failed;
  if (agents.size() < names.size()) {
    failed.push_back(std::to_string(names.size() - agents.size()) +
                     " of its hosts are no longer configured; their copy "
                     "ends with its keep time");
  }
  if (agents.empty()) return failed;
  for (std::string& f :
       ReleaseFleetSnapshot(agents, snapshot.id(), kReleaseTimeout)) {
    failed.push_back(std::move(f));
  }
  return failed;
}

}  // namespace loupe::coordinator
