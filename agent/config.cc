#include "agent/config.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

#include "agent/host_port.h"
#include "agent/toml_reader.h"
#include "multilog/did_you_mean.h"
#include "multilog/packet_schema.h"
#include "multilog/units.h"

namespace loupe::agent {
namespace {

static_assert(kMaxConfigErrors == kMaxReportedErrors);

using std::chrono::nanoseconds;

// DPDK's build-time limits (Debian's rte_build_config.h, rte_config.h);
// the config library does not link DPDK.
constexpr uint32_t kMaxPorts = 32;          // RTE_MAX_ETHPORTS
constexpr uint32_t kMaxLcores = 128;        // RTE_MAX_LCORE
constexpr uint32_t kMaxMempoolCache = 512;  // RTE_MEMPOOL_CACHE_MAX_SIZE
constexpr uint32_t kMinRxDescriptors = 32;
constexpr uint32_t kMaxRxDescriptors = 32768;
constexpr uint32_t kMaxWriters = 16;
constexpr uint32_t kMaxBurst = 512;
constexpr uint32_t kMaxRingSize = 1u << 24;
constexpr uint64_t kMaxAlertLogAlerts = 10'000'000;
constexpr auto kMaxAlertLogAge = std::chrono::hours(24 * 365);
// DataLog's block_records range (data_log.cc).
constexpr uint32_t kMinBlockRecords = 1024;
constexpr uint32_t kMaxBlockRecords = 1u << 24;

// --- Decoding: TOML to AgentConfig ------------------------------------------

void DecodeAgent(ValueReader& reader, const toml::table& table, AgentConfig* c,
                 bool* host_given) {
  TableReader t(reader, table, "agent");
  *host_given = t.Get("host") != nullptr;
  t.String("host", &c->host);
  t.String("listen", &c->listen);
  t.String("metrics_listen", &c->metrics_listen);
  t.String("log_level", &c->log_level);
  t.String("coordinator", &c->coordinator);
  t.String("advertise", &c->advertise);
  DecodeLabels(t, "labels", &c->labels);
  t.RejectUnknown();
}

void DecodePort(ValueReader& reader, const toml::table& table,
                const std::string& path, PortConfig* p) {
  TableReader t(reader, table, path);
  t.String("name", &p->name);
  t.String("device", &p->device);
  t.Unsigned("rx_descriptors", &p->rx_descriptors);
  t.Unsigned("max_pps", &p->max_pps);
  t.RejectUnknown();
}

void DecodeDataplane(ValueReader& reader, const toml::table& table,
                     DataplaneConfig* d) {
  TableReader t(reader, table, "dataplane");
  t.String("multilog", &d->multilog);
  t.Unsigned("writers", &d->writers);
  t.Unsigneds("rx_lcores", &d->rx_lcores);
  t.Unsigneds("writer_lcores", &d->writer_lcores);
  t.Unsigned("burst", &d->burst);
  t.Unsigned("ring_size", &d->ring_size);
  t.Unsigned("mbufs", &d->mbufs);
  t.Unsigned("mbuf_cache", &d->mbuf_cache);
  t.RejectUnknown();
}

void DecodeMultilog(ValueReader& reader, const toml::table& table,
                    const std::string& path, MultilogConfig* m) {
  TableReader t(reader, table, path);
  t.String("name", &m->name);
  t.String("schema", &m->schema);
  if (std::string storage; t.String("storage", &storage)) {
    Result<StorageMode> mode = ParseStorageMode(storage);
    if (mode.ok()) {
      m->storage = *mode;
    } else {
      reader.report().Bad(LineOf(*t.Get("storage")), t.Key("storage"),
                          mode.status().message());
      reader.report().Suppress(t.Key("directory"));
    }
  }
  t.String("directory", &m->directory);
  if (const toml::node* n = t.Get("flush_interval")) {
    nanoseconds interval{0};
    if (reader.Duration(*n, t.Key("flush_interval"), &interval)) {
      if (interval % std::chrono::milliseconds(1) != nanoseconds(0)) {
        reader.report().Bad(LineOf(*n), t.Key("flush_interval"),
                            "must be whole milliseconds");
      } else {
        m->flush_interval =
            std::chrono::duration_cast<std::chrono::milliseconds>(interval);
      }
    }
  }
  if (const toml::table* retention = t.Table("retention")) {
    TableReader r(reader, *retention, t.Key("retention"));
    r.Size("max_bytes", &m->retention.max_bytes);
    r.Duration("max_age", &m->retention.max_age);
    r.RejectUnknown();
  }
  t.Size("capacity_bytes", &m->capacity_bytes);
  t.Size("preallocate_bytes", &m->preallocate_bytes);
  t.Unsigned("block_records", &m->block_records);
  t.Duration("bucket", &m->bucket);
  m->program.multilog = m->name;
  m->program.line = m->line;
  DecodeProgramArrays(t, &m->program);
  t.RejectUnknown();
}

void DecodeAlerts(ValueReader& reader, const toml::table& table,
                  AlertsConfig* a) {
  TableReader t(reader, table, "alerts");
  DecodeAlertSinks(t, &a->queue, &a->sinks);
  t.Unsigned("log_max_alerts", &a->log_max_alerts);
  t.Duration("log_max_age", &a->log_max_age);
  t.RejectUnknown();
}

void Decode(ValueReader& reader, const toml::table& root, AgentConfig* c) {
  TableReader top(reader, root, "");
  bool host_given = false;
  if (const toml::table* agent = top.Table("agent")) {
    DecodeAgent(reader, *agent, c, &host_given);
  }
  if (const toml::table* dpdk = top.Table("dpdk")) {
    TableReader t(reader, *dpdk, "dpdk");
    t.Strings("eal_args", &c->eal_args);
    t.RejectUnknown();
  }
  top.Tables("port", &c->ports, DecodePort);
  if (const toml::table* dataplane = top.Table("dataplane")) {
    DecodeDataplane(reader, *dataplane, &c->dataplane);
  }
  top.Tables("multilog", &c->multilogs, DecodeMultilog);
  if (const toml::table* alerts = top.Table("alerts")) {
    DecodeAlerts(reader, *alerts, &c->alerts);
  }
  top.RejectUnknown();

  if (!host_given) {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0) {
      reader.report().Check(
          "agent.host",
          "not given, and gethostname failed: " + std::string(strerror(errno)));
    }
    c->host = name;
  }
}

// --- Validation: checks on the decoded values -------------------------------

bool IsPowerOfTwo(uint64_t v) { return std::has_single_bit(v); }

// Whether HOST of HOST:PORT is 0.0.0.0 or [::].
bool IsWildcardHost(std::string_view host_port) {
  return host_port.starts_with("0.0.0.0:") || host_port.starts_with("[::]:");
}

// [agent] coordinator, advertise and labels: what Register sends, checked
// as the coordinator checks it.
void ValidateFleetKeys(const AgentConfig& c, ErrorReport& r) {
  ValidateLabels(c.labels, "agent.labels", r);
  if (!c.advertise.empty()) {
    if (Status s = CheckHostPort(c.advertise, false, "10.0.0.1:7070");
        !s.ok()) {
      r.Check("agent.advertise", s.message());
    } else if (IsWildcardHost(c.advertise)) {
      r.Check("agent.advertise",
              Quoted(c.advertise) +
                  " is a wildcard; give an address the coordinator can call");
    }
  }
  if (c.coordinator.empty()) return;
  if (Status s = CheckHostPort(c.coordinator, false, "127.0.0.1:7700");
      !s.ok()) {
    r.Check("agent.coordinator", s.message() + " (\"\" joins none)");
  }
  if (Status s = CheckAgentName(c.host); !s.ok()) {
    r.Check("agent.host",
            "joining a coordinator, the host is the agent's "
            "name in the fleet: " +
                s.message(),
            "agent.coordinator");
  }
  if (c.advertise.empty() &&
      (IsWildcardHost(c.listen) || c.listen.starts_with("unix:"))) {
    r.Check("agent.advertise",
            "needed with agent.coordinator: agent.listen " + Quoted(c.listen) +
                " is not an address the coordinator can call; give one, "
                "e.g. \"10.0.0.5:7070\"",
            "agent.coordinator");
  }
}

void ValidateAgent(const AgentConfig& c, ErrorReport& r) {
  bool host_ok = !c.host.empty() && c.host.size() <= 255;
  for (char ch : c.host) {
    host_ok = host_ok && static_cast<unsigned char>(ch) > ' ' && ch != 0x7f;
  }
  if (!host_ok) {
    r.Check("agent.host",
            "must be 1 to 255 printable characters without spaces, got " +
                Quoted(c.host) + " (omit it to use the machine's host name)");
  }
  if (Status s = CheckListenAddress(c.listen); !s.ok()) {
    r.Check("agent.listen", s.message());
  }
  if (!c.metrics_listen.empty()) {
    if (Status s = CheckListenAddress(c.metrics_listen); !s.ok()) {
      r.Check("agent.metrics_listen", s.message() + " (\"\" turns it off)");
    } else if (c.metrics_listen == c.listen && !c.listen.ends_with(":0")) {
      r.Check("agent.metrics_listen",
              "is the same address as agent.listen (" + c.listen +
                  "); give /metrics its own port, or \"\" to turn it off");
    }
  }
  ValidateFleetKeys(c, r);
  static const std::vector<std::string> kLevels = {"error", "warn", "info",
                                                   "debug"};
  if (std::find(kLevels.begin(), kLevels.end(), c.log_level) == kLevels.end()) {
    r.Check("agent.log_level", "unknown level " + Quoted(c.log_level) +
                                   DidYouMean(c.log_level, kLevels) +
                                   " (expected error, warn, info or debug)");
  }
  for (size_t i = 0; i < c.eal_args.size(); ++i) {
    if (c.eal_args[i].empty()) {
      r.Check(ElementKey("dpdk.eal_args", i), "is an empty argument");
    }
  }
}

void ValidatePorts(const AgentConfig& c, ErrorReport& r) {
  if (c.ports.size() > kMaxPorts) {
    r.Check(ElementKey("port", kMaxPorts),
            "too many ports: " + std::to_string(c.ports.size()) +
                "; DPDK allows " + std::to_string(kMaxPorts));
  }
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const PortConfig& p = c.ports[i];
    const std::string key = ElementKey("port", i);
    if (Status s = CheckName(p.name); !s.ok()) {
      r.Check(key + ".name", s.message());
    }
    const std::string device = p.device.substr(0, p.device.find(','));
    if (device.empty()) {
      r.Check(key + ".device",
              "needs a DPDK device, e.g. "
              "\"net_pcap0,rx_pcap=capture.pcap\" or "
              "\"net_af_packet0,iface=eth1\"");
    }
    if (p.rx_descriptors < kMinRxDescriptors ||
        p.rx_descriptors > kMaxRxDescriptors) {
      r.Check(key + ".rx_descriptors",
              "must be from " + std::to_string(kMinRxDescriptors) + " to " +
                  std::to_string(kMaxRxDescriptors) + ", got " +
                  std::to_string(p.rx_descriptors));
    }
    for (size_t j = 0; j < i; ++j) {
      const PortConfig& q = c.ports[j];
      if (!p.name.empty() && q.name == p.name) {
        r.Check(key + ".name", "port " + Quoted(p.name) +
                                   " is already defined" + AtLine(q.line));
      }
      if (!device.empty() && q.device.substr(0, q.device.find(',')) == device) {
        r.Check(key + ".device", "device " + Quoted(device) +
                                     " is already used by port " +
                                     Quoted(q.name) + AtLine(q.line));
      }
    }
  }
}

