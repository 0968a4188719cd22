// AlertDispatcher + AlertmanagerSink against a real Alertmanager
// (/usr/bin/prometheus-alertmanager, Debian's prometheus-alertmanager 0.25),
// started on a free loopback port with clustering disabled, in a temporary
// directory, and killed at the end whatever happens.
//
// What Alertmanager 0.25 shows, found by trying it: GET /api/v2/alerts lists
// an alert with status.state "active" once posted; an alert whose endsAt has
// passed is resolved and disappears from GET /api/v2/alerts under every
// filter (active/silenced/inhibited/unprocessed true or false), so absence
// alone cannot tell "resolved" from "never arrived". The test therefore
// routes alerts to a webhook receiver it serves itself, with send_resolved,
// and waits for the notification whose status is "resolved".
#include <fcntl.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/alert_sinks.h"

namespace loupe::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
namespace pb = google::protobuf;

constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

bool WaitFor(const std::function<bool()>& pred, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

int FreeTcpPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// Receives Alertmanager's webhook notifications.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    server_.Post("/", [this](const httplib::Request& req, httplib::Response&) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~WebhookReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/";
  }
  std::vector<std::string> bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> bodies_;
};

// One Alertmanager process; the destructor kills it.
class AlertmanagerProcess {
 public:
  AlertmanagerProcess(const std::string& dir, const std::string& webhook_url) {
    config_ = dir + "/alertmanager.yml";
    log_ = dir + "/alertmanager.log";
    std::ofstream(config_) << "global:\n"
                              "  resolve_timeout: 5m\n"
                              "route:\n"
                              "  receiver: noc\n"
                              "  group_by: ['...']\n"
                              "  group_wait: 0s\n"
                              "  group_interval: 1s\n"
                              "  repeat_interval: 1h\n"
                              "receivers:\n"
                              "  - name: noc\n"
                              "    webhook_configs:\n"
                              "      - url: "
                           << webhook_url
                           << "\n"
                              "        send_resolved: true\n";
    storage_ = dir + "/data";
  }
  ~AlertmanagerProcess() { Kill(); }
  AlertmanagerProcess(const AlertmanagerProcess&) = delete;
  AlertmanagerProcess& operator=(const AlertmanagerProcess&) = delete;

  // Starts it on a free port and waits until /-/ready answers 200. A port
  // taken between FreeTcpPort and the bind makes it exit: try again.
  bool Start(std::string* error) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreeTcpPort();
      const std::string listen =
          "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      const std::string config = "--config.file=" + config_;
      const std::string storage = "--storage.path=" + storage_;
      std::vector<std::string> args = {kAlertmanager,
                                       config,
                                       storage,
                                       listen,
                                       "--cluster.listen-address=",
                                       "--log.level=debug"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      const pid_t parent = getpid();
      const int log_fd =
          open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (log_fd < 0) {
        *error = "open " + log_ + ": " + std::strerror(errno);
        return false;
      }
      pid_ = fork();
      if (pid_ == 0) {
        // Only async-signal-safe calls here. Dies with the test even if the
        // test crashes and never runs its destructors.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        execv(kAlertmanager, argv.data());
        _exit(127);
      }
      close(log_fd);
      if (pid_ < 0) {
        *error = std::string("fork: ") + std::strerror(errno);
        pid_ = -1;
        return false;
      }
      httplib::Client client("127.0.0.1", port_);
      client.set_connection_timeout(milliseconds(200));
      const bool ready = WaitFor(
          [&] {
            if (Exited()) return true;
            auto res = client.Get("/-/ready");
            return res && res->status == 200;
          },
          seconds(15));
      if (ready && !Exited()) return true;
      Kill();
    }
    *error = "alertmanager did not become ready; its log:\n" + ReadFile(log_);
    return false;
  }

  int port() const { return port_; }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  std::string log() const { return ReadFile(log_); }

 private:
  bool Exited() {
    if (pid_ <= 0) return true;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + seconds(5);
    int status;
    while (waitpid(pid_, &status, WNOHANG) != pid_) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    pid_ = -1;
  }

  std::string config_, log_, storage_;
  pid_t pid_ = -1;
  int port_ = 0;
};

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

std::string Str(const pb::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "<missing " + key + ">"
                                : it->second.string_value();
}

const pb::Struct& Obj(const pb::Struct& s, const std::string& key) {
  static const pb::Struct kEmpty;
  auto it = s.fields().find(key);
  return it == s.fields().end() ? kEmpty : it->second.struct_value();
}

// Our alert in GET /api/v2/alerts, if listed.
std::optional<pb::Struct> FindListed(const std::string& am_url) {
  httplib::Client client(am_url);
  auto res = client.Get("/api/v2/alerts");
  if (!res || res->status != 200) return std::nullopt;
  pb::ListValue list;
  if (!pb::util::JsonStringToMessage(res->body, &list).ok()) {
    ADD_FAILURE() << "not JSON: " << res->body;
    return std::nullopt;
  }
  for (const auto& v : list.values()) {
    const pb::Struct& labels = Obj(v.struct_value(), "labels");
    if (Str(labels, "alertname") == "big_flows" &&
        Str(labels, "host") == "hv-17") {
      return v.struct_value();
    }
  }
  return std::nullopt;
}

// The webhook notifications about our alert with `status`.
std::vector<pb::Struct> Notifications(const WebhookReceiver& hook,
                                      const std::string& status) {
  std::vector<pb::Struct> out;
  for (const std::string& body : hook.bodies()) {
    pb::Struct n;
    if (!pb::util::JsonStringToMessage(body, &n).ok()) {
      ADD_FAILURE() << "not JSON: " << body;
      continue;
    }
    auto alerts = n.fields().find("alerts");
    if (alerts == n.fields().end()) continue;
    for (const auto& a : alerts->second.list_value().values()) {
      if (Str(a.struct_value(), "status") == status &&
          Str(Obj(a.struct_value(), "labels"), "alertname") == "big_flows") {
        out.push_back(a.struct_value());
      }
    }
  }
  return out;
}

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
    if (!listed) listed = FindListed(am.url());
  }
  if (!listed) listed = FindListed(am.url());
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
  EXPECT_FALSE(Notifications(hook, "firing").empty());
  EXPECT_TRUE(Notifications(hook, "resolved").empty());
  ASSERT_TRUE(FindListed(am.url()).has_value());

  // Stop firing: resolve_after (1 s) later the sink posts endsAt = now.
  const bool resolved = WaitFor(
      [&] { return !Notifications(hook, "resolved").empty(); }, seconds(10));
  ASSERT_TRUE(resolved) << "no resolved notification; log:\n" << am.log();
  const pb::Struct r = Notifications(hook, "resolved").front();
  EXPECT_EQ(Str(Obj(r, "labels"), "multilog"), "packets");
  EXPECT_NE(Str(r, "endsAt"), "0001-01-01T00:00:00Z");
  EXPECT_FALSE(FindListed(am.url()).has_value());

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
