#include "agent/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/control.h"
#include "multilog/multilog.h"
#include "multilog/packet_schema.h"
#include "multilog/units.h"

namespace loupe::agent {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The environment the example files are loaded in.
EnvLookup ExampleEnv() { return Env({{"LOUPE_CAPTURE", "/tmp/sample.pcap"}}); }

std::string ConfigDir() {
  const char* root = std::getenv("LOUPE_SOURCE_ROOT");
  return std::string(root != nullptr ? root : ".") + "/config/";
}

AgentConfig Parse(std::string_view text, const EnvLookup& env = Env({})) {
  Result<AgentConfig> config = ParseConfig(text, "test.toml", env);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? std::move(config).value() : AgentConfig{};
}

// The message of a config that must be refused.
std::string Error(std::string_view text, const EnvLookup& env = Env({})) {
  Result<AgentConfig> config = ParseConfig(text, "test.toml", env);
  EXPECT_FALSE(config.ok()) << "accepted:\n" << text;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
  return config.status().message();
}

std::vector<ControlStatement> Indexes(const MultilogConfig& m) {
  return StatementsOf(m.program, ControlKind::kIndex);
}
std::vector<ControlStatement> Filters(const MultilogConfig& m) {
  return StatementsOf(m.program, ControlKind::kFilter);
}
std::vector<ControlStatement> Aggregates(const MultilogConfig& m) {
  return StatementsOf(m.program, ControlKind::kAggregate);
}
std::vector<ControlStatement> Triggers(const MultilogConfig& m) {
  return StatementsOf(m.program, ControlKind::kTrigger);
}

constexpr std::string_view kPackets = R"(
[[multilog]]
name = "packets"
schema = "packet"
)";

// --- The example files ------------------------------------------------------

TEST(ExampleConfigTest, DefaultLoads) {
  Result<AgentConfig> loaded =
      LoadConfig(ConfigDir() + "default.toml", ExampleEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const AgentConfig& c = *loaded;
  EXPECT_EQ(c.source, ConfigDir() + "default.toml");
  EXPECT_FALSE(c.host.empty());
  EXPECT_EQ(c.listen, "127.0.0.1:7070");
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9470");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_THAT(c.eal_args,
              ElementsAre("--no-huge", "-m", "1024", "--no-pci",
                          "--file-prefix=loupe", "--lcores=0@(0-1),1@0,2@1"));
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].name, "capture");
  EXPECT_EQ(c.ports[0].device,
            "net_pcap0,rx_pcap=/tmp/sample.pcap,infinite_rx=1");
  EXPECT_GT(c.ports[0].line, 0);
  EXPECT_EQ(c.ports[0].max_pps, 10000u);
  EXPECT_EQ(c.dataplane.multilog, "packets");
  ASSERT_EQ(c.multilogs.size(), 1u);
  const MultilogConfig& m = c.multilogs[0];
  EXPECT_EQ(m.name, "packets");
  EXPECT_EQ(m.schema, "packet");
  EXPECT_EQ(m.storage, StorageMode::kInMemory);
  EXPECT_EQ(m.retention.max_bytes, 1ull << 30);
  EXPECT_EQ(m.bucket, milliseconds(1));
  EXPECT_EQ(m.program.multilog, "packets");
  EXPECT_EQ(m.program.line, m.line);
  const std::vector<ControlStatement> indexes = Indexes(m);
  ASSERT_EQ(indexes.size(), 3u);
  EXPECT_EQ(indexes[0].name, "src_ip");
  EXPECT_EQ(indexes[2].name, "dst_port");
  std::vector<std::string> filters;
  for (const ControlStatement& f : Filters(m)) filters.push_back(f.name);
  EXPECT_THAT(filters, ElementsAre("tcp", "web", "dns", "syn", "svc_8080"));
  const std::vector<ControlStatement> aggregates = Aggregates(m);
  ASSERT_EQ(aggregates.size(), 3u);
  EXPECT_EQ(aggregates[2].name, "svc_8080_packets");
  EXPECT_EQ(aggregates[2].filter, "svc_8080");
  const std::vector<ControlStatement> triggers = Triggers(m);
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_EQ(triggers[0].name, "flash_crowd");
  EXPECT_EQ(triggers[0].period, seconds(1));
  ASSERT_EQ(c.alerts.sinks.size(), 1u);
  EXPECT_EQ(c.alerts.sinks[0].type, SinkType::kJsonl);
  EXPECT_EQ(c.alerts.sinks[0].path, "-");
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ExampleConfigTest, DefaultNeedsTheCapture) {
  Result<AgentConfig> loaded =
      LoadConfig(ConfigDir() + "default.toml", Env({}));
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(),
              AllOf(StartsWith(ConfigDir() + "default.toml:"),
                    HasSubstr(": port[0].device: environment variable "
                              "LOUPE_CAPTURE is not set")));
}

TEST(ExampleConfigTest, OvsMirrorLoads) {
  Result<AgentConfig> loaded =
      LoadConfig(ConfigDir() + "ovs-mirror.toml", ExampleEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->ports.size(), 1u);
  EXPECT_EQ(loaded->ports[0].device,
            "net_af_packet0,iface=loupe-mirror,framecnt=16384");
  ASSERT_EQ(loaded->multilogs.size(), 1u);
  const MultilogConfig& m = loaded->multilogs[0];
  EXPECT_EQ(m.storage, StorageMode::kDurableRelaxed);
  EXPECT_EQ(m.directory, "/var/lib/loupe/packets");  // the default
  EXPECT_EQ(m.retention.max_age, hours(24));
  ASSERT_EQ(loaded->alerts.sinks.size(), 1u);
  EXPECT_EQ(loaded->alerts.sinks[0].type, SinkType::kSyslog);

  Result<AgentConfig> moved =
      LoadConfig(ConfigDir() + "ovs-mirror.toml",
                 Env({{"LOUPE_STATE_DIR", "/srv/loupe"}}));
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->multilogs[0].directory, "/srv/loupe/packets");
}

