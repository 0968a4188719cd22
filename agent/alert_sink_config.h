// The [alerts] section's sinks as every daemon configures them: the
// `queue` key and the [[alerts.sink]] tables (jsonl, syslog, alertmanager)
// that loupe-agent and loupe-coordinator both read, decoded and validated
// here once, so both refuse the same mistakes with the same
// `file:line: key: ...` messages:
//
//   agent.toml:31: alerts.sink[0].url: applies only to alertmanager sinks,
//   and this one is jsonl
//
// DecodeAlertSinks reads `queue` and `sink` from the [alerts] table through
// the caller's TableReader (the caller reads its own keys, such as the
// agent's log_max_alerts, and then calls RejectUnknown). ValidateAlertSinks
// checks ranges, addresses, URLs, facilities and duplicate names.
// ToSinkConfig turns one into what agent/alert_sinks.h MakeSink builds.
//
// Value types and pure functions; thread-safe. Library loupe_alert_config
// (no DPDK, no gRPC).
#ifndef LOUPE_AGENT_ALERT_SINK_CONFIG_H_
#define LOUPE_AGENT_ALERT_SINK_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/alert_sinks.h"
#include "agent/toml_reader.h"

namespace loupe::agent {

// alerts.queue: per sink, alerts waiting for delivery, 1 to this.
inline constexpr uint32_t kMaxAlertQueue = 1u << 20;

enum class SinkType : uint8_t { kJsonl, kSyslog, kAlertmanager };

// "jsonl", "syslog", "alertmanager".
std::string_view SinkTypeName(SinkType type);

// [[alerts.sink]]: where alerts go besides the gRPC stream. Only the fields
// of its type are read; the loader refuses the others. (The sinks' own
// agent/alert_sinks.h SinkConfig takes the type as its name.)
struct AlertSinkConfig {
  SinkType type = SinkType::kJsonl;
  std::string name;  // in stats; empty: the sink's default
  std::string path;  // jsonl: a file, appended to, or "-" for stdout
  // syslog: "unix:/dev/log" or "udp:HOST:PORT"; facility user, daemon or
  // local0..local7.
  std::string address = "unix:/dev/log";
  std::string facility = "local0";
  std::string url;  // alertmanager: "http[s]://HOST[:PORT][/PATH]"
  // alertmanager: resolve an alert this long after its last firing; 0 is
  // the sink's default (twice the trigger's period).
  std::chrono::nanoseconds resolve_after{0};
  int line = 0;
};

// Reads [alerts] `queue` into *queue and each [[alerts.sink]] into *sinks;
// `alerts` is the reader of the [alerts] table (path "alerts").
void DecodeAlertSinks(TableReader& alerts, uint32_t* queue,
                      std::vector<AlertSinkConfig>* sinks);

// Every check on `queue` and the sinks, reported under alerts.queue and
// alerts.sink[i].<key>.
void ValidateAlertSinks(uint32_t queue,
                        const std::vector<AlertSinkConfig>& sinks,
                        ErrorReport& report);

// The sink as MakeSink takes it.
SinkConfig ToSinkConfig(const AlertSinkConfig& sink);

// One line for --check: "jsonl /var/log/alerts.jsonl", "syslog
// udp:10.0.0.5:514 (local0)", "alertmanager http://am:9093", with the
// name when one is given.
std::string DescribeSink(const AlertSinkConfig& sink);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_ALERT_SINK_CONFIG_H_
