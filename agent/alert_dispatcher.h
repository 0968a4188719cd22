// AlertDispatcher: the one fan-out of an agent's alerts. Every multilog's
// AlertLog feeds it (the registry subscribes each multilog it opens:
// configured, created over RPC, re-created after a drop), and it serves two
// kinds of consumers:
//   - sinks (agent/alert_sinks.h), each with a worker thread that delivers
//     and retries, from its own queue of at most queue_capacity alerts; an
//     alert that finds it full is dropped for that sink (and only that one)
//     and counted;
//   - subscriptions (the gRPC SubscribeAlerts streams): readers with a
//     cursor over the alert logs themselves. The dispatcher holds no copies
//     for them; Submit only wakes those whose filter takes the alert, and
//     the stream reads what is new from the logs (AlertLog::ReadAfter). A
//     slow reader falls behind in the log instead of losing alerts; it
//     loses only what the log's retention retired before it read it. At
//     most max_subscriptions at once.
// Submit never waits for a consumer.
//
// Threads: Submit may be called from any thread (in practice AlertLog
// subscriber callbacks on the monitor threads): it copies the event once
// and, per sink, holds that sink's mutex only to push a pointer.
// Subscribe, a subscription's Wait/Wake/Count and its destruction, stats(),
// subscriber_stats() and Stop may be called from any thread.
//
// Accounting, per sink, exact whenever stats are taken:
//   submitted == sent + failed + dropped + queued + in_flight
//   submitted  alerts offered to the sink
//   sent       delivered by the sink
//   queued     alerts waiting; at most queue_capacity (the one a sink is
//              delivering is in_flight, not queued)
//   in_flight  0 or 1, the alert being delivered or retried
//   dropped    the queue was full, Submit came after Stop, or Stop's drain
//              deadline passed while the alert was waiting
//   failed     every one of max_attempts attempts returned an error
//   errors     failed attempts (retries included) and failed Ticks; the
//              latest message is last_error
// Per subscription (what its stream reports with Count):
//   submitted == sent + dropped, queued == in_flight == failed == 0
//   sent       alerts written to the stream (replayed and live)
//   dropped    alerts the stream reported lost (retired from a log before
//              the stream read them)
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
  // Per sink, alerts waiting; at least 1.
  size_t queue_capacity = 1024;
  // Subscriptions open at once; Subscribe beyond is kResourceExhausted.
  size_t max_subscriptions = 64;
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

  // Queues `event` for every sink, or counts it dropped for each whose
  // queue is full, and wakes every subscription that takes it. Never waits.
  void Submit(const AlertEvent& event);

  // A callback for AlertLog::Subscribe that submits each alert of
  // `multilog`, with `period` as the event's period (zero: the alert's
  // window, window_end_ns - window_start_ns) and `incarnation`.
  // Unsubscribe it before the dispatcher is destroyed.
  AlertLog::Subscriber SubscriberFor(
      std::string host, std::string multilog,
      std::chrono::nanoseconds period = std::chrono::nanoseconds::zero(),
      uint64_t incarnation = 0);

  // A subscription woken by every alert submitted from now on that
  // `filter` takes. After Stop, the subscription is closed at once.
  // kResourceExhausted: max_subscriptions are open.
  Result<std::unique_ptr<AlertSubscription>> Subscribe(
      SubscriptionFilter filter);

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

// One reader of the alert logs, woken by an AlertDispatcher; leaves it
// when destroyed. Wait and Wake may be called from any thread; typically
// one thread Waits (and reads the logs) and another Wakes it.
class AlertSubscription {
 public:
  ~AlertSubscription();
  AlertSubscription(const AlertSubscription&) = delete;
  AlertSubscription& operator=(const AlertSubscription&) = delete;

  // Waits until an alert the filter takes was submitted since the previous
  // Wait, Wake is called, the dispatcher stops or `timeout` passes; returns
  // how many such alerts were submitted since the previous Wait (the
  // caller reads them from the logs).
  uint64_t Wait(std::chrono::milliseconds timeout);
  // Ends the current (or next) Wait early.
  void Wake();
  // The dispatcher has stopped: nothing more will arrive.
  bool closed() const;
  // The stream wrote `sent` alerts and reported `lost` ones lost.
  void Count(uint64_t sent, uint64_t lost);
  const SubscriptionFilter& filter() const { return filter_; }
  // This subscription's own counters (name "grpc-subscriber").
  SinkStats stats() const;

 private:
  friend class AlertDispatcher;
  AlertSubscription(AlertDispatcher* dispatcher, SubscriptionFilter filter);
  bool Takes(const AlertEvent& event) const;
  void Notify();
  void Close();

  AlertDispatcher* const dispatcher_;
  const SubscriptionFilter filter_;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_ALERT_DISPATCHER_H_
