#include "agent/snapshot_registry.h"

#include <algorithm>
#include <utility>

namespace loupe::agent {
namespace {

std::string Quoted(std::string_view id) { return "'" + std::string(id) + "'"; }

}  // namespace

SnapshotRegistry::SnapshotRegistry(Clock clock)
    : clock_(clock ? std::move(clock)
                   : Clock([] { return std::chrono::steady_clock::now(); })) {}

Status SnapshotRegistry::CheckId(std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("snapshot id is empty");
  if (id.size() > kMaxSnapshotIdBytes) {
    return Status::InvalidArgument(
        "snapshot id is " + std::to_string(id.size()) + " bytes; at most " +
        std::to_string(kMaxSnapshotIdBytes) + " are allowed");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    if (c < 0x21 || c > 0x7e) {
      return Status::InvalidArgument(
          "snapshot id has a blank or non-printable character at byte " +
          std::to_string(i) +
          "; use printable ASCII without blanks (e.g. 'q-20260101-1')");
    }
  }
  return Status::Ok();
}

void SnapshotRegistry::SetPreparedCountLocked() {
  size_t n = 0;
  for (const auto& [id, e] : open_) {
    if (e.view.state == SnapshotState::kPrepared) ++n;
  }
  prepared_.store(n, std::memory_order_release);
  lifted_.notify_all();
}

void SnapshotRegistry::EndLocked(const std::string& id, std::string how) {
  open_.erase(id);
  for (auto it = ended_.begin(); it != ended_.end(); ++it) {
    if (it->first == id) {
      ended_.erase(it);
      break;
    }
  }
  ended_.emplace_back(id, std::move(how));
  if (ended_.size() > kRememberedEndedSnapshots) ended_.pop_front();
}

void SnapshotRegistry::ExpireLocked() {
  const auto now = clock_();
  bool changed = false;
  for (auto it = open_.begin(); it != open_.end();) {
    const Entry& e = it->second;
    if (now < e.deadline) {
      ++it;
      continue;
    }
    const std::string id = it->first;
    ++it;
    EndLocked(id, e.view.state == SnapshotState::kPrepared
                      ? "its lease of " + std::to_string(e.view.lease_ms) +
                            " ms ended before it was committed"
                      : "it was kept for " + std::to_string(e.view.keep_s) +
                            " s after its commit");
    changed = true;
  }
  if (changed) SetPreparedCountLocked();
}

Status SnapshotRegistry::EndedStatus(const std::string& id,
                                     std::string_view call) const {
  for (const auto& [ended, how] : ended_) {
    if (ended == id) {
      return Status::FailedPrecondition(
          std::string(call) + ": snapshot " + Quoted(id) +
          " has ended: " + how + "; prepare a new snapshot under a new id");
    }
  }
  return Status::NotFound(std::string(call) + ": no snapshot " + Quoted(id) +
                          " on this agent (ids do not survive a restart)");
}

Result<SnapshotView> SnapshotRegistry::Prepare(
    const std::string& id, std::vector<std::string> multilogs,
    uint32_t lease_ms, uint64_t agent_time_ns, const TakeTails& take) {
  LOUPE_RETURN_IF_ERROR(CheckId(id));
  if (lease_ms == 0) lease_ms = kDefaultLeaseMs;
  if (lease_ms < kMinLeaseMs || lease_ms > kMaxLeaseMs) {
    return Status::InvalidArgument("PrepareSnapshot: lease_ms " +
                                   std::to_string(lease_ms) + " is outside " +
                                   std::to_string(kMinLeaseMs) + "-" +
                                   std::to_string(kMaxLeaseMs));
  }
  std::sort(multilogs.begin(), multilogs.end());
  multilogs.erase(std::unique(multilogs.begin(), multilogs.end()),
                  multilogs.end());
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  if (auto it = open_.find(id); it != open_.end()) {
    const Entry& e = it->second;
    if (e.multilogs != multilogs || e.view.lease_ms != lease_ms) {
      return Status::AlreadyExists(
          "PrepareSnapshot: snapshot " + Quoted(id) +
          " exists with other multilogs or another lease_ms; use a new id");
    }
    SnapshotView first = e.view;
    first.state = SnapshotState::kPrepared;
    first.keep_s = 0;
    first.remaining = std::chrono::milliseconds(lease_ms);
    return first;
  }
  for (const auto& [ended, how] : ended_) {
    if (ended == id) return EndedStatus(id, "PrepareSnapshot");
  }
  if (open_.size() >= kMaxOpenSnapshots) {
    return Status::ResourceExhausted(
        "PrepareSnapshot: " + std::to_string(kMaxOpenSnapshots) +
        " snapshots are open on this agent; release or abort one first");
  }
  Result<std::vector<SnapshotTail>> tails = take(multilogs);
  if (!tails.ok()) return tails.status();
  Entry e;
  e.multilogs = std::move(multilogs);
  e.view.id = id;
  e.view.state = SnapshotState::kPrepared;
  e.view.tails = std::move(tails).value();
  std::sort(e.view.tails.begin(), e.view.tails.end(),
            [](const SnapshotTail& a, const SnapshotTail& b) {
              return a.multilog < b.multilog;
            });
  e.view.agent_time_ns = agent_time_ns;
  e.view.lease_ms = lease_ms;
  e.view.remaining = std::chrono::milliseconds(lease_ms);
  e.deadline = clock_() + std::chrono::milliseconds(lease_ms);
  SnapshotView answer = e.view;
  open_.emplace(id, std::move(e));
  SetPreparedCountLocked();
  return answer;
}

Result<SnapshotView> SnapshotRegistry::Commit(const std::string& id,
                                              uint32_t keep_s) {
  LOUPE_RETURN_IF_ERROR(CheckId(id));
  if (keep_s == 0) keep_s = kDefaultKeepS;
  if (keep_s > kMaxKeepS) {
    return Status::InvalidArgument(
        "CommitSnapshot: keep_s " + std::to_string(keep_s) +
        " is over the maximum of " + std::to_string(kMaxKeepS));
  }
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  auto it = open_.find(id);
  if (it == open_.end()) return EndedStatus(id, "CommitSnapshot");
  Entry& e = it->second;
  if (e.view.state == SnapshotState::kCommitted) {
    if (e.view.keep_s != keep_s) {
      return Status::FailedPrecondition(
          "CommitSnapshot: snapshot " + Quoted(id) +
          " is already committed with keep_s " + std::to_string(e.view.keep_s));
    }
    return e.committed;
  }
  e.view.state = SnapshotState::kCommitted;
  e.view.keep_s = keep_s;
  e.view.remaining = std::chrono::seconds(keep_s);
  e.deadline = clock_() + std::chrono::seconds(keep_s);
  e.committed = e.view;
  SetPreparedCountLocked();
  return e.committed;
}

Status SnapshotRegistry::Abort(const std::string& id) {
  LOUPE_RETURN_IF_ERROR(CheckId(id));
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  auto it = open_.find(id);
  if (it == open_.end()) {
    for (const auto& [ended, how] : ended_) {
      if (ended == id && how == "it was aborted") return Status::Ok();
    }
    return EndedStatus(id, "AbortSnapshot");
  }
  if (it->second.view.state == SnapshotState::kCommitted) {
    return Status::FailedPrecondition("AbortSnapshot: snapshot " + Quoted(id) +
                                      " is committed; release it instead");
  }
  EndLocked(id, "it was aborted");
  SetPreparedCountLocked();
  return Status::Ok();
}

Status SnapshotRegistry::Release(const std::string& id) {
  LOUPE_RETURN_IF_ERROR(CheckId(id));
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  auto it = open_.find(id);
  if (it == open_.end()) {
    for (const auto& [ended, how] : ended_) {
      if (ended == id && how == "it was released") return Status::Ok();
    }
    return EndedStatus(id, "ReleaseSnapshot");
  }
  EndLocked(id, "it was released");
  SetPreparedCountLocked();
  return Status::Ok();
}

void SnapshotRegistry::AbortPrepared(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = open_.begin(); it != open_.end();) {
    const std::string id = it->first;
    const bool prepared = it->second.view.state == SnapshotState::kPrepared;
    ++it;
    if (prepared) EndLocked(id, why);
  }
  SetPreparedCountLocked();
}

