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

int64_t OffsetOf(const v1::FleetSnapshot* snapshot, const std::string& agent) {
  if (snapshot == nullptr) return 0;
  for (const v1::FleetSnapshotHost& h : snapshot->hosts()) {
    if (h.agent() == agent) return h.clock_offset_ns();
  }
  return 0;
}

}  // namespace

grpc::Status CoordinatorService::GetAggregate(
    grpc::ServerContext*, const v1::FleetAggregateRequest* request,
    v1::FleetAggregateResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  const v1::FleetQuery& q = request->fleet();
  grpc::Status s = CheckQuery(q, request->request().snapshot(),
                              request->request().snapshot_id());
  if (!s.ok()) return s;
  std::optional<v1::FleetSnapshot> snapshot;
  if (!q.snapshot_id().empty()) {
    Result<v1::FleetSnapshot> found = snapshots_->Get(q.snapshot_id());
    if (!found.ok()) return agent::ToGrpcStatus(found.status());
    snapshot = std::move(*found);
  }
  const v1::FleetSnapshot* at = snapshot ? &*snapshot : nullptr;
  Targets targets;
  s = Select(q.selector(), q.allow_partial(), at, &targets);
  if (!s.ok()) return s;

  v1::GetAggregateRequest one = request->request();
  one.set_with_bins(true);  // quantiles merge from bins
  if (at != nullptr) one.set_snapshot_id(at->id());
  const auto replies = FanOut<v1::GetAggregateResponse>(
      targets.agents.size(), std::chrono::system_clock::now() + TimeoutOf(q),
      [&](size_t i, grpc::ClientContext* ctx, v1::GetAggregateResponse* out,
          std::function<void(grpc::Status)> done) {
        targets.agents[i].stub->async()->GetAggregate(ctx, &one, out,
                                                      std::move(done));
      });
  std::vector<const v1::GetAggregateResponse*> parts;
  for (size_t i = 0; i < replies.size(); ++i) {
    const std::string& name = targets.agents[i].name;
    v1::FleetHostAnswer* host = response->add_hosts();
    host->set_agent(name);
    host->set_clock_offset_ns(OffsetOf(at, name));
    if (!replies[i].status.ok()) {
      host->set_error(Describe(replies[i].status));
      if (!q.allow_partial()) {
        return grpc::Status(
            replies[i].status.error_code(),
            "agent " + Quoted(name) + ": " + replies[i].status.error_message());
      }
      targets.excluded.push_back(name + ": " + host->error());
      continue;
    }
    *host->mutable_aggregate() = replies[i].response;
    parts.push_back(&replies[i].response);
  }
  if (parts.empty()) {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        "no selected agent answered: " + targets.excluded.front());
  }
  Status merged = MergeAggregates(parts, response->mutable_merged());
  if (!merged.ok()) return agent::ToGrpcStatus(merged);
  if (!request->request().with_bins()) {
    response->mutable_merged()->clear_bins();
    for (v1::FleetHostAnswer& h : *response->mutable_hosts()) {
      h.mutable_aggregate()->clear_bins();
    }
  }
  for (const std::string& e : targets.excluded) response->add_excluded(e);
  response->set_partial(response->merged().partial() ||
                        !targets.excluded.empty() ||
                        (at != nullptr && at->partial()));
  if (at != nullptr) {
    response->set_snapshot_id(at->id());
    response->set_settled_ns(at->settled_ns());
  }
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
