#include "coordinator/fleet/fleet_snapshot.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "agent/client/agent_client.h"
#include "coordinator/fleet/fan_out.h"

namespace loupe::coordinator {

namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

constexpr uint32_t kMinLeaseMs = 10;
constexpr uint32_t kMaxLeaseMs = 10'000;
constexpr uint32_t kMaxKeepS = 86'400;
constexpr size_t kMaxIdBytes = 128;
// Aborts and releases are best effort; they get this long.
constexpr std::chrono::milliseconds kCleanupTimeout{1000};

uint64_t WallNs(SystemClock::time_point t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
          .count());
}

std::string Describe(const grpc::Status& s) {
  return std::string(GrpcCodeName(s.error_code())) + ": " + s.error_message();
}

// The wall-clock time of a steady-clock point, through one pair of
// readings taken together.
struct ClockPair {
  SteadyClock::time_point steady = SteadyClock::now();
  SystemClock::time_point system = SystemClock::now();
  uint64_t WallNsOf(SteadyClock::time_point t) const {
    return WallNs(
        system + std::chrono::duration_cast<SystemClock::duration>(t - steady));
  }
};

// Sends `Method` with a request made by `make(i)` to the agents in `which`.
template <typename Response, typename Request, typename Call>
std::vector<Reply<Response>> Each(const std::vector<FleetAgent>& agents,
                                  const std::vector<size_t>& which,
                                  SystemClock::time_point deadline,
                                  const Request& request, Call call) {
  return FanOut<Response>(which.size(), deadline,
                          [&](size_t i, grpc::ClientContext* ctx, Response* out,
                              std::function<void(grpc::Status)> done) {
                            call(agents[which[i]].stub->async(), ctx, &request,
                                 out, std::move(done));
                          });
}

void Abort(const std::vector<FleetAgent>& agents,
           const std::vector<size_t>& which, const std::string& id) {
  if (which.empty()) return;
  v1::AbortSnapshotRequest req;
  req.set_id(id);
  Each<v1::AbortSnapshotResponse>(
      agents, which, SystemClock::now() + kCleanupTimeout, req,
      [](auto* async, grpc::ClientContext* ctx, const auto* r, auto* out,
         std::function<void(grpc::Status)> done) {
        async->AbortSnapshot(ctx, r, out, std::move(done));
      });
}

}  // namespace

const char* HostSnapshotStateName(HostSnapshotState s) {
  switch (s) {
    case HostSnapshotState::kCommitted:
      return "committed";
    case HostSnapshotState::kAborted:
      return "aborted";
    case HostSnapshotState::kFailed:
      return "failed";
    case HostSnapshotState::kNoAnswer:
      return "no answer";
  }
  return "?";
}

