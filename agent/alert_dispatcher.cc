#include "agent/alert_dispatcher.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <string_view>
#include <thread>
#include <utility>

namespace loupe::agent {
namespace {

using Clock = std::chrono::steady_clock;

void SetThreadName(std::thread& t, std::string_view type) {
  std::string name = "alert-" + std::string(type);
  name.resize(std::min<size_t>(name.size(), 15));  // the kernel's limit
  pthread_setname_np(t.native_handle(), name.c_str());
}

}  // namespace

struct AlertDispatcher::Lane {
  std::unique_ptr<AlertSink> sink;
  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu.
  std::deque<std::shared_ptr<const AlertEvent>> queue;
  SinkStats stats;
  bool stopping = false;
  Clock::time_point drain_deadline;

  std::thread worker;
};

AlertDispatcher::AlertDispatcher(std::vector<std::unique_ptr<AlertSink>> sinks,
                                 DispatcherOptions options)
    : options_(options) {
  if (options_.queue_capacity == 0) options_.queue_capacity = 1;
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  for (auto& sink : sinks) {
    auto lane = std::make_unique<Lane>();
    lane->stats.name = sink->name();
    lane->stats.type = std::string(sink->type());
    lane->sink = std::move(sink);
    lanes_.push_back(std::move(lane));
  }
  for (auto& lane : lanes_) {
    Lane* l = lane.get();
    l->worker = std::thread([this, l] { Run(*l); });
    SetThreadName(l->worker, l->sink->type());
  }
}

AlertDispatcher::~AlertDispatcher() { Stop(); }

void AlertDispatcher::Submit(const AlertEvent& event) {
  if (options_.observer) options_.observer(event);
  auto shared = std::make_shared<const AlertEvent>(event);
  {
    std::lock_guard<std::mutex> lock(subscriptions_mu_);
    for (AlertSubscription* s : subscriptions_) {
      if (s->Takes(event)) s->Notify();
    }
  }
  for (auto& lane : lanes_) {
    bool queued = false;
    {
      std::lock_guard<std::mutex> lock(lane->mu);
      ++lane->stats.submitted;
      if (lane->stopping || lane->queue.size() >= options_.queue_capacity) {
        ++lane->stats.dropped;
      } else {
        lane->queue.push_back(shared);
        queued = true;
      }
    }
    if (queued) lane->cv.notify_one();
  }
}

AlertLog::Subscriber AlertDispatcher::SubscriberFor(
    std::string host, std::string multilog, std::chrono::nanoseconds period,
    uint64_t incarnation) {
  return [this, host = std::move(host), multilog = std::move(multilog), period,
          incarnation](const Alert& alert) {
    const std::chrono::nanoseconds p =
        period != std::chrono::nanoseconds::zero()
            ? period
            : std::chrono::nanoseconds(alert.window_end_ns -
                                       alert.window_start_ns);
    Submit(AlertEvent{host, multilog, alert, p, incarnation});
  };
}

Result<std::unique_ptr<AlertSubscription>> AlertDispatcher::Subscribe(
    SubscriptionFilter filter) {
  std::unique_ptr<AlertSubscription> s(
      new AlertSubscription(this, std::move(filter)));
  std::lock_guard<std::mutex> lock(subscriptions_mu_);
  if (stopped_) {
    s->Close();
  } else if (subscriptions_.size() >= options_.max_subscriptions) {
    s->Close();
    return Status::ResourceExhausted(
        std::to_string(subscriptions_.size()) +
        " alert subscriptions are open, the agent's limit; end one first");
  } else {
    subscriptions_.insert(s.get());
  }
  return s;
}

void AlertDispatcher::Unsubscribe(AlertSubscription* subscription) {
  std::lock_guard<std::mutex> lock(subscriptions_mu_);
  if (subscriptions_.erase(subscription) == 0) return;  // never admitted
  const SinkStats s = subscription->stats();
  ended_.submitted += s.submitted;
  ended_.sent += s.sent;
  ended_.dropped += s.dropped;
}

SinkStats AlertDispatcher::subscriber_stats() const {
  std::lock_guard<std::mutex> lock(subscriptions_mu_);
  SinkStats out = ended_;
  out.name = "grpc-subscribers";
  out.type = "grpc";
  for (const AlertSubscription* sub : subscriptions_) {
    SinkStats s = sub->stats();
    out.submitted += s.submitted;
    out.sent += s.sent;
    out.dropped += s.dropped;
    out.queued += s.queued;
  }
  return out;
}

std::vector<SinkStats> AlertDispatcher::stats() const {
  std::vector<SinkStats> out;
  out.reserve(lanes_.size());
  for (const auto& lane : lanes_) {
    std::lock_guard<std::mutex> lock(lane->mu);
    out.push_back(lane->stats);
    out.back().queued = lane->queue.size();
  }
  return out;
}

void AlertDispatcher::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(subscriptions_mu_);
    stopped_ = true;
    for (AlertSubscription* s : subscriptions_) s->Close();
  }
  const auto deadline = Clock::now() + options_.drain_timeout;
  for (auto& lane : lanes_) {
    {
      std::lock_guard<std::mutex> lock(lane->mu);
      if (!lane->stopping) {
        lane->stopping = true;
        lane->drain_deadline = deadline;
      }
    }
    lane->cv.notify_all();
  }
  for (auto& lane : lanes_) {
    if (lane->worker.joinable()) lane->worker.join();
  }
}

