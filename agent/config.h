// The agent's configuration: what `loupe-agent --config FILE` reads. The
// file is TOML (see config/default.toml for every key, documented); this
// header gives the parsed form and the loader, which only parses and
// validates -- it opens no port, multilog or socket. A file is refused as a
// whole with every error found (up to kMaxConfigErrors), one per line, each
// naming the file, line, key and what was wrong:
//
//   config/default.toml:23: multilog[0].retention.max_bytes: expected a size
//   like "2GiB", got "lots"
//
// Besides types and ranges, the loader checks what the agent would
// otherwise only find at start-up: schemas parse, indexes name columns,
// filters and aggregates parse and bind to their multilog's schema,
// aggregates name filters and triggers name aggregates that exist, and the
// dataplane's multilog exists and has the packet schema.
//
// The file is read by the generic reader (agent/toml_reader.h); strings
// may use the environment (agent/environment.h: ${NAME}, ${NAME:-default},
// $$). Each [[multilog]]'s indexes, filters, aggregates and triggers are
// the program format of agent/program_file.h, decoded and validated by the
// same functions as a program file.
//
// Everything here is a value type or a function without shared state;
// thread-safe. ParseConfig is pure except for reading the environment
// through its EnvLookup and, when [agent] host is absent, gethostname().
#ifndef LOUPE_AGENT_CONFIG_H_
#define LOUPE_AGENT_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/alert_sink_config.h"
#include "agent/environment.h"
#include "agent/fleet_identity.h"
#include "agent/program_file.h"
#include "multilog/control.h"
#include "multilog/data_log.h"
#include "multilog/multilog.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe::agent {

// Errors reported before "... and N more errors".
// (agent/toml_reader.h's kMaxReportedErrors; config.cc checks they agree.)
inline constexpr size_t kMaxConfigErrors = 20;

// [[port]]: one DPDK device the mirror arrives on.
struct PortConfig {
  std::string name;    // identifier, for stats and messages
  std::string device;  // a DPDK device: "net_pcap0,rx_pcap=x.pcap", a PCI id
  uint16_t rx_descriptors = 1024;
  uint64_t max_pps = 0;  // receive at most this many packets/s; 0: no cap
  int line = 0;          // where the [[port]] starts
};

// [dataplane]: how ports feed a multilog.
struct DataplaneConfig {
  std::string multilog = "packets";  // a [[multilog]] with schema "packet"
  uint32_t writers = 1;              // writer lcores
  std::vector<uint32_t> rx_lcores;   // empty: chosen automatically
  std::vector<uint32_t> writer_lcores;
  uint32_t burst = 32;  // packets per rte_eth_rx_burst
  uint32_t ring_size = 8192;
  uint32_t mbufs = 8191;
  uint32_t mbuf_cache = 256;
};

// [[multilog]]: one multilog the agent opens at start-up, with its initial
// control program.
struct MultilogConfig {
  std::string name;
  std::string schema;  // kPacketSchemaName, or Schema::Parse's text form
  StorageMode storage = StorageMode::kInMemory;
  std::string directory;  // the durable modes only, and required there
  std::chrono::milliseconds flush_interval{100};  // durable-relaxed
  RetentionPolicy retention;
  uint64_t capacity_bytes = 0;  // 0: unbounded
  uint64_t preallocate_bytes = 64ull << 20;
  uint32_t block_records = 1u << 16;
  std::chrono::nanoseconds bucket = std::chrono::milliseconds(1);
  // Its initial control program: the section's indexes, filters,
  // aggregates and triggers arrays, decoded by agent/program_file.h (so
  // program.multilog is `name` and program.line is `line`), applied in
  // order by loupe::Apply.
  ProgramSection program;
  int line = 0;  // where the [[multilog]] starts
};

// [alerts]: queue and the sinks are agent/alert_sink_config.h's, shared with
// the coordinator; the alert log bounds are the agent's own.
struct AlertsConfig {
  uint32_t queue = 1024;  // per sink; alerts beyond it are dropped, counted
  // Each multilog's alert log (what SubscribeAlerts replays after a cursor)
  // keeps at most log_max_alerts alerts and none more than log_max_age
  // older than its newest one (0: no age limit).
  uint64_t log_max_alerts = 100'000;
  std::chrono::nanoseconds log_max_age = std::chrono::hours(24);
  std::vector<AlertSinkConfig> sinks;
};

struct AgentConfig {
  std::string source;  // the file, for messages

  // [agent]
  std::string host;                       // name in alerts; default: hostname
  std::string listen = "127.0.0.1:7070";  // gRPC
  std::string metrics_listen = "127.0.0.1:9470";  // /metrics; "": off
  std::string log_level = "info";                 // error | warn | info | debug
  // A coordinator to join (agent/registrar.h): Register there as `host`
  // with `labels`, reachable at `advertise`, then Heartbeat. "": none (a
  // coordinator may still list this agent in its own file). advertise ""
  // means `listen` (with the port bound when it is 0); it must be given
  // when listen is a wildcard (0.0.0.0, [::]).
  std::string coordinator;
  std::string advertise;
  Labels labels;

  // [dpdk]
  std::vector<std::string> eal_args;  // rte_eal_init's, after argv[0]

  std::vector<PortConfig> ports;  // none: an agent for RPC-fed multilogs
  DataplaneConfig dataplane;
  std::vector<MultilogConfig> multilogs;
  AlertsConfig alerts;
};

// Reads, parses and validates `path` (named as given in messages).
// kNotFound/kIoError when it cannot be read, kInvalidArgument with every
// error otherwise.
Result<AgentConfig> LoadConfig(const std::string& path,
                               const EnvLookup& env = ProcessEnvironment());
// The same for text already in memory; `source_name` names it in messages.
Result<AgentConfig> ParseConfig(std::string_view text,
                                const std::string& source_name,
                                const EnvLookup& env = ProcessEnvironment());

// Re-checks a config after the agent changed it (flag overrides): every
// check ParseConfig makes past reading the TOML. Messages name the key,
// but no line ("<source>: agent.listen: ...").
Status ValidateConfig(const AgentConfig& config);

// HOST:PORT, where HOST is a name, an IPv4 address or a bracketed IPv6
// address ("[::1]:7070"); port 0 asks for any free port.
Status CheckListenAddress(std::string_view address);

// (The Schema a MultilogConfig::schema names: ResolveSchema, in
// agent/program_file.h.)
// The options to Multilog::Open a configured multilog with (start_monitor
// and trigger_grace keep their defaults; max_writers is the agent's call).
MultilogOptions ToMultilogOptions(const MultilogConfig& multilog);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_CONFIG_H_
