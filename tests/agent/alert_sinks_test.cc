// Alert sinks and the dispatcher, on loopback and in temporary directories:
// JSON lines checked by a real JSON parser (protobuf's), syslog datagrams
// received on UDP and Unix sockets the test binds, the Alertmanager payload
// received by an HTTP server the test runs, and the dispatcher's accounting
// with sinks that block or fail. The real Alertmanager is in
// alertmanager_test.cc (suite integration).
#include "agent/alert_sinks.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/alert_dispatcher.h"

namespace loupe::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;
namespace pb = google::protobuf;

// ------------------------------------------------------------------ helpers

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/loupe-sinks-XXXXXX";
    if (mkdtemp(name) != nullptr) path_ = name;
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Polls `pred` every millisecond for up to `timeout`.
bool WaitFor(const std::function<bool()>& pred,
             Clock::duration timeout = seconds(5)) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

pb::Struct ParseObject(const std::string& json) {
  pb::Struct s;
  const auto status = pb::util::JsonStringToMessage(json, &s);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return s;
}

pb::ListValue ParseArray(const std::string& json) {
  pb::ListValue l;
  const auto status = pb::util::JsonStringToMessage(json, &l);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return l;
}

std::string Str(const pb::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end()) return "<missing " + key + ">";
  return it->second.string_value();
}

double Num(const pb::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end()) return -12345;
  return it->second.number_value();
}

const pb::Struct& Obj(const pb::Struct& s, const std::string& key) {
  static const pb::Struct kEmpty;
  auto it = s.fields().find(key);
  return it == s.fields().end() ? kEmpty : it->second.struct_value();
}

bool Has(const pb::Struct& s, const std::string& key) {
  return s.fields().count(key) != 0;
}

AlertEvent MakeEvent(uint64_t sequence = 1) {
  AlertEvent e;
  e.host = "hv-17";
  e.multilog = "packets";
  e.period = seconds(1);
  e.incarnation = 4;
  e.alert.sequence = sequence;
  e.alert.time_ns = 1'700'000'000'123'456'789ull;
  e.alert.trigger = "big_flows";
  e.alert.aggregate = "http_bytes";
  e.alert.value = 1.5e6;
  e.alert.op = CompareOp::kGt;
  e.alert.threshold = 1e6;
  e.alert.window_start_ns = 1'699'999'999'000'000'000ull;
  e.alert.window_end_ns = 1'700'000'000'000'000'000ull;
  return e;
}

// Names with every character the formats must escape.
constexpr const char* kNastyTrigger = "t\"q]u\\o\nte\x01\tcaf\xC3\xA9";

// ---------------------------------------------------------------- JSON lines

TEST(FormatAlertJsonTest, IsJsonWithEveryField) {
  const pb::Struct o = ParseObject(FormatAlertJson(MakeEvent(7)));
  EXPECT_EQ(Str(o, "time"), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(Num(o, "time_ns"), 1.700000000123456789e18);
  EXPECT_EQ(Str(o, "host"), "hv-17");
  EXPECT_EQ(Str(o, "multilog"), "packets");
  EXPECT_EQ(Num(o, "sequence"), 7);
  EXPECT_EQ(Num(o, "incarnation"), 4);
  EXPECT_EQ(Str(o, "trigger"), "big_flows");
  EXPECT_EQ(Str(o, "aggregate"), "http_bytes");
  EXPECT_EQ(Num(o, "value"), 1.5e6);
  EXPECT_EQ(Str(o, "op"), ">");
  EXPECT_EQ(Num(o, "threshold"), 1e6);
  EXPECT_EQ(Num(o, "window_start_ns"), 1.699999999e18);
  EXPECT_EQ(Num(o, "window_end_ns"), 1.7e18);
  EXPECT_EQ(Num(o, "period_ns"), 1e9);
}

TEST(FormatAlertJsonTest, EscapesStringsAndNonFiniteNumbers) {
  AlertEvent e = MakeEvent();
  e.alert.trigger = kNastyTrigger;
  e.multilog = "bad\xFFutf8";
  e.alert.value = std::nan("");
  e.alert.threshold = -HUGE_VAL;
  const std::string json = FormatAlertJson(e);
  EXPECT_EQ(json.find('\n'), std::string::npos) << json;
  const pb::Struct o = ParseObject(json);
  EXPECT_EQ(Str(o, "trigger"), kNastyTrigger);
  EXPECT_EQ(Str(o, "multilog"), "bad\xEF\xBF\xBDutf8");
  EXPECT_EQ(o.fields().at("value").kind_case(), pb::Value::kNullValue);
  EXPECT_EQ(o.fields().at("threshold").kind_case(), pb::Value::kNullValue);
}

TEST(JsonLinesSinkTest, AppendsOneJsonObjectPerLine) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/alerts.jsonl";
  {
    std::ofstream f(path);
    f << "{\"earlier\":true}\n";
  }
  auto sink = JsonLinesSink::Open(path);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  EXPECT_EQ((*sink)->name(), "jsonl:" + path);
  EXPECT_EQ((*sink)->type(), "jsonl");
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    AlertEvent e = MakeEvent(seq);
    if (seq == 2) e.alert.trigger = kNastyTrigger;
    ASSERT_TRUE((*sink)->Deliver(e).ok());
    // Flushed per alert: the line is in the file before the next one.
    std::ifstream f(path);
    std::string all((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(std::count(all.begin(), all.end(), '\n'),
              static_cast<long>(seq + 1));
  }
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
  for (size_t i = 1; i < 4; ++i) {
    const pb::Struct o = ParseObject(lines[i]);
    EXPECT_EQ(Num(o, "sequence"), static_cast<double>(i));
    EXPECT_EQ(Str(o, "host"), "hv-17");
  }
  EXPECT_EQ(Str(ParseObject(lines[2]), "trigger"), kNastyTrigger);
}

TEST(JsonLinesSinkTest, ReportsAFileItCannotOpen) {
  auto sink = JsonLinesSink::Open("/nonexistent-dir/alerts.jsonl");
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().message(),
            "alert sink jsonl: opening /nonexistent-dir/alerts.jsonl: No such "
            "file or directory");
}

