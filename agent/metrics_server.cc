#include "agent/metrics_server.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "agent/host_port.h"
#include "agent/prometheus_text.h"

namespace loupe::agent {
namespace {

// Threads answering scrapes; Prometheus scrapes one at a time.
constexpr size_t kServerThreads = 2;
// Short, so that Stop need not wait long for idle keep-alive connections.
constexpr time_t kKeepAliveSeconds = 1;

// After the program's name.
constexpr std::string_view kIndexPage = "\n\nPrometheus metrics: /metrics\n";

std::string LowerFirst(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') {
    s[0] = static_cast<char>(s[0] - 'A' + 'a');
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& host_port, std::function<std::string()> render,
    std::string_view program) {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(host_port, &host, &port) && !ParsePort(host_port, &port)) {
    return Status::InvalidArgument("metrics listen '" + host_port +
                                   "': expected HOST:PORT, e.g. "
                                   "127.0.0.1:9470");
  }
  if (host.empty()) host = "127.0.0.1";
  const std::string where =
      "metrics listen " +
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
      std::to_string(port);

  // Resolve first: httplib reports only that binding failed.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    return Status::Unavailable(where + ": cannot resolve '" + host +
                               "': " + LowerFirst(::gai_strerror(rc)));
  }
  ::freeaddrinfo(res);

  auto server = std::make_unique<httplib::Server>();
  // Not httplib's default, which adds SO_REUSEPORT and so would let a second
  // agent bind the same port silently.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->new_task_queue = [] {
    return new httplib::ThreadPool(kServerThreads);
  };
  server->set_keep_alive_timeout(kKeepAliveSeconds);
  server->Get("/metrics", [render = std::move(render)](const httplib::Request&,
                                                       httplib::Response& r) {
    r.set_content(render(), std::string(kPrometheusContentType).c_str());
  });
  server->Get("/", [page = std::string(program) + std::string(kIndexPage)](
                       const httplib::Request&, httplib::Response& r) {
    r.set_content(page, "text/plain; charset=utf-8");
  });

  errno = 0;
  int bound = -1;
  if (port == 0) {
    bound = server->bind_to_any_port(host);
  } else if (server->bind_to_port(host, port)) {
    bound = port;
  }
  if (bound < 0) {
    const int err = errno;
    return Status::Unavailable(
        where + ": " +
        (err != 0 ? LowerFirst(std::strerror(err)) : "cannot bind"));
  }

  auto self = std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(host), bound, std::move(server)));
  MetricsServer* s = self.get();
  s->listener_ = std::thread([s] {
    s->server_->listen_after_bind();
    s->listener_done_.store(true);
  });
  // httplib's stop() does nothing until the listener runs; wait for it so
  // that Stop() never misses it. listen_after_bind marks the server running
  // first thing, or returns at once.
  while (!s->server_->is_running()) {
    if (s->listener_done_.load()) {
      s->listener_.join();
      return Status::Unavailable(where + ": the listener did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return self;
}

MetricsServer::MetricsServer(std::string host, int port,
                             std::unique_ptr<httplib::Server> server)
    : host_(std::move(host)), port_(port), server_(std::move(server)) {}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Stop() {
  if (server_) server_->stop();
  if (listener_.joinable()) listener_.join();
}

}  // namespace loupe::agent
