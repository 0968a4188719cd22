#include "agent/metrics.h"

#include "agent/alert_sink_metrics.h"
#include "agent/prometheus_text.h"

namespace loupe::agent {
namespace {

using dataplane::DropReasonName;
using dataplane::kNumDropReasons;

constexpr auto kCounter = MetricType::kCounter;
constexpr auto kGauge = MetricType::kGauge;

void RenderPipeline(PrometheusTextWriter& w,
                    const dataplane::PipelineStats& p) {
  w.Family("loupe_dataplane_up",
           "1 if the packet pipeline is running, 0 otherwise.", kGauge);
  w.Sample({}, uint64_t{p.running ? 1u : 0u});

  struct PortCounter {
    const char* name;
    const char* help;
    uint64_t dataplane::PortStats::*field;
  };
  static constexpr PortCounter kPortCounters[] = {
      {"loupe_port_received_packets_total",
       "Packets the port saw: delivered, missed by the NIC or without mbuf.",
       &dataplane::PortStats::received},
      {"loupe_port_received_bytes_total",
       "Bytes of the packets the port delivered.",
       &dataplane::PortStats::received_bytes},
      {"loupe_port_recorded_packets_total",
       "Packets of the port recorded into the multilog.",
       &dataplane::PortStats::recorded},
      {"loupe_port_recorded_bytes_total",
       "Frame bytes of the packets of the port recorded into the multilog.",
       &dataplane::PortStats::recorded_bytes},
  };
  for (const PortCounter& c : kPortCounters) {
    w.Family(c.name, c.help, kCounter);
    for (const auto& port : p.ports)
      w.Sample({{"port", port.name}}, port.*c.field);
  }
  w.Family("loupe_port_dropped_packets_total",
           "Packets of the port not recorded, by reason; received equals "
           "recorded plus the drops of every reason.",
           kCounter);
  for (const auto& port : p.ports) {
    for (size_t r = 0; r < kNumDropReasons; ++r) {
      w.Sample({{"port", port.name}, {"reason", DropReasonName(r)}},
               port.drops[r]);
    }
  }

  w.Family("loupe_writer_batches_total", "Bursts written by the writer lcore.",
           kCounter);
  for (const auto& wr : p.writers) {
    w.Sample({{"lcore", std::to_string(wr.lcore)}}, wr.batches);
  }
  w.Family("loupe_writer_records_total", "Records written by the writer lcore.",
           kCounter);
  for (const auto& wr : p.writers) {
    w.Sample({{"lcore", std::to_string(wr.lcore)}}, wr.records);
  }
  w.Family("loupe_writer_ring_entries",
           "Bursts waiting in the writer lcore's ring.", kGauge);
  for (const auto& wr : p.writers) {
    w.Sample({{"lcore", std::to_string(wr.lcore)}}, wr.ring_used);
  }

  w.Family("loupe_dataplane_clock_reanchors_total",
           "Times the RX lcores re-anchored their TSC clock to the wall "
           "clock (once a second each).",
           kCounter);
  w.Sample({}, p.clock.reanchors);
  w.Family("loupe_dataplane_clock_offset_seconds",
           "Wall clock minus the TSC stamp at the last re-anchor (largest in "
           "magnitude over RX lcores): what the re-anchor corrected.",
           kGauge);
  w.Sample({}, static_cast<double>(p.clock.last_offset_ns) * 1e-9);
  w.Family("loupe_dataplane_clock_steps_forward_total",
           "Re-anchors that stepped the stamps forward (an offset beyond "
           "50 ms, e.g. a wall-clock step or a paused VM).",
           kCounter);
  w.Sample({}, p.clock.steps_forward);
}

void RenderMultilogs(PrometheusTextWriter& w,
                     const std::vector<MultilogMetrics>& logs) {
  struct Field {
    const char* name;
    const char* help;
    MetricType type;
    uint64_t (*get)(const MultilogMetrics&);
  };
  static constexpr Field kFields[] = {
      {"loupe_multilog_written_bytes_total",
       "Bytes reserved by writers in the data log (its write tail).", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.write_tail; }},
      {"loupe_multilog_published_bytes_total",
       "Bytes of the data log visible to readers (its read tail).", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.read_tail; }},
      {"loupe_multilog_retired_bytes_total",
       "Bytes of the data log retired by retention (its head).", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.head; }},
      {"loupe_multilog_retained_bytes",
       "Bytes of the data log readers can see: read tail minus head.", kGauge,
       [](const MultilogMetrics& m) {
         return m.data_log.read_tail >= m.data_log.head
                    ? m.data_log.read_tail - m.data_log.head
                    : uint64_t{0};
       }},
      {"loupe_multilog_durable_bytes_total",
       "Bytes of the data log committed to disk (durable modes).", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.durable_tail; }},
      {"loupe_multilog_live_blocks", "Data log blocks installed now.", kGauge,
       [](const MultilogMetrics& m) { return m.data_log.blocks_live; }},
      {"loupe_multilog_blocks_allocated_total",
       "Data log blocks obtained fresh from the OS.", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.blocks_allocated; }},
      {"loupe_multilog_blocks_recycled_total",
       "Data log blocks reused after retention.", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.blocks_recycled; }},
      {"loupe_multilog_blocks_retired_total",
       "Data log blocks retired by retention.", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.blocks_retired; }},
      {"loupe_multilog_alloc_stalls_total",
       "Appends that waited for a data log block to be allocated.", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.alloc_stalls; }},
      {"loupe_multilog_commits_total",
       "Tail commits of the data log (durable modes).", kCounter,
       [](const MultilogMetrics& m) { return m.data_log.commits; }},
      {"loupe_multilog_data_log_memory_bytes",
       "Memory of the data log: blocks, block table and metadata.", kGauge,
       [](const MultilogMetrics& m) { return m.data_log.memory_bytes; }},
      {"loupe_multilog_memory_bytes",
       "Memory of the whole multilog: data log, indexes, filters, "
       "aggregates.",
       kGauge, [](const MultilogMetrics& m) { return m.memory_bytes; }},
      {"loupe_multilog_alerts_total", "Alerts appended to the alert log.",
       kCounter, [](const MultilogMetrics& m) { return m.alerts; }},
      {"loupe_multilog_indexes", "Indexes installed.", kGauge,
       [](const MultilogMetrics& m) { return m.indexes; }},
      {"loupe_multilog_filters", "Filters installed.", kGauge,
       [](const MultilogMetrics& m) { return m.filters; }},
      {"loupe_multilog_aggregates", "Aggregates installed.", kGauge,
       [](const MultilogMetrics& m) { return m.aggregates; }},
      {"loupe_multilog_triggers", "Triggers installed.", kGauge,
       [](const MultilogMetrics& m) { return m.triggers; }},
  };
  for (const Field& f : kFields) {
    w.Family(f.name, f.help, f.type);
    for (const auto& m : logs) w.Sample({{"multilog", m.name}}, f.get(m));
  }
}

}  // namespace