// -------------------------------------------------------------------- syslog

// A datagram socket bound by the test; Receive waits up to five seconds.
class DatagramReceiver {
 public:
  // Binds 127.0.0.1:0.
  DatagramReceiver() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      error_ = std::strerror(errno);
    }
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  // Binds a Unix datagram socket at `path`.
  explicit DatagramReceiver(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      error_ = std::strerror(errno);
    }
  }
  ~DatagramReceiver() { close(fd_); }
  DatagramReceiver(const DatagramReceiver&) = delete;
  DatagramReceiver& operator=(const DatagramReceiver&) = delete;

  const std::string& error() const { return error_; }
  uint16_t port() const { return port_; }

  std::string Receive() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return "<nothing received>";
    char buf[65536];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n < 0 ? "<recv failed>" : std::string(buf, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string error_;
};

// The parts of an RFC 5424 message with one SD-ELEMENT; `params` holds the
// SD-PARAM values unescaped.
struct Syslog5424 {
  bool matched = false;
  int pri = -1;
  std::string timestamp, hostname, app_name, procid, msgid, sd_id, sd, msg;
  std::map<std::string, std::string> params;
};

// Parses strictly by RFC 5424's ABNF:
//   "<" PRIVAL ">1" SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
//   SP "[" SD-ID *(SP PARAM-NAME "=" DQUOTE PARAM-VALUE DQUOTE) "]" SP MSG
// where PARAM-VALUE escapes '"', '\' and ']' with '\' and has them nowhere
// unescaped.
Syslog5424 ParseSyslog(const std::string& m) {
  Syslog5424 out;
  size_t i = 0;
  const auto token = [&](std::string* t) {
    const size_t sp = m.find(' ', i);
    if (sp == std::string::npos || sp == i) return false;
    *t = m.substr(i, sp - i);
    i = sp + 1;
    return true;
  };
  if (m.empty() || m[0] != '<') return out;
  const size_t gt = m.find('>');
  if (gt == std::string::npos || gt < 2 || gt > 4) return out;
  out.pri = std::atoi(m.substr(1, gt - 1).c_str());
  i = gt + 1;
  std::string version;
  if (!token(&version) || version != "1") return out;
  if (!token(&out.timestamp) || !token(&out.hostname) ||
      !token(&out.app_name) || !token(&out.procid) || !token(&out.msgid)) {
    return out;
  }
  const size_t sd_start = i;
  if (i >= m.size() || m[i] != '[') return out;
  ++i;
  while (i < m.size() && m[i] != ' ' && m[i] != ']') out.sd_id += m[i++];
  while (i < m.size() && m[i] == ' ') {
    ++i;
    std::string name, value;
    while (i < m.size() && m[i] != '=') name += m[i++];
    if (i + 1 >= m.size() || m[i + 1] != '"') return out;
    i += 2;
    for (;; ++i) {
      if (i >= m.size() || m[i] == ']') return out;
      if (m[i] == '"') break;
      if (m[i] == '\\') {
        if (i + 1 >= m.size()) return out;
        const char next = m[i + 1];
        if (next != '"' && next != '\\' && next != ']') return out;
        value += next;
        ++i;
        continue;
      }
      value += m[i];
    }
    ++i;  // the closing quote
    out.params[name] = value;
  }
  if (i + 1 >= m.size() || m[i] != ']' || m[i + 1] != ' ') return out;
  out.sd = m.substr(sd_start, i + 1 - sd_start);
  out.msg = m.substr(i + 2);
  out.matched = true;
  return out;
}

// "2024-05-01T12:34:56.123456Z": RFC 3339 in UTC with microseconds.
bool IsTimestampWithMicroseconds(const std::string& t) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (t.size() != shape.size()) return false;
  for (size_t k = 0; k < t.size(); ++k) {
    if (shape[k] == 'd' ? !std::isdigit(static_cast<unsigned char>(t[k]))
                        : t[k] != shape[k]) {
      return false;
    }
  }
  return true;
}

