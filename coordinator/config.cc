#include "coordinator/config.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "agent/host_port.h"
#include "agent/toml_reader.h"
#include "multilog/did_you_mean.h"
#include "multilog/units.h"

namespace loupe::coordinator {
namespace {

using agent::AtLine;
using agent::ElementKey;
using agent::ErrorReport;
using agent::TableReader;
using agent::ValueReader;
using std::chrono::nanoseconds;

constexpr auto kMinHealthInterval = std::chrono::milliseconds(100);
constexpr auto kMaxHealthInterval = std::chrono::minutes(1);
constexpr auto kMinHealthTimeout = std::chrono::milliseconds(10);
constexpr uint32_t kMaxDownAfter = 100;

// --- Decoding: TOML to CoordinatorConfig ------------------------------------

void DecodeCoordinator(ValueReader& reader, const toml::table& table,
                       CoordinatorConfig* c, bool* name_given) {
  TableReader t(reader, table, "coordinator");
  *name_given = t.Get("name") != nullptr;
  t.String("name", &c->name);
  t.String("listen", &c->listen);
  t.String("metrics_listen", &c->metrics_listen);
  t.String("state_directory", &c->state_directory);
  t.String("log_level", &c->log_level);
  t.Duration("health_interval", &c->health_interval);
  t.Duration("health_timeout", &c->health_timeout);
  t.Unsigned("down_after", &c->down_after);
  t.Bool("accept_registrations", &c->accept_registrations);
  t.Unsigned("max_registered_agents", &c->max_registered_agents);
  t.RejectUnknown();
}

void DecodeAgent(ValueReader& reader, const toml::table& table,
                 const std::string& path, AgentEntry* a) {
  TableReader t(reader, table, path);
  t.String("name", &a->name);
  t.String("address", &a->address);
  agent::DecodeLabels(t, "labels", &a->labels);
  t.RejectUnknown();
}

void Decode(ValueReader& reader, const toml::table& root,
            CoordinatorConfig* c) {
  TableReader top(reader, root, "");
  bool name_given = false;
  if (const toml::table* coordinator = top.Table("coordinator")) {
    DecodeCoordinator(reader, *coordinator, c, &name_given);
  }
  top.Tables("agent", &c->agents, DecodeAgent);
  if (const toml::table* alerts = top.Table("alerts")) {
    // The agent's sink keys; its alert-log keys (log_max_alerts,
    // log_max_age) are for agents and refused here as unknown.
    TableReader t(reader, *alerts, "alerts");
    agent::DecodeAlertSinks(t, &c->alert_queue, &c->alert_sinks);
    t.RejectUnknown();
  }
  top.RejectUnknown();
  if (!name_given) {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0) {
      reader.report().Check("coordinator.name",
                            "not given, and gethostname failed: " +
                                std::string(std::strerror(errno)));
    }
    c->name = name;
  }
}

// --- Validation --------------------------------------------------------------

void ValidateCoordinator(const CoordinatorConfig& c, ErrorReport& r) {
  if (Status s = CheckAgentName(c.name); !s.ok()) {
    r.Check("coordinator.name",
            s.message() + " (omit it to use the machine's host name)");
  }
  if (Status s = CheckHostPort(c.listen, true, "127.0.0.1:7700"); !s.ok()) {
    r.Check("coordinator.listen", s.message());
  } else if (!IsLoopbackHostPort(c.listen)) {
    r.Check("coordinator.listen",
            Quoted(c.listen) +
                " is not a loopback address; until TLS is supported the "
                "coordinator serves plaintext on loopback only (127.0.0.1, "
                "[::1] or localhost)");
  }
  if (!c.metrics_listen.empty()) {
    if (Status s = CheckHostPort(c.metrics_listen, true, "127.0.0.1:9471");
        !s.ok()) {
      r.Check("coordinator.metrics_listen",
              s.message() + " (\"\" turns it off)");
    } else if (c.metrics_listen == c.listen && !c.listen.ends_with(":0")) {
      r.Check("coordinator.metrics_listen",
              "is the same address as coordinator.listen (" + c.listen +
                  "); give /metrics its own port, or \"\" to turn it off");
    }
  }
  if (c.state_directory.empty() || c.state_directory[0] != '/') {
    r.Check("coordinator.state_directory",
            "must be an absolute path, got " + Quoted(c.state_directory));
  }
  static const std::vector<std::string> kLevels = {"error", "warn", "info",
                                                   "debug"};
  if (std::find(kLevels.begin(), kLevels.end(), c.log_level) == kLevels.end()) {
    r.Check("coordinator.log_level", "unknown level " + Quoted(c.log_level) +
                                         DidYouMean(c.log_level, kLevels) +
                                         " (expected error, warn, info or "
                                         "debug)");
  }
  if (c.health_interval < kMinHealthInterval ||
      c.health_interval > kMaxHealthInterval) {
    r.Check(
        "coordinator.health_interval",
        "must be from 100ms to 1m, got " + FormatDuration(c.health_interval));
  }
  if (c.health_timeout < kMinHealthTimeout ||
      c.health_timeout > c.health_interval) {
    r.Check("coordinator.health_timeout",
            "must be from 10ms to health_interval (" +
                FormatDuration(c.health_interval) + "), got " +
                FormatDuration(c.health_timeout));
  }
  if (c.down_after < 1 || c.down_after > kMaxDownAfter) {
    r.Check("coordinator.down_after",
            "must be from 1 to " + std::to_string(kMaxDownAfter) +
                " missed health checks, got " + std::to_string(c.down_after));
  }
}

void ValidateRegistrations(const CoordinatorConfig& c, ErrorReport& r) {
  if (c.max_registered_agents < 1 || c.max_registered_agents > kMaxAgents) {
    r.Check("coordinator.max_registered_agents",
            "must be from 1 to " + std::to_string(kMaxAgents) + ", got " +
                std::to_string(c.max_registered_agents));
  }
}

void ValidateAgents(const CoordinatorConfig& c, ErrorReport& r) {
  if (c.agents.size() > kMaxAgents) {
    r.Check(ElementKey("agent", kMaxAgents),
            "too many agents: " + std::to_string(c.agents.size()) +
                "; a coordinator drives at most " + std::to_string(kMaxAgents));
  }
  std::map<std::string_view, const AgentEntry*> names, addresses;
  for (size_t i = 0; i < c.agents.size(); ++i) {
    const AgentEntry& a = c.agents[i];
    const std::string key = ElementKey("agent", i);
    if (a.name.empty()) {
      r.Check(key + ".name", "missing; every agent needs a name", key);
    } else if (Status s = CheckAgentName(a.name); !s.ok()) {
      r.Check(key + ".name", s.message());
    } else if (auto [it, fresh] = names.emplace(a.name, &a); !fresh) {
      r.Check(key + ".name", "agent " + Quoted(a.name) + " is already defined" +
                                 AtLine(it->second->line));
    }
    if (a.address.empty()) {
      r.Check(key + ".address",
              "missing; the agent's gRPC HOST:PORT, e.g. \"hv1:7070\"", key);
    } else if (Status s = CheckHostPort(a.address, false, "127.0.0.1:7070");
               !s.ok()) {
      r.Check(key + ".address", s.message());
    } else if (auto [it, fresh] = addresses.emplace(a.address, &a); !fresh) {
      r.Check(key + ".address",
              "address " + Quoted(a.address) + " is already that of agent " +
                  Quoted(it->second->name) + AtLine(it->second->line));
    }
    agent::ValidateLabels(a.labels, key + ".labels", r);
  }
}

void Validate(const CoordinatorConfig& c, ErrorReport& r) {
  ValidateCoordinator(c, r);
  ValidateRegistrations(c, r);
  ValidateAgents(c, r);
  agent::ValidateAlertSinks(c.alert_queue, c.alert_sinks, r);
}

}  // namespace

