// RpcMetrics: what a loupe daemon's gRPC server answered, per method -- the
// calls by status code and a latency histogram -- recorded by a server
// interceptor (grpc::experimental) on every call, streams included (their
// latency is the stream's life), and rendered as Prometheus families:
//
//   <prefix>_requests_total{method, code}    counter
//   <prefix>_seconds{method}                 histogram (1 ms .. 10 s)
//
// Bounded: at most kMaxRpcMethods method names (a client may call methods
// the server does not have); beyond, calls count under method="other".
// Thread-safe; the interceptor factory must not outlive the RpcMetrics.
#ifndef LOUPE_AGENT_RPC_METRICS_H_
#define LOUPE_AGENT_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/prometheus_text.h"

namespace loupe::agent {

inline constexpr size_t kMaxRpcMethods = 256;
// Upper bounds of the histogram's buckets, in seconds (then +Inf).
inline constexpr std::array<double, 9> kRpcBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10};

class RpcMetrics {
 public:
  // For grpc::ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

  // One call finished (what the interceptor does).
  void Record(std::string_view method, grpc::StatusCode code, double seconds);

  // Writes the two families, `prefix` "loupe_coordinator_rpc" or the like.
  void Render(PrometheusTextWriter& w, std::string_view prefix) const;

 private:
  struct Method {
    std::array<uint64_t, 17> codes{};  // by grpc::StatusCode
    std::array<uint64_t, kRpcBuckets.size() + 1> buckets{};  // not cumulative
    double seconds = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Method, std::less<>> methods_;  // mu_
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_RPC_METRICS_H_