TEST(SyslogSinkTest, SendsRfc5424OverUdp) {
  DatagramReceiver receiver;
  ASSERT_EQ(receiver.error(), "");
  const std::string address =
      "udp:127.0.0.1:" + std::to_string(receiver.port());
  auto sink = SyslogSink::Create(address, "local3", "fallback-host");
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  EXPECT_EQ((*sink)->name(), "syslog:" + address);
  EXPECT_EQ((*sink)->type(), "syslog");

  ASSERT_TRUE((*sink)->Deliver(MakeEvent()).ok());
  const std::string m = receiver.Receive();
  const Syslog5424 s = ParseSyslog(m);
  ASSERT_TRUE(s.matched) << m;
  EXPECT_EQ(s.pri, 19 * 8 + 4);  // local3, warning
  EXPECT_TRUE(IsTimestampWithMicroseconds(s.timestamp)) << s.timestamp;
  EXPECT_EQ(s.hostname, "hv-17");
  EXPECT_EQ(s.app_name, "loupe-agent");
  EXPECT_EQ(s.procid, std::to_string(getpid()));
  EXPECT_EQ(s.msgid, "alert");
  EXPECT_EQ(s.sd_id, "loupe@32473");
  EXPECT_EQ(s.params.size(), 8u);
  EXPECT_EQ(s.sd,
            "[loupe@32473 multilog=\"packets\" trigger=\"big_flows\" "
            "aggregate=\"http_bytes\" value=\"1500000\" op=\">\" "
            "threshold=\"1000000\" incarnation=\"4\" sequence=\"1\"]");
  EXPECT_EQ(s.msg,
            "trigger big_flows on multilog packets: http_bytes = 1500000 > "
            "1000000");
}

TEST(SyslogSinkTest, EscapesStructuredDataAndCleansTheHeader) {
  DatagramReceiver receiver;
  ASSERT_EQ(receiver.error(), "");
  auto sink = SyslogSink::Create(
      "udp:127.0.0.1:" + std::to_string(receiver.port()), "user", "fallback");
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  AlertEvent e = MakeEvent();
  e.alert.trigger = kNastyTrigger;
  e.multilog = "m]\xFF";
  e.host = "bad host\n";
  ASSERT_TRUE((*sink)->Deliver(e).ok());
  const std::string m = receiver.Receive();
  const Syslog5424 s = ParseSyslog(m);
  ASSERT_TRUE(s.matched) << m;
  EXPECT_EQ(s.pri, 1 * 8 + 4);
  EXPECT_EQ(s.hostname, "bad_host_");
  EXPECT_THAT(s.sd, HasSubstr("multilog=\"m\\]\xEF\xBF\xBD\""));
  EXPECT_THAT(s.sd, HasSubstr("trigger=\"t\\\"q\\]u\\\\o te  caf\xC3\xA9\""));
  // Unescaped, the values are the names, control characters as spaces.
  EXPECT_EQ(s.params.at("multilog"), "m]\xEF\xBF\xBD");
  EXPECT_EQ(s.params.at("trigger"), "t\"q]u\\o te  caf\xC3\xA9");
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;

  // An event without a host is sent with the sink's.
  e.host.clear();
  ASSERT_TRUE((*sink)->Deliver(e).ok());
  EXPECT_EQ(ParseSyslog(receiver.Receive()).hostname, "fallback");
}

TEST(SyslogSinkTest, SendsToAUnixDatagramSocket) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/log";
  auto sink = SyslogSink::Create("unix:" + path, "daemon", "h");
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();

  // Nobody listens yet: an error, not a hang; the dispatcher would retry.
  Status st = (*sink)->Deliver(MakeEvent());
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_EQ(st.message(), "alert sink syslog unix:" + path +
                              ": connect: no such file or directory");

  DatagramReceiver receiver(path);
  ASSERT_EQ(receiver.error(), "");
  ASSERT_TRUE((*sink)->Deliver(MakeEvent()).ok());
  const Syslog5424 s = ParseSyslog(receiver.Receive());
  ASSERT_TRUE(s.matched);
  EXPECT_EQ(s.pri, 3 * 8 + 4);  // daemon, warning
  EXPECT_EQ(s.hostname, "hv-17");
}

TEST(SyslogSinkTest, ReconnectsAfterTheDaemonRestarts) {
  TempDir dir;
  const std::string path = dir.path() + "/log";
  auto sink = SyslogSink::Create("unix:" + path, "local0", "h");
  ASSERT_TRUE(sink.ok());
  {
    DatagramReceiver first(path);
    ASSERT_TRUE((*sink)->Deliver(MakeEvent(1)).ok());
    EXPECT_TRUE(ParseSyslog(first.Receive()).matched);
  }
  unlink(path.c_str());
  EXPECT_FALSE((*sink)->Deliver(MakeEvent(2)).ok());  // the old peer is gone
  DatagramReceiver second(path);
  ASSERT_TRUE((*sink)->Deliver(MakeEvent(3)).ok());
  EXPECT_TRUE(ParseSyslog(second.Receive()).matched);
}

TEST(SyslogSinkTest, FacilityCodes) {
  EXPECT_EQ(*SyslogFacilityCode("user"), 1);
  EXPECT_EQ(*SyslogFacilityCode("daemon"), 3);
  EXPECT_EQ(*SyslogFacilityCode("local0"), 16);
  EXPECT_EQ(*SyslogFacilityCode("local7"), 23);
  for (const char* bad : {"local8", "kern", "", "LOCAL0", "local"}) {
    EXPECT_FALSE(SyslogFacilityCode(bad).ok()) << bad;
  }
}

// ------------------------------------------- Alertmanager payload, faked