bool IsLoopbackHostPort(std::string_view host_port) {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(host_port, &host, &port)) return false;
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string Describe(const CoordinatorConfig& c) {
  std::string out =
      "coordinator " + c.name + ": gRPC on " + c.listen + ", /metrics " +
      (c.metrics_listen.empty() ? "off" : "on " + c.metrics_listen) +
      ", state in " + c.state_directory + ", log level " + c.log_level + "\n";
  out += "health every " + FormatDuration(c.health_interval) + " (deadline " +
         FormatDuration(c.health_timeout) + "), down after " +
         std::to_string(c.down_after) + " misses\n";
  out += c.accept_registrations
             ? "registrations accepted, at most " +
                   std::to_string(c.max_registered_agents) + " agents\n"
             : "registrations refused (accept_registrations = false)\n";
  out += std::to_string(c.agents.size()) +
         (c.agents.size() == 1 ? " agent" : " agents") +
         (c.agents.empty() ? "\n" : ":\n");
  for (const AgentEntry& a : c.agents) {
    out += "  " + a.name + " at " + a.address;
    std::string labels;
    for (const auto& [k, v] : a.labels) {
      labels += (labels.empty() ? "" : ",") + k + "=" + v;
    }
    if (!labels.empty()) out += " (" + labels + ")";
    out += "\n";
  }
  out += std::to_string(c.alert_sinks.size()) +
         (c.alert_sinks.size() == 1 ? " alert sink" : " alert sinks") +
         " (queue " + std::to_string(c.alert_queue) + " each)" +
         (c.alert_sinks.empty() ? "\n" : ":\n");
  for (const agent::AlertSinkConfig& s : c.alert_sinks) {
    out += "  " + agent::DescribeSink(s) + "\n";
  }
  return out;
}