TEST(ExampleConfigTest, UserMultilogLoads) {
  Result<AgentConfig> loaded =
      LoadConfig(ConfigDir() + "user-multilog.toml", ExampleEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->ports.empty());
  ASSERT_EQ(loaded->multilogs.size(), 1u);
  const MultilogConfig& m = loaded->multilogs[0];
  EXPECT_EQ(m.storage, StorageMode::kDurable);
  Result<Schema> schema = ResolveSchema(m.schema);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_NE(schema->Find("latency_us"), nullptr);
  const std::vector<ControlStatement> indexes = Indexes(m);
  ASSERT_EQ(indexes.size(), 3u);
  EXPECT_EQ(indexes[1].name, "status");
  EXPECT_EQ(indexes[1].bucket, 100u);
}

// What the loader accepts, a Multilog accepts: each example's multilogs open
// and take their whole control program.
TEST(ExampleConfigTest, MultilogsAcceptTheControlPrograms) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("loupe_config_test_" + std::to_string(getpid()));
  for (const char* file :
       {"default.toml", "ovs-mirror.toml", "user-multilog.toml"}) {
    SCOPED_TRACE(file);
    std::filesystem::remove_all(dir);
    Result<AgentConfig> loaded = LoadConfig(
        ConfigDir() + file,
        Env({{"LOUPE_CAPTURE", "x.pcap"}, {"LOUPE_STATE_DIR", dir}}));
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    for (MultilogConfig& m : loaded->multilogs) {
      std::filesystem::create_directories(m.directory.empty() ? dir
                                                              : m.directory);
      m.preallocate_bytes = 1 << 20;  // keep the test light
      Result<Schema> schema = ResolveSchema(m.schema);
      ASSERT_TRUE(schema.ok());
      MultilogOptions options = ToMultilogOptions(m);
      options.start_monitor = false;
      auto log = Multilog::Open(m.name, *schema, options);
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      for (const ControlStatement& s : m.program.statements) {
        EXPECT_TRUE(Apply(**log, s).ok()) << s.Describe();
      }
    }
  }
  std::filesystem::remove_all(dir);
}

// --- Defaults and the environment -------------------------------------------

TEST(ConfigTest, EmptyFileIsAnAgentWithoutPortsOrMultilogs) {
  AgentConfig c = Parse("");
  EXPECT_EQ(c.source, "test.toml");
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof(name) - 1), 0);
  EXPECT_EQ(c.host, name);
  EXPECT_EQ(c.listen, "127.0.0.1:7070");
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9470");
  EXPECT_TRUE(c.ports.empty());
  EXPECT_TRUE(c.multilogs.empty());
  EXPECT_EQ(c.dataplane.writers, 1u);
  EXPECT_EQ(c.dataplane.burst, 32u);
  EXPECT_EQ(c.alerts.queue, 1024u);
}

TEST(ConfigTest, JoiningACoordinator) {
  AgentConfig c = Parse(R"toml(
[agent]
host = "hv-9"
coordinator = "127.0.0.1:7700"
labels = { rack = "r2", role = "compute" }
)toml");
  EXPECT_EQ(c.coordinator, "127.0.0.1:7700");
  EXPECT_EQ(c.advertise, "");
  EXPECT_EQ(c.labels, (Labels{{"rack", "r2"}, {"role", "compute"}}));
}

TEST(ConfigErrorTest, JoiningACoordinatorChecksWhatRegisterWould) {
  // The fleet name rule, only when joining.
  EXPECT_THAT(Error("[agent]\nhost = \"hv 9\"\ncoordinator = \"c:7700\"\n"),
              HasSubstr("agent.host: joining a coordinator"));
  EXPECT_THAT(Error("[agent]\ncoordinator = \"c\"\n"),
              HasSubstr("test.toml:2: agent.coordinator:"));
  EXPECT_THAT(Error("[agent]\nhost = \"hv9\"\nlisten = \"0.0.0.0:7070\"\n"
                    "coordinator = \"c:7700\"\n"),
              HasSubstr("agent.advertise: needed with agent.coordinator"));
  EXPECT_THAT(Error("[agent]\nadvertise = \"[::]:7070\"\n"),
              HasSubstr("agent.advertise: \"[::]:7070\" is a wildcard"));
  // The coordinator's own label checks, at the label's line.
  EXPECT_THAT(Error("[agent]\nlabels = { host = \"x\" }\n"),
              HasSubstr("test.toml:2: agent.labels.host: is reserved"));
  EXPECT_THAT(Error("[agent]\nlabels = { rack = \"r 2\" }\n"),
              HasSubstr("agent.labels.rack: label values are"));
  EXPECT_THAT(Error("[agent]\nlabels = { rack = 2 }\n"),
              HasSubstr("agent.labels.rack: expected a string"));
}

TEST(ConfigTest, MultilogDefaults) {
  AgentConfig c = Parse(kPackets);
  ASSERT_EQ(c.multilogs.size(), 1u);
  const MultilogConfig& m = c.multilogs[0];
  EXPECT_EQ(m.line, 2);
  EXPECT_EQ(m.storage, StorageMode::kInMemory);
  EXPECT_EQ(m.bucket, milliseconds(1));
  EXPECT_EQ(m.block_records, 65536u);
  EXPECT_EQ(m.retention.max_bytes, 0u);
  const MultilogOptions o = ToMultilogOptions(m);
  EXPECT_EQ(o.data.mode, StorageMode::kInMemory);
  EXPECT_EQ(o.data.block_records, 65536u);
  EXPECT_EQ(o.bucket, milliseconds(1));
}

