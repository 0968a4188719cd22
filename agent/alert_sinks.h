// Alert sinks: the feeds that carry trigger firings from an agent to the NOC
// (JSON lines, syslog per RFC 5424, the Alertmanager API v2), and MakeSink,
// which builds one from its configuration. AlertDispatcher
// (agent/alert_dispatcher.h) fans alerts out to them.
//
// Threads: a sink's Deliver and Tick are called by one thread at a time
// (the dispatcher's worker for that sink), so sinks keep no locks. Every
// sink bounds its own I/O with timeouts, since whoever delivers waits for
// it. Library loupe_alerts (no DPDK).
#ifndef LOUPE_AGENT_ALERT_SINKS_H_
#define LOUPE_AGENT_ALERT_SINKS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "multilog/alert_log.h"
#include "multilog/status.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace loupe::agent {

// One firing, as the agent hands it to the sinks.
struct AlertEvent {
  std::string host;      // the agent's host name
  std::string multilog;  // the multilog whose trigger fired
  loupe::Alert alert;
  std::chrono::nanoseconds period{0};  // the trigger's evaluation period
  // Which life of `multilog` fired: the registry numbers each multilog it
  // opens, so a dropped and re-created one (whose sequences start again)
  // is told apart from the old one. 0 when unknown.
  uint64_t incarnation = 0;
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  AlertSink(const AlertSink&) = delete;
  AlertSink& operator=(const AlertSink&) = delete;

  // Names the sink in stats and metrics, e.g. "syslog:udp:10.0.0.5:514".
  const std::string& name() const { return name_; }
  // Renames the sink; only before it is given to a dispatcher.
  void set_name(std::string name) { name_ = std::move(name); }
  // "jsonl", "syslog", "alertmanager", ...
  virtual std::string_view type() const = 0;

  // Delivers one alert; an error makes the dispatcher retry it.
  virtual Status Deliver(const AlertEvent& event) = 0;

  // How often the dispatcher calls Tick; zero (the default) means never.
  virtual std::chrono::nanoseconds tick_interval() const {
    return std::chrono::nanoseconds::zero();
  }
  // Periodic work, such as resolving alerts that stopped firing.
  virtual Status Tick(std::chrono::steady_clock::time_point now) {
    (void)now;
    return Status::Ok();
  }

