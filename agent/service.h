// AgentService: the loupe-agent's gRPC service (agent/proto/loupe.proto,
// package loupe.v1) over a MultilogRegistry; StartServer (agent/rpc_server.h)
// serves it. Every request is validated before anything changes; errors are
// gRPC status codes carrying the multilog's message (agent/grpc_status.h).
// Control statements are translated by agent/control_proto.h and carried
// out by loupe::Apply. Alert subscriptions are bounded consumers of the
// registry's AlertDispatcher, with its queue capacity and counters.
//
// The handlers live in one file per area: service_multilogs.cc (multilogs
// and control), service_data.cc (appends and reads), service_queries.cc
// (queries and aggregates), service_alerts.cc, service_stats.cc (stats and
// health), service_snapshots.cc (leased snapshots; every request reads at
// its snapshot through agent/internal/snapshot_resolve.h),
// service_programs.cc (programs, over the ProgramRegistry, which every
// Control statement also goes through); service.cc holds what they share.
//
// Threads: the synchronous gRPC API; each call runs on a gRPC server
// thread and may run concurrently with any other. Streams (queries, alert
// subscriptions) check ServerContext::IsCancelled between chunks, and
// SubscribeAlerts waits in slices of 100 ms, so a cancelled or shut-down
// stream ends promptly. The per-method counters are relaxed atomics, read
// by rpc_stats() for the metrics page.
//
// Lifetimes: the registry must outlive the service, and the service must
// outlive the grpc::Server that serves it. Shut down in this order:
// service.Shutdown() (wakes and ends every alert subscription, later calls
// get UNAVAILABLE), server->Shutdown(), then destroy the server and the
// service.
#ifndef LOUPE_AGENT_SERVICE_H_
#define LOUPE_AGENT_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/alert_dispatcher.h"
#include "agent/multilog_registry.h"
#include "agent/program_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "dataplane/stats.h"
#include "multilog/status.h"

namespace loupe::agent {

namespace internal {
struct SnapshotContext;  // agent/internal/snapshot_resolve.h
}  // namespace internal

// Limits of one call; requests beyond them get INVALID_ARGUMENT or
// RESOURCE_EXHAUSTED with the limit in the message.
inline constexpr uint32_t kDefaultReadRecords = 1024;
inline constexpr uint32_t kMaxReadRecords = 65536;
inline constexpr uint64_t kMaxReadBytes = 32ull << 20;
inline constexpr uint32_t kDefaultQueryLimit = 10'000;
inline constexpr uint32_t kMaxQueryLimit = 1'000'000;
// A QueryFilter page re-reads the time bucket where the previous one
// ended: pages whose bucket holds more records than this stop here.
// ExecuteFilter pages resume at an offset and have no such limit.
inline constexpr uint64_t kMaxPagedRecords = 8'000'000;
inline constexpr uint32_t kDefaultAlertLimit = 1'000;
inline constexpr uint32_t kMaxAlertLimit = 100'000;
// SubscribeAlerts: a subscriber that reads too slowly loses the alerts its
// queue (the dispatcher's queue_capacity, as for the sinks) cannot hold,
// counted in AlertEvent.lost.

struct RpcMethodStats {
  std::string method;  // "CreateMultilog", ...
  uint64_t calls = 0;
  uint64_t errors = 0;  // answered with a status other than OK
};

// Takes the dataplane's counters on demand; nullopt when there is no
// dataplane.
using PipelineStatsSource =
    std::function<std::optional<dataplane::PipelineStats>()>;
// The dataplane's settled time (dataplane::Pipeline::settled_ns) for its
// pinned multilog; nullopt when it is not running.
using DataplaneSettledSource = std::function<std::optional<uint64_t>()>;

class AgentService final : public v1::Agent::Service {
 public:
  AgentService(MultilogRegistry* registry, std::string host,
               PipelineStatsSource pipeline_stats = nullptr,
               DataplaneSettledSource dataplane_settled = nullptr);
  ~AgentService() override;
  AgentService(const AgentService&) = delete;
  AgentService& operator=(const AgentService&) = delete;