TEST(ConfigTest, SizesAndDurationsTakeIntegersAndStrings) {
  AgentConfig c = Parse(R"(
[[multilog]]
name = "m"
schema = "packet"
storage = "durable"
directory = "/tmp/m"
flush_interval = "250ms"
capacity_bytes = 1073741824
preallocate_bytes = "1.5MiB"
retention = { max_bytes = "512MiB", max_age = "1h30m" }
bucket = "500us"
triggers = []
)");
  ASSERT_EQ(c.multilogs.size(), 1u);
  const MultilogConfig& m = c.multilogs[0];
  EXPECT_EQ(m.flush_interval, milliseconds(250));
  EXPECT_EQ(m.capacity_bytes, 1ull << 30);
  EXPECT_EQ(m.preallocate_bytes, 3ull << 19);
  EXPECT_EQ(m.retention.max_bytes, 512ull << 20);
  EXPECT_EQ(m.retention.max_age, minutes(90));
  EXPECT_EQ(m.bucket, microseconds(500));
}

TEST(ConfigTest, EnvironmentExpansion) {
  const EnvLookup env = Env({{"HOST", "hv-07"}, {"EMPTY", ""}});
  EXPECT_EQ(Parse("[agent]\nhost = \"${HOST}\"", env).host, "hv-07");
  EXPECT_EQ(Parse("[agent]\nhost = \"a-${HOST}-b\"", env).host, "a-hv-07-b");
  EXPECT_EQ(Parse("[agent]\nhost = \"${UNSET:-x}\"", env).host, "x");
  EXPECT_EQ(Parse("[agent]\nhost = \"${EMPTY:-y}\"", env).host, "y");
  EXPECT_EQ(Parse("[agent]\nhost = \"${HOST:-y}\"", env).host, "hv-07");
  EXPECT_EQ(Parse("[agent]\nhost = \"$$5\"", env).host, "$5");
  EXPECT_EQ(Parse("[agent]\nhost = \"a$\"", env).host, "a$");
  EXPECT_EQ(
      Parse("[dpdk]\neal_args = [\"--file-prefix=${HOST}\"]", env).eal_args[0],
      "--file-prefix=hv-07");
  // Sizes go through the environment too.
  EXPECT_EQ(Parse(std::string(kPackets) + "retention.max_bytes = \"${S}\"",
                  Env({{"S", "2GiB"}}))
                .multilogs[0]
                .retention.max_bytes,
            2ull << 30);
}

TEST(ConfigErrorTest, EnvironmentErrorsNameTheKey) {
  EXPECT_EQ(Error("[agent]\nlisten = \"${LISTEN}\""),
            "test.toml:2: agent.listen: environment variable LISTEN is not "
            "set (used as ${LISTEN}; set it, or give a default with "
            "${LISTEN:-default})");
  EXPECT_EQ(Error("[agent]\nhost = \"$HOST\""),
            "test.toml:2: agent.host: '$HOST' needs braces: write ${HOST} for "
            "the environment variable, or $$ for a literal '$'");
  EXPECT_THAT(Error("[agent]\nhost = \"${HOST\""),
              HasSubstr("agent.host: '${' without a closing '}'"));
  EXPECT_THAT(Error("[agent]\nhost = \"${1A}\""),
              HasSubstr("agent.host: \"${1A}\" does not name an environment "
                        "variable"));
}

// --- Errors: every class names file, line and key ---------------------------

TEST(ConfigErrorTest, TomlSyntax) {
  EXPECT_THAT(Error("[agent]\nlisten = \n"), StartsWith("test.toml:2:"));
  EXPECT_THAT(Error("[agent]\nlisten = \"a\"\nlisten = \"b\"\n"),
              StartsWith("test.toml:3:"));
}

TEST(ConfigErrorTest, UnknownKeysSuggestTheClosest) {
  EXPECT_EQ(Error("[agent]\nlisen = \"127.0.0.1:1\"\n"),
            "test.toml:2: agent.lisen: unknown key; did you mean 'listen'?");
  // (multilog/did_you_mean.h's rule: "prots" is two edits from "port",
  // more than a 5-letter word is allowed.)
  EXPECT_EQ(Error("[[ports]]\nname = \"x\"\n"),
            "test.toml:1: ports: unknown section [[ports]]; did you mean "
            "'port'?");
  EXPECT_EQ(Error(std::string(kPackets) + "retension = {max_bytes = 1}\n"),
            "test.toml:5: multilog[0].retension: unknown key; did you mean "
            "'retention'?");
  EXPECT_EQ(Error(std::string(kPackets) +
                  "filters = [{name = \"a\", expresion = \"true\"}]\n"),
            "test.toml:5: multilog[0].filters[0].expresion: unknown key; did "
            "you mean 'expression'?");
  // Nothing close: the list of keys.
  EXPECT_EQ(Error("[dpdk]\nzzzzzzzz = 1\n"),
            "test.toml:2: dpdk.zzzzzzzz: unknown key (expected one of: "
            "eal_args)");
}

