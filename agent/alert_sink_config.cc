#include "agent/alert_sink_config.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "agent/host_port.h"
#include "multilog/did_you_mean.h"

namespace loupe::agent {
namespace {

using std::chrono::nanoseconds;

// The keys of each sink type; a key of another type is refused by name.
struct SinkKey {
  std::string_view key;
  SinkType type;
};
constexpr SinkKey kSinkKeys[] = {
    {"path", SinkType::kJsonl},
    {"address", SinkType::kSyslog},
    {"facility", SinkType::kSyslog},
    {"url", SinkType::kAlertmanager},
    {"resolve_after", SinkType::kAlertmanager},
};

std::optional<SinkType> ParseSinkType(std::string_view name) {
  for (SinkType t :
       {SinkType::kJsonl, SinkType::kSyslog, SinkType::kAlertmanager}) {
    if (name == SinkTypeName(t)) return t;
  }
  return std::nullopt;
}

void DecodeSink(ValueReader& reader, const toml::table& table,
                const std::string& path, AlertSinkConfig* s) {
  TableReader t(reader, table, path);
  std::optional<SinkType> type;
  if (std::string name; t.String("type", &name)) {
    type = ParseSinkType(name);
    if (!type.has_value()) {
      reader.report().Bad(
          LineOf(*t.Get("type")), t.Key("type"),
          "unknown sink type " + Quoted(name) +
              DidYouMean(name, std::vector<std::string_view>{"jsonl", "syslog",
                                                             "alertmanager"}) +
              " (expected jsonl, syslog or alertmanager)");
    }
  } else if (t.Get("type") == nullptr) {
    reader.report().Bad(s->line, t.Key("type"),
                        "missing; a sink needs a type: jsonl, syslog or "
                        "alertmanager");
  }
  if (type.has_value()) {
    s->type = *type;
  } else {
    reader.report().Suppress(path);
  }
  t.String("name", &s->name);
  for (const SinkKey& k : kSinkKeys) {
    const toml::node* n = t.Get(k.key);
    if (n == nullptr || !type.has_value()) continue;
    const std::string key = t.Key(k.key);
    if (k.type != *type) {
      reader.report().Bad(
          LineOf(*n), key,
          "applies only to " + std::string(SinkTypeName(k.type)) +
              " sinks, and this one is " + std::string(SinkTypeName(*type)));
      continue;
    }
    if (k.key == "path") reader.String(*n, key, &s->path);
    if (k.key == "address") reader.String(*n, key, &s->address);
    if (k.key == "facility") reader.String(*n, key, &s->facility);
    if (k.key == "url") reader.String(*n, key, &s->url);
    if (k.key == "resolve_after") reader.Duration(*n, key, &s->resolve_after);
  }
  t.RejectUnknown();
}

// The facilities the syslog sink sends with (agent/alert_sinks.h).
const std::vector<std::string>& SyslogFacilities() {
  static const std::vector<std::string> kFacilities = {
      "user",   "daemon", "local0", "local1", "local2",
      "local3", "local4", "local5", "local6", "local7"};
  return kFacilities;
}

void ValidateSink(const AlertSinkConfig& s, const std::string& key,
                  ErrorReport& r) {
  switch (s.type) {
    case SinkType::kJsonl:
      if (s.path.empty()) {
        r.Check(key + ".path",
                "missing; a jsonl sink needs a file, or \"-\" for stdout");
      }
      break;
    case SinkType::kSyslog: {
      const std::string_view a = s.address;
      if (a.starts_with("udp:")) {
        if (Status st = CheckHostPort(a.substr(4), false, "127.0.0.1:514");
            !st.ok()) {
          r.Check(key + ".address", "udp: " + st.message());
        }
      } else if (a.starts_with("unix:")) {
        if (a.size() < 7 || a[5] != '/') {
          r.Check(key + ".address",
                  "expected \"unix:\" and an absolute path "
                  "such as \"unix:/dev/log\", got " +
                      Quoted(a));
        }
      } else {
        r.Check(key + ".address",
                "expected \"udp:HOST:PORT\" or \"unix:/dev/log\", got " +
                    Quoted(a));
      }
      const auto& facilities = SyslogFacilities();
      if (std::find(facilities.begin(), facilities.end(), s.facility) ==
          facilities.end()) {
        r.Check(key + ".facility", "unknown syslog facility " +
                                       Quoted(s.facility) +
                                       DidYouMean(s.facility, facilities) +
                                       " (expected local0 to local7, user or "
                                       "daemon)");
      }
      break;
    }
    case SinkType::kAlertmanager: {
      const std::string_view url = s.url;
      if (url.empty()) {
        r.Check(key + ".url",
                "missing; an alertmanager sink needs the Alertmanager's base "
                "URL, e.g. \"http://127.0.0.1:9093\"");
      } else if (!url.starts_with("http://") && !url.starts_with("https://")) {
        r.Check(key + ".url",
                "expected an http:// or https:// URL such as "
                "\"http://127.0.0.1:9093\", got " +
                    Quoted(url));
      } else {
        std::string_view authority = url.substr(url.find("//") + 2);
        authority = authority.substr(0, authority.find('/'));
        const bool has_port = !authority.empty() &&
                              authority.find(':') != std::string_view::npos &&
                              authority.back() != ']';
        const std::string host_port =
            has_port ? std::string(authority) : std::string(authority) + ":80";
        if (Status st = CheckHostPort(host_port, false, "127.0.0.1:9093");
            !st.ok()) {
          r.Check(key + ".url", Quoted(url) + ": " + st.message());
        }
      }
      if (s.resolve_after != nanoseconds(0) &&
          (s.resolve_after < std::chrono::seconds(1) ||
           s.resolve_after > std::chrono::hours(24))) {
        r.Check(key + ".resolve_after",
                "must be 0 (twice the trigger's period) or from 1s to 24h, "
                "got " +
                    std::to_string(s.resolve_after.count()) + "ns");
      }
      break;
    }
  }
}

}  // namespace

std::string_view SinkTypeName(SinkType type) {
  switch (type) {
    case SinkType::kJsonl:
      return "jsonl";
    case SinkType::kSyslog:
      return "syslog";
    case SinkType::kAlertmanager:
      return "alertmanager";
  }
  return "?";
}

void DecodeAlertSinks(TableReader& alerts, uint32_t* queue,
                      std::vector<AlertSinkConfig>* sinks) {
  alerts.Unsigned("queue", queue);
  alerts.Tables("sink", sinks, DecodeSink);
}

void ValidateAlertSinks(uint32_t queue,
                        const std::vector<AlertSinkConfig>& sinks,
                        ErrorReport& r) {
  if (queue < 1 || queue > kMaxAlertQueue) {
    r.Check("alerts.queue", "must be from 1 to " +
                                std::to_string(kMaxAlertQueue) + ", got " +
                                std::to_string(queue));
  }
  for (size_t i = 0; i < sinks.size(); ++i) {
    const AlertSinkConfig& s = sinks[i];
    ValidateSink(s, ElementKey("alerts.sink", i), r);
    for (size_t j = 0; j < i && !s.name.empty(); ++j) {
      if (sinks[j].name == s.name) {
        r.Check(ElementKey("alerts.sink", i) + ".name",
                "sink " + Quoted(s.name) + " is already defined" +
                    AtLine(sinks[j].line));
      }
    }
  }
}

SinkConfig ToSinkConfig(const AlertSinkConfig& c) {
  SinkConfig sc;
  sc.type = std::string(SinkTypeName(c.type));
  sc.path = c.path;
  sc.address = c.address;
  sc.facility = c.facility;
  sc.url = c.url;
  sc.resolve_after = c.resolve_after;
  sc.name = c.name;
  return sc;
}

std::string DescribeSink(const AlertSinkConfig& s) {
  std::string out(SinkTypeName(s.type));
  switch (s.type) {
    case SinkType::kJsonl:
      out += " " + s.path;
      break;
    case SinkType::kSyslog:
      out += " " + s.address + " (" + s.facility + ")";
      break;
    case SinkType::kAlertmanager:
      out += " " + s.url;
      break;
  }
  if (!s.name.empty()) out += ", named " + s.name;
  return out;
}

}  // namespace loupe::agent
