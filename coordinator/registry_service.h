// RegistryService: loupe.v1.Registry (agent/proto/registry.proto) on the
// coordinator's gRPC server -- agents that are not in its configuration
// join the AgentPool with Register and stay UP with Heartbeat.
//
// Every request is checked at the boundary with the validators the
// configuration uses (agent/fleet_identity.h for names and labels,
// CheckHostPort for the address) before the pool sees it; a refused
// request changes nothing. With registrations off
// ([coordinator] accept_registrations = false) Register answers
// FAILED_PRECONDITION, saying so; Heartbeat still serves configured
// agents that registered before. A registration that adds an agent or
// changes one is logged once; heartbeats are counted, not logged.
//
// Thread-safe: gRPC calls the handlers on its own threads; the pool must
// outlive the service.
#ifndef LOUPE_COORDINATOR_REGISTRY_SERVICE_H_
#define LOUPE_COORDINATOR_REGISTRY_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "agent/proto/registry.grpc.pb.h"
#include "coordinator/agent_pool.h"

namespace loupe::coordinator {

inline constexpr size_t kMaxAgentVersionBytes = 64;

struct RegistryOptions {
  std::string coordinator_name;
  bool accept_registrations = false;
  std::chrono::nanoseconds heartbeat_interval = std::chrono::seconds(1);
  uint32_t down_after = 3;
};

// Counters for /metrics.
struct RegistryStats {
  uint64_t registrations = 0;       // answered OK
  uint64_t refused = 0;             // Register answered with an error
  uint64_t heartbeats = 0;          // answered OK
  uint64_t heartbeats_unknown = 0;  // NOT_FOUND: the agent re-registers
  uint64_t heartbeats_refused = 0;  // a malformed request
};

class RegistryService final : public v1::Registry::Service {
 public:
  RegistryService(AgentPool* pool, RegistryOptions options);

  grpc::Status Register(grpc::ServerContext* context,
                        const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context,
                         const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;

  RegistryStats stats() const;

 private:
  grpc::Status Refuse(const Status& status);

  AgentPool* const pool_;
  const RegistryOptions options_;
  std::atomic<uint64_t> registrations_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> heartbeats_{0};
  std::atomic<uint64_t> heartbeats_unknown_{0};
  std::atomic<uint64_t> heartbeats_refused_{0};
};

// The checks Register makes on a request, as a Registration for the pool;
// kInvalidArgument naming the field.
Result<Registration> CheckRegisterRequest(const v1::RegisterRequest& request);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_REGISTRY_SERVICE_H_
