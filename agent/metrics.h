// The agent's Prometheus metrics: MetricsInput gathers, at scrape time,
// everything the agent exposes (dataplane ports and writers, multilogs,
// alert sinks, RPC methods, the agent itself); RenderMetrics turns it into
// the text format 0.0.4; MetricsServer serves that text on GET /metrics.
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
// Threads: RenderMetrics is a pure function. MetricsServer calls `render` on
// its own threads (at most two scrapes at once), so `render` must be safe to
// call concurrently with the rest of the agent and with itself.
#ifndef LOUPE_AGENT_METRICS_H_
#define LOUPE_AGENT_METRICS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/alert_sinks.h"
#include "dataplane/stats.h"
#include "multilog/data_log.h"
#include "multilog/status.h"

namespace httplib {
class Server;
}  // namespace httplib

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

struct MetricsInput {
  std::string version;  // the agent's build version
  std::chrono::nanoseconds uptime{0};
  std::optional<loupe::dataplane::PipelineStats> pipeline;
  std::vector<MultilogMetrics> multilogs;
  std::vector<SinkStats> sinks;  // AlertDispatcher::stats()
  std::vector<RpcMethodMetrics> rpc;
};

// The scrape text. A name the writer had to reject (a programming error,
// caught by the tests) is reported as a trailing "# loupe: ..." comment.
std::string RenderMetrics(const MetricsInput& input);

class MetricsServer {
 public:
  // Listens on `host_port` ("127.0.0.1:9470", "[::1]:9470", "0.0.0.0:9470";
  // ":9470" or "9470" mean loopback; port 0 picks a free port) and serves
  // GET /metrics with render() and GET / with a page pointing there.
  // Errors are kUnavailable, e.g. "metrics listen 127.0.0.1:9470: address
  // already in use", or kInvalidArgument for a malformed address.
  static Result<std::unique_ptr<MetricsServer>> Start(
      const std::string& host_port, std::function<std::string()> render);
  ~MetricsServer();  // Stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Stops listening and waits for requests in progress. Idempotent.
  void Stop();

  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  MetricsServer(std::string host, int port,
                std::unique_ptr<httplib::Server> server);

  std::string host_;
  int port_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::atomic<bool> listener_done_{false};
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_METRICS_H_
