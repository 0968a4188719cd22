#include "coordinator/metrics.h"

#include <cstdint>

#include "agent/alert_sink_metrics.h"
#include "agent/prometheus_text.h"

namespace loupe::coordinator {

using agent::MetricType;

std::string RenderCoordinatorMetrics(const CoordinatorMetricsInput& in) {
  agent::PrometheusTextWriter w;
  w.Family("loupe_coordinator_info", "The coordinator's version and name.",
           MetricType::kGauge);
  w.Sample({{"version", in.version}, {"name", in.name}}, uint64_t{1});
  w.Family("loupe_coordinator_uptime_seconds", "Seconds since start-up.",
           MetricType::kGauge);
  w.Sample({}, std::chrono::duration<double>(in.uptime).count());

  uint64_t counts[3] = {0, 0, 0};
  for (const AgentStatus& a : in.agents) ++counts[static_cast<int>(a.state)];
  w.Family("loupe_coordinator_agents",
           "Agents (configured and registered), by state.", MetricType::kGauge);
  for (AgentState s :
       {AgentState::kUp, AgentState::kDown, AgentState::kUnknown}) {
    w.Sample({{"state", AgentStateName(s)}}, counts[static_cast<int>(s)]);
  }

  auto per_agent = [&](const char* name, const char* help, MetricType type,
                       auto value) {
    w.Family(name, help, type);
    for (const AgentStatus& a : in.agents) {
      w.Sample({{"agent", a.entry.name}}, value(a));
    }
  };
  per_agent("loupe_coordinator_agent_up",
            "1 while the agent answers its health checks SERVING, 0 when it "
            "is DOWN or not yet seen.",
            MetricType::kGauge, [](const AgentStatus& a) {
              return uint64_t{a.state == AgentState::kUp};
            });
  per_agent("loupe_coordinator_agent_consecutive_misses",
            "Health checks missed in a row (failed or NOT_SERVING).",
            MetricType::kGauge, [](const AgentStatus& a) {
              return uint64_t{a.consecutive_misses};
            });
  per_agent("loupe_coordinator_agent_rtt_seconds",
            "Round-trip time of the agent's last health answer.",
            MetricType::kGauge, [](const AgentStatus& a) {
              return static_cast<double>(a.last_rtt_ns) / 1e9;
            });
  per_agent("loupe_coordinator_agent_last_seen_seconds",
            "When the agent last answered SERVING, in seconds since the "
            "epoch; 0: never.",
            MetricType::kGauge, [](const AgentStatus& a) {
              return static_cast<double>(a.last_seen_ns) / 1e9;
            });
  per_agent("loupe_coordinator_agent_restarts_total",
            "Changes of the agent's start time seen (restarts).",
            MetricType::kCounter,
            [](const AgentStatus& a) { return a.restarts; });
  per_agent("loupe_coordinator_agent_checks_total", "Health checks completed.",
            MetricType::kCounter,
            [](const AgentStatus& a) { return a.checks; });
  per_agent("loupe_coordinator_agent_registered",
            "1 for an agent that joined with Register, 0 for one in the "
            "configuration file.",
            MetricType::kGauge,
            [](const AgentStatus& a) { return uint64_t{a.registered}; });
  per_agent("loupe_coordinator_agent_heartbeats_total",
            "Heartbeats the agent sent (agents that registered).",
            MetricType::kCounter,
            [](const AgentStatus& a) { return a.heartbeats; });

  w.Family("loupe_coordinator_registrations_total",
           "Register calls, by outcome.", MetricType::kCounter);
  w.Sample({{"outcome", "accepted"}}, in.registry.registrations);
  w.Sample({{"outcome", "refused"}}, in.registry.refused);
  w.Family("loupe_coordinator_heartbeats_total",
           "Heartbeat calls, by outcome (unknown: the agent was told to "
           "register again).",
           MetricType::kCounter);
  w.Sample({{"outcome", "accepted"}}, in.registry.heartbeats);
  w.Sample({{"outcome", "unknown"}}, in.registry.heartbeats_unknown);
  w.Sample({{"outcome", "refused"}}, in.registry.heartbeats_refused);

  w.Family("loupe_coordinator_snapshots_open",
           "Distributed snapshots committed and not yet released or expired.",
           MetricType::kGauge);
  w.Sample({}, in.snapshots_open);
  w.Family("loupe_coordinator_snapshots_total",
           "Distributed snapshots taken, by outcome.", MetricType::kCounter);
  w.Sample({{"outcome", "committed"}}, in.snapshots_committed);
  w.Sample({{"outcome", "aborted"}}, in.snapshots_aborted);
  w.Family("loupe_coordinator_snapshot_seconds_total",
           "Wall time of CreateSnapshot (prepare, then commit or abort on "
           "every host), summed; divide by snapshots_total for the mean.",
           MetricType::kCounter);
  w.Sample({}, static_cast<double>(in.snapshot_create_ns_sum) / 1e9);

  w.Family("loupe_coordinator_program_operations_total",
           "Program applies, dry runs, diffs and removals across the agents, "
           "by outcome.",
           MetricType::kCounter);
  for (const char* o : {"CHECKED", "APPLIED", "REFUSED", "ROLLED_BACK",
                        "ROLLBACK_FAILED", "ERROR"}) {
    auto it = in.programs.outcomes.find(o);
    w.Sample({{"outcome", o}},
             it == in.programs.outcomes.end() ? uint64_t{0} : it->second);
  }
  w.Family("loupe_coordinator_program_operation_seconds_total",
           "Wall time of those operations (every round of calls included), "
           "summed.",
           MetricType::kCounter);
  w.Sample({}, in.programs.operation_seconds_sum);
  w.Family("loupe_coordinator_program_last_operation_seconds",
           "Wall time of the last of them.", MetricType::kGauge);
  w.Sample({}, in.programs.last_operation_seconds);
  if (in.rpc != nullptr) in.rpc->Render(w, "loupe_coordinator_rpc");

  w.Family("loupe_coordinator_network_triggers",
           "Triggers of `on = \"network\"` sections being evaluated.",
           MetricType::kGauge);
  w.Sample({}, in.network.triggers);
  w.Family("loupe_coordinator_network_trigger_rounds_total",
           "Rounds of the network triggers (a fleet snapshot each), by "
           "outcome.",
           MetricType::kCounter);
  w.Sample({{"outcome", "done"}},
           in.network.rounds - in.network.snapshot_failures);
  w.Sample({{"outcome", "snapshot_failed"}}, in.network.snapshot_failures);
  w.Family("loupe_coordinator_network_trigger_windows_total",
           "Windows of network triggers, by outcome (skipped: a backlog "
           "beyond 64 windows a round).",
           MetricType::kCounter);
  w.Sample({{"outcome", "evaluated"}}, in.network.windows - in.network.errors);
  w.Sample({{"outcome", "failed"}}, in.network.errors);
  w.Sample({{"outcome", "skipped"}}, in.network.skipped);
  w.Family("loupe_coordinator_network_alerts_total",
           "Alerts the network triggers raised.", MetricType::kCounter);
  w.Sample({}, in.network.alerts);
  w.Family("loupe_coordinator_network_settled_seconds",
           "H of the last round: the fleet's settled time, in seconds since "
           "the epoch.",
           MetricType::kGauge);
  w.Sample({}, static_cast<double>(in.network.settled_ns) / 1e9);

  w.Family("loupe_coordinator_reconcile_rounds_total",
           "Reconciler rounds (every UP agent's programs listed and fixed).",
           MetricType::kCounter);
  w.Sample({}, in.programs.reconcile_rounds);
  w.Family("loupe_coordinator_reconcile_seconds_total",
           "Wall time of those rounds.", MetricType::kCounter);
  w.Sample({}, in.programs.reconcile_seconds_sum);
  w.Family("loupe_coordinator_reconcile_fixes_total",
           "Agents brought to a desired program version by the reconciler, "
           "by outcome.",
           MetricType::kCounter);
  w.Sample({{"outcome", "done"}}, in.programs.reconcile_fixes);
  w.Sample({{"outcome", "failed"}}, in.programs.reconcile_failures);

  auto per_stream = [&](const char* name, const char* help, MetricType type,
                        auto value) {
    w.Family(name, help, type);
    for (const FanInAgentStats& a : in.alert_agents) {
      w.Sample({{"agent", a.agent}}, value(a));
    }
  };
  per_stream("loupe_coordinator_alert_stream_up",
             "1 while the alert fan-in's stream to the agent is open and "
             "answering.",
             MetricType::kGauge,
             [](const FanInAgentStats& a) { return uint64_t{a.connected}; });
  per_stream("loupe_coordinator_alerts_received_total",
             "Alerts taken from the agent and handed to the sinks.",
             MetricType::kCounter,
             [](const FanInAgentStats& a) { return a.received; });
  per_stream("loupe_coordinator_alerts_lost_total",
             "Alerts the agent's alert log retired before the fan-in read "
             "them (AlertEvent.lost).",
             MetricType::kCounter,
             [](const FanInAgentStats& a) { return a.lost; });
  per_stream("loupe_coordinator_alert_cursor_resets_total",
             "Streams whose cursor named an earlier life of the agent's "
             "alert log (an in-memory multilog after an agent restart).",
             MetricType::kCounter,
             [](const FanInAgentStats& a) { return a.resets; });
  per_stream("loupe_coordinator_alert_duplicates_total",
             "Alerts at or before the cursor, skipped.", MetricType::kCounter,
             [](const FanInAgentStats& a) { return a.duplicates; });
  per_stream("loupe_coordinator_alert_reconnects_total",
             "Alert streams opened again after one ended or went silent.",
             MetricType::kCounter,
             [](const FanInAgentStats& a) { return a.reconnects; });
  agent::RenderAlertSinkMetrics(w, in.alert_sinks);
  return w.Take();
}

}  // namespace loupe::coordinator