TEST(ConfigErrorTest, WrongTypes) {
  EXPECT_EQ(Error("[dataplane]\nburst = \"32\"\n"),
            "test.toml:2: dataplane.burst: expected an integer from 0 to "
            "4294967295, got \"32\"");
  EXPECT_EQ(Error("[agent]\nlisten = 7070\n"),
            "test.toml:2: agent.listen: expected a string, got an integer "
            "(7070)");
  EXPECT_EQ(Error("[[port]]\nname = \"p\"\ndevice = \"net_null0\"\n"
                  "rx_descriptors = 70000\n" +
                  std::string(kPackets)),
            "test.toml:4: port[0].rx_descriptors: expected an integer from 0 "
            "to 65535, got an integer (70000)");
  EXPECT_EQ(Error("[dpdk]\neal_args = \"--no-huge\"\n"),
            "test.toml:2: dpdk.eal_args: expected an array, got "
            "\"--no-huge\"");
  EXPECT_EQ(Error("[port]\nname = \"p\"\n"),
            "test.toml:1: port: expected [[port]] tables, got a table");
  EXPECT_EQ(Error("agent = 1\n"),
            "test.toml:1: agent: expected a table, got an integer (1)");
}

TEST(ConfigErrorTest, BadSizesAndDurations) {
  EXPECT_EQ(
      Error(std::string(kPackets) + "retention = { max_bytes = \"lots\" }\n"),
      "test.toml:5: multilog[0].retention.max_bytes: expected a size "
      "like \"2GiB\", got \"lots\"");
  EXPECT_EQ(Error(std::string(kPackets) + "bucket = \"1 fortnight\"\n"),
            "test.toml:5: multilog[0].bucket: expected a duration like "
            "\"500ms\" or \"1h30m\" (units: ns, us, ms, s, m, h, d), got \"1 "
            "fortnight\"");
  EXPECT_EQ(Error(std::string(kPackets) + "bucket = 5\n"),
            "test.toml:5: multilog[0].bucket: expected a duration like "
            "\"500ms\" (a string with a unit: ns, us, ms, s, m, h, d), got an "
            "integer (5)");
  EXPECT_EQ(Error(std::string(kPackets) + "capacity_bytes = -1\n"),
            "test.toml:5: multilog[0].capacity_bytes: expected an integer "
            "from 0 to 18446744073709551615, got an integer (-1)");
  EXPECT_EQ(Error(std::string(kPackets) + "bucket = \"2h\"\n"),
            "test.toml:5: multilog[0].bucket: must be from 1us to 1h, got "
            "7200000000000ns");
}

TEST(ConfigErrorTest, FiltersAreParsedAgainstTheSchema) {
  EXPECT_EQ(Error(std::string(kPackets) +
                  "filters = [\n"
                  "  { name = \"ok\", expression = \"proto == tcp\" },\n"
                  "  { name = \"web\", expression = \"dst_prot == 80\" },\n"
                  "]\n"),
            "test.toml:7: multilog[0].filters[1].expression: filter 1:1: "
            "unknown field 'dst_prot'; did you mean 'dst_port'?");
  EXPECT_THAT(Error(std::string(kPackets) +
                    "filters = [{ name = \"f\", expression = \"ttl == 300\" "
                    "}]\n"),
              StartsWith("test.toml:5: multilog[0].filters[0].expression: "
                         "filter 1:8: "));
  EXPECT_THAT(Error(std::string(kPackets) + "filters = [{ name = \"f\" }]\n"),
              StartsWith("test.toml:5: multilog[0].filters[0].expression: "
                         "filter 1:1: empty"));
}

TEST(ConfigErrorTest, AggregatesNeedFiltersAndTriggersNeedAggregates) {
  const std::string base = std::string(kPackets) +
                           "filters = [{ name = \"web\", expression = "
                           "\"dst_port == 80\" }]\n";
  EXPECT_EQ(Error(base + "aggregates = [{ name = \"b\", filter = \"webb\", "
                         "expression = \"SUM(ip_len)\" }]\n"),
            "test.toml:6: multilog[0].aggregates[0].filter: no filter named "
            "\"webb\" in multilog \"packets\"; did you mean 'web'? (filters: "
            "web)");
  EXPECT_THAT(Error(base + "aggregates = [{ name = \"b\", filter = \"web\", "
                           "expression = \"SUM(src_ip)\" }]\n"),
              StartsWith("test.toml:6: multilog[0].aggregates[0].expression: "
                         "aggregate 1:"));
  EXPECT_EQ(
      Error(base + "aggregates = [{ name = \"b\", filter = \"web\", "
                   "expression = \"COUNT()\" }]\n"
                   "triggers = [{ name = \"t\", condition = \"cnt > 10\" }]\n"),
      "test.toml:7: multilog[0].triggers[0].condition: no aggregate "
      "named \"cnt\" in multilog \"packets\" (aggregates: b)");
  EXPECT_THAT(
      Error(base + "aggregates = [{ name = \"b\", filter = \"web\", "
                   "expression = \"COUNT()\" }]\n"
                   "triggers = [{ name = \"t\", condition = \"b >\" }]\n"),
      StartsWith("test.toml:7: multilog[0].triggers[0].condition: "
                 "trigger 1:"));
  EXPECT_EQ(Error(base + "aggregates = [{ name = \"b\", filter = \"web\", "
                         "expression = \"COUNT()\" }]\n"
                         "triggers = [{ name = \"t\", condition = \"b > 1\", "
                         "period = \"2h\" }]\n"),
            "test.toml:7: multilog[0].triggers[0].period: must be from 1ms to "
            "1h, got 7200000000000ns");
  EXPECT_EQ(Error(base + "aggregates = [{ name = \"a-b\", filter = \"web\", "
                         "expression = \"COUNT()\" }]\n"),
            "test.toml:6: multilog[0].aggregates[0].name: aggregate names "
            "cannot contain '-' (triggers name them in expressions); use '_'");
}

