// AgentService: leased snapshots (PrepareSnapshot, CommitSnapshot,
// AbortSnapshot, ReleaseSnapshot, ListSnapshots) over the SnapshotRegistry
// of agent/snapshot_registry.h; requests read at them through
// agent/internal/snapshot_resolve.h.
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/internal/service_internal.h"
#include "agent/internal/snapshot_resolve.h"
#include "agent/service.h"

namespace loupe::agent {

using service_internal::WallNs;

namespace {

constexpr size_t kMaxSnapshotMultilogs = 1024;

void FillTail(const SnapshotTail& t, v1::SnapshotTail* out) {
  out->set_multilog(t.multilog);
  out->set_tail(t.tail);
  out->set_head(t.head);
  out->set_settled_ns(t.settled_ns);
  out->set_settled_exact(t.settled_exact);
}

void FillInfo(const SnapshotView& v, uint64_t start_time_ns,
              v1::SnapshotInfo* out) {
  out->set_id(v.id);
  out->set_state(v.state == SnapshotState::kPrepared
                     ? v1::SNAPSHOT_STATE_PREPARED
                     : v1::SNAPSHOT_STATE_COMMITTED);
  for (const SnapshotTail& t : v.tails) FillTail(t, out->add_tails());
  out->set_agent_time_ns(v.agent_time_ns);
  out->set_start_time_ns(start_time_ns);
  out->set_lease_ms(v.lease_ms);
  out->set_keep_s(v.keep_s);
  out->set_remaining_ms(
      v.remaining.count() > 0
          ? static_cast<uint64_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    v.remaining)
                    .count())
          : 0);
}

}  // namespace

grpc::Status AgentService::PrepareSnapshot(
    grpc::ServerContext*, const v1::PrepareSnapshotRequest* request,
    v1::PrepareSnapshotResponse* response) {
  return Serve(kPrepareSnapshot, [&]() -> grpc::Status {
    if (static_cast<size_t>(request->multilogs_size()) >
        kMaxSnapshotMultilogs) {
      return service_internal::Invalid(
          "PrepareSnapshot: " + std::to_string(request->multilogs_size()) +
          " multilogs named; at most " + std::to_string(kMaxSnapshotMultilogs) +
          " per snapshot");
    }
    for (const std::string& name : request->multilogs()) {
      if (name.empty() || name.size() > kMaxMultilogNameBytes) {
        return service_internal::Invalid(
            "PrepareSnapshot: multilog names are 1-" +
            std::to_string(kMaxMultilogNameBytes) + " bytes");
      }
    }
    std::vector<std::string> names(request->multilogs().begin(),
                                   request->multilogs().end());
    const uint64_t now_ns = WallNs();
    // Runs under the snapshot registry's lock: the tails are loaded and
    // capped in one step.
    auto take = [&](const std::vector<std::string>& wanted)
        -> Result<std::vector<SnapshotTail>> {
      std::map<std::string, HostedMultilog> hosted;
      for (HostedMultilog& h : registry_->List()) {
        std::string name = h.name;
        hosted.emplace(std::move(name), std::move(h));
      }
      std::vector<const HostedMultilog*> chosen;
      if (wanted.empty()) {
        for (const auto& [name, h] : hosted) chosen.push_back(&h);
      } else {
        for (const std::string& name : wanted) {
          auto it = hosted.find(name);
          if (it == hosted.end()) {
            Result<std::shared_ptr<Multilog>> found = registry_->Find(name);
            return found.ok() ? Status::NotFound("PrepareSnapshot: multilog '" +
                                                 name + "' was just dropped")
                              : found.status();
          }
          chosen.push_back(&it->second);
        }
      }
      std::vector<SnapshotTail> tails;
      tails.reserve(chosen.size());
      for (const HostedMultilog* h : chosen) {
        const DataLog& data = h->multilog->data_log();
        SnapshotTail t;
        t.multilog = h->name;
        // The settled time before the read tail: an append not in flight
        // when Oldest looks was visible before (below the tail loaded
        // next) or enters later and stamps later than now_ns. The
        // dataplane's multilog (pinned: no RPC appends) likewise: a burst
        // stamped before its settled time is below the tail loaded next.
        t.settled_ns =
            snapshots_->appends.Oldest(h->multilog.get()).value_or(now_ns);
        t.settled_exact = true;
        if (h->pinned) {
          if (dataplane_settled_) {
            t.settled_ns = dataplane_settled_().value_or(now_ns);
          } else {
            t.settled_exact = false;  // agent_time_ns, an approximation
          }
        }
        if (t.settled_ns > now_ns) t.settled_ns = now_ns;
        t.tail = data.read_tail();
        t.head = data.write_tail();
        t.identity = h->multilog;
        tails.push_back(std::move(t));
      }
      return tails;
    };
    Result<SnapshotView> v = snapshots_->registry.Prepare(
        request->id(), std::move(names), request->lease_ms(), now_ns, take);
    if (!v.ok()) return ToGrpcStatus(v.status());
    for (const SnapshotTail& t : v->tails) FillTail(t, response->add_tails());
    response->set_agent_time_ns(v->agent_time_ns);
    response->set_start_time_ns(start_time_ns_);
    response->set_lease_ms(v->lease_ms);
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::CommitSnapshot(
    grpc::ServerContext*, const v1::CommitSnapshotRequest* request,
    v1::CommitSnapshotResponse* response) {
  return Serve(kCommitSnapshot, [&]() -> grpc::Status {
    Result<SnapshotView> v =
        snapshots_->registry.Commit(request->id(), request->keep_s());
    if (!v.ok()) return ToGrpcStatus(v.status());
    FillInfo(*v, start_time_ns_, response->mutable_snapshot());
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::AbortSnapshot(
    grpc::ServerContext*, const v1::AbortSnapshotRequest* request,
    v1::AbortSnapshotResponse*) {
  return Serve(kAbortSnapshot, [&]() -> grpc::Status {
    return ToGrpcStatus(snapshots_->registry.Abort(request->id()));
  });
}

grpc::Status AgentService::ReleaseSnapshot(
    grpc::ServerContext*, const v1::ReleaseSnapshotRequest* request,
    v1::ReleaseSnapshotResponse*) {
  return Serve(kReleaseSnapshot, [&]() -> grpc::Status {
    return ToGrpcStatus(snapshots_->registry.Release(request->id()));
  });
}

grpc::Status AgentService::ListSnapshots(grpc::ServerContext*,
                                         const v1::ListSnapshotsRequest*,
                                         v1::ListSnapshotsResponse* response) {
  return Serve(kListSnapshots, [&]() -> grpc::Status {
    for (const SnapshotView& v : snapshots_->registry.List()) {
      FillInfo(v, start_time_ns_, response->add_snapshots());
    }
    return grpc::Status::OK;
  });
}

}  // namespace loupe::agent
