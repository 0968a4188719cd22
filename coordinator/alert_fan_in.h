// AlertFanIn: the coordinator's one reader of every agent's alerts. For
// each configured agent a thread holds one SubscribeAlerts stream (issue
// 13, section 4) from that agent's cursors -- per multilog, the
// (incarnation, sequence) of the last alert taken -- with heartbeat_ms, and
// hands every alert, once, to
//   - an AlertDispatcher it owns (agent/alert_dispatcher.h) with the NOC
//     sinks of the coordinator's [alerts] section, the agent's own sink
//     code; the event's host is the agent's (Alert.host, or the configured
//     name when the agent sent none);
//   - the coordinator's SubscribeAlerts streams (FanInSubscription), each
//     with a bounded queue: a slow subscriber loses alerts, counted and
//     told to it, and never holds up the fan-in.
//
// Streams: a stream that ends, fails, or sends nothing (no alert, no
// heartbeat) for silent_heartbeats heartbeats is cancelled and opened again
// after a backoff that starts at first_backoff and doubles up to
// max_backoff (reset by a stream that reached `synced`). No call waits
// without a bound: a stream's silence is its timeout. The first stream to an
// agent the coordinator has never followed starts from now; every later one
// (after a reconnect or a restart of the coordinator) resumes from the
// cursors, and takes every stored alert of multilogs it has no cursor for.
// An alert at or before its multilog's cursor is skipped (counted as a
// duplicate), so each alert goes to the sinks once per cursor position.
// (So a multilog the fan-in has taken no alert from yet -- one that was
// quiet since the coordinator first followed its agent -- is replayed from
// its first stored alert by the next stream: its older alerts reach the
// sinks once then.)
//
// Push-back: while some sink's queue is full, the fan-in stops reading the
// streams (gRPC flow control then holds the agents' writers, and the alerts
// wait in the agents' alert logs) instead of dropping; Submit is
// serialized so the queues cannot overshoot. A sink whose alerts fail after
// every retry counts them failed (its stats), and the fan-in moves on.
//
// Cursors are kept in `cursor_file` (written with ReplaceFile: atomic and
// fsync'd) every save_every when they changed, and at Stop. What that
// promises:
//   - A clean Stop: the streams end, the dispatcher delivers what is queued
//     (for up to its drain_timeout; alerts still queued then are counted
//     dropped in the sink's stats and are NOT re-sent later), then the
//     cursors are written. A coordinator started again replays what the
//     agents raised meanwhile, each alert once, in order per multilog.
//   - A crash: the cursors are those of the last save, so alerts of up to
//     the last save_every are delivered again (at least once; the key
//     host, incarnation, multilog, sequence tells the copies apart).
//   - An agent restart: its alerts carry a new incarnation. A durable
//     multilog's alert log survives and the cursor resumes exactly; an
//     in-memory one starts again, the agent answers cursor_reset (counted
//     in `resets`) and replays its new log from the start; what the old
//     life raised after the cursor is gone. Alerts the agent's log retired
//     before the stream read them arrive as AlertEvent.lost, counted.
//
// Threads: Start and Stop (or the destructor) on one thread; stats(),
// cursors(), sink_stats() and Subscribe from any thread. One mutex guards
// the per-agent state, held only to copy or update it, never during a call;
// another the subscriptions. Stop is bounded: it cancels the streams, joins
// the threads, drains the sinks for drain_timeout and writes the cursors.
// Every FanInSubscription must end before the AlertFanIn is destroyed.
#ifndef LOUPE_COORDINATOR_ALERT_FAN_IN_H_
#define LOUPE_COORDINATOR_ALERT_FAN_IN_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/alert_dispatcher.h"
#include "agent/alert_sinks.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "coordinator/agent_pool.h"
#include "multilog/status.h"

namespace loupe::coordinator {

struct FanInOptions {
  // Where the cursors are kept; "" keeps them in memory only.
  std::string cursor_file;
  uint32_t heartbeat_ms = 1000;  // asked of every agent, 100 to 60000
  uint32_t silent_heartbeats = 3;
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds save_every{1000};
  // Per coordinator SubscribeAlerts stream, alerts waiting to be written.
  size_t subscriber_queue = 1024;
  size_t max_subscribers = 64;
};

// Per agent, since Start.
struct FanInAgentStats {
  std::string agent;
  bool connected = false;   // a stream is open and has answered
  bool synced = false;      // the stream replayed its backlog
  uint64_t received = 0;    // alerts handed to the sinks and subscribers
  uint64_t lost = 0;        // the sum of AlertEvent.lost
  uint64_t resets = 0;      // alerts that came with cursor_reset
  uint64_t duplicates = 0;  // alerts at or before the cursor, skipped
  uint64_t reconnects = 0;  // streams opened after the first
  std::string last_error;   // why the last stream ended; "" if none did
};

// Which alerts a subscription takes; empty fields take every one.
struct FanInFilter {
  std::set<std::string> agents;  // configured names
  std::string multilog;
  std::string trigger;
};

// One alert as the fan-in passes it on.
struct FannedAlert {
  std::string agent;  // the configured name
  v1::Alert alert;
};

class AlertFanIn;

// One coordinator SubscribeAlerts stream's queue. Take from one thread.
class FanInSubscription {
 public:
  ~FanInSubscription();  // leaves the fan-in
  FanInSubscription(const FanInSubscription&) = delete;
  FanInSubscription& operator=(const FanInSubscription&) = delete;