TEST(ConfigErrorTest, DuplicateNames) {
  EXPECT_EQ(Error(std::string(kPackets) +
                  "filters = [\n"
                  "  { name = \"web\", expression = \"dst_port == 80\" },\n"
                  "  { name = \"web\", expression = \"dst_port == 443\" },\n"
                  "]\n"),
            "test.toml:7: multilog[0].filters[1].name: filter \"web\" is "
            "already defined (line 6)");
  EXPECT_EQ(Error(std::string(kPackets) + std::string(kPackets)),
            "test.toml:7: multilog[1].name: multilog \"packets\" is already "
            "defined (line 2)");
  EXPECT_EQ(Error(std::string(kPackets) +
                  "[[port]]\nname = \"a\"\ndevice = \"net_null0\"\n"
                  "[[port]]\nname = \"a\"\ndevice = \"net_null0\"\n"),
            "test.toml:9: port[1].name: port \"a\" is already defined (line "
            "5)\n"
            "test.toml:10: port[1].device: device \"net_null0\" is already "
            "used by port \"a\" (line 5)");
  EXPECT_EQ(
      Error(std::string(kPackets) + "indexes = [\"src_ip\", \"src_ip\"]\n"),
      "test.toml:5: multilog[0].indexes[1]: column \"src_ip\" is "
      "already indexed (line 5)");
  EXPECT_EQ(Error("[[multilog]]\nname = \"9lives\"\nschema = \"packet\"\n"),
            "test.toml:2: multilog[0].name: name \"9lives\" is not an "
            "identifier; use letters, digits, '_' and '-', starting with a "
            "letter or '_'");
  EXPECT_EQ(Error("[[multilog]]\nschema = \"packet\"\n"),
            "test.toml:1: multilog[0].name: is missing or empty");
}

TEST(ConfigErrorTest, Storage) {
  EXPECT_EQ(Error(std::string(kPackets) + "storage = \"durable\"\n"),
            "test.toml:2: multilog[0].directory: storage \"durable\" needs a "
            "directory to keep the log in");
  EXPECT_EQ(Error(std::string(kPackets) + "directory = \"/tmp/x\"\n"),
            "test.toml:5: multilog[0].directory: a directory is used only by "
            "storage \"durable\" and \"durable-relaxed\"; this multilog is in "
            "memory");
  EXPECT_EQ(Error(std::string(kPackets) +
                  "storage = \"durabel\"\ndirectory = \"/tmp/x\"\n"),
            "test.toml:5: multilog[0].storage: unknown storage mode "
            "'durabel'; expected memory, durable-relaxed or durable");
  EXPECT_EQ(Error(std::string(kPackets) +
                  "storage = \"durable\"\ndirectory = \"/tmp/x\"\n"
                  "[[multilog]]\nname = \"b\"\nschema = \"packet\"\n"
                  "storage = \"durable-relaxed\"\ndirectory = \"/tmp/x\"\n"),
            "test.toml:11: multilog[1].directory: directory \"/tmp/x\" is "
            "already used by multilog \"packets\" (line 2); each multilog "
            "needs its own");
  EXPECT_EQ(Error(std::string(kPackets) + "block_records = 1000\n"),
            "test.toml:5: multilog[0].block_records: must be a power of two "
            "from 1024 to 16777216, got 1000");
  EXPECT_EQ(Error(std::string(kPackets) + "retention.max_bytes = \"1MiB\"\n"),
            "test.toml:5: multilog[0].retention.max_bytes: 1MiB is smaller "
            "than one block (4MiB = block_records 65536 x 64-byte records); "
            "raise it or lower block_records");
  EXPECT_EQ(
      Error(std::string(kPackets) +
            "retention.max_bytes = \"1GiB\"\ncapacity_bytes = \"1GiB\"\n"),
      "test.toml:6: multilog[0].capacity_bytes: 1GiB cannot hold the "
      "retention window (1GiB) plus two blocks (8MiB)");
}

TEST(ConfigErrorTest, Schemas) {
  EXPECT_THAT(Error("[[multilog]]\nname = \"m\"\nschema = \"a:u32, b:u33\"\n"),
              StartsWith("test.toml:3: multilog[0].schema: "));
  EXPECT_EQ(Error("[[multilog]]\nname = \"m\"\n"),
            "test.toml:1: multilog[0].schema: missing; use \"packet\" or "
            "columns such as \"src:ipv4, bytes:u32, host:string(16)\"");
  // A user schema: its columns are what filters and indexes check against.
  AgentConfig c = Parse(
      "[[multilog]]\nname = \"m\"\nschema = \"\"\"\nsrc:ipv4\nbytes:u32\n"
      "\"\"\"\nindexes = [\"src\", { column = \"bytes\", bucket = 64 }]\n"
      "filters = [{ name = \"big\", expression = \"bytes > 1000\" }]\n");
  ASSERT_EQ(c.multilogs.size(), 1u);
  EXPECT_EQ(Indexes(c.multilogs[0])[1].bucket, 64u);
  EXPECT_EQ(Error("[[multilog]]\nname = \"m\"\nschema = \"src:ipv4\"\n"
                  "indexes = [\"srcc\"]\n"),
            "test.toml:4: multilog[0].indexes[0]: index: unknown column "
            "'srcc'; did you mean 'src'?");
  EXPECT_THAT(Error("[[multilog]]\nname = \"m\"\nschema = \"src:ipv4\"\n"
                    "indexes = [{ column = \"src\", bucket = 8 }]\n"),
              StartsWith("test.toml:4: multilog[0].indexes[0]: index on "
                         "column 'src' (ipv4): bucket applies only"));
}