  // Ends every alert subscription (UNAVAILABLE) and turns Health to
  // NOT_SERVING; later calls but Health and Stats get UNAVAILABLE.
  // Idempotent.
  void Shutdown();

  // Health answers NOT_SERVING until set_ready(true): the agent serves RPC
  // before its dataplane is up (a taken port fails before DPDK starts),
  // and clients wait for readiness with Health. Ready by default.
  void set_ready(bool ready) { ready_.store(ready, std::memory_order_release); }

  // The proto's RPC methods.
  static constexpr size_t kNumMethods = 27;
  // Every method, in the order of the proto, zeros included.
  std::vector<RpcMethodStats> rpc_stats() const;

  // --- loupe.v1.Agent
  grpc::Status CreateMultilog(grpc::ServerContext* context,
                              const v1::CreateMultilogRequest* request,
                              v1::CreateMultilogResponse* response) override;
  grpc::Status DropMultilog(grpc::ServerContext* context,
                            const v1::DropMultilogRequest* request,
                            v1::DropMultilogResponse* response) override;
  grpc::Status ListMultilogs(grpc::ServerContext* context,
                             const v1::ListMultilogsRequest* request,
                             v1::ListMultilogsResponse* response) override;
  grpc::Status Control(grpc::ServerContext* context,
                       const v1::ControlRequest* request,
                       v1::ControlResponse* response) override;
  grpc::Status ListControl(grpc::ServerContext* context,
                           const v1::ListControlRequest* request,
                           v1::ListControlResponse* response) override;
  grpc::Status Append(grpc::ServerContext* context,
                      const v1::AppendRequest* request,
                      v1::AppendResponse* response) override;
  grpc::Status AppendBatch(grpc::ServerContext* context,
                           const v1::AppendBatchRequest* request,
                           v1::AppendResponse* response) override;
  grpc::Status AppendStream(grpc::ServerContext* context,
                            grpc::ServerReader<v1::AppendBatchRequest>* reader,
                            v1::AppendStreamResponse* response) override;
  grpc::Status Read(grpc::ServerContext* context,
                    const v1::ReadRequest* request,
                    v1::ReadResponse* response) override;
  grpc::Status ExecuteFilter(
      grpc::ServerContext* context, const v1::ExecuteFilterRequest* request,
      grpc::ServerWriter<v1::QueryResponse>* writer) override;
  grpc::Status QueryFilter(
      grpc::ServerContext* context, const v1::QueryFilterRequest* request,
      grpc::ServerWriter<v1::QueryResponse>* writer) override;
  grpc::Status GetAggregate(grpc::ServerContext* context,
                            const v1::GetAggregateRequest* request,
                            v1::GetAggregateResponse* response) override;
  grpc::Status GetAggregateSeries(
      grpc::ServerContext* context,
      const v1::GetAggregateSeriesRequest* request,
      grpc::ServerWriter<v1::GetAggregateSeriesResponse>* writer) override;
  grpc::Status GetAlerts(
      grpc::ServerContext* context, const v1::GetAlertsRequest* request,
      grpc::ServerWriter<v1::GetAlertsResponse>* writer) override;
  grpc::Status SubscribeAlerts(
      grpc::ServerContext* context, const v1::SubscribeAlertsRequest* request,
      grpc::ServerWriter<v1::AlertEvent>* writer) override;
  grpc::Status Stats(grpc::ServerContext* context,
                     const v1::StatsRequest* request,
                     v1::StatsResponse* response) override;
  grpc::Status Health(grpc::ServerContext* context,
                      const v1::HealthRequest* request,
                      v1::HealthResponse* response) override;

