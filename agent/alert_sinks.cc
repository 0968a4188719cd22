#include "agent/alert_sinks.h"

#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "agent/host_port.h"
#include "agent/internal/utf8.h"
#include "agent/json_writer.h"
#include "agent/time_text.h"

namespace loupe::agent {
namespace {

using Clock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;

constexpr std::string_view kAppName = "loupe-agent";
constexpr int kSeverityWarning = 4;
// RFC 5612's example enterprise number, as in RFC 5424's own examples.
constexpr std::string_view kSdId = "loupe@32473";
constexpr std::string_view kAlertsApiPath = "/api/v2/alerts";
// Without a resolve_after and a trigger period, resolve after this long.
constexpr std::chrono::seconds kDefaultResolveAfter{60};
// Ticks a failing resolution is retried for before it is abandoned (the
// alert then ends by Alertmanager's own resolve_timeout).
constexpr int kMaxResolveAttempts = 10;

// A number as the sinks show it in text (syslog, Alertmanager annotations,
// messages): JSON's one rule for doubles (agent/json_writer.h), and
// Prometheus's spelling of the non-finite ones.
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return JsonNumberText(v);
}

int64_t WallNs(WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

// "trigger T on multilog M: A = V > X".
std::string HumanMessage(const AlertEvent& e) {
  std::string msg = "trigger " + e.alert.trigger + " on multilog " +
                    e.multilog + ": " + e.alert.aggregate + " = " +
                    FormatDouble(e.alert.value) + " ";
  msg += CompareOpName(e.alert.op);
  msg += " " + FormatDouble(e.alert.threshold);
  return msg;
}

std::string ErrnoText(int err) {
  std::string s = std::strerror(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z')
    s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

}  // namespace

// ---------------------------------------------------------------- JSON lines

std::string FormatAlertJson(const AlertEvent& event) {
  const Alert& a = event.alert;
  JsonWriter w;
  w.BeginObject()
      .Key("time")
      .String(FormatRfc3339Utc(static_cast<int64_t>(a.time_ns), 9))
      .Key("time_ns")
      .Uint(a.time_ns)
      .Key("host")
      .String(event.host)
      .Key("multilog")
      .String(event.multilog)
      .Key("sequence")
      .Uint(a.sequence)
      .Key("incarnation")
      .Uint(event.incarnation)
      .Key("trigger")
      .String(a.trigger)
      .Key("aggregate")
      .String(a.aggregate)
      .Key("value")
      .Double(a.value)
      .Key("op")
      .String(CompareOpName(a.op))
      .Key("threshold")
      .Double(a.threshold)
      .Key("window_start_ns")
      .Uint(a.window_start_ns)
      .Key("window_end_ns")
      .Uint(a.window_end_ns)
      .Key("period_ns")
      .Int(event.period.count())
      .EndObject();
  return w.str();
}

Result<std::unique_ptr<JsonLinesSink>> JsonLinesSink::Open(
    const std::string& path) {
  if (path.empty()) {
    return Status::InvalidArgument(
        "alert sink jsonl: no path (a file, or - for standard output)");
  }
  if (path == "-") {
    return std::unique_ptr<JsonLinesSink>(
        new JsonLinesSink(path, STDOUT_FILENO, /*owns_fd=*/false));
  }
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::FromErrno("alert sink jsonl: opening " + path, errno);
  }
  return std::unique_ptr<JsonLinesSink>(
      new JsonLinesSink(path, fd, /*owns_fd=*/true));
}

JsonLinesSink::JsonLinesSink(std::string path, int fd, bool owns_fd)
    : AlertSink("jsonl:" + path),
      path_(std::move(path)),
      fd_(fd),
      owns_fd_(owns_fd) {}

JsonLinesSink::~JsonLinesSink() {
  if (owns_fd_) ::close(fd_);
}

Status JsonLinesSink::Deliver(const AlertEvent& event) {
  std::string line = FormatAlertJson(event);
  line += '\n';
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("alert sink jsonl: writing " + path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// -------------------------------------------------------------------- syslog

Result<int> SyslogFacilityCode(std::string_view name) {
  if (name == "user") return 1;
  if (name == "daemon") return 3;
  if (name.size() == 6 && name.starts_with("local") && name[5] >= '0' &&
      name[5] <= '7') {
    return 16 + (name[5] - '0');
  }
  return Status::InvalidArgument("alert sink syslog: unknown facility '" +
                                 std::string(name) +
                                 "' (expected local0..local7, daemon or user)");
}

namespace {

// Printable US-ASCII only, 1..255 characters (RFC 5424 HOSTNAME).
std::string SyslogHostname(std::string_view host) {
  if (host.empty()) return "-";
  std::string out(host.substr(0, 255));
  for (char& c : out) {
    if (c < 33 || c > 126) c = '_';
  }
  return out;
}

void AppendSdParam(std::string* out, std::string_view name,
                   std::string_view value) {
  *out += ' ';
  *out += name;
  *out += "=\"";
  internal::ForEachUtf8(
      value,
      [&](char c) {
        if (c == '"' || c == '\\' || c == ']') {
          out->push_back('\\');
          out->push_back(c);
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out->push_back(' ');
        } else {
          out->push_back(c);
        }
      },
      [&](std::string_view seq) { out->append(seq); });
  *out += '"';
}

}  // namespace

std::string FormatSyslogMessage(const AlertEvent& event, int facility,
                                WallClock::time_point wall_time, int pid) {
  std::string out = "<" + std::to_string(facility * 8 + kSeverityWarning);
  out += ">1 ";
  out += FormatRfc3339Utc(WallNs(wall_time), 6);
  out += ' ';
  out += SyslogHostname(event.host);
  out += ' ';
  out += kAppName;
  out += ' ';
  out += std::to_string(pid);
  out += " alert [";
  out += kSdId;
  AppendSdParam(&out, "multilog", event.multilog);
  AppendSdParam(&out, "trigger", event.alert.trigger);
  AppendSdParam(&out, "aggregate", event.alert.aggregate);
  AppendSdParam(&out, "value", FormatDouble(event.alert.value));
  AppendSdParam(&out, "op", CompareOpName(event.alert.op));
  AppendSdParam(&out, "threshold", FormatDouble(event.alert.threshold));
  // With the host, the alert's key: a receiver may drop a repeat.
  AppendSdParam(&out, "incarnation", std::to_string(event.incarnation));
  AppendSdParam(&out, "sequence", std::to_string(event.alert.sequence));
  out += "] ";
  internal::ForEachUtf8(
      HumanMessage(event),
      [&](char c) {
        const bool control = static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        out.push_back(control ? ' ' : c);
      },
      [&](std::string_view seq) { out.append(seq); });
  return out;
}

Result<std::unique_ptr<SyslogSink>> SyslogSink::Create(
    const std::string& address, const std::string& facility, std::string host) {
  Result<int> code = SyslogFacilityCode(facility);
  if (!code.ok()) return code.status();
  const Status bad_address =
      Status::InvalidArgument("alert sink syslog: bad address '" + address +
                              "': expected udp:HOST:PORT or unix:PATH");
  std::string_view a = address;
  if (a.starts_with("unix:")) {
    std::string path(a.substr(5));
    if (path.empty()) return bad_address;
    if (path.size() >= sizeof(sockaddr_un::sun_path)) {
      return Status::InvalidArgument("alert sink syslog: socket path '" + path +
                                     "' is too long");
    }
    return std::unique_ptr<SyslogSink>(new SyslogSink(
        address, /*unix_socket=*/true, path, "", *code, std::move(host)));
  }
  if (a.starts_with("udp:")) {
    std::string target;
    uint16_t port = 0;
    if (!SplitHostPort(a.substr(4), &target, &port) || target.empty() ||
        port == 0) {
      return bad_address;
    }
    return std::unique_ptr<SyslogSink>(
        new SyslogSink(address, /*unix_socket=*/false, target,
                       std::to_string(port), *code, std::move(host)));
  }
  return bad_address;
}

SyslogSink::SyslogSink(std::string address, bool unix_socket,
                       std::string target_host, std::string target_port,
                       int facility, std::string host)
    : AlertSink("syslog:" + address),
      address_(std::move(address)),
      unix_socket_(unix_socket),
      target_host_(std::move(target_host)),
      target_port_(std::move(target_port)),
      facility_(facility),
      host_(std::move(host)) {}

SyslogSink::~SyslogSink() { Close(); }

void SyslogSink::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status SyslogSink::Connect() {
  const std::string what = "alert sink syslog " + address_;
  if (unix_socket_) {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::FromErrno(what + ": socket", errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    target_host_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      const int err = errno;
      ::close(fd);
      return Status::Unavailable(what + ": connect: " + ErrnoText(err));
    }
    fd_ = fd;
    return Status::Ok();
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const int rc =
      ::getaddrinfo(target_host_.c_str(), target_port_.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::Unavailable(what + ": cannot resolve '" + target_host_ +
                               "': " + ::gai_strerror(rc));
  }
  int err = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                            ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      fd_ = fd;
      break;
    }
    err = errno;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (fd_ < 0)
    return Status::Unavailable(what + ": connect: " + ErrnoText(err));
  return Status::Ok();
}

Status SyslogSink::Deliver(const AlertEvent& event) {
  if (fd_ < 0) LOUPE_RETURN_IF_ERROR(Connect());
  std::string msg;
  if (event.host.empty()) {
    AlertEvent copy = event;
    copy.host = host_;
    msg = FormatSyslogMessage(copy, facility_, WallClock::now(), ::getpid());
  } else {
    msg = FormatSyslogMessage(event, facility_, WallClock::now(), ::getpid());
  }
  ssize_t n;
  do {
    n = ::send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    Close();  // reconnect on the next attempt: the daemon may have restarted
    return Status::Unavailable("alert sink syslog " + address_ +
                               ": send: " + ErrnoText(err));
  }
  return Status::Ok();
}

// -------------------------------------------------------------- alertmanager

namespace {

// http[s]://HOST[:PORT][/PATH]; the path is returned without a trailing '/'.
bool ParseUrl(std::string_view url, bool* https, std::string* host,
              uint16_t* port, std::string* path) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    *https = false;
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    *https = true;
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.find_first_of("?#@ \t") != std::string_view::npos) return false;
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view p =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (p.ends_with('/')) p.remove_suffix(1);
  path->assign(p);
  const uint16_t default_port = *https ? 443 : 80;
  if (SplitHostPort(authority, host, port)) {
    return !host->empty() && *port != 0;
  }
  // No port: a name, an IPv4 address or "[IPv6]".
  std::string_view h = authority;
  if (h.starts_with('[') && h.ends_with(']')) {
    h = h.substr(1, h.size() - 2);
  } else if (h.find_first_of(":[]") != std::string_view::npos) {
    return false;
  }
  if (h.empty()) return false;
  host->assign(h);
  *port = default_port;
  return true;
}

std::string HttpErrorText(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::Read:
      return "no reply (read failed or timed out)";
    case httplib::Error::Write:
      return "cannot send the request";
    default:
      return "HTTP client error " + httplib::to_string(error);
  }
}

}  // namespace

Result<std::unique_ptr<AlertmanagerSink>> AlertmanagerSink::Create(
    AlertmanagerOptions options) {
  bool https = false;
  std::string host, base_path;
  uint16_t port = 0;
  if (!ParseUrl(options.url, &https, &host, &port, &base_path)) {
    return Status::InvalidArgument("alert sink alertmanager: bad url '" +
                                   options.url +
                                   "': expected http[s]://HOST[:PORT][/PATH]");
  }
  std::unique_ptr<httplib::Client> client;
  if (https) {
    const std::string bracketed =
        host.find(':') != std::string::npos ? "[" + host + "]" : host;
    client = std::make_unique<httplib::Client>("https://" + bracketed + ":" +
                                               std::to_string(port));
  } else {
    client = std::make_unique<httplib::Client>(host, port);
  }
  if (!client->is_valid()) {
    return Status::InvalidArgument("alert sink alertmanager: url '" +
                                   options.url + "' is not usable");
  }
  const auto timeout = options.timeout;
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  client->set_keep_alive(false);
  return std::unique_ptr<AlertmanagerSink>(new AlertmanagerSink(
      std::move(options), std::move(base_path), std::move(client)));
}

AlertmanagerSink::AlertmanagerSink(AlertmanagerOptions options,
                                   std::string base_path,
                                   std::unique_ptr<httplib::Client> client)
    : AlertSink("alertmanager:" + options.url),
      options_(std::move(options)),
      alerts_path_(std::move(base_path) + std::string(kAlertsApiPath)),
      client_(std::move(client)) {}

AlertmanagerSink::~AlertmanagerSink() = default;

std::chrono::nanoseconds AlertmanagerSink::tick_interval() const {
  using std::chrono::milliseconds;
  if (options_.resolve_after <= std::chrono::nanoseconds::zero()) {
    return milliseconds(250);
  }
  return std::clamp<std::chrono::nanoseconds>(
      options_.resolve_after / 4, milliseconds(10), std::chrono::seconds(1));
}

namespace {

// One element of the POST body.
std::string AlertmanagerAlertJson(const AlertEvent& e,
                                  WallClock::time_point starts_at,
                                  const WallClock::time_point* ends_at) {
  const Alert& a = e.alert;
  std::string description =
      "On host " + e.host + ", aggregate " + a.aggregate + " of multilog " +
      e.multilog + " was " + FormatDouble(a.value) + " over [" +
      FormatRfc3339Utc(static_cast<int64_t>(a.window_start_ns), 3) + ", " +
      FormatRfc3339Utc(static_cast<int64_t>(a.window_end_ns), 3) +
      "); trigger " + a.trigger + " fires when it is ";
  description += CompareOpName(a.op);
  description += " " + FormatDouble(a.threshold) + ".";
  JsonWriter w;
  w.BeginObject().Key("labels").BeginObject();
  w.Key("alertname").String(a.trigger);
  w.Key("host").String(e.host);
  w.Key("multilog").String(e.multilog);
  w.Key("trigger").String(a.trigger);
  w.Key("severity").String("warning");
  w.EndObject().Key("annotations").BeginObject();
  w.Key("value").String(FormatDouble(a.value));
  w.Key("threshold").String(FormatDouble(a.threshold));
  w.Key("summary").String(HumanMessage(e));
  w.Key("description").String(description);
  w.EndObject();
  w.Key("startsAt").String(FormatRfc3339Utc(WallNs(starts_at), 3));
  if (ends_at != nullptr) {
    w.Key("endsAt").String(FormatRfc3339Utc(WallNs(*ends_at), 3));
  }
  w.EndObject();
  return w.str();
}

}  // namespace

Status AlertmanagerSink::Post(const std::string& body) {
  httplib::Result res =
      client_->Post(alerts_path_.c_str(), body, "application/json");
  const std::string what =
      "alert sink alertmanager " + options_.url + ": POST " + alerts_path_;
  if (!res)
    return Status::Unavailable(what + ": " + HttpErrorText(res.error()));
  if (res->status < 200 || res->status > 299) {
    std::string reply = res->body.substr(0, 200);
    while (!reply.empty() && (reply.back() == '\n' || reply.back() == ' ')) {
      reply.pop_back();
    }
    return Status::Unavailable(what + ": HTTP " + std::to_string(res->status) +
                               (reply.empty() ? "" : ": " + reply));
  }
  return Status::Ok();
}

Status AlertmanagerSink::Deliver(const AlertEvent& event) {
  const auto now = Clock::now();
  const auto wall = WallClock::now();
  auto [it, fresh] = firing_.try_emplace({event.multilog, event.alert.trigger});
  Firing& f = it->second;
  if (fresh) {
    // The first firing of an episode starts it, at its own (data) time.
    const auto t =
        WallClock::time_point(std::chrono::duration_cast<WallClock::duration>(
            std::chrono::nanoseconds(event.alert.time_ns)));
    f.starts_at = (event.alert.time_ns == 0 || t > wall) ? wall : t;
  }
  f.last = event;
  if (f.last.host.empty()) f.last.host = options_.host;
  f.last_alert = now;
  f.resolve_attempts = 0;
  f.resolve_after = options_.resolve_after;
  if (f.resolve_after <= std::chrono::nanoseconds::zero()) {
    f.resolve_after = event.period > std::chrono::nanoseconds::zero()
                          ? 2 * event.period
                          : kDefaultResolveAfter;
  }
  Status st =
      Post("[" + AlertmanagerAlertJson(f.last, f.starts_at, nullptr) + "]");
  if (st.ok()) f.last_post = now;
  return st;
}

Status AlertmanagerSink::Tick(Clock::time_point now) {
  const auto wall = WallClock::now();
  std::string body;
  std::vector<decltype(firing_)::iterator> resolving, refreshing;
  for (auto it = firing_.begin(); it != firing_.end(); ++it) {
    Firing& f = it->second;
    if (now - f.last_alert >= f.resolve_after) {
      resolving.push_back(it);
      body += body.empty() ? "[" : ",";
      body += AlertmanagerAlertJson(f.last, f.starts_at, &wall);
    } else if (now - f.last_post >= options_.refresh_every) {
      refreshing.push_back(it);
      body += body.empty() ? "[" : ",";
      body += AlertmanagerAlertJson(f.last, f.starts_at, nullptr);
    }
  }
  if (body.empty()) return Status::Ok();
  body += ']';
  Status st = Post(body);
  for (auto it : refreshing) {
    if (st.ok()) it->second.last_post = now;
  }
  for (auto it : resolving) {
    if (st.ok() || ++it->second.resolve_attempts >= kMaxResolveAttempts) {
      firing_.erase(it);
    }
  }
  return st;
}

// --------------------------------------------------------------- the factory

Result<std::unique_ptr<AlertSink>> MakeSink(const SinkConfig& config,
                                            const std::string& host) {
  Result<std::unique_ptr<AlertSink>> sink =
      Status::Internal("alert sink: not built");
  if (config.type == "jsonl") {
    auto r = JsonLinesSink::Open(config.path);
    if (!r.ok()) return r.status();
    sink = std::unique_ptr<AlertSink>(std::move(r).value());
  } else if (config.type == "syslog") {
    auto r = SyslogSink::Create(
        config.address, config.facility.empty() ? "local0" : config.facility,
        host);
    if (!r.ok()) return r.status();
    sink = std::unique_ptr<AlertSink>(std::move(r).value());
  } else if (config.type == "alertmanager") {
    AlertmanagerOptions options;
    options.url = config.url;
    options.resolve_after = config.resolve_after;
    options.host = host;
    auto r = AlertmanagerSink::Create(std::move(options));
    if (!r.ok()) return r.status();
    sink = std::unique_ptr<AlertSink>(std::move(r).value());
  } else {
    return Status::InvalidArgument(
        "alert sink: unknown type '" + config.type +
        "' (expected jsonl, syslog or alertmanager)");
  }
  if (!config.name.empty()) (*sink)->set_name(config.name);
  return sink;
}

}  // namespace loupe::agent
