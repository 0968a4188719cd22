// The coordinator's configuration: what `loupe-coordinator --config FILE`
// reads (config/coordinator.toml shows every key, documented). The file is
// TOML, read by the generic reader (agent/toml_reader.h) with the agent's
// error style: a file is refused as a whole with every error, one a line,
// each naming the file, line and key:
//
//   coordinator.toml:9: agent[1].address: expected HOST:PORT such as
//   "127.0.0.1:7070" or "[::1]:7070", got "hv2"
//   coordinator.toml:2: coordinator.lisen: unknown key; did you mean
//   'listen'?
//
// Sections: [coordinator] (name, listen, metrics_listen, state_directory,
// log_level, health_interval, health_timeout, down_after,
// accept_registrations, max_registered_agents) and [[agent]]
// (name, address, labels), a static list of the agents it drives, and
// [alerts] (queue and [[alerts.sink]]: the agent's keys, decoded and
// checked by the same code, agent/alert_sink_config.h), the NOC sinks the
// alert fan-in (coordinator/alert_fan_in.h) delivers every agent's alerts
// to. Until TLS is there, `listen` must be a loopback address.
//
// Value types and pure functions (ParseConfig reads the environment through
// its EnvLookup and, when [coordinator] name is absent, gethostname());
// thread-safe. Starts nothing.
#ifndef LOUPE_COORDINATOR_CONFIG_H_
#define LOUPE_COORDINATOR_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/alert_sink_config.h"
#include "agent/environment.h"
#include "agent/fleet_identity.h"
#include "coordinator/host_selector.h"
#include "multilog/status.h"

namespace loupe::coordinator {

// Bounds of the static agent list.
inline constexpr size_t kMaxAgents = 4096;
// Names and labels: agent/fleet_identity.h, one validator for every path.
using agent::CheckAgentName;
using agent::kMaxAgentNameBytes;
using agent::kMaxLabels;
using agent::kMaxLabelValueBytes;

// [[agent]]: one loupe-agent the coordinator drives.
struct AgentEntry {
  std::string name;     // [A-Za-z0-9_.-], 1 to kMaxAgentNameBytes; unique
  std::string address;  // its gRPC HOST:PORT; unique
  Labels labels;        // key [A-Za-z_][A-Za-z0-9_]*, not "host"
  int line = 0;         // where the [[agent]] starts
};

struct CoordinatorConfig {
  std::string source;  // the file, for messages

  // [coordinator]
  std::string name;  // in snapshot ids and logs; default: the host name
  std::string listen = "127.0.0.1:7700";          // gRPC; loopback for now
  std::string metrics_listen = "127.0.0.1:9471";  // /metrics; "": off
  // The coordinator's state, created 0750 when missing: programs/ (see
  // coordinator/program_store.h) and snapshots/ (the journal of
  // coordinator/snapshot_store.h).
  std::string state_directory = "/var/lib/loupe-coordinator";
  std::string log_level = "info";
  // Each agent's Health is asked every health_interval with a deadline of
  // health_timeout; down_after misses in a row make it DOWN.
  std::chrono::nanoseconds health_interval = std::chrono::seconds(1);
  std::chrono::nanoseconds health_timeout = std::chrono::milliseconds(500);
  uint32_t down_after = 3;
  // Agents not in the file may join with the Register RPC (agent/proto/
  // registry.proto) and then Heartbeat every health_interval; one that
  // misses down_after heartbeats is DOWN. Off by default: until TLS, any
  // client that reaches `listen` could register. At most
  // max_registered_agents, kept in state_directory/agents/registered.
  bool accept_registrations = false;
  uint32_t max_registered_agents = 256;

  std::vector<AgentEntry> agents;

  // [alerts]: per sink, alerts waiting for delivery (beyond it the fan-in
  // stops reading the agents' streams until the sink catches up); the NOC
  // sinks.
  uint32_t alert_queue = 1024;
  std::vector<agent::AlertSinkConfig> alert_sinks;
};

// Values given on the command line: they replace the file's before the
// checks, so a file's value that a flag overrides is never refused.
struct ConfigOverrides {
  std::optional<std::string> name;
  std::optional<std::string> listen;
  std::optional<std::string> metrics_listen;
  std::optional<std::string> state_directory;
};

// Reads, parses and validates `path` (named as given in messages).
// kNotFound/kIoError when it cannot be read, kInvalidArgument with every
// error otherwise (an overridden key's error names no line).
Result<CoordinatorConfig> LoadConfig(
    const std::string& path, const ConfigOverrides& overrides = {},
    const agent::EnvLookup& env = agent::ProcessEnvironment());
// The same for text in memory; `source_name` names it in messages.
Result<CoordinatorConfig> ParseConfig(
    std::string_view text, const std::string& source_name,
    const ConfigOverrides& overrides = {},
    const agent::EnvLookup& env = agent::ProcessEnvironment());

// Every check ParseConfig makes on values, for a config built or changed
// in code. Messages name the key but no line.
Status ValidateConfig(const CoordinatorConfig& config);

// Whether HOST of a HOST:PORT is a loopback address: 127.0.0.0/8, [::1]
// or "localhost".
bool IsLoopbackHostPort(std::string_view host_port);

// "2 agents, listen 127.0.0.1:7700, metrics 127.0.0.1:9471, ..." -- what
// --check prints: what the daemon would run.
std::string Describe(const CoordinatorConfig& config);

// Whether every key `selector` names is "host" or a label some of `agents`
// has: else kInvalidArgument, "no agent has a label 'rak'; did you mean
// 'rack'? (keys: host, rack, role)" -- a typo would select nothing
// silently. For every selector the coordinator takes (ListAgents, a
// program's `on`).
Status CheckSelectorLabels(const HostSelector& selector,
                           const std::vector<AgentEntry>& agents);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_CONFIG_H_