Result<FleetSnapshot> TakeFleetSnapshot(const std::vector<FleetAgent>& agents,
                                        const FleetSnapshotOptions& options) {
  if (agents.empty()) {
    return Status::InvalidArgument("snapshot: no agent is selected");
  }
  if (options.id.empty() || options.id.size() > kMaxIdBytes) {
    return Status::InvalidArgument("snapshot: an id is 1-" +
                                   std::to_string(kMaxIdBytes) + " bytes");
  }
  if (options.lease_ms < kMinLeaseMs || options.lease_ms > kMaxLeaseMs) {
    return Status::InvalidArgument("snapshot: lease_ms must be from " +
                                   std::to_string(kMinLeaseMs) + " to " +
                                   std::to_string(kMaxLeaseMs) + ", got " +
                                   std::to_string(options.lease_ms));
  }
  if (options.keep_s < 1 || options.keep_s > kMaxKeepS) {
    return Status::InvalidArgument("snapshot: keep_s must be from 1 to " +
                                   std::to_string(kMaxKeepS) + ", got " +
                                   std::to_string(options.keep_s));
  }
  FleetSnapshot snap;
  snap.id = options.id;
  snap.lease_ms = options.lease_ms;
  snap.keep_s = options.keep_s;
  snap.hosts.resize(agents.size());
  std::vector<size_t> all(agents.size());
  for (size_t i = 0; i < agents.size(); ++i) {
    all[i] = i;
    snap.hosts[i].agent = agents[i].name;
  }

  // Prepare everywhere; answers count until T0 + 3/4 of the lease.
  v1::PrepareSnapshotRequest prepare;
  prepare.set_id(options.id);
  for (const std::string& m : options.multilogs) prepare.add_multilogs(m);
  prepare.set_lease_ms(options.lease_ms);
  const ClockPair t0;
  snap.t0_ns = WallNs(t0.system);
  const auto prepare_deadline =
      t0.system + std::chrono::milliseconds(options.lease_ms * 3 / 4);
  auto prepared = Each<v1::PrepareSnapshotResponse>(
      agents, all, prepare_deadline, prepare,
      [](auto* async, grpc::ClientContext* ctx, const auto* r, auto* out,
         std::function<void(grpc::Status)> done) {
        async->PrepareSnapshot(ctx, r, out, std::move(done));
      });

  std::vector<size_t> ready, missing;
  for (size_t i = 0; i < agents.size(); ++i) {
    HostSnapshot& h = snap.hosts[i];
    const Reply<v1::PrepareSnapshotResponse>& r = prepared[i];
    if (r.status.ok() &&
        r.received <= t0.steady + (prepare_deadline - t0.system)) {
      const v1::PrepareSnapshotResponse& p = r.response;
      h.tails.assign(p.tails().begin(), p.tails().end());
      h.agent_time_ns = p.agent_time_ns();
      h.start_time_ns = p.start_time_ns();
      const uint64_t sent = t0.WallNsOf(r.sent);
      const uint64_t received = t0.WallNsOf(r.received);
      h.rtt_ns = received - sent;
      h.clock_offset_ns = static_cast<int64_t>(p.agent_time_ns()) -
                          static_cast<int64_t>(sent + h.rtt_ns / 2);
      h.settled_ns = std::numeric_limits<uint64_t>::max();
      for (const v1::SnapshotTail& t : p.tails()) {
        h.settled_ns = std::min<uint64_t>(h.settled_ns, t.settled_ns());
      }
      if (p.tails().empty()) h.settled_ns = p.agent_time_ns();
      ready.push_back(i);
    } else {
      h.state = r.answered && r.status.error_code() !=
                                  grpc::StatusCode::DEADLINE_EXCEEDED
                    ? HostSnapshotState::kFailed
                    : HostSnapshotState::kNoAnswer;
      h.error = r.answered
                    ? Describe(r.status)
                    : "no answer within 3/4 of the lease (" +
                          std::to_string(options.lease_ms * 3 / 4) + " ms)";
      missing.push_back(i);
    }
  }
  auto list_problems = [&](const std::vector<size_t>& hosts) {
    std::string out;
    for (size_t i : hosts) {
      if (!out.empty()) out += "; ";
      out += snap.hosts[i].agent + ": " + snap.hosts[i].error;
    }
    return out;
  };

  if (!missing.empty() && (!options.allow_partial || ready.empty())) {
    // Abort everywhere: the ones that answered, and the ones that did not
    // (a late prepare must not hold a cap until its lease ends).
    Abort(agents, all, options.id);
    for (size_t i : ready) snap.hosts[i].state = HostSnapshotState::kAborted;
    snap.problem = "aborted: " + list_problems(missing);
    return snap;
  }
  if (!missing.empty()) Abort(agents, missing, options.id);

  // Commit the ones that answered, before their leases end.
  v1::CommitSnapshotRequest commit;
  commit.set_id(options.id);
  commit.set_keep_s(options.keep_s);
  snap.commit_ns = WallNs(SystemClock::now());
  auto committed = Each<v1::CommitSnapshotResponse>(
      agents, ready, t0.system + std::chrono::milliseconds(options.lease_ms),
      commit,
      [](auto* async, grpc::ClientContext* ctx, const auto* r, auto* out,
         std::function<void(grpc::Status)> done) {
        async->CommitSnapshot(ctx, r, out, std::move(done));
      });
  std::vector<size_t> in, failed;
  for (size_t k = 0; k < ready.size(); ++k) {
    HostSnapshot& h = snap.hosts[ready[k]];
    if (committed[k].status.ok()) {
      h.state = HostSnapshotState::kCommitted;
      in.push_back(ready[k]);
    } else {
      h.state = HostSnapshotState::kFailed;
      h.error = "commit: " + Describe(committed[k].status);
      failed.push_back(ready[k]);
    }
  }
  if (!failed.empty()) {
    // Its lease ran out there, or it went away: no atomic snapshot of
    // every host. Without allow_partial, the others are released.
    Abort(agents, failed, options.id);
    if (!options.allow_partial || in.empty()) {
      std::vector<FleetAgent> holding;
      for (size_t i : in) holding.push_back(agents[i]);
      ReleaseFleetSnapshot(holding, options.id, kCleanupTimeout);
      for (size_t i : in) snap.hosts[i].state = HostSnapshotState::kAborted;
      missing.insert(missing.end(), failed.begin(), failed.end());
      snap.problem = "aborted: " + list_problems(missing);
      return snap;
    }
  }
  missing.insert(missing.end(), failed.begin(), failed.end());
  snap.committed = true;
  snap.partial = !missing.empty();
  if (snap.partial) snap.problem = "partial: " + list_problems(missing);
  snap.settled_ns = std::numeric_limits<uint64_t>::max();
  for (size_t i : in) {
    snap.settled_ns = std::min(snap.settled_ns, snap.hosts[i].settled_ns);
  }
  return snap;
}

std::vector<std::string> ReleaseFleetSnapshot(
    const std::vector<FleetAgent>& agents, const std::string& id,
    std::chrono::milliseconds timeout) {
  std::vector<size_t> all(agents.size());
  for (size_t i = 0; i < agents.size(); ++i) all[i] = i;
  v1::ReleaseSnapshotRequest req;
  req.set_id(id);
  auto replies = Each<v1::ReleaseSnapshotResponse>(
      agents, all, SystemClock::now() + timeout, req,
      [](auto* async, grpc::ClientContext* ctx, const auto* r, auto* out,
         std::function<void(grpc::Status)> done) {
        async->ReleaseSnapshot(ctx, r, out, std::move(done));
      });
  std::vector<std::string> failed;
  for (size_t i = 0; i < agents.size(); ++i) {
    if (!replies[i].status.ok()) {
      failed.push_back(agents[i].name + ": " + Describe(replies[i].status));
    }
  }
  return failed;
}

}  // namespace loupe::coordinator