// An HTTP server standing in for Alertmanager: records each POST body and
// answers with `status`.
class FakeAlertmanager {
 public:
  explicit FakeAlertmanager(std::string path = "/api/v2/alerts") {
    server_.Post(
        path, [this](const httplib::Request& req, httplib::Response& res) {
          std::lock_guard<std::mutex> lock(mu_);
          bodies_.push_back(req.body);
          content_types_.push_back(req.get_header_value("Content-Type"));
          res.status = status_;
          if (status_ != 200)
            res.set_content("bad alert: nope\n", "text/plain");
        });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~FakeAlertmanager() {
    server_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  std::vector<std::string> bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::string content_type(size_t i) const {
    std::lock_guard<std::mutex> lock(mu_);
    return content_types_.at(i);
  }
  void set_status(int s) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> bodies_;
  std::vector<std::string> content_types_;
  int status_ = 200;
};

std::unique_ptr<AlertmanagerSink> NewAlertmanagerSink(
    const std::string& url, std::chrono::nanoseconds resolve_after = {}) {
  AlertmanagerOptions options;
  options.url = url;
  options.resolve_after = resolve_after;
  options.timeout = milliseconds(500);
  auto sink = AlertmanagerSink::Create(options);
  EXPECT_TRUE(sink.ok()) << sink.status().ToString();
  return sink.ok() ? std::move(sink).value() : nullptr;
}

TEST(AlertmanagerSinkTest, PostsLabelsAnnotationsAndStartsAt) {
  FakeAlertmanager am;
  auto sink = NewAlertmanagerSink(am.url(), seconds(10));
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->name(), "alertmanager:" + am.url());
  ASSERT_TRUE(sink->Deliver(MakeEvent()).ok());
  ASSERT_EQ(am.bodies().size(), 1u);
  EXPECT_EQ(am.content_type(0), "application/json");
  const pb::ListValue list = ParseArray(am.bodies()[0]);
  ASSERT_EQ(list.values_size(), 1);
  const pb::Struct& a = list.values(0).struct_value();
  const pb::Struct& labels = Obj(a, "labels");
  EXPECT_EQ(labels.fields_size(), 5);
  EXPECT_EQ(Str(labels, "alertname"), "big_flows");
  EXPECT_EQ(Str(labels, "host"), "hv-17");
  EXPECT_EQ(Str(labels, "multilog"), "packets");
  EXPECT_EQ(Str(labels, "trigger"), "big_flows");
  EXPECT_EQ(Str(labels, "severity"), "warning");
  const pb::Struct& ann = Obj(a, "annotations");
  EXPECT_EQ(Str(ann, "value"), "1500000");
  EXPECT_EQ(Str(ann, "threshold"), "1000000");
  EXPECT_EQ(Str(ann, "summary"),
            "trigger big_flows on multilog packets: http_bytes = 1500000 > "
            "1000000");
  EXPECT_THAT(Str(ann, "description"), HasSubstr("hv-17"));
  EXPECT_EQ(Str(a, "startsAt"), "2023-11-14T22:13:20.123Z");
  EXPECT_FALSE(Has(a, "endsAt"));
}

TEST(AlertmanagerSinkTest, ResolvesWhenTheTriggerStopsFiring) {
  FakeAlertmanager am;
  auto sink = NewAlertmanagerSink(am.url(), seconds(10));
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->tick_interval(), seconds(1));
  const auto t0 = Clock::now();
  ASSERT_TRUE(sink->Deliver(MakeEvent(1)).ok());
  ASSERT_TRUE(sink->Deliver(MakeEvent(2)).ok());  // still firing: re-posted
  ASSERT_TRUE(sink->Tick(t0 + seconds(9)).ok());  // not yet
  ASSERT_EQ(am.bodies().size(), 2u);
  EXPECT_EQ(am.bodies()[0], am.bodies()[1]);

  const auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(sink->Tick(Clock::now() + seconds(11)).ok());
  ASSERT_EQ(am.bodies().size(), 3u);
  const pb::ListValue list = ParseArray(am.bodies()[2]);
  ASSERT_EQ(list.values_size(), 1);
  const pb::Struct& a = list.values(0).struct_value();
  EXPECT_EQ(Str(Obj(a, "labels"), "trigger"), "big_flows");
  EXPECT_EQ(Str(a, "startsAt"), "2023-11-14T22:13:20.123Z");
  // endsAt is now (ms precision).
  ASSERT_TRUE(Has(a, "endsAt"));
  pb::Timestamp ends;
  ASSERT_TRUE(
      pb::util::JsonStringToMessage("\"" + Str(a, "endsAt") + "\"", &ends)
          .ok());
  const auto ends_ms = ends.seconds() * 1000 + ends.nanos() / 1'000'000;
  const auto before_ms =
      std::chrono::duration_cast<milliseconds>(before.time_since_epoch())
          .count();
  EXPECT_GE(ends_ms, before_ms - 1);
  EXPECT_LT(ends_ms, before_ms + 5000);

  // Resolved once, then forgotten.
  ASSERT_TRUE(sink->Tick(Clock::now() + seconds(30)).ok());
  EXPECT_EQ(am.bodies().size(), 3u);
}

TEST(AlertmanagerSinkTest, ResolveAfterDefaultsToTwoPeriods) {
  FakeAlertmanager am;
  auto sink = NewAlertmanagerSink(am.url());
  ASSERT_NE(sink, nullptr);
  AlertEvent e = MakeEvent();
  e.period = seconds(3);
  const auto t0 = Clock::now();
  ASSERT_TRUE(sink->Deliver(e).ok());
  ASSERT_TRUE(sink->Tick(t0 + milliseconds(5500)).ok());
  EXPECT_EQ(am.bodies().size(), 1u);
  ASSERT_TRUE(sink->Tick(Clock::now() + seconds(6)).ok());
  ASSERT_EQ(am.bodies().size(), 2u);
  EXPECT_THAT(am.bodies()[1], HasSubstr("\"endsAt\""));
}

