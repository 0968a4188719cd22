// NetworkTriggers: the triggers of desired programs' `on = "network"`
// sections (coordinator/program_plan.h), evaluated by the coordinator over
// the agents' merged aggregate, windows complete fleet-wide only:
//
//   every round (when a trigger's next window has ended on the wall clock):
//     1. a fleet snapshot of every agent (allow_partial: DOWN ones left
//        out); H = its settled time, the minimum over the hosts
//     2. for each trigger, each window [end - period, end) with end <= H
//        not yet evaluated -- in (end, multilog, trigger) order -- the
//        merged GetAggregate at the snapshot; when it has a value and
//        `value op threshold` holds, an alert
//     3. the snapshot released; the state saved
//
// A trigger first evaluates the latest window complete at H; a backlog
// beyond kMaxWindowsPerRound windows is skipped (counted). Alerts go to
// the NOC sinks and live subscribers through the alert fan-in
// (AlertFanIn::Raise) with host = the coordinator's name and the key
// (coordinator, incarnation, multilog, sequence): the incarnation is this
// state directory's, sequences count per multilog. The windows reached and
// the next sequences are kept in `state_file` (replaced atomically) after
// the round's alerts were handed to the sinks: a crash re-evaluates at most
// that round, in the same order over final data, so a re-raised alert
// has the same key (at least once; a sink deduplicating by key, as
// Alertmanager does, sees it once).
//
// Not promised: a trigger set that changed across a crash may number a
// re-raised round differently; a window whose merged query failed
// (an agent without the aggregate, none answering) is skipped, counted and
// logged once per streak.
//
// Threads: one of its own; Stop (or the destructor) returns within about
// the calls' deadlines (a snapshot's lease, a query's timeout).
#ifndef LOUPE_COORDINATOR_NETWORK_TRIGGERS_H_
#define LOUPE_COORDINATOR_NETWORK_TRIGGERS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/alert_fan_in.h"
#include "coordinator/program_plan.h"
#include "coordinator/program_store.h"
#include "coordinator/service.h"
#include "multilog/status.h"

namespace loupe::coordinator {

inline constexpr size_t kMaxWindowsPerRound = 64;
inline constexpr size_t kMaxNetworkStateBytes = 4 << 20;

struct NetworkTriggerOptions {
  std::string coordinator_name;  // the alerts' host
  std::string state_file;        // "": nothing kept
  // How soon a round is tried again when H had not reached a window's end.
  std::chrono::milliseconds retry{100};
  std::chrono::milliseconds query_timeout{2000};
};

struct NetworkTriggerStats {
  uint64_t rounds = 0;
  uint64_t snapshot_failures = 0;
  uint64_t windows = 0;  // evaluated
  uint64_t alerts = 0;
  uint64_t errors = 0;      // windows whose merged query failed
  uint64_t skipped = 0;     // windows of a backlog beyond kMaxWindowsPerRound
  uint64_t triggers = 0;    // now evaluated
  uint64_t settled_ns = 0;  // H of the last round
};

class NetworkTriggers {
 public:
  // Reads the state file (a malformed one is an error naming it) and
  // starts the thread. `service`, `store` and `fan_in` outlive it.
  static Result<std::unique_ptr<NetworkTriggers>> Start(
      CoordinatorService* service, const ProgramStore* store,
      AlertFanIn* fan_in, NetworkTriggerOptions options);
  ~NetworkTriggers();  // Stop()
  NetworkTriggers(const NetworkTriggers&) = delete;
  NetworkTriggers& operator=(const NetworkTriggers&) = delete;

  void Stop();  // idempotent
  NetworkTriggerStats stats() const;

  // The state file's text and its parser (tests):
  //   file := "loupe-network-triggers 1\n" "incarnation " N "\n"
  //           ("sequence " MULTILOG " " N "\n")* ("window " MULTILOG " "
  //           TRIGGER " " END_NS "\n")*
  struct State {
    uint64_t incarnation = 0;
    std::map<std::string, uint64_t> next_sequence;  // by multilog
    std::map<std::pair<std::string, std::string>, uint64_t> next_end;
  };
  static std::string FormatState(const State& state);
  static Result<State> ParseState(std::string_view text);

 private:
  NetworkTriggers(CoordinatorService* service, const ProgramStore* store,
                  AlertFanIn* fan_in, NetworkTriggerOptions options,
                  State state);
  void Run();
  // One round; the time to wake for the next.
  std::chrono::steady_clock::time_point Round();
  std::vector<NetworkTriggerSpec> Triggers();
  bool Evaluate(const NetworkTriggerSpec& t, uint64_t end,
                const std::string& snapshot_id);
  void Failed(const std::string& what, const std::string& error);

  CoordinatorService* const service_;
  const ProgramStore* const store_;
  AlertFanIn* const fan_in_;
  const NetworkTriggerOptions options_;
  State state_;  // Run's
  // The triggers of each desired program version, parsed once.
  std::map<std::string, std::pair<uint64_t, std::vector<NetworkTriggerSpec>>>
      parsed_;                                  // Run's
  std::map<std::string, std::string> failing_;  // Run's: what, error
  std::map<std::string, std::chrono::steady_clock::time_point>
      last_logged_;  // Run's: a trigger's last firing logged

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;      // mu_
  NetworkTriggerStats stats_;  // mu_
  std::thread thread_;
};

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_NETWORK_TRIGGERS_H_
