// CoordinatorService: the gRPC service loupe.v1.Coordinator
// (coordinator/proto/coordinator.proto) over an AgentPool -- Health,
// ListAgents with a host selector (coordinator/host_selector.h), the
// distributed atomic snapshots of a SnapshotStore (service_snapshots.cc),
// and network-wide queries merged from the selected agents' answers
// (service_queries.cc).
//
// Threads: gRPC calls the methods on its own threads, concurrently; they
// read the pool's Snapshot(), the thread-safe store and the service's
// atomics only, and call agents through the pool's stubs. The pool and
// the store must outlive the service, and the service the server it is
// registered with.
#ifndef LOUPE_COORDINATOR_SERVICE_H_
#define LOUPE_COORDINATOR_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/agent_pool.h"
#include "coordinator/alert_fan_in.h"
#include "coordinator/fleet/fleet_snapshot.h"
#include "coordinator/host_selector.h"
#include "coordinator/proto/coordinator.grpc.pb.h"
#include "coordinator/snapshot_store.h"
#include "multilog/status.h"

namespace loupe::coordinator {

inline constexpr std::chrono::milliseconds kReleaseTimeout{1000};
// A network-wide query's deadline per round: FleetQuery.timeout_ms.
inline constexpr uint32_t kDefaultQueryTimeoutMs = 5000;
inline constexpr uint32_t kMaxQueryTimeoutMs = 60'000;
class ProgramManager;  // Programs: coordinator/program_manager.h

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  // `name` is the coordinator's, answered as Health's host.
  CoordinatorService(const AgentPool* pool, SnapshotStore* snapshots,
                     std::string name);

  // Health turns NOT_SERVING and ListAgents UNAVAILABLE.
  void Shutdown() { shutting_down_.store(true, std::memory_order_release); }

  grpc::Status Health(grpc::ServerContext* context,
                      const v1::HealthRequest* request,
                      v1::HealthResponse* response) override;
  grpc::Status ListAgents(grpc::ServerContext* context,
                          const v1::ListAgentsRequest* request,
                          v1::ListAgentsResponse* response) override;

  // Snapshots (service_snapshots.cc).
  grpc::Status CreateSnapshot(grpc::ServerContext* context,
                              const v1::CreateSnapshotRequest* request,
                              v1::CreateSnapshotResponse* response) override;
  grpc::Status GetSnapshot(grpc::ServerContext* context,
                           const v1::GetSnapshotRequest* request,
                           v1::GetSnapshotResponse* response) override;
  grpc::Status ListSnapshots(grpc::ServerContext* context,
                             const v1::ListFleetSnapshotsRequest* request,
                             v1::ListFleetSnapshotsResponse* response) override;
  grpc::Status ReleaseSnapshot(
      grpc::ServerContext* context,
      const v1::ReleaseFleetSnapshotRequest* request,
      v1::ReleaseFleetSnapshotResponse* response) override;

  // Network-wide queries (service_queries.cc).
  grpc::Status GetAggregate(grpc::ServerContext* context,
                            const v1::FleetAggregateRequest* request,
                            v1::FleetAggregateResponse* response) override;
  grpc::Status GetTopK(grpc::ServerContext* context,
                       const v1::FleetTopKRequest* request,
                       v1::FleetTopKResponse* response) override;
  grpc::Status GetGroupBy(grpc::ServerContext* context,
                          const v1::FleetGroupByRequest* request,
                          v1::FleetGroupByResponse* response) override;
  grpc::Status Stats(grpc::ServerContext* context,
                     const v1::FleetStatsRequest* request,
                     v1::FleetStatsResponse* response) override;
  // Records merged by timestamp (service_records.cc).
  grpc::Status ExecuteFilter(grpc::ServerContext* context,
                             const v1::FleetFilterRequest* request,
                             v1::FleetFilterResponse* response) override;
  grpc::Status QueryFilter(grpc::ServerContext* context,
                           const v1::FleetFilterRequest* request,
                           v1::FleetFilterResponse* response) override;

