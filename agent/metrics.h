// The agent's Prometheus metrics: MetricsInput gathers, at scrape time,
// everything the agent exposes (dataplane ports and writers, multilogs,
// alert sinks, RPC methods, the agent itself); RenderMetrics turns it into
// the text format 0.0.4 (agent/prometheus_text.h), which the agent serves
// with MetricsServer (agent/metrics_server.h). Library agent_metrics: it
// reads the dataplane's counters, so it is the agent's own.
//
// Families (counters end in _total, sizes in _bytes; see metrics.cc for the
// help text of each):
//   loupe_agent_build_info{version}, loupe_agent_uptime_seconds
//   loupe_dataplane_up
//   loupe_port_{received,recorded}_{packets,bytes}_total{port}
//   loupe_port_dropped_packets_total{port,reason}   every reason, zeros too
//   loupe_writer_{batches,records}_total{lcore}, loupe_writer_ring_entries
//   loupe_multilog_*{multilog}: data log tails and blocks, memory, alerts,
//     counts of indexes, filters, aggregates and triggers
//   loupe_alert_sink_*{sink,type}: submitted, sent, failed, dropped,
//     delivery errors, queued, in flight (agent/alert_sinks.h)
//   loupe_rpc_{calls,errors}_total{method}
// The dataplane families appear only when MetricsInput::pipeline is set.
//
// Threads: RenderMetrics is a pure function.
#ifndef LOUPE_AGENT_METRICS_H_
#define LOUPE_AGENT_METRICS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/alert_dispatcher.h"
#include "dataplane/stats.h"
#include "multilog/data_log.h"

namespace loupe::agent {

struct MultilogMetrics {
  std::string name;
  loupe::DataLogStats data_log;
  uint64_t memory_bytes = 0;  // the whole multilog: data, indexes, filters...
  uint64_t alerts = 0;        // in its alert log
  uint64_t indexes = 0;
  uint64_t filters = 0;
  uint64_t aggregates = 0;
  uint64_t triggers = 0;
};

struct RpcMethodMetrics {
  std::string method;  // e.g. "CreateMultilog"
  uint64_t calls = 0;
  uint64_t errors = 0;  // calls that returned a status other than OK
};

// The registrar's figures ([agent] coordinator, agent/registrar.h).
struct CoordinatorLinkMetrics {
  std::string coordinator;  // HOST:PORT
  bool registered = false;  // the last call succeeded
  uint64_t registrations = 0;
  uint64_t heartbeats = 0;
  uint64_t failures = 0;
};

struct MetricsInput {
  std::string version;  // the agent's build version
  std::chrono::nanoseconds uptime{0};
  std::optional<loupe::dataplane::PipelineStats> pipeline;
  std::vector<MultilogMetrics> multilogs;
  std::vector<SinkStats> sinks;  // AlertDispatcher::stats()
  std::vector<RpcMethodMetrics> rpc;
  std::optional<CoordinatorLinkMetrics> coordinator;  // when joining one
};

// The scrape text. A name the writer had to reject (a programming error,
// caught by the tests) is reported as a trailing "# loupe: ..." comment.
std::string RenderMetrics(const MetricsInput& input);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_METRICS_H_