void AlertDispatcher::Run(Lane& lane) {
  const auto tick_interval = lane.sink->tick_interval();
  const bool ticking = tick_interval > std::chrono::nanoseconds::zero();
  auto next_tick = Clock::now() + tick_interval;
  std::unique_lock<std::mutex> lock(lane.mu);
  for (;;) {
    const auto now = Clock::now();
    if (lane.stopping && (lane.queue.empty() || now >= lane.drain_deadline)) {
      break;
    }
    if (ticking && !lane.stopping && now >= next_tick) {
      next_tick = now + tick_interval;
      lock.unlock();
      Status st = lane.sink->Tick(now);
      lock.lock();
      if (!st.ok()) {
        ++lane.stats.errors;
        lane.stats.last_error = st.ToString();
      }
      continue;
    }
    if (lane.queue.empty()) {
      if (lane.stopping) continue;
      if (ticking) {
        lane.cv.wait_until(lock, next_tick);
      } else {
        lane.cv.wait(lock);
      }
      continue;
    }
    std::shared_ptr<const AlertEvent> event = std::move(lane.queue.front());
    lane.queue.pop_front();
    lane.stats.in_flight = 1;
    const bool sent = DeliverWithRetries(lane, *event, lock);
    lane.stats.in_flight = 0;
    ++(sent ? lane.stats.sent : lane.stats.failed);
  }
  lane.stats.dropped += lane.queue.size();
  lane.queue.clear();
}

bool AlertDispatcher::DeliverWithRetries(Lane& lane, const AlertEvent& event,
                                         std::unique_lock<std::mutex>& lock) {
  auto backoff = options_.first_backoff;
  for (int attempt = 1;; ++attempt) {
    lock.unlock();
    Status st = lane.sink->Deliver(event);
    lock.lock();
    if (st.ok()) return true;
    ++lane.stats.errors;
    lane.stats.last_error = st.ToString();
    if (attempt >= options_.max_attempts) return false;
    // Wait out the backoff, or until Stop's drain deadline has passed.
    const auto retry_at = Clock::now() + backoff;
    for (;;) {
      const auto now = Clock::now();
      if (lane.stopping && now >= lane.drain_deadline) return false;
      if (now >= retry_at) break;
      lane.cv.wait_until(lock, lane.stopping
                                   ? std::min(retry_at, lane.drain_deadline)
                                   : retry_at);
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

// ------------------------------------------------------------ subscriptions

struct AlertSubscription::State {
  mutable std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu.
  uint64_t notified = 0;  // alerts taken since the previous Wait
  SinkStats stats;
  bool wake = false;
  bool closed = false;
};

AlertSubscription::AlertSubscription(AlertDispatcher* dispatcher,
                                     SubscriptionFilter filter)
    : dispatcher_(dispatcher),
      filter_(std::move(filter)),
      state_(std::make_unique<State>()) {
  state_->stats.name = "grpc-subscriber";
  state_->stats.type = "grpc";
}

AlertSubscription::~AlertSubscription() { dispatcher_->Unsubscribe(this); }

bool AlertSubscription::Takes(const AlertEvent& event) const {
  return (filter_.multilog.empty() || event.multilog == filter_.multilog) &&
         (filter_.trigger.empty() || event.alert.trigger == filter_.trigger);
}

void AlertSubscription::Notify() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    ++state_->notified;
  }
  state_->cv.notify_one();
}

uint64_t AlertSubscription::Wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait_for(lock, timeout, [&] {
    return state_->notified > 0 || state_->wake || state_->closed;
  });
  state_->wake = false;
  const uint64_t n = state_->notified;
  state_->notified = 0;
  return n;
}

void AlertSubscription::Wake() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->wake = true;
  }
  state_->cv.notify_all();
}

void AlertSubscription::Close() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->closed = true;
  }
  state_->cv.notify_all();
}

bool AlertSubscription::closed() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->closed;
}

void AlertSubscription::Count(uint64_t sent, uint64_t lost) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->stats.submitted += sent + lost;
  state_->stats.sent += sent;
  state_->stats.dropped += lost;
}

SinkStats AlertSubscription::stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stats;
}

}  // namespace loupe::agent
