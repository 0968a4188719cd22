// ProgramManager: the coordinator's programs across its agents -- apply
// all or nothing, diff, list, remove -- and the reconciler that keeps the
// agents at the desired programs of the ProgramStore.
//
// Apply (ApplyProgram, dry run or not), over the agents the program file's
// sections select (coordinator/program_plan.h) and those that had its
// previous desired version but are no longer selected (they lose it):
//   1. list: each agent's installed version and statements (ListPrograms),
//      all at once (coordinator/fleet/fan_out.h) with one deadline;
//   2. dry run on every selected agent, with if_version = what it has;
//      any refusal or unreachable agent: REFUSED, nothing changed, every
//      agent's problems listed; a dry run request stops here (CHECKED);
//   3. apply on all (RemoveProgram on those that lose it), with the same
//      if_version; if all answered OK, the desired state is saved: APPLIED;
//   4. otherwise every agent that applied -- or whose answer was lost and
//      so may have -- is put back: the statements it listed in step 1
//      under its old version (ApplyProgram with rollback and if_version =
//      the new version), or RemoveProgram when it had none; the desired
//      state is unchanged: ROLLED_BACK, or ROLLBACK_FAILED when a rollback
//      failed too (the reconciler then retries it).
// Every call has the call timeout as its deadline (or the RPC's own, when
// sooner); an apply makes at most six rounds of calls (list, dry run,
// apply, remove, and the two of the rollback).
//
// The reconciler (a thread) lists every agent's programs each reconcile
// interval, and at once when an agent comes UP or restarts (the pool's
// start_time_ns), and brings each agent whose version of a desired program
// differs -- or that lacks it, or has one that no longer goes to it -- to
// the desired state, logging what it does. Programs that the coordinator
// never had (an agent's configured ones) are left alone.
//
// Threads: every public method may be called from any thread. One mutex
// serializes applies, removals and reconciliation rounds (so none sees
// another half done); another guards what the reconciler last saw, read by
// ListAgents. The pool and the store must outlive the manager; Stop (or
// the destructor) joins the reconciler, bounded by one round.
#ifndef LOUPE_COORDINATOR_PROGRAM_MANAGER_H_
#define LOUPE_COORDINATOR_PROGRAM_MANAGER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "coordinator/agent_pool.h"
#include "coordinator/program_store.h"
#include "coordinator/proto/coordinator.pb.h"
#include "multilog/status.h"

namespace loupe::coordinator {

// Bounds. As many desired programs as an agent holds (its kMaxPrograms).
inline constexpr size_t kMaxProgramSourceBytes = 256;
inline constexpr size_t kMaxDesiredPrograms = 256;

struct ProgramManagerOptions {
  // The deadline of each round of calls to the agents.
  std::chrono::milliseconds call_timeout{5000};
  std::chrono::milliseconds reconcile_interval{5000};
  // Tests only: a pause between the dry run and the apply, so that a test
  // can stop an agent there (loupe-coordinator takes it from the
  // environment variable LOUPE_COORDINATOR_TEST_PAUSE_BEFORE_APPLY_MS).
  std::chrono::milliseconds pause_before_apply{0};
};

// Counters for /metrics.
struct ProgramStats {
  // Apply, dry run, diff and remove calls by outcome: CHECKED, APPLIED,
  // REFUSED, ROLLED_BACK, ROLLBACK_FAILED, or ERROR (the call failed as a
  // whole). Calls refused on their arguments alone are not counted.
  std::map<std::string, uint64_t> outcomes;
  uint64_t operations = 0;
  double operation_seconds_sum = 0;  // their wall time
  double last_operation_seconds = 0;
  uint64_t reconcile_rounds = 0;
  double reconcile_seconds_sum = 0;
  uint64_t reconcile_fixes = 0;     // an agent brought to a desired version
  uint64_t reconcile_failures = 0;  // such a call that failed
};

class ProgramManager {
 public:
  // Starts the reconciler; its first round runs at once.
  ProgramManager(const AgentPool* pool, ProgramStore* store,
                 ProgramManagerOptions options);
  ~ProgramManager();  // Stop()
  ProgramManager(const ProgramManager&) = delete;
  ProgramManager& operator=(const ProgramManager&) = delete;