TEST(AlertmanagerSinkTest, RefreshesLongRunningAlertsAndKeysByTrigger) {
  FakeAlertmanager am;
  AlertmanagerOptions options;
  options.url = am.url();
  options.resolve_after = seconds(100);
  options.refresh_every = seconds(5);
  auto sink = AlertmanagerSink::Create(options);
  ASSERT_TRUE(sink.ok());
  AlertEvent other = MakeEvent();
  other.alert.trigger = "syn_flood";
  ASSERT_TRUE((*sink)->Deliver(MakeEvent()).ok());
  ASSERT_TRUE((*sink)->Deliver(other).ok());
  ASSERT_TRUE((*sink)->Tick(Clock::now() + seconds(6)).ok());
  ASSERT_EQ(am.bodies().size(), 3u);
  const pb::ListValue refresh = ParseArray(am.bodies()[2]);
  ASSERT_EQ(refresh.values_size(), 2);
  for (const auto& v : refresh.values()) {
    EXPECT_FALSE(Has(v.struct_value(), "endsAt"));
  }
}

TEST(AlertmanagerSinkTest, StartsAtIsNeverInTheFuture) {
  FakeAlertmanager am;
  auto sink = NewAlertmanagerSink(am.url(), seconds(1));
  AlertEvent e = MakeEvent();
  e.alert.time_ns = 4'000'000'000'000'000'000ull;  // year 2096
  const auto now_s = std::chrono::duration_cast<seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  ASSERT_TRUE(sink->Deliver(e).ok());
  const pb::Struct a = ParseArray(am.bodies()[0]).values(0).struct_value();
  pb::Timestamp starts;
  ASSERT_TRUE(
      pb::util::JsonStringToMessage("\"" + Str(a, "startsAt") + "\"", &starts)
          .ok());
  EXPECT_LE(std::abs(starts.seconds() - now_s), 5);
}

TEST(AlertmanagerSinkTest, PostsUnderAPathPrefix) {
  FakeAlertmanager am("/am/api/v2/alerts");
  auto sink = NewAlertmanagerSink(am.url() + "/am/", seconds(1));
  ASSERT_TRUE(sink->Deliver(MakeEvent()).ok());
  EXPECT_EQ(am.bodies().size(), 1u);
}

TEST(AlertmanagerSinkTest, ReportsHttpErrorsAndUnreachableServers) {
  FakeAlertmanager am;
  am.set_status(400);
  auto sink = NewAlertmanagerSink(am.url(), seconds(1));
  Status st = sink->Deliver(MakeEvent());
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_EQ(st.message(), "alert sink alertmanager " + am.url() +
                              ": POST /api/v2/alerts: HTTP 400: bad alert: "
                              "nope");

  // A port nobody listens on.
  DatagramReceiver placeholder;  // a UDP port: no TCP listener there
  const std::string url =
      "http://127.0.0.1:" + std::to_string(placeholder.port());
  auto down = NewAlertmanagerSink(url, seconds(1));
  st = down->Deliver(MakeEvent());
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_THAT(st.message(), StartsWith("alert sink alertmanager " + url +
                                       ": POST /api/v2/alerts: "));
}

// --------------------------------------------------------------- MakeSink

TEST(MakeSinkTest, BuildsEachTypeWithItsName) {
  TempDir dir;
  SinkConfig jsonl{.type = "jsonl", .path = dir.path() + "/a.jsonl"};
  auto a = MakeSink(jsonl, "h");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->type(), "jsonl");
  EXPECT_EQ((*a)->name(), "jsonl:" + dir.path() + "/a.jsonl");

  SinkConfig syslog{.type = "syslog",
                    .address = "udp:[::1]:514",
                    .facility = "local7",
                    .name = "noc-syslog"};
  auto b = MakeSink(syslog, "h");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->type(), "syslog");
  EXPECT_EQ((*b)->name(), "noc-syslog");

  SinkConfig am{.type = "alertmanager", .url = "https://am.example:9093"};
  auto c = MakeSink(am, "h");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->type(), "alertmanager");
  EXPECT_EQ((*c)->name(), "alertmanager:https://am.example:9093");

  auto stdout_sink = MakeSink({.type = "jsonl", .path = "-"}, "h");
  ASSERT_TRUE(stdout_sink.ok());
  EXPECT_EQ((*stdout_sink)->name(), "jsonl:-");
}