const MultilogConfig* FindMultilog(const AgentConfig& c,
                                   std::string_view name) {
  for (const MultilogConfig& m : c.multilogs) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

void ValidateLcores(const std::string& key, const std::vector<uint32_t>& cores,
                    std::set<uint32_t>& used, ErrorReport& r) {
  for (size_t i = 0; i < cores.size(); ++i) {
    if (cores[i] >= kMaxLcores) {
      r.Check(ElementKey(key, i), "lcore " + std::to_string(cores[i]) +
                                      " is out of range (0 to " +
                                      std::to_string(kMaxLcores - 1) + ")");
    } else if (!used.insert(cores[i]).second) {
      r.Check(ElementKey(key, i),
              "lcore " + std::to_string(cores[i]) +
                  " is listed twice; each lcore runs one loop");
    }
  }
}

void ValidateDataplane(const AgentConfig& c, ErrorReport& r) {
  const DataplaneConfig& d = c.dataplane;
  if (d.writers < 1 || d.writers > kMaxWriters) {
    r.Check("dataplane.writers", "must be from 1 to " +
                                     std::to_string(kMaxWriters) + ", got " +
                                     std::to_string(d.writers));
  }
  if (d.burst < 1 || d.burst > kMaxBurst) {
    r.Check("dataplane.burst", "must be from 1 to " +
                                   std::to_string(kMaxBurst) + ", got " +
                                   std::to_string(d.burst));
  }
  if (d.ring_size < 2 || d.ring_size > kMaxRingSize ||
      !IsPowerOfTwo(d.ring_size)) {
    r.Check("dataplane.ring_size", "must be a power of two from 2 to " +
                                       std::to_string(kMaxRingSize) + ", got " +
                                       std::to_string(d.ring_size));
  } else if (d.ring_size < d.burst) {
    r.Check("dataplane.ring_size", std::to_string(d.ring_size) +
                                       " cannot hold one burst (" +
                                       std::to_string(d.burst) + ")");
  }
  uint64_t descriptors = 0;
  for (const PortConfig& p : c.ports) descriptors += p.rx_descriptors;
  if (d.mbufs <= descriptors + d.burst) {
    r.Check("dataplane.mbufs",
            std::to_string(d.mbufs) +
                " mbufs cannot fill the ports' receive rings and one burst (" +
                std::to_string(descriptors) + " + " + std::to_string(d.burst) +
                "); raise mbufs or lower port rx_descriptors");
  }
  if (d.mbuf_cache > kMaxMempoolCache ||
      uint64_t{d.mbuf_cache} * 3 / 2 > d.mbufs) {
    r.Check("dataplane.mbuf_cache", "must be at most " +
                                        std::to_string(kMaxMempoolCache) +
                                        " and at most mbufs / 1.5, got " +
                                        std::to_string(d.mbuf_cache));
  }
  std::set<uint32_t> used;
  ValidateLcores("dataplane.rx_lcores", d.rx_lcores, used, r);
  ValidateLcores("dataplane.writer_lcores", d.writer_lcores, used, r);
  if (!d.writer_lcores.empty() && d.writer_lcores.size() != d.writers) {
    r.Check("dataplane.writer_lcores",
            "lists " + std::to_string(d.writer_lcores.size()) + " lcores for " +
                std::to_string(d.writers) +
                " writers; list one per writer, or none");
  }
  if (!d.rx_lcores.empty() &&
      d.rx_lcores.size() > std::max<size_t>(1, c.ports.size())) {
    r.Check("dataplane.rx_lcores",
            "lists " + std::to_string(d.rx_lcores.size()) + " lcores for " +
                std::to_string(c.ports.size()) +
                " ports; an RX lcore needs at least one port");
  }
  if (c.ports.empty()) return;
  const MultilogConfig* m = FindMultilog(c, d.multilog);
  if (m == nullptr) {
    std::vector<std::string> names;
    for (const MultilogConfig& x : c.multilogs) names.push_back(x.name);
    r.Check("dataplane.multilog",
            "no [[multilog]] named " + Quoted(d.multilog) +
                " for the ports' packets" + DidYouMean(d.multilog, names) +
                " (multilogs: " + NameList(names) + ")",
            "port[0]");
    return;
  }
  Result<Schema> schema = ResolveSchema(m->schema);
  if (schema.ok() && !(*schema == PacketSchema())) {
    r.Check("dataplane.multilog",
            "multilog " + Quoted(m->name) + AtLine(m->line) +
                " does not have the packet schema; the ports need one with "
                "schema = \"packet\"",
            "port[0]");
  }
}

void ValidateMultilog(const AgentConfig& c, size_t i, ErrorReport& r) {
  const MultilogConfig& m = c.multilogs[i];
  const std::string key = ElementKey("multilog", i);
  const bool durable = m.storage != StorageMode::kInMemory;
  if (durable && m.directory.empty()) {
    r.Check(key + ".directory", "storage \"" +
                                    std::string(StorageModeName(m.storage)) +
                                    "\" needs a directory to keep the log in");
  }
  if (!durable && !m.directory.empty()) {
    r.Check(key + ".directory",
            "a directory is used only by storage \"durable\" and "
            "\"durable-relaxed\"; this multilog is in memory");
  }
  if (durable && !m.directory.empty()) {
    for (size_t j = 0; j < i; ++j) {
      const MultilogConfig& o = c.multilogs[j];
      if (o.storage != StorageMode::kInMemory && o.directory == m.directory) {
        r.Check(key + ".directory", "directory " + Quoted(m.directory) +
                                        " is already used by multilog " +
                                        Quoted(o.name) + AtLine(o.line) +
                                        "; each multilog needs its own");
      }
    }
  }
  if (m.flush_interval < std::chrono::milliseconds(1) ||
      m.flush_interval > std::chrono::hours(1)) {
    r.Check(key + ".flush_interval",
            "must be from 1ms to 1h, got " +
                std::to_string(m.flush_interval.count()) + "ms");
  }
  if (m.bucket < std::chrono::microseconds(1) ||
      m.bucket > std::chrono::hours(1)) {
    r.Check(key + ".bucket", "must be from 1us to 1h, got " +
                                 std::to_string(m.bucket.count()) + "ns");
  }
  if (m.block_records < kMinBlockRecords ||
      m.block_records > kMaxBlockRecords || !IsPowerOfTwo(m.block_records)) {
    r.Check(key + ".block_records",
            "must be a power of two from " + std::to_string(kMinBlockRecords) +
                " to " + std::to_string(kMaxBlockRecords) + ", got " +
                std::to_string(m.block_records));
  }

  if (m.schema.empty()) {
    r.Check(key + ".schema",
            "missing; use \"packet\" or columns such as "
            "\"src:ipv4, bytes:u32, host:string(16)\"");
    return;
  }
  Result<Schema> schema = ResolveSchema(m.schema);
  if (!schema.ok()) {
    r.Check(key + ".schema", schema.status().message());
    return;
  }
  const uint64_t block_bytes =
      uint64_t{m.block_records} * schema->record_size();
  if (m.retention.max_bytes != 0 && m.retention.max_bytes < block_bytes) {
    r.Check(key + ".retention.max_bytes",
            FormatSize(m.retention.max_bytes) + " is smaller than one block (" +
                FormatSize(block_bytes) + " = block_records " +
                std::to_string(m.block_records) + " x " +
                std::to_string(schema->record_size()) +
                "-byte records); raise it or lower block_records");
  }
  if (m.capacity_bytes != 0 && m.retention.max_bytes != 0 &&
      m.capacity_bytes < m.retention.max_bytes + 2 * block_bytes) {
    r.Check(key + ".capacity_bytes", FormatSize(m.capacity_bytes) +
                                         " cannot hold the retention window (" +
                                         FormatSize(m.retention.max_bytes) +
                                         ") plus two blocks (" +
                                         FormatSize(2 * block_bytes) + ")");
  }
  ValidateSection(m.program, key, ProgramTarget{*schema, {}, nullptr}, r);
}

void Validate(const AgentConfig& c, ErrorReport& r) {
  ValidateAgent(c, r);
  ValidatePorts(c, r);
  ValidateDataplane(c, r);
  std::vector<NameAndLine> names;
  for (const MultilogConfig& m : c.multilogs) names.push_back({m.name, m.line});
  CheckNames("multilog", "multilog", names, r);
  for (size_t i = 0; i < c.multilogs.size(); ++i) ValidateMultilog(c, i, r);
  ValidateAlertSinks(c.alerts.queue, c.alerts.sinks, r);
  if (c.alerts.log_max_alerts < 1 ||
      c.alerts.log_max_alerts > kMaxAlertLogAlerts) {
    r.Check("alerts.log_max_alerts",
            "must be from 1 to " + std::to_string(kMaxAlertLogAlerts) +
                ", got " + std::to_string(c.alerts.log_max_alerts));
  }
  if (c.alerts.log_max_age.count() < 0 ||
      c.alerts.log_max_age > kMaxAlertLogAge) {
    r.Check("alerts.log_max_age",
            "must be from 0 (no limit) to 365 days, got " +
                std::to_string(c.alerts.log_max_age.count()) + " ns");
  }
}

}  // namespace