  void Stop();  // idempotent

  // `deadline`: the RPC's, when it has one (calls never outlast it).
  Result<v1::FleetApplyProgramResponse> Apply(
      const v1::FleetApplyProgramRequest& request,
      std::chrono::system_clock::time_point deadline);
  Result<v1::FleetApplyProgramResponse> Diff(
      const v1::FleetDiffProgramRequest& request,
      std::chrono::system_clock::time_point deadline);
  Result<v1::FleetApplyProgramResponse> Remove(
      const v1::FleetRemoveProgramRequest& request,
      std::chrono::system_clock::time_point deadline);
  Result<v1::FleetListProgramsResponse> List(
      const v1::FleetListProgramsRequest& request,
      std::chrono::system_clock::time_point deadline);

  // AgentInfo's program fields for agent `name`, from the reconciler's
  // last listing.
  void FillAgentInfo(const std::string& name, v1::AgentInfo* info) const;

  // Runs one reconciliation round now (tests; the thread runs them too).
  void ReconcileNow();

  ProgramStats stats() const;

 private:
  // What the reconciler last saw of one agent.
  struct Seen {
    bool known = false;
    uint64_t checked_ns = 0;
    std::map<std::string, uint64_t> installed;  // program -> version
    std::string error;
  };

  void Run();
  void Reconcile();  // op_mu_ held
  void Count(const Result<v1::FleetApplyProgramResponse>& r,
             std::chrono::steady_clock::time_point start);
  std::chrono::system_clock::time_point Deadline(
      std::chrono::system_clock::time_point limit) const;
  Result<v1::FleetApplyProgramResponse> ApplyLocked(
      const std::string& name, uint64_t version, const std::string& text,
      const std::string& source, bool dry_run, bool diff,
      std::chrono::system_clock::time_point limit);  // op_mu_ held
  // What an agent has after a call: version 0 = none.
  void RecordVersions(const std::string& program,
                      const std::vector<std::pair<size_t, uint64_t>>& versions);
  // For each agent (configuration order), the desired version and text of
  // `program` for it; version 0 when it does not go to it.
  struct Target {
    uint64_t version = 0;
    std::string text;
    std::vector<uint32_t> sections;
  };
  Result<std::vector<Target>> TargetsOf(
      const DesiredProgram& program,
      const std::vector<AgentEntry>& agents) const;
  // The agents as last synced; SyncAgents takes in those that registered
  // or changed since (op_mu_ held).
  std::shared_ptr<const std::vector<AgentEntry>> Agents() const;
  void SyncAgents();
  // TargetsOf's versions, cached per (name, version): a version's text
  // never changes.
  std::vector<uint64_t> DesiredVersions(const DesiredProgram& program) const;

  const AgentPool* const pool_;
  ProgramStore* const store_;
  const ProgramManagerOptions options_;

  std::mutex op_mu_;  // one apply, removal or reconciliation at a time

  mutable std::mutex seen_mu_;
  // The pool's agents, appended to as they register: replaced whole, so a
  // reader holds its own (seen_mu_).
  std::shared_ptr<const std::vector<AgentEntry>> agents_;
  std::vector<Seen> seen_;  // seen_mu_, one per agent
  struct DesiredCacheEntry {
    uint64_t version = 0;
    std::shared_ptr<const std::vector<AgentEntry>> agents;  // computed for
    std::vector<uint64_t> versions;
  };
  mutable std::map<std::string, DesiredCacheEntry> desired_cache_;  // seen_mu_

  mutable std::mutex stats_mu_;
  ProgramStats stats_;  // stats_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // stop_mu_
  bool wake_ = false;      // stop_mu_: a round is wanted now
  std::thread reconciler_;
};

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_PROGRAM_MANAGER_H_