TEST(ConfigErrorTest, ListenAddresses) {
  EXPECT_EQ(Error("[agent]\nlisten = \"7070\"\n"),
            "test.toml:2: agent.listen: expected HOST:PORT such as "
            "\"127.0.0.1:7070\" or \"[::1]:7070\", got \"7070\"");
  EXPECT_EQ(Error("[agent]\nlisten = \"::1:7070\"\n"),
            "test.toml:2: agent.listen: an IPv6 address needs brackets, as in "
            "\"[::1]:7070\"; got \"::1:7070\"");
  EXPECT_THAT(Error("[agent]\nmetrics_listen = \"localhost:99999\"\n"),
              StartsWith("test.toml:2: agent.metrics_listen: port \"99999\" is "
                         "not a port number (0 to 65535)"));
  EXPECT_EQ(Error("[agent]\nlisten = \"127.0.0.1:1\"\n"
                  "metrics_listen = \"127.0.0.1:1\"\n"),
            "test.toml:3: agent.metrics_listen: is the same address as "
            "agent.listen (127.0.0.1:1); give /metrics its own port, or \"\" "
            "to turn it off");
  EXPECT_EQ(Parse("[agent]\nmetrics_listen = \"\"\n").metrics_listen, "");
  EXPECT_EQ(Parse("[agent]\nlisten = \"[::1]:0\"\n").listen, "[::1]:0");
  EXPECT_EQ(Error("[agent]\nlog_level = \"verbose\"\n"),
            "test.toml:2: agent.log_level: unknown level \"verbose\" "
            "(expected error, warn, info or debug)");
  EXPECT_EQ(Error("[agent]\nlog_level = \"debgu\"\n"),
            "test.toml:2: agent.log_level: unknown level \"debgu\"; did you "
            "mean 'debug'? (expected error, warn, info or debug)");
}

TEST(ConfigErrorTest, Dataplane) {
  const std::string port =
      "[[port]]\nname = \"p\"\ndevice = \"net_null0\"\n";  // lines 1-3
  EXPECT_EQ(Error(port),
            "test.toml:1: dataplane.multilog: no [[multilog]] named "
            "\"packets\" for the ports' packets (multilogs: none)");
  EXPECT_EQ(Error(port + "[[multilog]]\nname = \"m\"\nschema = \"a:u8\"\n"
                         "[dataplane]\nmultilog = \"m\"\n"),
            "test.toml:8: dataplane.multilog: multilog \"m\" (line 4) does not "
            "have the packet schema; the ports need one with schema = "
            "\"packet\"");
  // Without ports the dataplane's multilog is not needed.
  EXPECT_TRUE(Parse("[dataplane]\nmultilog = \"nothing\"\n").ports.empty());
  const std::string ok = port + std::string(kPackets);
  EXPECT_EQ(Error(ok + "[dataplane]\nwriters = 17\n"),
            "test.toml:9: dataplane.writers: must be from 1 to 16, got 17");
  EXPECT_EQ(Error(ok + "[dataplane]\nburst = 0\n"),
            "test.toml:9: dataplane.burst: must be from 1 to 512, got 0");
  EXPECT_EQ(Error(ok + "[dataplane]\nring_size = 1000\n"),
            "test.toml:9: dataplane.ring_size: must be a power of two from 2 "
            "to 16777216, got 1000");
  EXPECT_THAT(Error(ok + "[dataplane]\nmbufs = 1000\n"),
              StartsWith("test.toml:9: dataplane.mbufs: 1000 mbufs cannot "
                         "fill the ports' receive rings"));
  EXPECT_THAT(Error(ok + "[dataplane]\nmbuf_cache = 1024\n"),
              StartsWith("test.toml:9: dataplane.mbuf_cache: must be at most "
                         "512"));
  EXPECT_EQ(Error(ok + "[dataplane]\nwriters = 2\nwriter_lcores = [1]\n"),
            "test.toml:10: dataplane.writer_lcores: lists 1 lcores for 2 "
            "writers; list one per writer, or none");
  EXPECT_EQ(Error(ok + "[dataplane]\nrx_lcores = [1]\nwriter_lcores = [1]\n"),
            "test.toml:10: dataplane.writer_lcores[0]: lcore 1 is listed "
            "twice; each lcore runs one loop");
  AgentConfig c = Parse(ok +
                        "[dataplane]\nwriters = 2\nrx_lcores = [0]\n"
                        "writer_lcores = [1, 2]\n");
  EXPECT_THAT(c.dataplane.writer_lcores, ElementsAre(1u, 2u));
}

