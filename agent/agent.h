// Agent: one loupe-agent -- the multilogs of its configuration, the
// dataplane that records the mirror ports into the packet multilog, the
// gRPC service, the /metrics page and the alert sinks -- started and
// stopped as a whole.
//
// Start brings the parts up in an order that fails early and cleanly:
// alert sinks and their dispatcher, multilogs and their programs (each
// multilog's alerts feed the dispatcher, as do those of multilogs created
// later over RPC), the gRPC listener (a port
// already taken stops here, before DPDK is touched), /metrics, and last
// the EAL, ports and lcores. On any error everything started is stopped
// again and the error names what failed, for one line on stderr.
//
// Stop: the RPC service refuses new calls and ends alert streams, the
// dataplane stops receiving and drains its rings (every recorded packet is
// published), durable multilogs are flushed, queued alerts are delivered
// for up to a second, the EAL is released. Idempotent.
//
// Thread-safety: Start/Stop/LogFigures on one thread (main); the metrics
// and RPC threads call into the parts, which are thread-safe.
#ifndef LOUPE_AGENT_AGENT_H_
#define LOUPE_AGENT_AGENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "multilog/status.h"

namespace grpc {
class Server;
}

namespace loupe::dataplane {
class Pipeline;
}

namespace loupe::agent {

class AgentService;
class AlertDispatcher;
class MetricsServer;
class MultilogRegistry;
class Registrar;

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> Start(const AgentConfig& config);
  ~Agent();  // Stop()
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  void Stop();
  // One info line of live figures since the previous call: packets/s and
  // bytes/s recorded, drops, alerts.
  void LogFigures();
  std::string RenderMetricsText() const;
  int grpc_port() const { return grpc_port_; }

 private:
  explicit Agent(const AgentConfig& config);
  Status StartParts();

  const AgentConfig config_;
  const std::chrono::steady_clock::time_point started_;
  // The dispatcher outlives the registry, whose multilogs feed it.
  std::unique_ptr<AlertDispatcher> dispatcher_;
  std::unique_ptr<MultilogRegistry> registry_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<Registrar> registrar_;
  std::unique_ptr<dataplane::Pipeline> pipeline_;
  // pipeline_ as the RPC and metrics threads see it: set once it runs,
  // cleared before it goes (after those threads have stopped).
  std::atomic<dataplane::Pipeline*> shown_pipeline_{nullptr};
  bool eal_ = false;
  bool stopped_ = false;
  // LogFigures' previous sample.
  uint64_t last_recorded_ = 0;
  uint64_t last_bytes_ = 0;
  uint64_t last_dropped_ = 0;
  std::chrono::steady_clock::time_point last_figures_;
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_AGENT_H_