TEST(MakeSinkTest, ExplainsBadConfigurations) {
  struct Case {
    SinkConfig config;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{.type = "kafka"},
       "alert sink: unknown type 'kafka' (expected jsonl, syslog or "
       "alertmanager)"},
      {{.type = "jsonl"},
       "alert sink jsonl: no path (a file, or - for standard output)"},
      {{.type = "syslog", .address = "tcp:1.2.3.4:514"},
       "alert sink syslog: bad address 'tcp:1.2.3.4:514': expected "
       "udp:HOST:PORT or unix:PATH"},
      {{.type = "syslog", .address = "udp:1.2.3.4"},
       "alert sink syslog: bad address 'udp:1.2.3.4': expected "
       "udp:HOST:PORT or unix:PATH"},
      {{.type = "syslog", .address = "udp:1.2.3.4:0"},
       "alert sink syslog: bad address 'udp:1.2.3.4:0': expected "
       "udp:HOST:PORT or unix:PATH"},
      {{.type = "syslog", .address = "udp::::514"},
       "alert sink syslog: bad address 'udp::::514': expected "
       "udp:HOST:PORT or unix:PATH"},
      {{.type = "syslog", .address = "unix:"},
       "alert sink syslog: bad address 'unix:': expected udp:HOST:PORT or "
       "unix:PATH"},
      {{.type = "syslog", .address = "unix:/dev/log", .facility = "local9"},
       "alert sink syslog: unknown facility 'local9' (expected "
       "local0..local7, daemon or user)"},
      {{.type = "alertmanager", .url = "ftp://am:9093"},
       "alert sink alertmanager: bad url 'ftp://am:9093': expected "
       "http[s]://HOST[:PORT][/PATH]"},
      {{.type = "alertmanager", .url = "http://:9093"},
       "alert sink alertmanager: bad url 'http://:9093': expected "
       "http[s]://HOST[:PORT][/PATH]"},
      {{.type = "alertmanager", .url = "http://am:99999"},
       "alert sink alertmanager: bad url 'http://am:99999': expected "
       "http[s]://HOST[:PORT][/PATH]"},
      {{.type = "alertmanager", .url = "http://user@am:9093"},
       "alert sink alertmanager: bad url 'http://user@am:9093': expected "
       "http[s]://HOST[:PORT][/PATH]"},
      {{.type = "alertmanager", .url = ""},
       "alert sink alertmanager: bad url '': expected "
       "http[s]://HOST[:PORT][/PATH]"},
  };
  for (const Case& c : cases) {
    auto sink = MakeSink(c.config, "h");
    ASSERT_FALSE(sink.ok()) << c.message;
    EXPECT_EQ(sink.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(sink.status().message(), c.message);
  }
  auto long_path = MakeSink(
      {.type = "syslog", .address = "unix:/" + std::string(200, 'x')}, "h");
  ASSERT_FALSE(long_path.ok());
  EXPECT_THAT(long_path.status().message(), HasSubstr("is too long"));
}

// ---------------------------------------------------------------- dispatcher

// What a TestSink saw, shared with the test so that it outlives the sink.
struct TestSinkState {
  std::mutex mu;
  std::condition_variable cv;
  bool block = false;  // Deliver waits until Release()
  int fail_first = 0;  // attempts that fail before the first success
  bool fail_always = false;
  std::chrono::milliseconds delay{0};
  int in_deliver = 0;
  int attempts = 0;
  std::vector<Clock::time_point> attempt_times;
  std::vector<AlertEvent> delivered;
  std::atomic<int> ticks{0};
  bool fail_ticks = false;

  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    block = false;
    cv.notify_all();
  }
  bool WaitInDeliver() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, seconds(5), [&] { return in_deliver > 0; });
  }
  size_t delivered_count() {
    std::lock_guard<std::mutex> lock(mu);
    return delivered.size();
  }
};

class TestSink final : public AlertSink {
 public:
  TestSink(std::string name, std::shared_ptr<TestSinkState> state,
           std::chrono::nanoseconds tick = {})
      : AlertSink(std::move(name)), state_(std::move(state)), tick_(tick) {}
  std::string_view type() const override { return "test"; }
  Status Deliver(const AlertEvent& e) override {
    std::unique_lock<std::mutex> lock(state_->mu);
    ++state_->in_deliver;
    ++state_->attempts;
    state_->attempt_times.push_back(Clock::now());
    state_->cv.notify_all();
    state_->cv.wait(lock, [&] { return !state_->block; });
    --state_->in_deliver;
    if (state_->delay.count() > 0) {
      lock.unlock();
      std::this_thread::sleep_for(state_->delay);
      lock.lock();
    }
    if (state_->fail_always || state_->attempts <= state_->fail_first) {
      return Status::Unavailable("test sink down");
    }
    state_->delivered.push_back(e);
    return Status::Ok();
  }
  std::chrono::nanoseconds tick_interval() const override { return tick_; }
  Status Tick(Clock::time_point) override {
    ++state_->ticks;
    return state_->fail_ticks ? Status::Unavailable("tick failed")
                              : Status::Ok();
  }

 private:
  std::shared_ptr<TestSinkState> state_;
  std::chrono::nanoseconds tick_;
};

// Unblocks a TestSink when a test ends, even by a failed ASSERT, so that the
// dispatcher's destructor does not wait forever; declare it after the
// dispatcher.
class ReleaseOnExit {
 public:
  explicit ReleaseOnExit(std::shared_ptr<TestSinkState> s)
      : state_(std::move(s)) {}
  ~ReleaseOnExit() { state_->Release(); }
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;

 private:
  std::shared_ptr<TestSinkState> state_;
};

std::unique_ptr<AlertSink> NewTestSink(std::shared_ptr<TestSinkState> state,
                                       std::string name = "test",
                                       std::chrono::nanoseconds tick = {}) {
  return std::make_unique<TestSink>(std::move(name), std::move(state), tick);
}

void ExpectBalanced(const SinkStats& s) {
  EXPECT_EQ(s.submitted, s.sent + s.failed + s.dropped + s.queued + s.in_flight)
      << s.name << ": submitted " << s.submitted << " sent " << s.sent
      << " failed " << s.failed << " dropped " << s.dropped << " queued "
      << s.queued << " in_flight " << s.in_flight;
}

