// SnapshotRegistry: the agent's named, leased snapshots (issue 13, section
// 1). A snapshot is an id and, per multilog, the read tail loaded once (with
// the write tail and settled time of the same moment). Prepare takes the
// tails and, while the snapshot is prepared, caps the tail the API shows for
// those multilogs at the smallest prepared tail (Cap); Commit lifts the cap
// and keeps the tails under the id for keep_s; Abort lifts and forgets;
// Release forgets. A prepared snapshot whose lease ends before Commit
// expires by itself: expiry is evaluated against the registry's steady
// clock on every call, so the cap is gone exactly when the lease is, and a
// late Commit is kFailedPrecondition. Every call is idempotent per id (the
// same id with the same arguments gives the same answer); at most
// kMaxOpenSnapshots are open (prepared or committed), kResourceExhausted
// beyond. Ids that ended (aborted, expired, released) are remembered in a
// bounded list, so that a late call says what happened to them.
//
// The registry knows no Multilog: the caller loads the tails (TakeTails,
// called under the registry's lock so that loading and capping are one
// step) and identifies each multilog by a weak pointer, so that a multilog
// dropped and re-created under the same name is not mistaken for the one
// the snapshot saw.
//
// Thread safety: every method may run concurrently with any other (one
// mutex). Cap is called on every query: with no prepared snapshot it is one
// acquire load and no lock.
#ifndef LOUPE_AGENT_SNAPSHOT_REGISTRY_H_
#define LOUPE_AGENT_SNAPSHOT_REGISTRY_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/status.h"

namespace loupe::agent {

inline constexpr size_t kMaxOpenSnapshots = 16;
inline constexpr size_t kMaxSnapshotIdBytes = 128;
inline constexpr uint32_t kDefaultLeaseMs = 250;
inline constexpr uint32_t kMinLeaseMs = 10;
inline constexpr uint32_t kMaxLeaseMs = 10'000;
inline constexpr uint32_t kDefaultKeepS = 600;
inline constexpr uint32_t kMaxKeepS = 86'400;
// Ended ids remembered for their error messages.
inline constexpr size_t kRememberedEndedSnapshots = 256;

struct SnapshotTail {
  std::string multilog;
  uint64_t tail = 0;  // read tail
  uint64_t head = 0;  // write tail
  uint64_t settled_ns = 0;
  bool settled_exact = true;
  // The multilog the tail belongs to (expired: it was dropped).
  std::weak_ptr<const void> identity;
};

enum class SnapshotState { kPrepared, kCommitted };

struct SnapshotView {
  std::string id;
  SnapshotState state = SnapshotState::kPrepared;
  std::vector<SnapshotTail> tails;  // by multilog name
  uint64_t agent_time_ns = 0;       // when prepared
  uint32_t lease_ms = 0;
  uint32_t keep_s = 0;  // committed
  // Until the lease ends (prepared) or the snapshot is forgotten.
  std::chrono::nanoseconds remaining{0};
};

class SnapshotRegistry {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Loads the tails of `multilogs` (empty: every multilog), or fails.
  using TakeTails = std::function<Result<std::vector<SnapshotTail>>(
      const std::vector<std::string>& multilogs)>;

  // `clock` defaults to std::chrono::steady_clock::now (tests inject one).
  explicit SnapshotRegistry(Clock clock = nullptr);
  SnapshotRegistry(const SnapshotRegistry&) = delete;
  SnapshotRegistry& operator=(const SnapshotRegistry&) = delete;

  // kInvalidArgument with the reason if `id` is not 1-128 printable ASCII
  // characters without blanks.
  static Status CheckId(std::string_view id);

  // lease_ms 0 = kDefaultLeaseMs; `multilogs` is compared as a set. A
  // repeated Prepare of a prepared or committed id with the same arguments
  // answers what the first did; with other arguments kAlreadyExists; of an
  // ended id kFailedPrecondition.
  Result<SnapshotView> Prepare(const std::string& id,
                               std::vector<std::string> multilogs,
                               uint32_t lease_ms, uint64_t agent_time_ns,
                               const TakeTails& take);
  // keep_s 0 = kDefaultKeepS. Repeated: the first commit's answer.
  Result<SnapshotView> Commit(const std::string& id, uint32_t keep_s);
  // Ok for a prepared id (lifted and forgotten) and an already aborted one;
  // kFailedPrecondition for a committed one (Release it).
  Status Abort(const std::string& id);
  // Forgets a prepared or committed id; Ok again for a released one.
  Status Release(const std::string& id);
  // Aborts every prepared snapshot, saying `why` to a late Commit (the
  // agent's shutdown: appends waiting in AwaitUncapped are answered).
  void AbortPrepared(const std::string& why);
  // Open snapshots by id, `remaining` as of now.
  std::vector<SnapshotView> List();

  // The tail of `multilog` in snapshot `id`; kNotFound (with why) if the
  // id is unknown or ended, does not cover the multilog, or the multilog
  // is not the one it saw (`identity`).
  Result<uint64_t> Find(const std::string& id, const std::string& multilog,
                        const void* identity);
  // The smallest tail of `multilog` over the prepared snapshots, if any.
  std::optional<uint64_t> Cap(const std::string& multilog,
                              const void* identity);
  // Waits until no prepared snapshot caps `multilog` below `end`, that is
  // until records below `end` are visible through the API: an append is
  // acknowledged only then, so that an acknowledged append is in every
  // snapshot prepared after the acknowledgement anywhere (issue 14,
  // promise 3). Woken by every commit, abort and release, and by lease
  // expiry; false if still capped after `timeout` (on the registry's
  // clock). With no prepared snapshot, one acquire load.
  bool AwaitUncapped(const std::string& multilog, const void* identity,
                     uint64_t end, std::chrono::nanoseconds timeout);

  size_t open() {
    std::lock_guard<std::mutex> lock(mu_);
    ExpireLocked();
    return open_.size();
  }

 private:
  struct Entry {
    SnapshotView view;
    std::vector<std::string> multilogs;              // as asked, sorted
    std::chrono::steady_clock::time_point deadline;  // lease, then keep
    SnapshotView committed;                          // Commit's answer
  };

  void ExpireLocked();
  void EndLocked(const std::string& id, std::string how);
  Status EndedStatus(const std::string& id, std::string_view call) const;
  void SetPreparedCountLocked();
  std::optional<uint64_t> CapLocked(const std::string& multilog,
                                    const void* identity) const;

  const Clock clock_;
  std::mutex mu_;
  // Notified whenever the number of prepared snapshots may have dropped.
  std::condition_variable lifted_;
  std::map<std::string, Entry> open_;  // mu_
  // (id, how it ended), oldest first, at most kRememberedEndedSnapshots.
  std::deque<std::pair<std::string, std::string>> ended_;  // mu_
  // Prepared snapshots in open_; release pairs with the acquire in Cap.
  std::atomic<size_t> prepared_{0};
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_SNAPSHOT_REGISTRY_H_