std::vector<SnapshotView> SnapshotRegistry::List() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  const auto now = clock_();
  std::vector<SnapshotView> out;
  out.reserve(open_.size());
  for (const auto& [id, e] : open_) {
    out.push_back(e.view);
    out.back().remaining =
        std::chrono::duration_cast<std::chrono::nanoseconds>(e.deadline - now);
  }
  return out;
}

Result<uint64_t> SnapshotRegistry::Find(const std::string& id,
                                        const std::string& multilog,
                                        const void* identity) {
  LOUPE_RETURN_IF_ERROR(CheckId(id));
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  auto it = open_.find(id);
  if (it == open_.end()) {
    Status s = EndedStatus(id, "snapshot_id");
    // Reading at an ended snapshot is NOT_FOUND either way.
    return Status::NotFound(s.message());
  }
  for (const SnapshotTail& t : it->second.view.tails) {
    if (t.multilog != multilog) continue;
    std::shared_ptr<const void> seen = t.identity.lock();
    if (seen.get() != identity) {
      return Status::NotFound("snapshot " + Quoted(id) + ": multilog '" +
                              multilog +
                              "' was dropped (and perhaps re-created) since "
                              "the snapshot was prepared");
    }
    return t.tail;
  }
  return Status::NotFound("snapshot " + Quoted(id) +
                          " does not cover multilog '" + multilog +
                          "'; prepare it with that multilog");
}