Result<CoordinatorConfig> ParseConfig(std::string_view text,
                                      const std::string& source_name,
                                      const ConfigOverrides& overrides,
                                      const agent::EnvLookup& env) {
  Result<toml::table> root = agent::ParseToml(text, source_name);
  if (!root.ok()) return root.status();
  ErrorReport report;
  ValueReader reader(report, env);
  CoordinatorConfig config;
  config.source = source_name;
  Decode(reader, *root, &config);
  // An overridden key: its line is no longer where the value comes from,
  // and an error the file's value had is moot.
  auto apply = [&](const std::optional<std::string>& value, std::string* out,
                   const std::string& key) {
    if (!value.has_value()) return;
    *out = *value;
    report.Overridden(key);
  };
  apply(overrides.name, &config.name, "coordinator.name");
  apply(overrides.listen, &config.listen, "coordinator.listen");
  apply(overrides.metrics_listen, &config.metrics_listen,
        "coordinator.metrics_listen");
  apply(overrides.state_directory, &config.state_directory,
        "coordinator.state_directory");
  Validate(config, report);
  if (!report.empty()) return report.ToStatus(source_name);
  return config;
}

Result<CoordinatorConfig> LoadConfig(const std::string& path,
                                     const ConfigOverrides& overrides,
                                     const agent::EnvLookup& env) {
  Result<std::string> text = agent::ReadTomlFile(path, "config");
  if (!text.ok()) return text.status();
  return ParseConfig(*text, path, overrides, env);
}

Status ValidateConfig(const CoordinatorConfig& config) {
  ErrorReport report;
  Validate(config, report);
  return report.empty() ? Status::Ok() : report.ToStatus(config.source);
}

Status CheckSelectorLabels(const HostSelector& selector,
                           const std::vector<AgentEntry>& agents) {
  std::set<std::string> known;
  for (const AgentEntry& a : agents) {
    for (const auto& [key, value] : a.labels) known.insert(key);
  }
  for (const std::string& key : selector.keys()) {
    if (key == kHostKey || known.contains(key)) continue;
    std::vector<std::string> names(known.begin(), known.end());
    names.insert(names.begin(), std::string(kHostKey));
    return Status::InvalidArgument("no agent has a label " + Quoted(key) +
                                   DidYouMean(key, names) +
                                   " (keys: " + agent::NameList(names) + ")");
  }
  return Status::Ok();
}

}  // namespace loupe::coordinator