TEST(ConfigErrorTest, Sinks) {
  EXPECT_EQ(Error("[[alerts.sink]]\ntype = \"jsonl\"\nurl = \"http://x:1\"\n"),
            "test.toml:1: alerts.sink[0].path: missing; a jsonl sink needs a "
            "file, or \"-\" for stdout\n"
            "test.toml:3: alerts.sink[0].url: applies only to alertmanager "
            "sinks, and this one is jsonl");
  EXPECT_EQ(Error("[[alerts.sink]]\ntype = \"slack\"\nurl = \"x\"\n"),
            "test.toml:2: alerts.sink[0].type: unknown sink type \"slack\" "
            "(expected jsonl, syslog or alertmanager)");
  EXPECT_EQ(Error("[[alerts.sink]]\npath = \"-\"\n"),
            "test.toml:1: alerts.sink[0].type: missing; a sink needs a type: "
            "jsonl, syslog or alertmanager");
  EXPECT_EQ(Error("[[alerts.sink]]\ntype = \"syslog\"\n"
                  "address = \"udp:localhost\"\nfacility = \"local9\"\n"),
            "test.toml:3: alerts.sink[0].address: udp: expected HOST:PORT such "
            "as \"127.0.0.1:514\" or \"[::1]:7070\", got \"localhost\"\n"
            "test.toml:4: alerts.sink[0].facility: unknown syslog facility "
            "\"local9\"; did you mean 'local0'? (expected local0 to local7, "
            "user or daemon)");
  EXPECT_EQ(Error("[[alerts.sink]]\ntype = \"alertmanager\"\n"
                  "url = \"ftp://am:9093\"\n"),
            "test.toml:3: alerts.sink[0].url: expected an http:// or https:// "
            "URL such as \"http://127.0.0.1:9093\", got \"ftp://am:9093\"");
  EXPECT_THAT(Error("[[alerts.sink]]\ntype = \"alertmanager\"\n"
                    "url = \"http://:9093\"\n"),
              StartsWith("test.toml:3: alerts.sink[0].url: \"http://:9093\": "
                         "\"\" is not a host name or address"));
  EXPECT_EQ(Error("[[alerts.sink]]\ntype = \"alertmanager\"\n"
                  "url = \"http://am\"\nresolve_after = \"500ms\"\n"),
            "test.toml:4: alerts.sink[0].resolve_after: must be 0 (twice the "
            "trigger's period) or from 1s to 24h, got 500000000ns");
  EXPECT_EQ(Error("[[alerts.sink]]\ntype = \"jsonl\"\npath = \"-\"\n"
                  "name = \"out\"\n"
                  "[[alerts.sink]]\ntype = \"jsonl\"\npath = \"b\"\n"
                  "name = \"out\"\n"),
            "test.toml:8: alerts.sink[1].name: sink \"out\" is already "
            "defined (line 1)");
  AgentConfig c = Parse(
      "[alerts]\nqueue = 10\n"
      "[[alerts.sink]]\ntype = \"alertmanager\"\nurl = \"http://am:9093/\"\n"
      "resolve_after = \"10m\"\nname = \"noc\"\n"
      "[[alerts.sink]]\ntype = \"syslog\"\naddress = \"udp:[::1]:514\"\n"
      "[[alerts.sink]]\ntype = \"alertmanager\"\n"
      "url = \"https://[2001:db8::1]/prefix\"\n");
  ASSERT_EQ(c.alerts.sinks.size(), 3u);
  EXPECT_EQ(c.alerts.queue, 10u);
  EXPECT_EQ(c.alerts.sinks[0].type, SinkType::kAlertmanager);
  EXPECT_EQ(c.alerts.sinks[0].resolve_after, minutes(10));
  EXPECT_EQ(c.alerts.sinks[0].name, "noc");
  EXPECT_EQ(c.alerts.sinks[1].address, "udp:[::1]:514");
  EXPECT_EQ(c.alerts.sinks[1].facility, "local0");
  EXPECT_EQ(c.alerts.sinks[2].resolve_after, nanoseconds(0));
}

// --- Reporting ---------------------------------------------------------------

TEST(ConfigErrorTest, EveryErrorIsReportedInLineOrder) {
  EXPECT_EQ(Error("[agent]\nlog_level = \"loud\"\nlisten = \"x\"\n"
                  "[dataplane]\nburst = 0\n"),
            "test.toml:2: agent.log_level: unknown level \"loud\" (expected "
            "error, warn, info or debug)\n"
            "test.toml:3: agent.listen: expected HOST:PORT such as "
            "\"127.0.0.1:7070\" or \"[::1]:7070\", got \"x\"\n"
            "test.toml:5: dataplane.burst: must be from 1 to 512, got 0");
}

TEST(ConfigErrorTest, AtMostTwentyErrors) {
  std::string text = "[dpdk]\n";
  for (int i = 0; i < 25; ++i) text += "k" + std::to_string(i) + " = 1\n";
  const std::string message = Error(text);
  std::vector<std::string> lines;
  for (size_t start = 0; start <= message.size();) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    lines.push_back(message.substr(start, end - start));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), kMaxConfigErrors + 1);
  EXPECT_THAT(lines[0], StartsWith("test.toml:2: dpdk.k0: unknown key"));
  EXPECT_EQ(lines.back(), "test.toml: ... and 5 more errors");
}

TEST(ConfigErrorTest, ABadValueIsReportedOnce) {
  // A name of the wrong type is not also "missing" or "no filter named".
  EXPECT_EQ(Error(std::string(kPackets) +
                  "filters = [{ name = 1, expression = \"true\" }]\n"),
            "test.toml:5: multilog[0].filters[0].name: expected a string, got "
            "an integer (1)");
  // An element that is not a table keeps the indices of the others.
  EXPECT_EQ(Error("port = [1, { name = \"p\", device = \"\" }]\n" +
                  std::string(kPackets)),
            "test.toml:1: port[0]: expected a table, got an integer (1)\n"
            "test.toml:1: port[1].device: needs a DPDK device, e.g. "
            "\"net_pcap0,rx_pcap=capture.pcap\" or "
            "\"net_af_packet0,iface=eth1\"");
  // A bad storage mode does not also make the directory wrong.
  EXPECT_EQ(Error(std::string(kPackets) + "storage = \"disk\"\n"
                                          "directory = \"/tmp/x\"\n"),
            "test.toml:5: multilog[0].storage: unknown storage mode 'disk'; "
            "expected memory, durable-relaxed or durable");
}

TEST(ConfigTest, ValidateConfigChecksOverrides) {
  AgentConfig c = Parse(kPackets);
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.listen = "nowhere";
  c.dataplane.burst = 1000;
  Status s = ValidateConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "test.toml: agent.listen: expected HOST:PORT such as "
            "\"127.0.0.1:7070\" or \"[::1]:7070\", got \"nowhere\"\n"
            "test.toml: dataplane.burst: must be from 1 to 512, got 1000");
}

