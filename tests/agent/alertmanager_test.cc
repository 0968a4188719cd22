// AlertDispatcher + AlertmanagerSink against a real Alertmanager (see
// alertmanager_process.h): the alert is listed while refreshed, and a
// resolved notification follows once it stops. (agent_process_test runs the
// same path through a whole loupe-agent.)
#include <gmock/gmock.h>
#include <google/protobuf/timestamp.pb.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/alert_dispatcher.h"
#include "agent/alert_sinks.h"
#include "tests/agent/alertmanager_process.h"

namespace loupe::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using test_support::AlertmanagerProcess;
using test_support::FindListed;
using test_support::kAlertmanager;
using test_support::Notifications;
using test_support::Obj;
using test_support::Str;
using test_support::WaitFor;
using test_support::WebhookReceiver;
namespace pb = google::protobuf;

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/loupe-alertmanager-XXXXXX";
    if (mkdtemp(name) != nullptr) path_ = name;
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

AlertEvent MakeEvent(uint64_t sequence) {
  AlertEvent e;
  e.host = "hv-17";
  e.multilog = "packets";
  e.period = milliseconds(200);
  e.alert.sequence = sequence;
  e.alert.time_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  e.alert.trigger = "big_flows";
  e.alert.aggregate = "http_bytes";
  e.alert.value = 1.5e6;
  e.alert.op = CompareOp::kGt;
  e.alert.threshold = 1e6;
  return e;
}

TEST(AlertmanagerTest, FiresWhileRefreshedAndResolvesWhenItStops) {
  if (access(kAlertmanager, X_OK) != 0) {
    GTEST_SKIP() << kAlertmanager
                 << " is not installed (Debian: prometheus-alertmanager)";
  }
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  WebhookReceiver hook;
  AlertmanagerProcess am(dir.path(), hook.url());
  std::string error;
  ASSERT_TRUE(am.Start(&error)) << error;

  SinkConfig config{
      .type = "alertmanager", .url = am.url(), .resolve_after = seconds(1)};
  auto sink = MakeSink(config, "hv-17");
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::move(sink).value());
  AlertDispatcher dispatcher(std::move(sinks));

  // Firing: an alert every 200 ms for 2 s, twice resolve_after.
  const auto first_time_ns = MakeEvent(0).alert.time_ns;
  std::optional<pb::Struct> listed;
  uint64_t submitted = 0;
  const auto firing_until = Clock::now() + seconds(2);
  while (Clock::now() < firing_until) {
    dispatcher.Submit(MakeEvent(++submitted));
    std::this_thread::sleep_for(milliseconds(200));
    if (!listed) listed = FindListed(am.url(), "big_flows", "hv-17");
  }
  if (!listed) listed = FindListed(am.url(), "big_flows", "hv-17");
  ASSERT_TRUE(listed.has_value()) << "never listed; log:\n" << am.log();
  const pb::Struct& labels = Obj(*listed, "labels");
  EXPECT_EQ(Str(labels, "alertname"), "big_flows");
  EXPECT_EQ(Str(labels, "host"), "hv-17");
  EXPECT_EQ(Str(labels, "multilog"), "packets");
  EXPECT_EQ(Str(labels, "trigger"), "big_flows");
  EXPECT_EQ(Str(labels, "severity"), "warning");
  const pb::Struct& annotations = Obj(*listed, "annotations");
  EXPECT_EQ(Str(annotations, "value"), "1500000");
  EXPECT_EQ(Str(annotations, "threshold"), "1000000");
  EXPECT_EQ(Str(Obj(*listed, "status"), "state"), "active");
  // startsAt is the first firing's time, to the millisecond.
  pb::Timestamp starts;
  ASSERT_TRUE(pb::util::JsonStringToMessage(
                  "\"" + Str(*listed, "startsAt") + "\"", &starts)
                  .ok());
  EXPECT_EQ(static_cast<uint64_t>(starts.seconds()) * 1000 +
                static_cast<uint64_t>(starts.nanos()) / 1'000'000,
            first_time_ns / 1'000'000);

  // Refreshed every 200 ms, it was never resolved while firing.
  EXPECT_FALSE(Notifications(hook, "big_flows", "firing").empty());
  EXPECT_TRUE(Notifications(hook, "big_flows", "resolved").empty());
  ASSERT_TRUE(FindListed(am.url(), "big_flows", "hv-17").has_value());

  // Stop firing: resolve_after (1 s) later the sink posts endsAt = now.
  const bool resolved = WaitFor(
      [&] { return !Notifications(hook, "big_flows", "resolved").empty(); },
      seconds(10));
  ASSERT_TRUE(resolved) << "no resolved notification; log:\n" << am.log();
  const pb::Struct r = Notifications(hook, "big_flows", "resolved").front();
  EXPECT_EQ(Str(Obj(r, "labels"), "multilog"), "packets");
  EXPECT_NE(Str(r, "endsAt"), "0001-01-01T00:00:00Z");
  EXPECT_FALSE(FindListed(am.url(), "big_flows", "hv-17").has_value());

  dispatcher.Stop();
  const SinkStats s = dispatcher.stats()[0];
  EXPECT_EQ(s.submitted, submitted);
  EXPECT_EQ(s.sent, submitted);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.errors, 0u) << s.last_error;
}

}  // namespace
}  // namespace loupe::agent