  // --- Leased snapshots (issue 13, section 1): service_snapshots.cc.
  grpc::Status PrepareSnapshot(grpc::ServerContext* context,
                               const v1::PrepareSnapshotRequest* request,
                               v1::PrepareSnapshotResponse* response) override;
  grpc::Status CommitSnapshot(grpc::ServerContext* context,
                              const v1::CommitSnapshotRequest* request,
                              v1::CommitSnapshotResponse* response) override;
  grpc::Status AbortSnapshot(grpc::ServerContext* context,
                             const v1::AbortSnapshotRequest* request,
                             v1::AbortSnapshotResponse* response) override;
  grpc::Status ReleaseSnapshot(grpc::ServerContext* context,
                               const v1::ReleaseSnapshotRequest* request,
                               v1::ReleaseSnapshotResponse* response) override;
  grpc::Status ListSnapshots(grpc::ServerContext* context,
                             const v1::ListSnapshotsRequest* request,
                             v1::ListSnapshotsResponse* response) override;
  // --- Programs (issue 13, section 2): agent/service_programs.cc.
  grpc::Status ApplyProgram(grpc::ServerContext* context,
                            const v1::ApplyProgramRequest* request,
                            v1::ApplyProgramResponse* response) override;
  grpc::Status RemoveProgram(grpc::ServerContext* context,
                             const v1::RemoveProgramRequest* request,
                             v1::RemoveProgramResponse* response) override;
  grpc::Status ListPrograms(grpc::ServerContext* context,
                            const v1::ListProgramsRequest* request,
                            v1::ListProgramsResponse* response) override;

  // The installed programs and the owners of objects; the agent registers
  // its configuration's programs here before it serves.
  ProgramRegistry& programs() { return programs_; }
  // --- Mergeable answers (issue 13, section 3): service_breakdowns.cc
  grpc::Status GetTopK(grpc::ServerContext* context,
                       const v1::GetTopKRequest* request,
                       v1::GetTopKResponse* response) override;
  grpc::Status GetGroupBy(grpc::ServerContext* context,
                          const v1::GetGroupByRequest* request,
                          v1::GetGroupByResponse* response) override;

 private:
  enum Method : size_t;
  struct QueryArgs;

  // Counts the call and its outcome.
  grpc::Status Finish(Method method, grpc::Status status);
  // Runs `body` unless the agent is shutting down, and counts the call.
  template <typename Fn>
  grpc::Status Serve(Method method, Fn&& body);
  bool shutting_down() const {
    return shutting_down_.load(std::memory_order_acquire);
  }
  grpc::Status RunQuery(grpc::ServerContext* context, const QueryArgs& args,
                        grpc::ServerWriter<v1::QueryResponse>* writer);
  void FillAlert(const std::string& multilog, const Alert& alert,
                 v1::Alert* out) const;
  // Leased snapshots: ListMultilogs' read tail, capped while prepared.
  void CapShownTail(const Multilog& ml, v1::MultilogInfo* out) const;

  MultilogRegistry* const registry_;
  const std::string host_;
  const PipelineStatsSource pipeline_stats_;
  const DataplaneSettledSource dataplane_settled_;
  const std::chrono::steady_clock::time_point started_;
  const uint64_t start_time_ns_;
  // The MAC key of this incarnation's page tokens, drawn at start
  // (agent/internal/page_token.h): k0, k1.
  const std::array<uint64_t, 2> page_key_;

  // Release pairs with the acquire in shutting_down().
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> ready_{true};
  std::mutex subscriptions_mu_;
  std::set<AlertSubscription*> subscriptions_;  // subscriptions_mu_

  struct Counter {
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> errors{0};
  };
  std::array<Counter, kNumMethods> counters_;

  // Leased snapshots and the appends in flight (section 1).
  const std::unique_ptr<internal::SnapshotContext> snapshots_;
  // Programs (issue 13, section 2); every Control statement goes through it.
  ProgramRegistry programs_;
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_SERVICE_H_