  // Alerts (service_alerts.cc): GetAlerts fans out to the selected agents
  // and merges by time under one limit; SubscribeAlerts follows the fan-in
  // set here (UNAVAILABLE until it is; it must outlive the server's calls).
  void set_alert_fan_in(AlertFanIn* fan_in) {
    alert_fan_in_.store(fan_in, std::memory_order_release);
  }
  grpc::Status GetAlerts(grpc::ServerContext* context,
                         const v1::FleetAlertsRequest* request,
                         v1::FleetAlertsResponse* response) override;
  grpc::Status SubscribeAlerts(
      grpc::ServerContext* context,
      const v1::FleetSubscribeAlertsRequest* request,
      grpc::ServerWriter<v1::FleetAlertEvent>* writer) override;

  // Releases `snapshot` on its hosts (all but the excluded: an unfinished
  // one's hosts may hold it prepared), each within kReleaseTimeout; the
  // failures, "name: CODE: message". Also used at start for what a
  // previous run left unfinished.
  std::vector<std::string> ReleaseOnHosts(
      const v1::FleetSnapshot& snapshot) const;

  // The agents named, with their stubs, in configuration order; names not
  // configured are skipped.
  std::vector<FleetAgent> AgentsNamed(
      const std::vector<std::string>& names) const;

  // Programs (coordinator/service_programs.cc over the ProgramManager,
  // coordinator/program_manager.h): UNAVAILABLE until SetPrograms. The
  // manager must outlive the service.
  void SetPrograms(ProgramManager* programs) { programs_ = programs; }
  grpc::Status ApplyProgram(grpc::ServerContext* context,
                            const v1::FleetApplyProgramRequest* request,
                            v1::FleetApplyProgramResponse* response) override;
  grpc::Status DiffProgram(grpc::ServerContext* context,
                           const v1::FleetDiffProgramRequest* request,
                           v1::FleetApplyProgramResponse* response) override;
  grpc::Status ListPrograms(grpc::ServerContext* context,
                            const v1::FleetListProgramsRequest* request,
                            v1::FleetListProgramsResponse* response) override;
  grpc::Status RemoveProgram(grpc::ServerContext* context,
                             const v1::FleetRemoveProgramRequest* request,
                             v1::FleetApplyProgramResponse* response) override;

 private:
  // Where a fleet call goes: the agents to call and the selected ones
  // left out ("name: why"), at most a snapshot's committed hosts.
  struct Targets {
    std::vector<FleetAgent> agents;
    std::vector<std::string> excluded;
  };
  // INVALID_ARGUMENT for a bad selector; UNAVAILABLE for a DOWN agent and
  // FAILED_PRECONDITION for one the snapshot does not hold, unless
  // allow_partial, which leaves them out.
  grpc::Status Select(const std::string& selector, bool allow_partial,
                      const v1::FleetSnapshot* snapshot, Targets* out) const;
  // A query's fleet snapshot (NOT_FOUND if unknown) and its targets.
  grpc::Status Resolve(const v1::FleetQuery& q,
                       std::optional<v1::FleetSnapshot>* snapshot,
                       Targets* targets) const;
  grpc::Status Unavailable() const;
  // ExecuteFilter (execute) and QueryFilter.
  grpc::Status Records(grpc::ServerContext* context,
                       const v1::FleetFilterRequest& request, bool execute,
                       v1::FleetFilterResponse* response);

  const AgentPool* pool_;
  SnapshotStore* const snapshots_;
  const std::string name_;
  const std::chrono::steady_clock::time_point started_;
  const uint64_t start_time_ns_;
  std::atomic<bool> shutting_down_{false};
  ProgramManager* programs_ = nullptr;  // Programs
  // Alerts
  std::atomic<AlertFanIn*> alert_fan_in_{nullptr};
};

// A network-wide answer's common fields: `excluded` hosts, partial (when
// `partial`, a host was left out, or the snapshot `at` is partial), and
// the snapshot's id and settled time. For every Fleet*Response with them.
template <typename Response>
void SetFleetFields(const std::vector<std::string>& excluded, bool partial,
                    const v1::FleetSnapshot* at, Response* response);

// The agents `selector` picks, in order: INVALID_ARGUMENT for a selector
// that does not parse, or whose keys name a label no agent has ("no agent
// has a label 'rak'; did you mean 'rack'?"), which would select nothing
// silently.
Result<std::vector<AgentStatus>> SelectAgents(std::vector<AgentStatus> agents,
                                              const std::string& selector);

// An AgentStatus as the proto's AgentInfo, ages measured at `now_ns`.
void ToProto(const AgentStatus& status, uint64_t now_ns, v1::AgentInfo* out);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_SERVICE_H_
