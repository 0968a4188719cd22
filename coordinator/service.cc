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

CoordinatorService::CoordinatorService(const AgentPool* pool,
                                       SnapshotStore* snapshots,
                                       std::string name)
    : pool_(pool),
      snapshots_(snapshots),
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
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
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

grpc::Status CoordinatorService::Unavailable() const {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the coordinator is shutting down");
}

std::vector<FleetAgent> CoordinatorService::AgentsNamed(
    const std::vector<std::string>& names) const {
  const std::set<std::string> wanted(names.begin(), names.end());
  std::vector<FleetAgent> out;
  const std::vector<AgentStatus> all = pool_->Snapshot();
  for (size_t i = 0; i < all.size(); ++i) {
    if (wanted.contains(all[i].entry.name)) {
      out.push_back(FleetAgent{all[i].entry.name, pool_->stub(i)});
    }
  }
  return out;
}

grpc::Status CoordinatorService::Select(const std::string& selector,
                                        bool allow_partial,
                                        const v1::FleetSnapshot* snapshot,
                                        Targets* out) const {
  const std::vector<AgentStatus> all = pool_->Snapshot();
  Result<std::vector<AgentStatus>> selected = SelectAgents(all, selector);
  if (!selected.ok()) return agent::ToGrpcStatus(selected.status());
  std::set<std::string> picked;
  for (const AgentStatus& a : *selected) picked.insert(a.entry.name);
  std::set<std::string> held;  // the snapshot's committed hosts
  if (snapshot != nullptr) {
    for (const v1::FleetSnapshotHost& h : snapshot->hosts()) {
      if (h.state() == v1::FLEET_HOST_STATE_COMMITTED) held.insert(h.agent());
    }
  }
  for (size_t i = 0; i < all.size(); ++i) {
    const AgentStatus& a = all[i];
    if (!picked.contains(a.entry.name)) continue;
    std::string why;
    grpc::StatusCode code = grpc::StatusCode::OK;
    if (snapshot != nullptr && !held.contains(a.entry.name)) {
      // An empty selector means the snapshot's hosts, not every agent.
      if (selector.empty()) continue;
      why = "not in snapshot " + Quoted(snapshot->id());
      code = grpc::StatusCode::FAILED_PRECONDITION;
    } else if (a.state == AgentState::kDown) {
      why = "DOWN since " +
            FormatRfc3339Utc(static_cast<int64_t>(a.state_since_ns), 3) + " (" +
            a.error + ")";
      code = grpc::StatusCode::UNAVAILABLE;
    }
    if (code == grpc::StatusCode::OK) {
      out->agents.push_back(FleetAgent{a.entry.name, pool_->stub(i)});
      continue;
    }
    if (!allow_partial) {
      return grpc::Status(code, "agent " + Quoted(a.entry.name) + " is " + why +
                                    "; nothing was asked (allow_partial "
                                    "leaves such agents out)");
    }
    out->excluded.push_back(a.entry.name + ": " + why);
  }
  if (out->agents.empty()) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        "no agent to ask: the selector " + Quoted(selector) + " picks " +
            std::to_string(picked.size()) + " of " +
            std::to_string(all.size()) + " agents" +
            (out->excluded.empty() ? std::string()
                                   : ", and every one is left out (" +
                                         out->excluded.front() + ")"));
  }
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
  out->set_registered(a.registered);
  out->set_last_heartbeat_ns(a.last_heartbeat_ns);
  out->set_heartbeats(a.heartbeats);
  out->set_start_time_ns(a.start_time_ns);
  out->set_restarts(a.restarts);
  out->set_error(a.error);
  out->set_checks(a.checks);
  if (a.checks > 0 && a.health.ByteSizeLong() > 0) {
    *out->mutable_health() = a.health;
  }
}

}  // namespace loupe::coordinator
