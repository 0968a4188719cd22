// Coordinator: the running loupe-coordinator -- its AgentPool (a channel
// per agent and the health poller), the gRPC service loupe.v1.Coordinator
// with the standard health service and reflection (agent/rpc_server.h),
// /metrics (agent/metrics_server.h, coordinator/metrics.h), its programs:
// the desired state in the state directory (coordinator/program_store.h)
// and the ProgramManager with its reconciler (coordinator/program_manager.h),
// its distributed snapshots (snapshots/ of the state directory holds the
// SnapshotStore's journal), and the alert fan-in (coordinator/
// alert_fan_in.h; alerts/ holds its cursors) into the [alerts] sinks.
//
// Start and Stop on one thread (main's); the parts run on their own
// threads. Stop is bounded: the gRPC server gets 2 s to finish calls, the
// poller about its health timeout + 1 s, the alert fan-in its sinks' drain
// (kAlertDrainTimeout) plus a delivery in progress.
#ifndef LOUPE_COORDINATOR_COORDINATOR_H_
#define LOUPE_COORDINATOR_COORDINATOR_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "agent/metrics_server.h"
#include "agent/rpc_metrics.h"
#include "coordinator/agent_pool.h"
#include "coordinator/alert_fan_in.h"
#include "coordinator/config.h"
#include "coordinator/network_triggers.h"
#include "coordinator/program_manager.h"
#include "coordinator/program_store.h"
#include "coordinator/registry_service.h"
#include "coordinator/service.h"
#include "coordinator/snapshot_store.h"
#include "multilog/status.h"

namespace loupe::coordinator {

// How long Stop lets the alert sinks deliver what is queued.
inline constexpr std::chrono::milliseconds kAlertDrainTimeout{3000};

class Coordinator {
 public:
  // Starts every part, or stops those started and says why: kUnavailable
  // with "listen 127.0.0.1:7700: address already in use", ...
  static Result<std::unique_ptr<Coordinator>> Start(
      const CoordinatorConfig& config);
  ~Coordinator();  // Stop()
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  void Stop();  // idempotent

  int grpc_port() const { return grpc_port_; }
  // The alert fan-in (its counters and cursors); null before Start.
  const AlertFanIn* alert_fan_in() const { return alert_fan_in_.get(); }
  // The network triggers (their counters); null before Start.
  const NetworkTriggers* network_triggers() const {
    return network_triggers_.get();
  }
  // One line on the agents' states, for the log.
  std::string Summary() const;

 private:
  explicit Coordinator(const CoordinatorConfig& config);
  Status StartParts();
  Status StartAlertFanIn();
  std::string RenderMetricsText() const;

  const CoordinatorConfig config_;
  const std::chrono::steady_clock::time_point started_;
  std::unique_ptr<AgentPool> pool_;
  std::unique_ptr<SnapshotStore> snapshots_;
  std::unique_ptr<ProgramStore> program_store_;
  std::unique_ptr<ProgramManager> programs_;
  std::unique_ptr<AlertFanIn> alert_fan_in_;
  std::unique_ptr<NetworkTriggers> network_triggers_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<RegistryService> registry_;
  agent::RpcMetrics rpc_metrics_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<agent::MetricsServer> metrics_;
  int grpc_port_ = 0;
  bool stopped_ = false;
};

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_COORDINATOR_H_