TEST(AlertDispatcherTest, DeliversInOrder) {
  auto state = std::make_shared<TestSinkState>();
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(state));
  AlertDispatcher d(std::move(sinks));
  for (uint64_t i = 1; i <= 20; ++i) d.Submit(MakeEvent(i));
  ASSERT_TRUE(WaitFor([&] { return state->delivered_count() == 20; }));
  d.Stop();
  for (uint64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(state->delivered[i].alert.sequence, i + 1);
  }
  const SinkStats s = d.stats()[0];
  EXPECT_EQ(s.name, "test");
  EXPECT_EQ(s.type, "test");
  EXPECT_EQ(s.submitted, 20u);
  EXPECT_EQ(s.sent, 20u);
  EXPECT_EQ(s.errors, 0u);
  ExpectBalanced(s);
}

// Capacity counts alerts waiting; the one being delivered is in flight. With
// the sink blocked on its first alert, of 10 submitted: 1 in flight, 4
// queued, 5 dropped (the newest), exactly.
TEST(AlertDispatcherTest, CountsQueueFullDropsExactly) {
  auto state = std::make_shared<TestSinkState>();
  state->block = true;
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(state));
  AlertDispatcher d(std::move(sinks), {.queue_capacity = 4});
  ReleaseOnExit release(state);
  d.Submit(MakeEvent(1));
  ASSERT_TRUE(state->WaitInDeliver());
  for (uint64_t i = 2; i <= 10; ++i) d.Submit(MakeEvent(i));
  SinkStats s = d.stats()[0];
  EXPECT_EQ(s.submitted, 10u);
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(s.queued, 4u);
  EXPECT_EQ(s.dropped, 5u);
  EXPECT_EQ(s.sent, 0u);
  ExpectBalanced(s);

  state->Release();
  ASSERT_TRUE(WaitFor([&] { return d.stats()[0].sent == 5; }));
  s = d.stats()[0];
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.dropped, 5u);
  ExpectBalanced(s);
  std::vector<uint64_t> seqs;
  for (const auto& e : state->delivered) seqs.push_back(e.alert.sequence);
  EXPECT_THAT(seqs, ElementsAre(1, 2, 3, 4, 5));
  d.Stop();
}

TEST(AlertDispatcherTest, ABlockedSinkDelaysNeitherSubmitNorOtherSinks) {
  auto blocked = std::make_shared<TestSinkState>();
  blocked->block = true;
  auto healthy = std::make_shared<TestSinkState>();
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(blocked, "blocked"));
  sinks.push_back(NewTestSink(healthy, "healthy"));
  AlertDispatcher d(std::move(sinks), {.queue_capacity = 8});
  ReleaseOnExit release(blocked);
  d.Submit(MakeEvent(1));
  ASSERT_TRUE(blocked->WaitInDeliver());
  // Each Submit returns while the first sink is blocked, and the second
  // sink delivers each alert.
  ASSERT_TRUE(WaitFor([&] { return healthy->delivered_count() == 1; }));
  for (uint64_t i = 2; i <= 50; ++i) {
    d.Submit(MakeEvent(i));
    ASSERT_TRUE(WaitFor([&] { return healthy->delivered_count() == i; }));
  }
  const auto stats = d.stats();
  EXPECT_EQ(stats[0].name, "blocked");
  EXPECT_EQ(stats[0].in_flight, 1u);
  EXPECT_EQ(stats[0].queued, 8u);
  EXPECT_EQ(stats[0].dropped, 41u);
  EXPECT_EQ(stats[1].sent, 50u);
  EXPECT_EQ(stats[1].dropped, 0u);
  for (const auto& s : stats) ExpectBalanced(s);
  blocked->Release();
  d.Stop();
  for (const auto& s : d.stats()) ExpectBalanced(s);
}

TEST(AlertDispatcherTest, RetriesWithBackoffThenCountsFailures) {
  auto state = std::make_shared<TestSinkState>();
  state->fail_always = true;
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(state));
  AlertDispatcher d(std::move(sinks), {.max_attempts = 3,
                                       .first_backoff = milliseconds(20),
                                       .max_backoff = milliseconds(30)});
  d.Submit(MakeEvent(1));
  d.Submit(MakeEvent(2));
  ASSERT_TRUE(WaitFor([&] { return d.stats()[0].failed == 2; }));
  const SinkStats s = d.stats()[0];
  EXPECT_EQ(s.sent, 0u);
  EXPECT_EQ(s.errors, 6u);
  EXPECT_EQ(s.last_error, "unavailable: test sink down");
  ExpectBalanced(s);
  std::lock_guard<std::mutex> lock(state->mu);
  ASSERT_EQ(state->attempt_times.size(), 6u);
  // Backoff 20 ms, then 30 ms (capped), then the next alert at once.
  EXPECT_GE(state->attempt_times[1] - state->attempt_times[0],
            milliseconds(20));
  EXPECT_GE(state->attempt_times[2] - state->attempt_times[1],
            milliseconds(30));
}

TEST(AlertDispatcherTest, ARetrySucceeds) {
  auto state = std::make_shared<TestSinkState>();
  state->fail_first = 2;
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(state));
  AlertDispatcher d(std::move(sinks), {.first_backoff = milliseconds(1)});
  d.Submit(MakeEvent(1));
  ASSERT_TRUE(WaitFor([&] { return d.stats()[0].sent == 1; }));
  const SinkStats s = d.stats()[0];
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.errors, 2u);
  ExpectBalanced(s);
}

