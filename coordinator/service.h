// CoordinatorService: the gRPC service loupe.v1.Coordinator
// (coordinator/proto/coordinator.proto) over an AgentPool -- Health, and
// ListAgents with a host selector (coordinator/host_selector.h).
//
// Threads: gRPC calls the methods on its own threads, concurrently; they
// read the pool's Snapshot() and the service's atomics only. The pool must
// outlive the service, and the service the server it is registered with.
#ifndef LOUPE_COORDINATOR_SERVICE_H_
#define LOUPE_COORDINATOR_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "coordinator/agent_pool.h"
#include "coordinator/host_selector.h"
#include "coordinator/proto/coordinator.grpc.pb.h"
#include "multilog/status.h"

namespace loupe::coordinator {

class ProgramManager;  // Programs: coordinator/program_manager.h

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  // `name` is the coordinator's, answered as Health's host.
  CoordinatorService(const AgentPool* pool, std::string name);

  // Health turns NOT_SERVING and ListAgents UNAVAILABLE.
  void Shutdown() { shutting_down_.store(true, std::memory_order_release); }

  grpc::Status Health(grpc::ServerContext* context,
                      const v1::HealthRequest* request,
                      v1::HealthResponse* response) override;
  grpc::Status ListAgents(grpc::ServerContext* context,
                          const v1::ListAgentsRequest* request,
                          v1::ListAgentsResponse* response) override;

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
  const AgentPool* pool_;
  const std::string name_;
  const std::chrono::steady_clock::time_point started_;
  const uint64_t start_time_ns_;
  std::atomic<bool> shutting_down_{false};
  ProgramManager* programs_ = nullptr;  // Programs
};

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
