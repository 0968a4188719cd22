// CoordinatorService: network-wide queries (GetAggregate, GetTopK) -- the
// agent's request sent to every selected agent at once, at the fleet
// snapshot's tails when one is given, and merged (coordinator/fleet/).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/client/agent_client.h"
#include "agent/grpc_status.h"
#include "coordinator/fleet/distributed_topk.h"
#include "coordinator/fleet/fan_out.h"
#include "coordinator/fleet/merge_aggregate.h"
#include "coordinator/fleet/merge_group_by.h"
#include "coordinator/fleet/sum_stats.h"
#include "coordinator/service.h"
#include "multilog/ascii.h"

namespace loupe::coordinator {
namespace {

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

grpc::Status CheckQuery(const v1::FleetQuery& q, uint64_t raw_snapshot,
                        const std::string& raw_snapshot_id) {
  if (q.timeout_ms() > kMaxQueryTimeoutMs) {
    return Invalid("fleet.timeout_ms " + std::to_string(q.timeout_ms()) +
                   " is over the limit of " +
                   std::to_string(kMaxQueryTimeoutMs));
  }
  if (raw_snapshot != 0 || !raw_snapshot_id.empty()) {
    return Invalid(
        "request.snapshot and request.snapshot_id are one host's; give a "
        "fleet snapshot in fleet.snapshot_id (CreateSnapshot)");
  }
  return grpc::Status::OK;
}

std::chrono::milliseconds TimeoutOf(const v1::FleetQuery& q) {
  return std::chrono::milliseconds(q.timeout_ms() == 0 ? kDefaultQueryTimeoutMs
                                                       : q.timeout_ms());
}

std::string Describe(const grpc::Status& s) {
  return std::string(GrpcCodeName(s.error_code())) + ": " + s.error_message();
}

// Sends one request to every target at once; each reply that failed fails
// the call (naming the agent) unless allow_partial, which adds it to
// `excluded` and clears its slot in `ok`.
template <typename Response, typename Start>
grpc::Status AskAll(const std::vector<FleetAgent>& agents,
                    const v1::FleetQuery& q, Start start,
                    std::vector<Reply<Response>>* replies,
                    std::vector<bool>* ok, std::vector<std::string>* excluded) {
  *replies = FanOut<Response>(
      agents.size(), std::chrono::system_clock::now() + TimeoutOf(q),
      [&](size_t i, grpc::ClientContext* ctx, Response* out,
          std::function<void(grpc::Status)> done) {
        start(agents[i].stub->async(), ctx, out, std::move(done));
      });
  ok->assign(agents.size(), true);
  size_t answered = 0;
  for (size_t i = 0; i < replies->size(); ++i) {
    const grpc::Status& s = (*replies)[i].status;
    if (s.ok()) {
      ++answered;
      continue;
    }
    if (!q.allow_partial()) {
      return grpc::Status(s.error_code(), "agent " + Quoted(agents[i].name) +
                                              ": " + s.error_message());
    }
    (*ok)[i] = false;
    excluded->push_back(agents[i].name + ": " + Describe(s));
  }
  if (answered == 0) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "no selected agent answered: " + excluded->front());
  }
  return grpc::Status::OK;
}

}  // namespace

template <typename Response>
void SetFleetFields(const std::vector<std::string>& excluded, bool partial,
                    const v1::FleetSnapshot* at, Response* response) {
  for (const std::string& e : excluded) response->add_excluded(e);
  response->set_partial(partial || !excluded.empty() ||
                        (at != nullptr && at->partial()));
  if (at != nullptr) {
    response->set_snapshot_id(at->id());
    response->set_settled_ns(at->settled_ns());
  }
}
template void SetFleetFields(const std::vector<std::string>&, bool,
                             const v1::FleetSnapshot*,
                             v1::FleetFilterResponse*);

namespace {

int64_t OffsetOf(const v1::FleetSnapshot* snapshot, const std::string& agent) {
  if (snapshot == nullptr) return 0;
  for (const v1::FleetSnapshotHost& h : snapshot->hosts()) {
    if (h.agent() == agent) return h.clock_offset_ns();
  }
  return 0;
}

}  // namespace

grpc::Status CoordinatorService::Resolve(
    const v1::FleetQuery& q, std::optional<v1::FleetSnapshot>* snapshot,
    Targets* targets) const {
  if (!q.snapshot_id().empty()) {
    Result<v1::FleetSnapshot> found = snapshots_->Get(q.snapshot_id());
    if (!found.ok()) return agent::ToGrpcStatus(found.status());
    *snapshot = std::move(*found);
  }
  return Select(q.selector(), q.allow_partial(),
                snapshot->has_value() ? &**snapshot : nullptr, targets);
}