TEST(ConfigTest, LoadConfigReportsUnreadableFiles) {
  Result<AgentConfig> missing = LoadConfig("/nonexistent/loupe.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("reading config /nonexistent/loupe.toml"));
}

// --- Sizes, durations, addresses --------------------------------------------

TEST(ParseSizeTest, Table) {
  const struct {
    std::string_view text;
    uint64_t bytes;
  } kCases[] = {
      {"0", 0},
      {"4096", 4096},
      {"12B", 12},
      {"1KiB", 1024},
      {"64MiB", 64ull << 20},
      {"64 MiB", 64ull << 20},
      {"64mib", 64ull << 20},
      {"2GiB", 2ull << 30},
      {"1.5GiB", 3ull << 29},
      {"1TiB", 1ull << 40},
      {"1kB", 1000},
      {"500MB", 500'000'000},
      {"2GB", 2'000'000'000},
      {"15EiB", 15ull << 60},
      {"18446744073709551615", 18446744073709551615ull},
  };
  for (const auto& c : kCases) {
    Result<uint64_t> size = ParseSize(c.text);
    ASSERT_TRUE(size.ok()) << c.text << ": " << size.status().ToString();
    EXPECT_EQ(*size, c.bytes) << c.text;
  }
  const struct {
    std::string_view text;
    std::string_view error;
  } kErrors[] = {
      {"lots", "expected a size like \"2GiB\", got \"lots\""},
      {"", "expected a size like \"2GiB\", got \"\""},
      {"-1", "expected a size like \"2GiB\", got \"-1\""},
      {"1.", "expected a size like \"2GiB\", got \"1.\""},
      {"64M",
       "ambiguous size \"64M\": write 64MiB (powers of 1024) or 64MB (powers "
       "of 1000)"},
      {"2 parsecs",
       "expected a size like \"2GiB\", got \"2 parsecs\" (units: B, KiB, MiB, "
       "GiB, TiB, or kB, MB, GB, TB)"},
      {"0.3B", "size \"0.3B\" is not a whole number of bytes"},
      {"16EiB", "size \"16EiB\" is too large (at most 16EiB)"},
      {"18446744073709551616",
       "size \"18446744073709551616\" is too large (at most 16EiB)"},
      {"123456789012345678901234",
       "expected a size like \"2GiB\", got "
       "\"123456789012345678901234\""},
  };
  for (const auto& e : kErrors) {
    Result<uint64_t> size = ParseSize(e.text);
    ASSERT_FALSE(size.ok()) << e.text;
    EXPECT_EQ(size.status().message(), e.error);
  }
}

TEST(ParseDurationTest, Table) {
  const struct {
    std::string_view text;
    nanoseconds ns;
  } kCases[] = {
      {"0", nanoseconds(0)},
      {"0s", nanoseconds(0)},
      {"1ns", nanoseconds(1)},
      {"500us", microseconds(500)},
      {"500\xc2\xb5s", microseconds(500)},
      {"1ms", milliseconds(1)},
      {"1.5s", milliseconds(1500)},
      {"10s", seconds(10)},
      {"5m", minutes(5)},
      {"1h", hours(1)},
      {"1h30m", minutes(90)},
      {"1h 30m", minutes(90)},
      {"7d", hours(24 * 7)},
      {"0.5us", nanoseconds(500)},
      {"9223372036854775807ns", nanoseconds(INT64_MAX)},
  };
  for (const auto& c : kCases) {
    Result<nanoseconds> d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(d->count(), c.ns.count()) << c.text;
  }
  const std::string expected =
      "expected a duration like \"500ms\" or \"1h30m\" (units: ns, us, ms, s, "
      "m, h, d), got ";
  const struct {
    std::string_view text;
    std::string error;
  } kErrors[] = {
      {"soon", expected + "\"soon\""},
      {"", expected + "\"\""},
      {"-1s", expected + "\"-1s\""},
      {"1S", expected + "\"1S\""},
      {"1sec", expected + "\"1sec\""},
      {"5", "duration \"5\" needs a unit; " + expected + "\"5\""},
      {"1h30", "duration \"1h30\" needs a unit; " + expected + "\"1h30\""},
      {"1.5ns", "duration \"1.5ns\" is not a whole number of nanoseconds"},
      {"300y", expected + "\"300y\""},
      {"107000d", "duration \"107000d\" is too long (at most about 292 years)"},
  };
  for (const auto& e : kErrors) {
    Result<nanoseconds> d = ParseDuration(e.text);
    ASSERT_FALSE(d.ok()) << e.text;
    EXPECT_EQ(d.status().message(), e.error);
  }
}

TEST(CheckListenAddressTest, Table) {
  for (std::string_view ok :
       {"127.0.0.1:7070", "0.0.0.0:0", "localhost:65535", "[::1]:7070",
        "[::]:9470", "hv-01.example.net:7070"}) {
    EXPECT_TRUE(CheckListenAddress(ok).ok()) << ok;
  }
  for (std::string_view bad :
       {"", "7070", ":7070", "127.0.0.1:", "127.0.0.1:65536", "host:http",
        "[::1]7070", "[zz]:1", "::1:7070", "a b:1", "127.0.0.1:-1"}) {
    EXPECT_FALSE(CheckListenAddress(bad).ok()) << bad;
  }
}

TEST(ResolveSchemaTest, PacketOrText) {
  Result<Schema> packet = ResolveSchema("packet");
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(*packet, PacketSchema());
  Result<Schema> user = ResolveSchema("a:u8, b:ipv4");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->columns().size(), 3u);
  EXPECT_FALSE(ResolveSchema("a:nope").ok());
}

}  // namespace
}  // namespace loupe::agent
