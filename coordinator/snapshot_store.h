// SnapshotStore: the coordinator's distributed atomic snapshots, kept in
// memory and journaled in its state directory (one file per snapshot in
// <state_directory>/snapshots, replaced atomically and fsync'd), so that a
// restarted coordinator still answers the snapshots it committed and
// releases the ones it had not finished.
//
// Create runs the protocol of coordinator/fleet/fleet_snapshot.h over the
// agents given: it journals the snapshot as unfinished (its hosts named)
// before the first prepare is sent, then as committed, or removes the
// entry when every host was aborted. A coordinator that dies in between
// leaves an unfinished entry: Open hands it back for release on its hosts
// (their caps lift by themselves at lease end anyway; the release frees
// the ids and any host that did commit). Committed snapshots are kept
// until keep_s after the commit, as the agents keep them, then forgotten.
//
// Ids are "<coordinator name>:<id>" -- several coordinators never collide
// on an agent -- and the short form is accepted wherever an id is taken.
// At most `max_open` snapshots are open (committed or being created),
// kResourceExhausted beyond.
//
// Thread safety: every method may run concurrently with any other (one
// mutex, never held during a call to an agent or a file write of Create's
// protocol steps, which are serialized per id by the pending set).
#ifndef LOUPE_COORDINATOR_SNAPSHOT_STORE_H_
#define LOUPE_COORDINATOR_SNAPSHOT_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/fleet/fleet_snapshot.h"
#include "coordinator/proto/coordinator.pb.h"
#include "multilog/status.h"

namespace loupe::coordinator {

inline constexpr size_t kMaxOpenFleetSnapshots = 8;
inline constexpr size_t kMaxShortSnapshotIdBytes = 100;
// A journal entry is a few hundred bytes per host.
inline constexpr size_t kMaxJournalEntryBytes = 16 << 20;

struct SnapshotStoreOptions {
  std::string coordinator_name;
  std::string directory;  // the journal: <state_directory>/snapshots
  size_t max_open = kMaxOpenFleetSnapshots;
  // Wall clock in ns since the epoch; tests inject one.
  std::function<uint64_t()> now_ns;
};

// What Open found of a previous run.
struct JournalRecovery {
  // Snapshots to release on their hosts (unfinished or expired).
  std::vector<v1::FleetSnapshot> to_release;
  size_t kept = 0;  // committed ones still open
  // Files that are not journal entries ("path: why"), left untouched.
  std::vector<std::string> unreadable;
};

class SnapshotStore {
 public:
  // Creates the journal directory (0750) if needed and loads it.
  // kUnavailable with the path and errno's text if it cannot.
  static Result<std::unique_ptr<SnapshotStore>> Open(
      SnapshotStoreOptions options, JournalRecovery* recovery);

  // kInvalidArgument unless `id` is 1-kMaxShortSnapshotIdBytes printable
  // ASCII characters without blanks or ':' ("" is fine: one is made).
  static Status CheckShortId(std::string_view id);

  // The full id of a short or full one ("q1" -> "<name>:q1").
  std::string FullId(std::string_view id) const;

  // Takes a snapshot over `agents` (the selected ones that are not DOWN);
  // `excluded` are selected agents left out ("name: why"), listed in the
  // answer as FLEET_HOST_STATE_EXCLUDED (the caller allows them only with
  // allow_partial). Answers the snapshot, committed or not: one that was
  // aborted on every host (`problem` names each) is not kept.
  // kAlreadyExists, kResourceExhausted, kInvalidArgument as above;
  // kUnavailable if the journal cannot be written (nothing was sent).
  Result<v1::FleetSnapshot> Create(const std::vector<FleetAgent>& agents,
                                   const std::vector<std::string>& excluded,
                                   const v1::CreateSnapshotRequest& request);

  // kNotFound (saying whether it expired) for an id not open.
  Result<v1::FleetSnapshot> Get(std::string_view id);
  // Open snapshots, by id.
  std::vector<v1::FleetSnapshot> List();
  // Forgets `id` here and in the journal, and answers it for release on
  // its hosts. kNotFound as Get.
  Result<v1::FleetSnapshot> Forget(std::string_view id);

  size_t open();
  uint64_t created() const { return created_.load(); }
  uint64_t aborted() const { return aborted_.load(); }
  // The wall time of the Creates that committed or aborted, summed.
  uint64_t create_ns_sum() const { return create_ns_sum_.load(); }

 private:
  explicit SnapshotStore(SnapshotStoreOptions options);
  std::string PathOf(const std::string& full_id) const;
  Status Journal(const v1::FleetSnapshot& snapshot) const;
  void Unjournal(const std::string& full_id) const;
  void ExpireLocked(uint64_t now);
  Status NotOpenLocked(const std::string& full_id) const;

  const SnapshotStoreOptions options_;
  std::mutex mu_;
  std::map<std::string, v1::FleetSnapshot> open_;  // mu_, by full id
  std::set<std::string> pending_;                  // mu_: being created
  // Ids that ended (expired or released), newest last, for messages.
  std::vector<std::pair<std::string, std::string>> ended_;  // mu_
  uint64_t made_ = 0;                                       // mu_
  std::atomic<uint64_t> created_{0};
  std::atomic<uint64_t> aborted_{0};
  std::atomic<uint64_t> create_ns_sum_{0};
};

// "COMMITTED", "ABORTED", "FAILED", "NO_ANSWER", "EXCLUDED".
const char* FleetHostStateName(v1::FleetHostState state);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_SNAPSHOT_STORE_H_