grpc::Status CoordinatorService::GetAggregate(
    grpc::ServerContext*, const v1::FleetAggregateRequest* request,
    v1::FleetAggregateResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  const v1::FleetQuery& q = request->fleet();
  grpc::Status s = CheckQuery(q, request->request().snapshot(),
                              request->request().snapshot_id());
  if (!s.ok()) return s;
  std::optional<v1::FleetSnapshot> snapshot;
  Targets targets;
  s = Resolve(q, &snapshot, &targets);
  if (!s.ok()) return s;
  const v1::FleetSnapshot* at = snapshot ? &*snapshot : nullptr;

  v1::GetAggregateRequest one = request->request();
  one.set_with_bins(true);  // quantiles merge from bins
  if (at != nullptr) one.set_snapshot_id(at->id());
  std::vector<Reply<v1::GetAggregateResponse>> replies;
  std::vector<bool> ok;
  s = AskAll<v1::GetAggregateResponse>(
      targets.agents, q,
      [&](auto* async, grpc::ClientContext* ctx, auto* out, auto done) {
        async->GetAggregate(ctx, &one, out, std::move(done));
      },
      &replies, &ok, &targets.excluded);
  if (!s.ok()) return s;
  std::vector<const v1::GetAggregateResponse*> parts;
  for (size_t i = 0; i < replies.size(); ++i) {
    const std::string& name = targets.agents[i].name;
    v1::FleetHostAnswer* host = response->add_hosts();
    host->set_agent(name);
    host->set_clock_offset_ns(OffsetOf(at, name));
    if (!ok[i]) {
      host->set_error(Describe(replies[i].status));
      continue;
    }
    *host->mutable_aggregate() = replies[i].response;
    parts.push_back(&replies[i].response);
  }
  Status merged = MergeAggregates(parts, response->mutable_merged());
  if (!merged.ok()) return agent::ToGrpcStatus(merged);
  if (!request->request().with_bins()) {
    response->mutable_merged()->clear_bins();
    for (v1::FleetHostAnswer& h : *response->mutable_hosts()) {
      h.mutable_aggregate()->clear_bins();
    }
  }
  SetFleetFields(targets.excluded, response->merged().partial(), at, response);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetGroupBy(
    grpc::ServerContext*, const v1::FleetGroupByRequest* request,
    v1::FleetGroupByResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  const v1::FleetQuery& q = request->fleet();
  grpc::Status s = CheckQuery(q, request->request().snapshot(),
                              request->request().snapshot_id());
  if (!s.ok()) return s;
  const uint32_t limit =
      request->request().limit() == 0 ? 10'000 : request->request().limit();
  if (limit > 100'000) {
    return Invalid("request.limit " + std::to_string(limit) +
                   " is over the limit of 100000 rows");
  }
  std::optional<v1::FleetSnapshot> snapshot;
  Targets targets;
  s = Resolve(q, &snapshot, &targets);
  if (!s.ok()) return s;
  const v1::FleetSnapshot* at = snapshot ? &*snapshot : nullptr;

  // Each host answers every group it has (up to the agents' limit), so
  // that the merged rows are complete before the merged limit.
  v1::GetGroupByRequest one = request->request();
  one.set_limit(100'000);
  if (at != nullptr) one.set_snapshot_id(at->id());
  std::vector<Reply<v1::GetGroupByResponse>> replies;
  std::vector<bool> ok;
  s = AskAll<v1::GetGroupByResponse>(
      targets.agents, q,
      [&](auto* async, grpc::ClientContext* ctx, auto* out, auto done) {
        async->GetGroupBy(ctx, &one, out, std::move(done));
      },
      &replies, &ok, &targets.excluded);
  if (!s.ok()) return s;
  std::vector<const v1::GetGroupByResponse*> parts;
  for (size_t i = 0; i < replies.size(); ++i) {
    const std::string& name = targets.agents[i].name;
    v1::FleetGroupByHost* host = response->add_hosts();
    host->set_agent(name);
    host->set_clock_offset_ns(OffsetOf(at, name));
    if (!ok[i]) {
      host->set_error(Describe(replies[i].status));
      continue;
    }
    const v1::GetGroupByResponse& r = replies[i].response;
    host->set_groups(r.groups());
    host->set_records(r.records());
    host->set_truncated(r.truncated());
    parts.push_back(&r);
  }
  Status merged = MergeGroupBy(parts, limit, response->mutable_merged());
  if (!merged.ok()) return agent::ToGrpcStatus(merged);
  SetFleetFields(targets.excluded, response->merged().partial(), at, response);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Stats(grpc::ServerContext*,
                                       const v1::FleetStatsRequest* request,
                                       v1::FleetStatsResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  const v1::FleetQuery& q = request->fleet();
  grpc::Status s = CheckQuery(q, 0, "");
  if (!s.ok()) return s;
  if (!q.snapshot_id().empty()) {
    return Invalid(
        "Stats are the agents' counters now; fleet.snapshot_id "
        "does not apply");
  }
  Targets targets;
  s = Select(q.selector(), q.allow_partial(), nullptr, &targets);
  if (!s.ok()) return s;
  const v1::StatsRequest one;
  std::vector<Reply<v1::StatsResponse>> replies;
  std::vector<bool> ok;
  s = AskAll<v1::StatsResponse>(
      targets.agents, q,
      [&](auto* async, grpc::ClientContext* ctx, auto* out, auto done) {
        async->Stats(ctx, &one, out, std::move(done));
      },
      &replies, &ok, &targets.excluded);
  if (!s.ok()) return s;
  std::vector<const v1::StatsResponse*> parts;
  for (size_t i = 0; i < replies.size(); ++i) {
    v1::FleetHostStats* host = response->add_hosts();
    host->set_agent(targets.agents[i].name);
    if (!ok[i]) {
      host->set_error(Describe(replies[i].status));
      continue;
    }
    *host->mutable_stats() = replies[i].response;
    parts.push_back(&replies[i].response);
  }
  SumStats(parts, response->mutable_dataplane_total(),
           response->mutable_multilogs());
  for (const std::string& e : targets.excluded) response->add_excluded(e);
  response->set_partial(!targets.excluded.empty());
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetTopK(grpc::ServerContext*,
                                         const v1::FleetTopKRequest* request,
                                         v1::FleetTopKResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  const v1::FleetQuery& q = request->fleet();
  grpc::Status s = CheckQuery(q, request->request().snapshot(),
                              request->request().snapshot_id());
  if (!s.ok()) return s;
  // Three rounds must see the same data: at the given snapshot, or at one
  // taken for the query and released after it.
  v1::FleetSnapshot snapshot;
  bool ours = false;
  if (!q.snapshot_id().empty()) {
    Result<v1::FleetSnapshot> found = snapshots_->Get(q.snapshot_id());
    if (!found.ok()) return agent::ToGrpcStatus(found.status());
    snapshot = std::move(*found);
  } else {
    Targets all;
    s = Select(q.selector(), q.allow_partial(), nullptr, &all);
    if (!s.ok()) return s;
    v1::CreateSnapshotRequest create;
    create.set_selector(q.selector());
    create.set_id("");
    create.add_multilogs(request->request().multilog());
    create.set_keep_s(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(TimeoutOf(q)).count() *
            3 +
        10));
    create.set_allow_partial(q.allow_partial());
    Result<v1::FleetSnapshot> taken =
        snapshots_->Create(all.agents, all.excluded, create);
    if (!taken.ok()) return agent::ToGrpcStatus(taken.status());
    if (!taken->committed()) {
      return grpc::Status(
          grpc::StatusCode::ABORTED,
          "the snapshot for the query was aborted: " + taken->problem());
    }
    snapshot = std::move(*taken);
    ours = true;
  }
  struct ReleaseOurs {
    const CoordinatorService* service;
    SnapshotStore* store;
    const v1::FleetSnapshot& snapshot;
    bool ours;
    ~ReleaseOurs() {
      if (!ours) return;
      if (store->Forget(snapshot.id()).ok()) service->ReleaseOnHosts(snapshot);
    }
  } release{this, snapshots_, snapshot, ours};

  Targets targets;
  // The query's own snapshot holds exactly the selected hosts.
  s = Select(ours ? "" : q.selector(), q.allow_partial(), &snapshot, &targets);
  if (!s.ok()) return s;
  v1::GetTopKRequest one = request->request();
  one.set_snapshot_id(snapshot.id());
  Result<DistributedTopK> top =
      TopKAcross(targets.agents, one, q.allow_partial(), TimeoutOf(q));
  if (!top.ok()) return agent::ToGrpcStatus(top.status());
  for (v1::TopKEntry& e : top->top) *response->add_top() = std::move(e);
  response->set_kth_value(top->kth_value);
  response->set_records(top->records);
  response->set_rounds(top->rounds);
  response->set_candidates(top->candidates);
  for (const std::string& e : targets.excluded) response->add_excluded(e);
  for (const std::string& e : top->excluded) response->add_excluded(e);
  for (const v1::FleetSnapshotHost& h : snapshot.hosts()) {
    if (ours && h.state() != v1::FLEET_HOST_STATE_COMMITTED) {
      response->add_excluded(h.agent() + ": " + FleetHostStateName(h.state()) +
                             (h.error().empty() ? "" : " (" + h.error() + ")"));
    }
  }
  response->set_partial(top->partial || response->excluded_size() > 0 ||
                        snapshot.partial());
  response->set_snapshot_id(snapshot.id());
  response->set_settled_ns(snapshot.settled_ns());
  return grpc::Status::OK;
}

}  // namespace loupe::coordinator
