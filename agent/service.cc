#include "agent/service.h"

#include <utility>

#include "agent/internal/page_token.h"
#include "agent/internal/service_internal.h"
#include "agent/internal/snapshot_resolve.h"

namespace loupe::agent {

using service_internal::kMethodNames;

AgentService::AgentService(MultilogRegistry* registry, std::string host,
                           PipelineStatsSource pipeline_stats,
                           DataplaneSettledSource dataplane_settled)
    : registry_(registry),
      host_(std::move(host)),
      pipeline_stats_(std::move(pipeline_stats)),
      dataplane_settled_(std::move(dataplane_settled)),
      started_(std::chrono::steady_clock::now()),
      start_time_ns_(registry->incarnation()),
      page_key_([] {
        const internal::SipKey k = internal::DrawPageKey();
        return std::array<uint64_t, 2>{k.k0, k.k1};
      }()),
      snapshots_(std::make_unique<internal::SnapshotContext>()),
      programs_(registry) {}

AgentService::~AgentService() { Shutdown(); }

void AgentService::Shutdown() {
  shutting_down_.store(true, std::memory_order_release);
  // Appends waiting for a prepared snapshot's cap are answered now.
  snapshots_->registry.AbortPrepared("it was aborted when the agent shut down");
  std::lock_guard<std::mutex> lock(subscriptions_mu_);
  for (AlertSubscription* s : subscriptions_) s->Wake();
}

std::vector<RpcMethodStats> AgentService::rpc_stats() const {
  static_assert(kGetGroupBy + 1 == kNumMethods,
                "one name and one counter per method of the proto");
  std::vector<RpcMethodStats> out;
  out.reserve(kNumMethods);
  for (size_t m = 0; m < kNumMethods; ++m) {
    out.push_back(
        RpcMethodStats{std::string(kMethodNames[m]),
                       counters_[m].calls.load(std::memory_order_relaxed),
                       counters_[m].errors.load(std::memory_order_relaxed)});
  }
  return out;
}

grpc::Status AgentService::Finish(Method method, grpc::Status status) {
  counters_[method].calls.fetch_add(1, std::memory_order_relaxed);
  if (!status.ok()) {
    counters_[method].errors.fetch_add(1, std::memory_order_relaxed);
  }
  return status;
}

}  // namespace loupe::agent
