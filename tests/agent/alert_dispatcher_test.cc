// AlertDispatcher's subscriptions -- the bounded consumers the gRPC
// SubscribeAlerts streams use -- beside its sinks: one queue capacity, one
// accounting identity (submitted == sent + failed + dropped + queued +
// in_flight), filters, Stop, the observer, and the period and incarnation
// that SubscriberFor stamps. The sinks' own delivery, retries and drains
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

TEST(AlertSubscriptionTest, TakesWhatItsFilterTakesInOrder) {
  AlertDispatcher d({});
  auto all = d.Subscribe({});
  auto flows = d.Subscribe({"flows", ""});
  auto big = d.Subscribe({"flows", "big"});
  d.Submit(Event("flows", "big", 1));
  d.Submit(Event("flows", "small", 2));
  d.Submit(Event("dns", "big", 1));
  std::vector<AlertEvent> got;
  EXPECT_EQ(all->Wait(milliseconds(0), &got), 0u);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].alert.sequence, 1u);
  EXPECT_EQ(got[1].alert.trigger, "small");
  EXPECT_EQ(got[2].multilog, "dns");
  got.clear();
  flows->Wait(milliseconds(0), &got);
  EXPECT_EQ(got.size(), 2u);
  got.clear();
  big->Wait(milliseconds(0), &got);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].alert.sequence, 1u);
  EXPECT_EQ(big->stats().submitted, 1u);  // offered only what it takes
}

// The same queue capacity as the sinks; what does not fit is dropped for
// that subscription only, and reported once by the next Wait.
TEST(AlertSubscriptionTest, AFullQueueDropsExactlyAndReportsIt) {
  std::vector<AlertEvent> delivered;
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::make_unique<KeepingSink>(&delivered));
  AlertDispatcher d(std::move(sinks), {.queue_capacity = 4});
  auto slow = d.Subscribe({});
  for (uint64_t i = 1; i <= 10; ++i) d.Submit(Event("m", "t", i));
  SinkStats s = slow->stats();
  EXPECT_EQ(s.submitted, 10u);
  EXPECT_EQ(s.queued, 4u);
  EXPECT_EQ(s.dropped, 6u);
  EXPECT_EQ(s.sent, 0u);
  ExpectBalanced(s);
  std::vector<AlertEvent> got;
  EXPECT_EQ(slow->Wait(milliseconds(0), &got), 6u);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3].alert.sequence, 4u);              // the first four were kept
  EXPECT_EQ(slow->Wait(milliseconds(0), &got), 0u);  // reported once
  s = slow->stats();
  EXPECT_EQ(s.sent, 4u);
  ExpectBalanced(s);
  d.Stop();
  // The sink had its own queue of four.
  const SinkStats sink = d.stats()[0];
  ExpectBalanced(sink);
  EXPECT_EQ(sink.submitted, 10u);
}

TEST(AlertSubscriptionTest, SubscriberStatsSumLiveAndEndedSubscriptions) {
  AlertDispatcher d({}, {.queue_capacity = 2});
  auto a = d.Subscribe({});
  {
    auto b = d.Subscribe({});
    for (uint64_t i = 1; i <= 3; ++i) d.Submit(Event("m", "t", i));
    std::vector<AlertEvent> got;
    b->Wait(milliseconds(0), &got);  // b: 3 submitted, 2 sent, 1 dropped
    d.Submit(Event("m", "t", 4));    // b: queued at its end -> dropped
  }
  const SinkStats s = d.subscriber_stats();
  EXPECT_EQ(s.name, "grpc-subscribers");
  EXPECT_EQ(s.type, "grpc");
  // a: 4 submitted, 2 queued, 2 dropped; b: 4 submitted, 2 sent, 2 dropped.
  EXPECT_EQ(s.submitted, 8u);
  EXPECT_EQ(s.sent, 2u);
  EXPECT_EQ(s.queued, 2u);
  EXPECT_EQ(s.dropped, 4u);
  ExpectBalanced(s);
}

TEST(AlertSubscriptionTest, WakeAndStopEndAWait) {
  AlertDispatcher d({});
  auto sub = d.Subscribe({});
  sub->Wake();
  std::vector<AlertEvent> got;
  const auto start = std::chrono::steady_clock::now();
  sub->Wait(std::chrono::seconds(10), &got);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(sub->closed());
  d.Stop();
  EXPECT_TRUE(sub->closed());
  sub->Wait(std::chrono::seconds(10), &got);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  d.Submit(Event("m", "t", 1));  // after Stop: dropped
  EXPECT_EQ(sub->stats().dropped, 1u);
  EXPECT_TRUE(d.Subscribe({})->closed());
}

TEST(AlertDispatcherTest, SubscriberForStampsPeriodIncarnationAndObserves) {
  std::vector<AlertEvent> observed;
  AlertDispatcher d(
      {}, {.observer = [&](const AlertEvent& e) { observed.push_back(e); }});
  auto sub = d.Subscribe({});
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
  std::vector<AlertEvent> got;
  sub->Wait(milliseconds(0), &got);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].period, milliseconds(250));  // the alert's window
  EXPECT_EQ(got[0].incarnation, 0u);
  EXPECT_EQ(got[0].host, "hv-3");
  EXPECT_EQ(got[1].period, milliseconds(500));
  EXPECT_EQ(got[1].incarnation, 7u);
  EXPECT_EQ(observed.size(), 2u);
}

}  // namespace
}  // namespace loupe::agent
