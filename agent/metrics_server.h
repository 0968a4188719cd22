// MetricsServer: serves a Prometheus scrape on GET /metrics (and a short
// page pointing there on GET /) over HTTP, for any loupe daemon (library
// loupe_metrics_http with agent/prometheus_text.h; no DPDK). The text comes
// from a callback the daemon gives, called at scrape time.
//
// Threads: the server answers on its own threads (at most two scrapes at
// once), so `render` must be safe to call concurrently with the rest of the
// daemon and with itself. Start, Stop and the destructor on one thread.
// Lifetimes: `render` and what it reads must outlive Stop (or the
// destructor), which waits for scrapes in progress.
#ifndef LOUPE_AGENT_METRICS_SERVER_H_
#define LOUPE_AGENT_METRICS_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "multilog/status.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace loupe::agent {

class MetricsServer {
 public:
  // Listens on `host_port` ("127.0.0.1:9470", "[::1]:9470", "0.0.0.0:9470";
  // ":9470" or "9470" mean loopback; port 0 picks a free port) and serves
  // GET /metrics with render() and GET / with a page pointing there.
  // Errors are kUnavailable, e.g. "metrics listen 127.0.0.1:9470: address
  // already in use", or kInvalidArgument for a malformed address.
  // `program` names the daemon on the index page.
  static Result<std::unique_ptr<MetricsServer>> Start(
      const std::string& host_port, std::function<std::string()> render,
      std::string_view program = "loupe-agent");
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

#endif  // LOUPE_AGENT_METRICS_SERVER_H_