  // Waits up to `timeout` for alerts and moves out those queued; *lost
  // gets the alerts dropped since the previous Take because the queue was
  // full.
  std::vector<FannedAlert> Take(std::chrono::milliseconds timeout,
                                uint64_t* lost);
  // The fan-in stopped: nothing more will arrive.
  bool closed() const;

 private:
  friend class AlertFanIn;
  FanInSubscription(AlertFanIn* fan_in, FanInFilter filter, size_t capacity);
  bool Takes(const std::string& agent, const v1::Alert& alert) const;
  void Push(const FannedAlert& alert);  // never waits
  void Close();

  AlertFanIn* const fan_in_;
  const FanInFilter filter_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<FannedAlert> queue_;  // mu_
  uint64_t lost_ = 0;              // mu_
  bool closed_ = false;            // mu_
};

class AlertFanIn {
 public:
  // Reads the cursor file (a missing one is a first start; an unreadable
  // or malformed one is an error naming it), starts the dispatcher over
  // `sinks` and one stream thread per agent of `pool` (which must outlive
  // the fan-in), and one more for each agent that registers later (the
  // watcher looks for them every slice).
  static Result<std::unique_ptr<AlertFanIn>> Start(
      const AgentPool* pool,
      std::vector<std::unique_ptr<agent::AlertSink>> sinks,
      agent::DispatcherOptions dispatcher_options, FanInOptions options);
  ~AlertFanIn();  // Stop()
  AlertFanIn(const AlertFanIn&) = delete;
  AlertFanIn& operator=(const AlertFanIn&) = delete;

  // Bounded; see the header comment. Idempotent.
  void Stop();

  std::vector<FanInAgentStats> stats() const;  // configuration order
  std::vector<agent::SinkStats> sink_stats() const;
  // Per agent, per multilog: the last alert taken.
  std::map<std::string, std::map<std::string, v1::AlertCursor>> cursors() const;

  // kResourceExhausted beyond max_subscribers; kUnavailable after Stop.
  Result<std::unique_ptr<FanInSubscription>> Subscribe(FanInFilter filter);

  // An alert the coordinator raised itself (a network trigger,
  // coordinator/network_triggers.h): to every sink, as the agents' are
  // (waiting while a sink is full, until Stop), and to the subscribers,
  // as agent `e.host`.
  void Raise(const agent::AlertEvent& e, const v1::Alert& alert);
  uint64_t raised() const {
    std::lock_guard<std::mutex> lock(mu_);
    return raised_;
  }

  // The cursor file's text, and its parser (for tests and the loader):
  //   file   := "loupe-alert-cursors 1\n" line*
  //   line   := "agent " NAME "\n"
  //           | "cursor " NAME " " MULTILOG " " INCARNATION " " SEQUENCE "\n"
  // NAME and MULTILOG have no blanks (coordinator/config.h and
  // agent/multilog_registry.h name rules); numbers are decimal. An agent
  // line marks an agent the coordinator has followed before.
  struct CursorState {
    std::set<std::string> known;
    std::map<std::string, std::map<std::string, v1::AlertCursor>> cursors;
  };
  static std::string FormatCursors(const CursorState& state);
  static Result<CursorState> ParseCursors(std::string_view text);

 private:
  friend class FanInSubscription;
  struct Lane;
  AlertFanIn(const AgentPool* pool, FanInOptions options);
  Lane& AddLaneLocked(size_t agent, const std::string& name);  // mu_ held
  void FollowNewAgents(std::unique_lock<std::mutex>& lock);    // mu_ held
  void Run(Lane& lane);
  void Deliver(Lane& lane, const v1::AlertEvent& event);
  void Submit(const agent::AlertEvent& e);
  void Publish(const FannedAlert& fanned);
  void Watch();
  Status Save();
  bool SinkFull() const;
  void Leave(FanInSubscription* subscription);

  const AgentPool* const pool_;
  const FanInOptions options_;
  std::unique_ptr<agent::AlertDispatcher> dispatcher_;
  std::vector<std::unique_ptr<Lane>> lanes_;

  mutable std::mutex mu_;  // the lanes' state, dirty_, stopping_
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  uint64_t raised_ = 0;
  std::atomic<bool> pushing_back_{false};

  std::mutex submit_mu_;  // one Submit at a time: queues cannot overshoot
  std::mutex save_mu_;    // one writer of the cursor file
  std::thread watcher_;

  std::mutex subscriptions_mu_;
  std::set<FanInSubscription*> subscriptions_;  // subscriptions_mu_
  bool closed_ = false;                         // subscriptions_mu_
  bool stopped_ = false;                        // Stop's, on its thread
};

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_ALERT_FAN_IN_H_
