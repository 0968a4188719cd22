// AlertDispatcher's subscriptions -- the bounded consumers the gRPC
// SubscribeAlerts streams use to know when to read the alert logs -- beside
// its sinks: one accounting identity (submitted == sent + failed + dropped
// + queued + in_flight), filters, no queue for subscriptions, their bound,
// Stop, the observer, and the period and incarnation that SubscriberFor
// stamps. The sinks' own delivery, retries and drains
// are in alert_sinks_test.cc.
#include "agent/alert_dispatcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "multilog/alert_log.h"

namespace loupe::agent {
namespace {

using std::chrono::milliseconds;

AlertEvent Event(const std::string& multilog, const std::string& trigger,
                 uint64_t sequence) {
  AlertEvent e;
  e.host = "hv-1";
  e.multilog = multilog;
  e.alert.trigger = trigger;
  e.alert.sequence = sequence;
  return e;
}

// A sink that keeps what it gets (its worker is the only caller).
class KeepingSink final : public AlertSink {
 public:
  explicit KeepingSink(std::vector<AlertEvent>* out)
      : AlertSink("keep"), out_(out) {}
  std::string_view type() const override { return "keep"; }
  Status Deliver(const AlertEvent& event) override {
    out_->push_back(event);
    return Status::Ok();
  }

 private:
  std::vector<AlertEvent>* out_;
};

void ExpectBalanced(const SinkStats& s) {
  EXPECT_EQ(s.submitted,
            s.sent + s.failed + s.dropped + s.queued + s.in_flight);
}

TEST(AlertSubscriptionTest, WakesForWhatItsFilterTakes) {
  AlertDispatcher d({});
  auto all = d.Subscribe({});
  auto flows = d.Subscribe({"flows", ""});
  auto big = d.Subscribe({"flows", "big"});
  ASSERT_TRUE(all.ok() && flows.ok() && big.ok());
  d.Submit(Event("flows", "big", 1));
  d.Submit(Event("flows", "small", 2));
  d.Submit(Event("dns", "big", 1));
  EXPECT_EQ((*all)->Wait(milliseconds(0)), 3u);
  EXPECT_EQ((*all)->Wait(milliseconds(0)), 0u);  // counted once
  EXPECT_EQ((*flows)->Wait(milliseconds(0)), 2u);
  EXPECT_EQ((*big)->Wait(milliseconds(0)), 1u);
  EXPECT_EQ((*big)->filter().trigger, "big");
}

// A subscription holds no queue: however many alerts are submitted while
// it does not read, nothing is dropped for it (its stream reads them from
// the alert logs); the sinks keep their bounded queues.
TEST(AlertSubscriptionTest, ASlowSubscriptionHasNoQueueToOverflow) {
  std::vector<AlertEvent> delivered;
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::make_unique<KeepingSink>(&delivered));
  AlertDispatcher d(std::move(sinks), {.queue_capacity = 4});
  auto slow = d.Subscribe({});
  ASSERT_TRUE(slow.ok());
  for (uint64_t i = 1; i <= 10; ++i) d.Submit(Event("m", "t", i));
  SinkStats s = (*slow)->stats();
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ((*slow)->Wait(milliseconds(0)), 10u);
  (*slow)->Count(/*sent=*/8, /*lost=*/2);
  s = (*slow)->stats();
  EXPECT_EQ(s.submitted, 10u);
  EXPECT_EQ(s.sent, 8u);
  EXPECT_EQ(s.dropped, 2u);
  ExpectBalanced(s);
  d.Stop();
  const SinkStats sink = d.stats()[0];
  ExpectBalanced(sink);
  EXPECT_EQ(sink.submitted, 10u);
}

TEST(AlertSubscriptionTest, SubscriberStatsSumLiveAndEndedSubscriptions) {
  AlertDispatcher d({}, {.queue_capacity = 2});
  auto a = d.Subscribe({});
  ASSERT_TRUE(a.ok());
  {
    auto b = d.Subscribe({});
    ASSERT_TRUE(b.ok());
    (*b)->Count(3, 1);
  }
  (*a)->Count(2, 0);
  const SinkStats s = d.subscriber_stats();
  EXPECT_EQ(s.name, "grpc-subscribers");
  EXPECT_EQ(s.type, "grpc");
  EXPECT_EQ(s.submitted, 6u);
  EXPECT_EQ(s.sent, 5u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.dropped, 1u);
  ExpectBalanced(s);
}

TEST(AlertSubscriptionTest, SubscriptionsAreBounded) {
  AlertDispatcher d({}, {.max_subscriptions = 2});
  auto a = d.Subscribe({});
  auto b = d.Subscribe({});
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = d.Subscribe({});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kResourceExhausted);
  a->reset();  // one ends: room for another
  EXPECT_TRUE(d.Subscribe({}).ok());
}

TEST(AlertSubscriptionTest, WakeAndStopEndAWait) {
  AlertDispatcher d({});
  auto subscribed = d.Subscribe({});
  ASSERT_TRUE(subscribed.ok());
  AlertSubscription& sub = **subscribed;
  sub.Wake();
  const auto start = std::chrono::steady_clock::now();
  sub.Wait(std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(sub.closed());
  d.Stop();
  EXPECT_TRUE(sub.closed());
  sub.Wait(std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  auto after_stop = d.Subscribe({});
  ASSERT_TRUE(after_stop.ok());
  EXPECT_TRUE((*after_stop)->closed());
}

TEST(AlertDispatcherTest, SubscriberForStampsPeriodIncarnationAndObserves) {
  std::vector<AlertEvent> observed;
  AlertDispatcher d(
      {}, {.observer = [&](const AlertEvent& e) { observed.push_back(e); }});
  AlertLog log;
  const uint64_t id = log.Subscribe(d.SubscriberFor("hv-3", "flows"));
  const uint64_t fixed = log.Subscribe(
      d.SubscriberFor("hv-3", "flows", milliseconds(500), /*incarnation=*/7));
  Alert a;
  a.trigger = "t";
  a.window_start_ns = 1'000'000'000;
  a.window_end_ns = 1'250'000'000;
  log.Append(a);
  log.Unsubscribe(id);
  log.Unsubscribe(fixed);
  const std::vector<AlertEvent>& got = observed;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].period, milliseconds(250));  // the alert's window
  EXPECT_EQ(got[0].incarnation, 0u);
  EXPECT_EQ(got[0].host, "hv-3");
  EXPECT_EQ(got[1].period, milliseconds(500));
  EXPECT_EQ(got[1].incarnation, 7u);
}

}  // namespace
}  // namespace loupe::agent