Status CheckListenAddress(std::string_view address) {
  return CheckHostPort(address, true, "127.0.0.1:7070");
}

MultilogOptions ToMultilogOptions(const MultilogConfig& m) {
  MultilogOptions options;
  options.data.mode = m.storage;
  options.data.directory = m.directory;
  options.data.block_records = m.block_records;
  options.data.preallocate_bytes = m.preallocate_bytes;
  options.data.capacity_bytes = m.capacity_bytes;
  options.data.retention = m.retention;
  options.data.flush_interval = m.flush_interval;
  options.bucket = m.bucket;
  return options;
}

Result<AgentConfig> ParseConfig(std::string_view text,
                                const std::string& source_name,
                                const EnvLookup& env) {
  Result<toml::table> root = ParseToml(text, source_name);
  if (!root.ok()) return root.status();
  ErrorReport report;
  ValueReader reader(report, env);
  AgentConfig config;
  config.source = source_name;
  Decode(reader, *root, &config);
  Validate(config, report);
  if (!report.empty()) return report.ToStatus(source_name);
  return config;
}

Result<AgentConfig> LoadConfig(const std::string& path, const EnvLookup& env) {
  Result<std::string> text = ReadTomlFile(path, "config");
  if (!text.ok()) return text.status();
  return ParseConfig(*text, path, env);
}

Status ValidateConfig(const AgentConfig& config) {
  ErrorReport report;
  Validate(config, report);
  return report.empty() ? Status::Ok() : report.ToStatus(config.source);
}

}  // namespace loupe::agent
