#include "coordinator/registry_service.h"

#include <arpa/inet.h>

#include <algorithm>

#include "agent/fleet_identity.h"
#include "agent/grpc_status.h"
#include "agent/host_port.h"
#include "agent/log.h"
#include "multilog/ascii.h"

namespace loupe::coordinator {
namespace {

using agent::Log;
using agent::LogLevel;

// Whether HOST is 0.0.0.0 or [::]: an address to listen on, not to call.
bool IsWildcard(std::string_view host_port) {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(host_port, &host, &port)) return false;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return v4.s_addr == INADDR_ANY;
  }
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_UNSPECIFIED(&v6);
}

std::string DescribeLabels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    out += (out.empty() ? "" : ",") + k + "=" + v;
  }
  return out.empty() ? "no labels" : out;
}

}  // namespace

Result<Registration> CheckRegisterRequest(const v1::RegisterRequest& request) {
  Registration r;
  if (Status s = agent::CheckAgentName(request.name()); !s.ok()) {
    return s.Annotate("name");
  }
  r.entry.name = request.name();
  if (Status s = CheckHostPort(request.address(), false, "10.0.0.1:7070");
      !s.ok()) {
    return s.Annotate("address");
  }
  if (IsWildcard(request.address())) {
    return Status::InvalidArgument(
        "address: " + Quoted(request.address()) +
        " is a wildcard; advertise an address the coordinator can call "
        "([agent] advertise)");
  }
  r.entry.address = request.address();
  if (static_cast<size_t>(request.labels_size()) > agent::kMaxLabels) {
    return Status::InvalidArgument(
        "labels: " + std::to_string(request.labels_size()) +
        " labels; an agent has at most " + std::to_string(agent::kMaxLabels));
  }
  for (const auto& [key, value] : request.labels()) r.entry.labels[key] = value;
  if (Status s = agent::CheckLabels(r.entry.labels); !s.ok()) {
    return s.Annotate("labels");
  }
  if (request.start_time_ns() == 0) {
    return Status::InvalidArgument(
        "start_time_ns: missing (the agent's incarnation, as its Health "
        "answers)");
  }
  r.start_time_ns = request.start_time_ns();
  const std::string& v = request.version();
  if (v.size() > kMaxAgentVersionBytes ||
      !std::all_of(v.begin(), v.end(),
                   [](char c) { return c > ' ' && c < 0x7f; })) {
    return Status::InvalidArgument("version: at most " +
                                   std::to_string(kMaxAgentVersionBytes) +
                                   " printable characters without blanks");
  }
  return r;
}

RegistryService::RegistryService(AgentPool* pool, RegistryOptions options)
    : pool_(pool), options_(std::move(options)) {}

grpc::Status RegistryService::Refuse(const Status& status) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  return agent::ToGrpcStatus(status);
}

grpc::Status RegistryService::Register(grpc::ServerContext*,
                                       const v1::RegisterRequest* request,
                                       v1::RegisterResponse* response) {
  if (!options_.accept_registrations) {
    return Refuse(Status::FailedPrecondition(
        "coordinator " + options_.coordinator_name +
        " does not accept registrations ([coordinator] "
        "accept_registrations = false); list the agent in its [[agent]] "
        "tables, or turn registrations on"));
  }
  Result<Registration> r = CheckRegisterRequest(*request);
  if (!r.ok()) return Refuse(r.status());
  Result<RegisterOutcome> outcome = pool_->Register(*r);
  if (!outcome.ok()) {
    Log(LogLevel::kWarn, "registration of agent " + r->entry.name + " at " +
                             r->entry.address +
                             " refused: " + outcome.status().message());
    return Refuse(outcome.status());
  }
  registrations_.fetch_add(1, std::memory_order_relaxed);
  if (outcome->added || outcome->changed) {
    Log(LogLevel::kInfo,
        std::string("agent ") + r->entry.name +
            (outcome->added ? " registered" : " registered again") + " at " +
            r->entry.address + " (" + DescribeLabels(r->entry.labels) + ")");
  }
  response->set_coordinator(options_.coordinator_name);
  response->set_heartbeat_interval_ns(
      static_cast<uint64_t>(options_.heartbeat_interval.count()));
  response->set_down_after(options_.down_after);
  response->set_configured(outcome->configured);
  return grpc::Status::OK;
}

grpc::Status RegistryService::Heartbeat(grpc::ServerContext*,
                                        const v1::HeartbeatRequest* request,
                                        v1::HeartbeatResponse* response) {
  if (Status s = agent::CheckAgentName(request->name()); !s.ok()) {
    heartbeats_refused_.fetch_add(1, std::memory_order_relaxed);
    return agent::ToGrpcStatus(s.Annotate("name"));
  }
  if (Status s = pool_->Heartbeat(request->name(), request->start_time_ns());
      !s.ok()) {
    heartbeats_unknown_.fetch_add(1, std::memory_order_relaxed);
    return agent::ToGrpcStatus(s);
  }
  heartbeats_.fetch_add(1, std::memory_order_relaxed);
  response->set_heartbeat_interval_ns(
      static_cast<uint64_t>(options_.heartbeat_interval.count()));
  return grpc::Status::OK;
}

RegistryStats RegistryService::stats() const {
  RegistryStats s;
  s.registrations = registrations_.load(std::memory_order_relaxed);
  s.refused = refused_.load(std::memory_order_relaxed);
  s.heartbeats = heartbeats_.load(std::memory_order_relaxed);
  s.heartbeats_unknown = heartbeats_unknown_.load(std::memory_order_relaxed);
  s.heartbeats_refused = heartbeats_refused_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace loupe::coordinator
