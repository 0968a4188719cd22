// CoordinatorService: alerts across the fleet. GetAlerts asks each selected
// agent's GetAlerts (a server stream) at once, each call with the request's
// deadline, and merges the answers by time under one limit; SubscribeAlerts
// writes what the AlertFanIn passes on, from a bounded per-subscriber queue.
#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/client/agent_client.h"
#include "agent/grpc_status.h"
#include "coordinator/service.h"
#include "multilog/ascii.h"

namespace loupe::coordinator {

namespace {

constexpr uint32_t kDefaultAlertLimit = 1000;
constexpr uint32_t kMaxAlertLimit = 100'000;
// Agents asked at once by one GetAlerts (each from its own thread).
constexpr size_t kMaxAlertCallsAtOnce = 32;
constexpr uint32_t kMinHeartbeatMs = 100;
constexpr uint32_t kMaxHeartbeatMs = 60'000;
// How long a subscription waits before it checks for cancellation,
// shutdown and heartbeats.
constexpr auto kSubscriptionSlice = std::chrono::milliseconds(100);

struct HostAlerts {
  grpc::Status status;
  std::vector<v1::Alert> alerts;
  bool truncated = false;
};

// One agent's GetAlerts, every chunk, by `deadline`.
HostAlerts AskAgent(v1::Agent::Stub* stub, const v1::GetAlertsRequest& request,
                    std::chrono::system_clock::time_point deadline) {
  HostAlerts out;
  grpc::ClientContext context;
  context.set_deadline(deadline);
  auto reader = stub->GetAlerts(&context, request);
  v1::GetAlertsResponse chunk;
  while (reader->Read(&chunk)) {
    for (v1::Alert& a : *chunk.mutable_alerts()) {
      out.alerts.push_back(std::move(a));
    }
    out.truncated = out.truncated || chunk.truncated();
    if (chunk.done()) break;
  }
  if (chunk.done()) context.TryCancel();  // nothing more is read
  out.status = reader->Finish();
  if (chunk.done() && out.status.error_code() == grpc::StatusCode::CANCELLED) {
    out.status = grpc::Status::OK;
  }
  return out;
}

}  // namespace

grpc::Status CoordinatorService::GetAlerts(
    grpc::ServerContext*, const v1::FleetAlertsRequest* request,
    v1::FleetAlertsResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  if (request->limit() > kMaxAlertLimit) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "limit " + std::to_string(request->limit()) +
                            " is above the maximum of " +
                            std::to_string(kMaxAlertLimit) +
                            "; narrow t0_ns..t1_ns or the selector");
  }
  if (request->timeout_ms() > kMaxQueryTimeoutMs) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "timeout_ms " + std::to_string(request->timeout_ms()) +
                            " is above the maximum of " +
                            std::to_string(kMaxQueryTimeoutMs));
  }
  const uint32_t limit =
      request->limit() == 0 ? kDefaultAlertLimit : request->limit();
  const uint32_t timeout_ms = request->timeout_ms() == 0
                                  ? kDefaultQueryTimeoutMs
                                  : request->timeout_ms();
  Targets targets;
  grpc::Status s =
      Select(request->selector(), request->allow_partial(), nullptr, &targets);
  if (!s.ok()) return s;

  v1::GetAlertsRequest ask;
  ask.set_multilog(request->multilog());
  ask.set_trigger(request->trigger());
  ask.set_t0_ns(request->t0_ns());
  ask.set_t1_ns(request->t1_ns());
  ask.set_limit(limit);  // any one host may hold the first `limit`
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
  const size_t n = targets.agents.size();
  std::vector<HostAlerts> answers(n);
  {
    std::vector<std::thread> threads;
    const size_t workers = std::min(n, kMaxAlertCallsAtOnce);
    for (size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        for (size_t i = w; i < n; i += workers) {
          answers[i] = AskAgent(targets.agents[i].stub, ask, deadline);
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }

  struct Row {
    const std::string* agent;
    v1::Alert* alert;
  };
  std::vector<Row> rows;
  bool truncated = false;
  for (size_t i = 0; i < n; ++i) {
    HostAlerts& h = answers[i];
    const std::string& name = targets.agents[i].name;
    v1::FleetAlertsHost* host = response->add_hosts();
    host->set_agent(name);
    if (!h.status.ok()) {
      const std::string why = std::string(GrpcCodeName(h.status.error_code())) +
                              ": " + h.status.error_message();
      if (!request->allow_partial()) {
        return grpc::Status(h.status.error_code(),
                            "agent " + Quoted(name) + ": GetAlerts: " + why +
                                " (allow_partial leaves such agents out)");
      }
      host->set_error(why);
      response->add_excluded(name + ": " + why);
      continue;
    }
    host->set_alerts(static_cast<uint32_t>(h.alerts.size()));
    host->set_truncated(h.truncated);
    truncated = truncated || h.truncated;
    for (v1::Alert& a : h.alerts) rows.push_back(Row{&name, &a});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.alert->time_ns() != b.alert->time_ns()) {
      return a.alert->time_ns() < b.alert->time_ns();
    }
    if (*a.agent != *b.agent) return *a.agent < *b.agent;
    if (a.alert->multilog() != b.alert->multilog()) {
      return a.alert->multilog() < b.alert->multilog();
    }
    return a.alert->sequence() < b.alert->sequence();
  });
  if (rows.size() > limit) {
    truncated = true;
    rows.resize(limit);
  }
  for (const Row& r : rows) {
    v1::FleetAlert* out = response->add_alerts();
    out->set_agent(*r.agent);
    *out->mutable_alert() = std::move(*r.alert);
  }
  for (const std::string& e : targets.excluded) response->add_excluded(e);
  response->set_truncated(truncated);
  response->set_partial(response->excluded_size() > 0);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::SubscribeAlerts(
    grpc::ServerContext* context,
    const v1::FleetSubscribeAlertsRequest* request,
    grpc::ServerWriter<v1::FleetAlertEvent>* writer) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  AlertFanIn* fan_in = alert_fan_in_.load(std::memory_order_acquire);
  if (fan_in == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the alert fan-in is not running yet; retry in a "
                        "moment");
  }
  const uint32_t heartbeat_ms = request->heartbeat_ms();
  if (heartbeat_ms != 0 &&
      (heartbeat_ms < kMinHeartbeatMs || heartbeat_ms > kMaxHeartbeatMs)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "heartbeat_ms " + std::to_string(heartbeat_ms) +
                            " is out of range; use 0 (none) or 100 to 60000");
  }
  FanInFilter filter;
  filter.multilog = request->multilog();
  filter.trigger = request->trigger();
  if (!request->selector().empty()) {
    Result<std::vector<AgentStatus>> selected =
        SelectAgents(pool_->Snapshot(), request->selector());
    if (!selected.ok()) return agent::ToGrpcStatus(selected.status());
    if (selected->empty()) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          "the selector " + Quoted(request->selector()) + " picks no agent");
    }
    for (const AgentStatus& a : *selected) filter.agents.insert(a.entry.name);
  }
  Result<std::unique_ptr<FanInSubscription>> subscribed =
      fan_in->Subscribe(std::move(filter));
  if (!subscribed.ok()) return agent::ToGrpcStatus(subscribed.status());
  std::unique_ptr<FanInSubscription> sub = std::move(subscribed).value();

  using Clock = std::chrono::steady_clock;
  const auto heartbeat = std::chrono::milliseconds(heartbeat_ms);
  auto last_sent = Clock::now();
  for (;;) {
    uint64_t lost = 0;
    std::vector<FannedAlert> alerts = sub->Take(kSubscriptionSlice, &lost);
    if (shutting_down_.load(std::memory_order_acquire) || sub->closed()) {
      return Unavailable();
    }
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client left");
    }
    for (FannedAlert& a : alerts) {
      v1::FleetAlertEvent event;
      event.set_agent(a.agent);
      *event.mutable_alert() = std::move(a.alert);
      event.set_lost(lost);
      lost = 0;
      if (!writer->Write(event)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "the client left");
      }
      last_sent = Clock::now();
    }
    const bool beat =
        heartbeat_ms != 0 && Clock::now() - last_sent >= heartbeat;
    if (lost > 0 || beat) {  // losses with no alert after them yet
      v1::FleetAlertEvent event;
      event.set_lost(lost);
      event.set_heartbeat(beat);
      if (!writer->Write(event)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "the client left");
      }
      last_sent = Clock::now();
    }
  }
}

}  // namespace loupe::coordinator
