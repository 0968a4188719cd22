#include "coordinator/service.h"

#include <set>
#include <utility>

#include "agent/grpc_status.h"
#include "agent/time_text.h"
#include "agent/toml_reader.h"
#include "coordinator/program_manager.h"
#include "multilog/ascii.h"
#include "multilog/did_you_mean.h"

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "unknown"
#endif

namespace loupe::coordinator {

CoordinatorService::CoordinatorService(const AgentPool* pool, std::string name)
    : pool_(pool),
      name_(std::move(name)),
      started_(std::chrono::steady_clock::now()),
      start_time_ns_(NowNs()) {}

grpc::Status CoordinatorService::Health(grpc::ServerContext*,
                                        const v1::HealthRequest*,
                                        v1::HealthResponse* response) {
  const bool serving = !shutting_down_.load(std::memory_order_acquire);
  response->set_status(serving ? v1::HealthResponse::SERVING
                               : v1::HealthResponse::NOT_SERVING);
  response->set_version(LOUPE_VERSION);
  response->set_host(name_);
  response->set_uptime_ns(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - started_)
          .count()));
  response->set_start_time_ns(start_time_ns_);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ListAgents(
    grpc::ServerContext*, const v1::ListAgentsRequest* request,
    v1::ListAgentsResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the coordinator is shutting down");
  }
  std::vector<AgentStatus> all = pool_->Snapshot();
  response->set_configured(static_cast<uint32_t>(all.size()));
  Result<std::vector<AgentStatus>> selected =
      SelectAgents(std::move(all), request->selector());
  if (!selected.ok()) return agent::ToGrpcStatus(selected.status());
  const uint64_t now = NowNs();
  uint32_t up = 0, down = 0, unknown = 0;
  for (const AgentStatus& a : *selected) {
    v1::AgentInfo* info = response->add_agents();
    ToProto(a, now, info);
    if (programs_ != nullptr) programs_->FillAgentInfo(a.entry.name, info);
    up += a.state == AgentState::kUp;
    down += a.state == AgentState::kDown;
    unknown += a.state == AgentState::kUnknown;
  }
  response->set_up(up);
  response->set_down(down);
  response->set_unknown(unknown);
  return grpc::Status::OK;
}

Result<std::vector<AgentStatus>> SelectAgents(std::vector<AgentStatus> agents,
                                              const std::string& selector) {
  Result<HostSelector> parsed = HostSelector::Parse(selector);
  if (!parsed.ok()) return parsed.status();
  std::vector<AgentEntry> entries;
  for (const AgentStatus& a : agents) entries.push_back(a.entry);
  if (Status s = CheckSelectorLabels(*parsed, entries); !s.ok()) return s;
  std::vector<AgentStatus> out;
  for (AgentStatus& a : agents) {
    if (parsed->Matches(a.entry.name, a.entry.labels)) {
      out.push_back(std::move(a));
    }
  }
  return out;
}

void ToProto(const AgentStatus& a, uint64_t now_ns, v1::AgentInfo* out) {
  out->set_name(a.entry.name);
  out->set_address(a.entry.address);
  for (const auto& [key, value] : a.entry.labels) {
    v1::AgentLabel* label = out->add_labels();
    label->set_key(key);
    label->set_value(value);
  }
  switch (a.state) {
    case AgentState::kUnknown:
      out->set_state(v1::AGENT_STATE_UNKNOWN);
      break;
    case AgentState::kUp:
      out->set_state(v1::AGENT_STATE_UP);
      break;
    case AgentState::kDown:
      out->set_state(v1::AGENT_STATE_DOWN);
      break;
  }
  out->set_state_since_ns(a.state_since_ns);
  out->set_last_seen_ns(a.last_seen_ns);
  out->set_last_seen_age_ns(a.last_seen_ns != 0 && now_ns > a.last_seen_ns
                                ? now_ns - a.last_seen_ns
                                : 0);
  out->set_consecutive_misses(a.consecutive_misses);
  out->set_last_rtt_ns(a.last_rtt_ns);
  out->set_start_time_ns(a.start_time_ns);
  out->set_restarts(a.restarts);
  out->set_error(a.error);
  out->set_checks(a.checks);
  if (a.checks > 0 && a.health.ByteSizeLong() > 0) {
    *out->mutable_health() = a.health;
  }
}

}  // namespace loupe::coordinator