std::optional<uint64_t> SnapshotRegistry::CapLocked(
    const std::string& multilog, const void* identity) const {
  std::optional<uint64_t> cap;
  for (const auto& [id, e] : open_) {
    if (e.view.state != SnapshotState::kPrepared) continue;
    for (const SnapshotTail& t : e.view.tails) {
      if (t.multilog != multilog) continue;
      if (t.identity.lock().get() != identity) continue;
      cap = cap ? std::min(*cap, t.tail) : t.tail;
    }
  }
  return cap;
}

std::optional<uint64_t> SnapshotRegistry::Cap(const std::string& multilog,
                                              const void* identity) {
  // Acquire pairs with the release in SetPreparedCountLocked.
  if (prepared_.load(std::memory_order_acquire) == 0) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  return CapLocked(multilog, identity);
}

bool SnapshotRegistry::AwaitUncapped(const std::string& multilog,
                                     const void* identity, uint64_t end,
                                     std::chrono::nanoseconds timeout) {
  if (prepared_.load(std::memory_order_acquire) == 0) return true;
  std::unique_lock<std::mutex> lock(mu_);
  const auto give_up = clock_() + timeout;
  for (;;) {
    ExpireLocked();
    const std::optional<uint64_t> cap = CapLocked(multilog, identity);
    if (!cap || *cap >= end) return true;
    const auto now = clock_();
    if (now >= give_up) return false;
    // Wake at the first lease end (expiry is evaluated, not timed), and
    // at least every millisecond so that an injected clock is followed.
    auto wake = give_up;
    for (const auto& [id, e] : open_) {
      if (e.view.state == SnapshotState::kPrepared) {
        wake = std::min(wake, e.deadline);
      }
    }
    const auto wait = std::min<std::chrono::nanoseconds>(
        wake - now, std::chrono::milliseconds(1));
    lifted_.wait_for(lock, std::max<std::chrono::nanoseconds>(
                               wait, std::chrono::nanoseconds(1000)));
  }
}

}  // namespace loupe::agent
