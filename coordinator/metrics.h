// The coordinator's /metrics page: the Prometheus text of the agents'
// states as the health poller sees them, written with
// agent/prometheus_text.h. Families:
//
//   loupe_coordinator_info{version,name}                gauge 1
//   loupe_coordinator_uptime_seconds                    gauge
//   loupe_coordinator_agents{state}                     gauge, per state
//   loupe_coordinator_agent_up{agent}                   gauge 1/0
//   loupe_coordinator_agent_consecutive_misses{agent}   gauge
//   loupe_coordinator_agent_rtt_seconds{agent}          gauge, last answer
//   loupe_coordinator_agent_last_seen_seconds{agent}    gauge, since epoch
//   loupe_coordinator_agent_restarts_total{agent}       counter
//   loupe_coordinator_agent_checks_total{agent}         counter
//   loupe_coordinator_snapshots_open                    gauge
//   loupe_coordinator_snapshots_total{outcome}          counter
//   loupe_coordinator_alert_stream_up{agent}            gauge 1/0
//   loupe_coordinator_alerts_received_total{agent}      counter
//   loupe_coordinator_alerts_lost_total{agent}          counter
//   loupe_coordinator_alert_cursor_resets_total{agent}  counter
//   loupe_coordinator_alert_duplicates_total{agent}     counter
//   loupe_coordinator_alert_reconnects_total{agent}     counter
//   loupe_alert_sink_*{sink,type}                       the agent's families
//                                                       (agent/metrics.h)
//
// A pure function of its input; thread-safe.
#ifndef LOUPE_COORDINATOR_METRICS_H_
#define LOUPE_COORDINATOR_METRICS_H_

#include <chrono>
#include <string>
#include <vector>

#include "agent/alert_dispatcher.h"
#include "agent/rpc_metrics.h"
#include "coordinator/agent_pool.h"
#include "coordinator/alert_fan_in.h"
#include "coordinator/network_triggers.h"
#include "coordinator/program_manager.h"
#include "coordinator/registry_service.h"

namespace loupe::coordinator {

struct CoordinatorMetricsInput {
  std::string version;
  std::string name;
  std::chrono::nanoseconds uptime{0};
  std::vector<AgentStatus> agents;
  uint64_t snapshots_open = 0;
  uint64_t snapshots_committed = 0;
  uint64_t snapshots_aborted = 0;
  uint64_t snapshot_create_ns_sum = 0;
  ProgramStats programs;
  NetworkTriggerStats network;
  const agent::RpcMetrics* rpc = nullptr;  // the gRPC server's calls
  std::vector<FanInAgentStats> alert_agents;
  std::vector<agent::SinkStats> alert_sinks;
  RegistryStats registry;
};

std::string RenderCoordinatorMetrics(const CoordinatorMetricsInput& in);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_METRICS_H_
