// The pieces every file of AgentService shares (agent/service*.cc): the
// method table, Serve (refuse while shutting down, count the call), the
// request checks that answer INVALID_ARGUMENT, and LOUPE_LOOKUP. Internal
// to the agent_service library; include only from those files.
#ifndef LOUPE_AGENT_INTERNAL_SERVICE_INTERNAL_H_
#define LOUPE_AGENT_INTERNAL_SERVICE_INTERNAL_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "agent/grpc_status.h"
#include "agent/multilog_registry.h"
#include "agent/service.h"

namespace loupe::agent {

// In the order of the proto's methods.
enum AgentService::Method : size_t {
  kCreateMultilog,
  kDropMultilog,
  kListMultilogs,
  kControl,
  kListControl,
  kAppend,
  kAppendBatch,
  kAppendStream,
  kRead,
  kExecuteFilter,
  kQueryFilter,
  kGetAggregate,
  kGetAggregateSeries,
  kGetAlerts,
  kSubscribeAlerts,
  kStats,
  kHealth,
  // Leased snapshots (issue 13, section 1).
  kPrepareSnapshot,
  kCommitSnapshot,
  kAbortSnapshot,
  kReleaseSnapshot,
  kListSnapshots,
  // Programs (issue 13, section 2).
  kApplyProgram,
  kRemoveProgram,
  kListPrograms,
  // Mergeable answers (issue 13, section 3).
  kGetTopK,
  kGetGroupBy,
};

namespace service_internal {

inline constexpr std::array<std::string_view, AgentService::kNumMethods>
    kMethodNames = {
        "CreateMultilog",
        "DropMultilog",
        "ListMultilogs",
        "Control",
        "ListControl",
        "Append",
        "AppendBatch",
        "AppendStream",
        "Read",
        "ExecuteFilter",
        "QueryFilter",
        "GetAggregate",
        "GetAggregateSeries",
        "GetAlerts",
        "SubscribeAlerts",
        "Stats",
        "Health",
        // Leased snapshots (issue 13, section 1).
        "PrepareSnapshot",
        "CommitSnapshot",
        "AbortSnapshot",
        "ReleaseSnapshot",
        "ListSnapshots",
        // Programs (issue 13, section 2).
        "ApplyProgram",
        "RemoveProgram",
        "ListPrograms",
        // Mergeable answers (issue 13, section 3).
        "GetTopK",
        "GetGroupBy",
};

inline constexpr uint64_t kNoEnd = std::numeric_limits<uint64_t>::max();

inline uint64_t WallNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

inline grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

inline grpc::Status RequireField(std::string_view field,
                                 const std::string& value) {
  if (value.empty()) return Invalid(std::string(field) + " is empty");
  return grpc::Status::OK;
}

// [t0, t1) with t1 = 0 meaning "no end".
inline grpc::Status CheckWindow(uint64_t t0_ns, uint64_t t1_ns) {
  if (t1_ns != 0 && t1_ns < t0_ns) {
    return Invalid("time range: t1_ns " + std::to_string(t1_ns) +
                   " is before t0_ns " + std::to_string(t0_ns));
  }
  return grpc::Status::OK;
}

inline uint64_t EndOf(uint64_t t1_ns) { return t1_ns == 0 ? kNoEnd : t1_ns; }

inline uint64_t NsToMs(std::chrono::nanoseconds ns) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(ns).count());
}

inline grpc::Status Unavailable() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the agent is shutting down");
}

inline grpc::Status Cancelled() {
  return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
}

inline grpc::Status ClientGone() {
  return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
}

// The multilog a request names.
inline Result<std::shared_ptr<Multilog>> Lookup(
    const MultilogRegistry& registry, const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("multilog is empty");
  return registry.Find(name);
}

}  // namespace service_internal

template <typename Fn>
grpc::Status AgentService::Serve(Method method, Fn&& body) {
  if (shutting_down()) return Finish(method, service_internal::Unavailable());
  return Finish(method, body());
}

}  // namespace loupe::agent

// Declares `Multilog& var` for the multilog `name` names, or returns its
// lookup error from the enclosing handler.
#define LOUPE_LOOKUP(var, name)                                     \
  Result<std::shared_ptr<Multilog>> var##_found =                   \
      ::loupe::agent::service_internal::Lookup(*registry_, name);   \
  if (!var##_found.ok()) return ToGrpcStatus(var##_found.status()); \
  Multilog& var = **var##_found

#endif  // LOUPE_AGENT_INTERNAL_SERVICE_INTERNAL_H_