 protected:
  explicit AlertSink(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

// One JSON object, no newline:
//   {"time":"<RFC 3339, ns>","time_ns":N,"host":S,"multilog":S,"sequence":N,
//    "trigger":S,"aggregate":S,"value":X,"op":">","threshold":X,
//    "window_start_ns":N,"window_end_ns":N,"period_ns":N}
// where a non-finite value or threshold is null.
std::string FormatAlertJson(const AlertEvent& event);

// Appends each alert as one line of JSON (FormatAlertJson) to a file, with
// one write(2) per line on an O_APPEND descriptor, so lines from several
// writers never interleave and nothing is buffered between alerts.
class JsonLinesSink final : public AlertSink {
 public:
  // `path` is created if missing and appended to; "-" is standard output.
  static Result<std::unique_ptr<JsonLinesSink>> Open(const std::string& path);
  ~JsonLinesSink() override;

  std::string_view type() const override { return "jsonl"; }
  Status Deliver(const AlertEvent& event) override;

 private:
  JsonLinesSink(std::string path, int fd, bool owns_fd);

  std::string path_;
  int fd_;
  bool owns_fd_;
};

// RFC 5424 facility code of "local0".."local7", "daemon" or "user".
Result<int> SyslogFacilityCode(std::string_view name);

// One RFC 5424 message, severity warning (4):
//   <PRI>1 TIMESTAMP HOSTNAME loupe-agent PROCID alert
//   [loupe@32473 multilog="M" trigger="T" aggregate="A" value="V" op=">"
//   threshold="X"] trigger T on multilog M: A = V > X
// TIMESTAMP is `wall_time` in UTC with microseconds; HOSTNAME is
// `event.host` with anything outside printable ASCII as '_' ("-" if empty);
// SD-PARAM values escape '"', '\' and ']' with '\'. Control characters in
// SD-PARAM values and the message become spaces.
std::string FormatSyslogMessage(const AlertEvent& event, int facility,
                                std::chrono::system_clock::time_point wall_time,
                                int pid);

// Sends RFC 5424 messages as datagrams to "udp:HOST:PORT" (HOST may be
// "[IPv6]") or to a Unix datagram socket "unix:PATH" (such as /dev/log).
// Create checks the address; the socket is connected on the first delivery
// and again after any error, so a syslog daemon may start after the agent.
class SyslogSink final : public AlertSink {
 public:
  static Result<std::unique_ptr<SyslogSink>> Create(const std::string& address,
                                                    const std::string& facility,
                                                    std::string host);
  ~SyslogSink() override;

  std::string_view type() const override { return "syslog"; }
  Status Deliver(const AlertEvent& event) override;

 private:
  SyslogSink(std::string address, bool unix_socket, std::string target_host,
             std::string target_port, int facility, std::string host);
  Status Connect();
  void Close();

  std::string address_;
  bool unix_socket_;
  std::string target_host_;  // or the socket path
  std::string target_port_;
  int facility_;
  std::string host_;  // HOSTNAME when an event has none
  int fd_ = -1;
};

struct AlertmanagerOptions {
  std::string url;  // http[s]://HOST[:PORT][/PATH-PREFIX]
  // Resolve a (multilog, trigger) when no alert for it has arrived for this
  // long; zero means twice the trigger's period (one minute if unknown).
  std::chrono::nanoseconds resolve_after{0};
  // Re-post an alert that is still active at least this often, since
  // Alertmanager times out alerts it does not hear about (resolve_timeout,
  // five minutes by default).
  std::chrono::nanoseconds refresh_every = std::chrono::seconds(60);
  std::chrono::milliseconds timeout{2000};  // connect, read and write
  std::string host;  // the host label of events that carry none
};

// Posts alerts to Alertmanager (POST <url>/api/v2/alerts, a JSON array) with
//   labels:      alertname=<trigger>, host, multilog, trigger,
//                severity="warning"
//   annotations: value, threshold, summary, description
//   startsAt:    the first firing's alert time (now, if that is unset or
//                in the future); no endsAt while firing
// Every delivery re-posts (Alertmanager needs refreshes while the trigger
// keeps firing); Tick resolves, by posting endsAt = now, each alert that has
// not fired for resolve_after, and refreshes the others every refresh_every.
class AlertmanagerSink final : public AlertSink {
 public:
  static Result<std::unique_ptr<AlertmanagerSink>> Create(
      AlertmanagerOptions options);
  ~AlertmanagerSink() override;

  std::string_view type() const override { return "alertmanager"; }
  Status Deliver(const AlertEvent& event) override;
  std::chrono::nanoseconds tick_interval() const override;
  Status Tick(std::chrono::steady_clock::time_point now) override;

 private:
  struct Firing {
    AlertEvent last;  // the latest alert, for labels and annotations
    std::chrono::system_clock::time_point starts_at;
    std::chrono::steady_clock::time_point last_alert;  // when it arrived
    std::chrono::steady_clock::time_point last_post;
    std::chrono::nanoseconds resolve_after;
    int resolve_attempts = 0;  // failed posts of its resolution
  };
  AlertmanagerSink(AlertmanagerOptions options, std::string base_path,
                   std::unique_ptr<httplib::Client> client);
  // POSTs `body` (a JSON array) to <url>/api/v2/alerts.
  Status Post(const std::string& body);

  AlertmanagerOptions options_;
  std::string alerts_path_;
  std::unique_ptr<httplib::Client> client_;
  // Keyed by (multilog, trigger); only the worker thread touches it.
  std::map<std::pair<std::string, std::string>, Firing> firing_;
};

// A sink as the configuration describes it.
struct SinkConfig {
  std::string type{};  // "jsonl", "syslog" or "alertmanager"
  std::string path{};  // jsonl: a file, appended to, or "-" (standard output)
  std::string address{};            // syslog: "udp:HOST:PORT", "unix:PATH"
  std::string facility = "local0";  // syslog; empty means local0
  std::string url{};                // alertmanager: http[s]://HOST[:PORT]
  std::chrono::nanoseconds resolve_after{0};  // alertmanager; see above
  std::string name{};  // in stats; empty: "<type>:<path|address|url>"
};

// Errors (kInvalidArgument unless the file cannot be opened): "alert sink:
// unknown type 'x' (expected jsonl, syslog or alertmanager)", "alert sink
// syslog: bad address 'x': expected udp:HOST:PORT or unix:PATH", "alert sink
// syslog: unknown facility 'x' (expected local0..local7, daemon or user)",
// "alert sink alertmanager: bad url 'x': expected
// http[s]://HOST[:PORT][/PATH]". `host` is the HOSTNAME/host label for events
// that carry none.
Result<std::unique_ptr<AlertSink>> MakeSink(const SinkConfig& config,
                                            const std::string& host);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_ALERT_SINKS_H_
