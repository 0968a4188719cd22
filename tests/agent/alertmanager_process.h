// A real Prometheus Alertmanager for tests (/usr/bin/prometheus-alertmanager,
// Debian's prometheus-alertmanager 0.25): started on a free loopback port
// with clustering disabled, in a directory the test owns, routing every
// alert to a webhook receiver the test serves itself (send_resolved on), and
// killed by the destructor -- or with the test process, whatever happens.
//
// What Alertmanager 0.25 shows, found by trying it: GET /api/v2/alerts lists
// an alert with status.state "active" once posted; an alert whose endsAt has
// passed is resolved and disappears from GET /api/v2/alerts under every
// filter, so absence alone cannot tell "resolved" from "never arrived". Tests
// therefore wait for the webhook notification whose status is "resolved".
#ifndef LOUPE_TESTS_AGENT_ALERTMANAGER_PROCESS_H_
#define LOUPE_TESTS_AGENT_ALERTMANAGER_PROCESS_H_

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
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
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace loupe::test_support {

inline constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::steady_clock::duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

inline int FreeTcpPort() {
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

inline std::string ReadFile(const std::string& path) {
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
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
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
      client.set_connection_timeout(std::chrono::milliseconds(200));
      const bool ready = WaitFor(
          [&] {
            if (Exited()) return true;
            auto res = client.Get("/-/ready");
            return res && res->status == 200;
          },
          std::chrono::seconds(15));
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
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status;
    while (waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

  std::string config_, log_, storage_;
  pid_t pid_ = -1;
  int port_ = 0;
};

namespace pb = google::protobuf;

// s[key] as a string ("<missing key>" if absent).
inline std::string Str(const pb::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "<missing " + key + ">"
                                : it->second.string_value();
}

// s[key] as an object (empty if absent).
inline const pb::Struct& Obj(const pb::Struct& s, const std::string& key) {
  static const pb::Struct kEmpty;
  auto it = s.fields().find(key);
  return it == s.fields().end() ? kEmpty : it->second.struct_value();
}

// The alert labelled alertname = `name` and host = `host` in GET
// /api/v2/alerts of the Alertmanager at `am_url`, if listed.
inline std::optional<pb::Struct> FindListed(const std::string& am_url,
                                            const std::string& name,
                                            const std::string& host) {
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
    if (Str(labels, "alertname") == name && Str(labels, "host") == host) {
      return v.struct_value();
    }
  }
  return std::nullopt;
}

// The alerts named `name` with `status` ("firing" or "resolved") in the
// webhook notifications `hook` received.
inline std::vector<pb::Struct> Notifications(const WebhookReceiver& hook,
                                             const std::string& name,
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
          Str(Obj(a.struct_value(), "labels"), "alertname") == name) {
        out.push_back(a.struct_value());
      }
    }
  }
  return out;
}

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_AGENT_ALERTMANAGER_PROCESS_H_