std::string RenderMetrics(const MetricsInput& input) {
  PrometheusTextWriter w;
  w.Family("loupe_agent_build_info",
           "Always 1; the version label is the agent's build version.", kGauge);
  w.Sample({{"version", input.version}}, uint64_t{1});
  w.Family("loupe_agent_uptime_seconds", "Seconds since the agent started.",
           kGauge);
  w.Sample({}, std::chrono::duration<double>(input.uptime).count());

  if (input.pipeline) RenderPipeline(w, *input.pipeline);
  RenderMultilogs(w, input.multilogs);
  RenderAlertSinkMetrics(w, input.sinks);

  w.Family("loupe_rpc_calls_total", "RPC calls received, by method.", kCounter);
  for (const auto& m : input.rpc) w.Sample({{"method", m.method}}, m.calls);
  w.Family("loupe_rpc_errors_total",
           "RPC calls that returned an error, by method.", kCounter);
  for (const auto& m : input.rpc) w.Sample({{"method", m.method}}, m.errors);

  if (const auto& c = input.coordinator) {
    w.Family("loupe_agent_coordinator_registered",
             "1 while the agent's last Register or Heartbeat to its "
             "coordinator succeeded.",
             kGauge);
    w.Sample({{"coordinator", c->coordinator}}, uint64_t{c->registered});
    w.Family("loupe_agent_coordinator_calls_total",
             "Register and Heartbeat calls to the coordinator, by outcome.",
             kCounter);
    w.Sample({{"coordinator", c->coordinator}, {"call", "register"}},
             c->registrations);
    w.Sample({{"coordinator", c->coordinator}, {"call", "heartbeat"}},
             c->heartbeats);
    w.Sample({{"coordinator", c->coordinator}, {"call", "failed"}},
             c->failures);
  }

  std::string text = w.Take();
  if (!w.status().ok()) {
    text += "# loupe: ";
    for (char c : w.status().message()) text += c == '\n' ? ' ' : c;
    text += '\n';
  }
  return text;
}

}  // namespace loupe::agent