TEST(AlertDispatcherTest, StopDrainsBrieflyThenDrops) {
  auto state = std::make_shared<TestSinkState>();
  state->delay = milliseconds(30);
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(state));
  AlertDispatcher d(std::move(sinks), {.drain_timeout = milliseconds(100)});
  for (uint64_t i = 1; i <= 30; ++i) d.Submit(MakeEvent(i));
  // Once the first delivery has begun, Stop lets it finish: sent >= 1.
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(state->mu);
    return state->attempts >= 1;
  }));
  const auto t0 = Clock::now();
  d.Stop();
  EXPECT_LT(Clock::now() - t0, seconds(2));
  SinkStats s = d.stats()[0];
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_GE(s.sent, 1u);
  EXPECT_GE(s.dropped, 1u);
  EXPECT_EQ(s.sent + s.dropped, 30u);
  ExpectBalanced(s);

  d.Submit(MakeEvent(31));  // after Stop: counted, not queued
  d.Stop();                 // idempotent
  s = d.stats()[0];
  EXPECT_EQ(s.submitted, 31u);
  EXPECT_EQ(s.sent + s.dropped, 31u);
  ExpectBalanced(s);
}

TEST(AlertDispatcherTest, StopCutsRetriesShortAtTheDrainDeadline) {
  auto state = std::make_shared<TestSinkState>();
  state->fail_always = true;
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(state));
  AlertDispatcher d(std::move(sinks), {.max_attempts = 100,
                                       .first_backoff = seconds(10),
                                       .max_backoff = seconds(10),
                                       .drain_timeout = milliseconds(50)});
  d.Submit(MakeEvent(1));
  d.Submit(MakeEvent(2));
  ASSERT_TRUE(WaitFor([&] { return d.stats()[0].errors == 1; }));
  const auto t0 = Clock::now();
  d.Stop();
  EXPECT_LT(Clock::now() - t0, seconds(2));
  const SinkStats s = d.stats()[0];
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.dropped, 1u);
  ExpectBalanced(s);
}

TEST(AlertDispatcherTest, TicksTheSinksThatAskForIt) {
  auto state = std::make_shared<TestSinkState>();
  state->fail_ticks = true;
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(state, "ticking", milliseconds(5)));
  AlertDispatcher d(std::move(sinks));
  ASSERT_TRUE(WaitFor([&] { return state->ticks.load() >= 5; }));
  d.Stop();
  const SinkStats s = d.stats()[0];
  EXPECT_GE(s.errors, 5u);
  EXPECT_EQ(s.last_error, "unavailable: tick failed");
  EXPECT_EQ(s.submitted, 0u);
}

TEST(AlertDispatcherTest, SubscribesToAnAlertLog) {
  auto state = std::make_shared<TestSinkState>();
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(NewTestSink(state));
  AlertDispatcher d(std::move(sinks));
  AlertLog log;
  const uint64_t id =
      log.Subscribe(d.SubscriberFor("hv-3", "flows", milliseconds(500)));
  Alert a = MakeEvent().alert;
  log.Append(a);
  log.Append(a);
  ASSERT_TRUE(WaitFor([&] { return state->delivered_count() == 2; }));
  log.Unsubscribe(id);
  d.Stop();
  EXPECT_EQ(state->delivered[1].host, "hv-3");
  EXPECT_EQ(state->delivered[1].multilog, "flows");
  EXPECT_EQ(state->delivered[1].period, milliseconds(500));
  EXPECT_EQ(state->delivered[1].alert.sequence, 2u);
  EXPECT_EQ(state->delivered[1].alert.trigger, "big_flows");
}

// An Alertmanager that accepts connections and never answers: deliveries
// hang until the sink's timeout, and Submit stays instant.
TEST(AlertDispatcherTest, AnUnresponsiveAlertmanagerNeverBlocksSubmit) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);  // never accepted
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  AlertmanagerOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  options.timeout = milliseconds(200);
  auto am = AlertmanagerSink::Create(options);
  ASSERT_TRUE(am.ok());
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::move(am).value());
  AlertDispatcher d(std::move(sinks), {.queue_capacity = 16,
                                       .max_attempts = 2,
                                       .first_backoff = milliseconds(10),
                                       .drain_timeout = milliseconds(50)});
  const auto t0 = Clock::now();
  for (uint64_t i = 1; i <= 1000; ++i) d.Submit(MakeEvent(i));
  EXPECT_LT(Clock::now() - t0, milliseconds(500));
  SinkStats s = d.stats()[0];
  EXPECT_EQ(s.submitted, 1000u);
  EXPECT_GE(s.dropped, 1000u - 16 - 1);
  ExpectBalanced(s);
  ASSERT_TRUE(WaitFor([&] { return d.stats()[0].failed >= 1; }));
  EXPECT_THAT(d.stats()[0].last_error,
              HasSubstr("POST /api/v2/alerts: no reply"));
  const auto t1 = Clock::now();
  d.Stop();
  EXPECT_LT(Clock::now() - t1, seconds(2));
  s = d.stats()[0];
  EXPECT_EQ(s.queued, 0u);
  ExpectBalanced(s);
  close(fd);
}

}  // namespace
}  // namespace loupe::agent
