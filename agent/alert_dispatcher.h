// AlertDispatcher: the one fan-out of an agent's alerts. Every multilog's
// AlertLog feeds it (the registry subscribes each multilog it opens:
// configured, created over RPC, re-created after a drop), and it serves two
// kinds of consumers with one queue policy and one set of counters:
//   - sinks (agent/alert_sinks.h), each with a worker thread that delivers
//     and retries;
//   - subscriptions (the gRPC SubscribeAlerts streams), bounded queues that
//     their stream's thread drains with Wait.
// Each consumer has its own queue of at most queue_capacity alerts; an
// alert that finds it full is dropped for that consumer (and only that
// one) and counted. Submit never waits for a consumer.
//
// Threads: Submit may be called from any thread (in practice AlertLog
// subscriber callbacks on the monitor threads): it copies the event once
// and, per consumer, holds that consumer's mutex only to push a pointer.
// Subscribe, a subscription's Wait/Wake and its destruction, stats(),
// subscriber_stats() and Stop may be called from any thread.
//
// Accounting, per consumer, exact whenever stats are taken:
//   submitted == sent + failed + dropped + queued + in_flight
//   submitted  alerts offered to the consumer (a subscription is offered
//              only those its filter takes)
//   sent       delivered by the sink, or taken by the subscription's Wait
//   queued     alerts waiting; at most queue_capacity (the one a sink is
//              delivering is in_flight, not queued)
//   in_flight  sinks: 0 or 1, the alert being delivered or retried
//   dropped    the queue was full, Submit came after Stop, Stop's drain
//              deadline passed while the alert was waiting, or the
//              subscription ended with alerts still queued
//   failed     sinks: every one of max_attempts attempts returned an error
//   errors     sinks: failed attempts (retries included) and failed Ticks;
//              the latest message is last_error
// subscriber_stats() sums every subscription the dispatcher has had, live
// and ended, into one row (name "grpc-subscribers", type "grpc").
//
// Lifetimes: the sinks live until the dispatcher is destroyed; Stop (or the
// destructor) waits for an alert being delivered to finish. Every
// AlertSubscription and every AlertLog subscription made with SubscriberFor
// must end before the dispatcher is destroyed. Library loupe_alerts (no
// DPDK).
#ifndef LOUPE_AGENT_ALERT_DISPATCHER_H_
#define LOUPE_AGENT_ALERT_DISPATCHER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agent/alert_sinks.h"
#include "multilog/alert_log.h"

namespace loupe::agent {

struct DispatcherOptions {
  // Per consumer (sink or subscription), alerts waiting; at least 1.
  size_t queue_capacity = 1024;
  int max_attempts = 4;  // per alert and sink, the first included; >= 1
  std::chrono::milliseconds first_backoff{100};  // doubled per retry
  std::chrono::milliseconds max_backoff{2000};
  // How long Stop keeps delivering what is queued before dropping it.
  std::chrono::milliseconds drain_timeout{1000};
  // Called by Submit, on the submitting thread, for every event before it
  // is queued (the agent logs each alert); must not block. May be empty.
  std::function<void(const AlertEvent&)> observer{};
};

struct SinkStats {
  std::string name;
  std::string type;
  uint64_t submitted = 0;
  uint64_t sent = 0;
  uint64_t failed = 0;
  uint64_t dropped = 0;
  uint64_t queued = 0;
  uint64_t in_flight = 0;
  uint64_t errors = 0;
  std::string last_error;
};

// Which alerts a subscription takes; empty fields take every one.
struct SubscriptionFilter {
  std::string multilog;
  std::string trigger;
};

class AlertSubscription;

class AlertDispatcher {
 public:
  // Starts one worker per sink.
  explicit AlertDispatcher(std::vector<std::unique_ptr<AlertSink>> sinks,
                           DispatcherOptions options = {});
  ~AlertDispatcher();  // Stop()
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  const DispatcherOptions& options() const { return options_; }

  // Queues `event` for every sink and every subscription that takes it, or
  // counts it dropped for each whose queue is full. Never waits.
  void Submit(const AlertEvent& event);

  // A callback for AlertLog::Subscribe that submits each alert of
  // `multilog`, with `period` as the event's period (zero: the alert's
  // window, window_end_ns - window_start_ns) and `incarnation`.
  // Unsubscribe it before the dispatcher is destroyed.
  AlertLog::Subscriber SubscriberFor(
      std::string host, std::string multilog,
      std::chrono::nanoseconds period = std::chrono::nanoseconds::zero(),
      uint64_t incarnation = 0);

  // A bounded consumer of every alert submitted from now on that `filter`
  // takes. After Stop, the subscription is closed at once.
  std::unique_ptr<AlertSubscription> Subscribe(SubscriptionFilter filter);

  // The sinks, in the order they were given.
  std::vector<SinkStats> stats() const;
  // Every subscription, live and ended, as one row.
  SinkStats subscriber_stats() const;

  // Delivers what is queued for up to drain_timeout, drops the rest, joins
  // the workers and closes every subscription. Idempotent; Submit
  // afterwards counts drops.
  void Stop();

 private:
  friend class AlertSubscription;
  struct Lane;
  void Run(Lane& lane);
  bool DeliverWithRetries(Lane& lane, const AlertEvent& event,
                          std::unique_lock<std::mutex>& lock);
  void Unsubscribe(AlertSubscription* subscription);

  DispatcherOptions options_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::mutex stop_mu_;  // serializes Stop

  mutable std::mutex subscriptions_mu_;
  bool stopped_ = false;                        // subscriptions_mu_
  std::set<AlertSubscription*> subscriptions_;  // subscriptions_mu_
  SinkStats ended_;  // counts of ended subscriptions; subscriptions_mu_
};

// One bounded consumer of an AlertDispatcher; leaves it when destroyed.
// Wait and Wake may be called from any thread; typically one thread Waits
// and another Wakes it.
class AlertSubscription {
 public:
  ~AlertSubscription();
  AlertSubscription(const AlertSubscription&) = delete;
  AlertSubscription& operator=(const AlertSubscription&) = delete;

  // Waits until alerts are queued, Wake is called, the dispatcher stops or
  // `timeout` passes; then moves every queued alert into *out (appending,
  // in submission order) and returns how many were dropped for this
  // subscription since the previous Wait.
  uint64_t Wait(std::chrono::milliseconds timeout,
                std::vector<AlertEvent>* out);
  // Ends the current (or next) Wait early.
  void Wake();
  // The dispatcher has stopped: nothing more will arrive.
  bool closed() const;
  // This subscription's own counters (name "grpc-subscriber").
  SinkStats stats() const;

 private:
  friend class AlertDispatcher;
  AlertSubscription(AlertDispatcher* dispatcher, SubscriptionFilter filter,
                    size_t capacity);
  bool Takes(const AlertEvent& event) const;
  // Queues `event`, or counts it dropped when the queue is full or closed.
  void Offer(const std::shared_ptr<const AlertEvent>& event);
  void Close();

  AlertDispatcher* const dispatcher_;
  const SubscriptionFilter filter_;
  const size_t capacity_;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_ALERT_DISPATCHER_H_
