#include "agent/rpc_metrics.h"

#include <charconv>
#include <chrono>

#include "agent/client/agent_client.h"

namespace loupe::agent {
namespace {

using grpc::experimental::InterceptionHookPoints;

class TimingInterceptor : public grpc::experimental::Interceptor {
 public:
  TimingInterceptor(RpcMetrics* metrics, const char* method)
      : metrics_(metrics),
        method_(method != nullptr ? method : ""),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->Record(method_, methods->GetSendStatus().error_code(),
                       std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start_)
                           .count());
    }
    methods->Proceed();
  }

 private:
  RpcMetrics* const metrics_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new TimingInterceptor(metrics_, info->method());
  }

 private:
  RpcMetrics* const metrics_;
};

std::string FormatBound(double seconds) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), seconds);
  return std::string(buf, r.ptr);
}

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::InterceptorFactory() {
  return std::make_unique<Factory>(this);
}

void RpcMetrics::Record(std::string_view method, grpc::StatusCode code,
                        double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    if (methods_.size() >= kMaxRpcMethods) method = "other";
    it = methods_.try_emplace(std::string(method)).first;
  }
  Method& m = it->second;
  const size_t c = static_cast<size_t>(code);
  ++m.codes[c < m.codes.size() ? c : static_cast<size_t>(grpc::UNKNOWN)];
  size_t b = 0;
  while (b < kRpcBuckets.size() && seconds > kRpcBuckets[b]) ++b;
  ++m.buckets[b];
  m.seconds += seconds;
  ++m.count;
}

void RpcMetrics::Render(PrometheusTextWriter& w,
                        std::string_view prefix) const {
  std::map<std::string, Method, std::less<>> methods;
  {
    std::lock_guard<std::mutex> lock(mu_);
    methods = methods_;
  }
  const std::string p(prefix);
  w.Family(p + "_requests_total", "gRPC calls answered, by method and code.",
           MetricType::kCounter);
  for (const auto& [name, m] : methods) {
    for (size_t c = 0; c < m.codes.size(); ++c) {
      if (m.codes[c] == 0) continue;
      w.Sample({{"method", name},
                {"code", GrpcCodeName(static_cast<grpc::StatusCode>(c))}},
               m.codes[c]);
    }
  }
  w.Family(p + "_seconds",
           "Time from a call's arrival to its status (a stream's whole life), "
           "by method.",
           MetricType::kHistogram);
  for (const auto& [name, m] : methods) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b < m.buckets.size(); ++b) {
      cumulative += m.buckets[b];
      const std::string le =
          b < kRpcBuckets.size() ? FormatBound(kRpcBuckets[b]) : "+Inf";
      w.HistogramSample("_bucket", {{"method", name}, {"le", le}}, cumulative);
    }
    w.HistogramSample("_sum", {{"method", name}}, m.seconds);
    w.HistogramSample("_count", {{"method", name}}, m.count);
  }
}

}  // namespace loupe::agent
