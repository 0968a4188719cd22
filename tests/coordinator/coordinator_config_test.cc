#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "coordinator/config.h"

namespace loupe::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

agent::EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

CoordinatorConfig Parse(std::string_view text,
                        const agent::EnvLookup& env = Env({})) {
  Result<CoordinatorConfig> c = ParseConfig(text, "test.toml", {}, env);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : CoordinatorConfig{};
}

std::string Error(std::string_view text) {
  Result<CoordinatorConfig> c = ParseConfig(text, "test.toml", {}, Env({}));
  EXPECT_FALSE(c.ok()) << "accepted:\n" << text;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  return c.status().message();
}

TEST(CoordinatorConfigTest, DefaultsAndAgents) {
  const CoordinatorConfig c = Parse(R"toml(
[coordinator]
name = "noc-1"

[[agent]]
name = "hv1"
address = "127.0.0.1:7071"
labels = { rack = "r1", zone = "eu-1" }

[[agent]]
name = "hv2.dc1"
address = "[::1]:7072"
)toml");
  EXPECT_EQ(c.name, "noc-1");
  EXPECT_EQ(c.listen, "127.0.0.1:7700");
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9471");
  EXPECT_EQ(c.health_interval, std::chrono::seconds(1));
  EXPECT_EQ(c.health_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c.down_after, 3u);
  ASSERT_EQ(c.agents.size(), 2u);
  EXPECT_EQ(c.agents[0].name, "hv1");
  EXPECT_EQ(c.agents[0].line, 5);
  EXPECT_EQ(c.agents[0].labels, (Labels{{"rack", "r1"}, {"zone", "eu-1"}}));
  EXPECT_EQ(c.agents[1].address, "[::1]:7072");
  EXPECT_TRUE(c.agents[1].labels.empty());
}

TEST(CoordinatorConfigTest, EmptyFileUsesTheHostName) {
  const CoordinatorConfig c = Parse("");
  EXPECT_FALSE(c.name.empty());
  EXPECT_TRUE(c.agents.empty());
}

TEST(CoordinatorConfigTest, EnvironmentIsExpanded) {
  const CoordinatorConfig c =
      Parse("[[agent]]\nname = \"hv1\"\naddress = \"${HV1}\"\n",
            Env({{"HV1", "10.0.0.1:7070"}}));
  EXPECT_EQ(c.agents[0].address, "10.0.0.1:7070");
}

TEST(CoordinatorConfigTest, EveryErrorWithItsLineAndKey) {
  const std::string message = Error(R"toml(
[coordinator]
lisen = "127.0.0.1:7700"
down_after = 0

[[agent]]
name = "hv 1"
address = "hv1"

[[agent]]
name = "hv2"
address = "127.0.0.1:7072"
labels = { host = "x", rack = "r 2" }
colour = "blue"

[[agent]]
name = "hv2"
address = "127.0.0.1:7072"
)toml");
  EXPECT_THAT(message, StartsWith("test.toml:3: coordinator.lisen: unknown "
                                  "key; did you mean 'listen'?"));
  EXPECT_THAT(message,
              HasSubstr("test.toml:4: coordinator.down_after: must be from 1 "
                        "to 100 missed health checks, got 0"));
  EXPECT_THAT(message,
              HasSubstr("test.toml:7: agent[0].name: names are 1 to 64 "
                        "letters, digits and _ . -, got \"hv 1\""));
  EXPECT_THAT(message, HasSubstr("test.toml:8: agent[0].address: expected "
                                 "HOST:PORT such as \"127.0.0.1:7070\""));
  EXPECT_THAT(message, HasSubstr("test.toml:13: agent[1].labels.host: is "
                                 "reserved"));
  EXPECT_THAT(message, HasSubstr("test.toml:13: agent[1].labels.rack: label "
                                 "values are 1 to 128"));
  EXPECT_THAT(message, HasSubstr("test.toml:14: agent[1].colour: unknown key"));
  EXPECT_THAT(message, HasSubstr("test.toml:17: agent[2].name: agent \"hv2\" "
                                 "is already defined (line 10)"));
  EXPECT_THAT(message,
              HasSubstr("test.toml:18: agent[2].address: address "
                        "\"127.0.0.1:7072\" is already that of agent \"hv2\" "
                        "(line 10)"));
}

TEST(CoordinatorConfigTest, MissingNameAndAddress) {
  const std::string message = Error("[[agent]]\nlabels = { rack = \"r1\" }\n");
  EXPECT_THAT(message, HasSubstr("test.toml:1: agent[0].name: missing"));
  EXPECT_THAT(message, HasSubstr("test.toml:1: agent[0].address: missing"));
}

TEST(CoordinatorConfigTest, ListenIsLoopbackOnlyUntilTls) {
  EXPECT_THAT(Error("[coordinator]\nlisten = \"0.0.0.0:7700\"\n"),
              HasSubstr("test.toml:2: coordinator.listen: \"0.0.0.0:7700\" is "
                        "not a loopback address; until TLS is supported"));
  EXPECT_THAT(Error("[coordinator]\nlisten = \"10.1.2.3:7700\"\n"),
              HasSubstr("not a loopback address"));
  for (const char* ok :
       {"127.0.0.1:7700", "127.3.4.5:0", "[::1]:7700", "localhost:7700"}) {
    EXPECT_TRUE(IsLoopbackHostPort(ok)) << ok;
    Parse(std::string("[coordinator]\nlisten = \"") + ok + "\"\n");
  }
  EXPECT_FALSE(IsLoopbackHostPort(":7700"));
  EXPECT_FALSE(IsLoopbackHostPort("[::]:7700"));
}

TEST(CoordinatorConfigTest, HealthTimingsAreBounded) {
  EXPECT_THAT(Error("[coordinator]\nhealth_interval = \"10ms\"\n"),
              HasSubstr("coordinator.health_interval: must be from 100ms"));
  EXPECT_THAT(Error("[coordinator]\nhealth_timeout = \"2s\"\n"),
              HasSubstr("coordinator.health_timeout: must be from 10ms to "
                        "health_interval (1s), got 2s"));
  EXPECT_THAT(Error("[coordinator]\nhealth_interval = \"often\"\n"),
              HasSubstr("test.toml:2: coordinator.health_interval:"));
  EXPECT_THAT(Error("[coordinator]\nstate_directory = \"state\"\n"),
              HasSubstr("coordinator.state_directory: must be an absolute"));
}

TEST(CoordinatorConfigTest, Registrations) {
  CoordinatorConfig c = Parse("");
  EXPECT_FALSE(c.accept_registrations);
  EXPECT_EQ(c.max_registered_agents, 256u);
  c = Parse(
      "[coordinator]\naccept_registrations = true\nmax_registered_agents = "
      "8\n");
  EXPECT_TRUE(c.accept_registrations);
  EXPECT_EQ(c.max_registered_agents, 8u);
  EXPECT_THAT(Error("[coordinator]\naccept_registrations = \"yes\"\n"),
              HasSubstr("test.toml:2: coordinator.accept_registrations: "
                        "expected true or false, got \"yes\""));
  EXPECT_THAT(Error("[coordinator]\nmax_registered_agents = 0\n"),
              HasSubstr("coordinator.max_registered_agents: must be from 1"));
  EXPECT_THAT(Describe(c), HasSubstr("registrations accepted, at most 8"));
}

TEST(CoordinatorConfigTest, TooManyAgents) {
  std::string text;
  for (size_t i = 0; i <= kMaxAgents; ++i) {
    text += "[[agent]]\nname = \"a" + std::to_string(i) +
            "\"\naddress = \"127.0.0.1:" + std::to_string(1 + i) + "\"\n";
  }
  EXPECT_THAT(Error(text), HasSubstr("too many agents: 4097"));
}

TEST(CoordinatorConfigTest, OverridesAreValidatedWithoutLines) {
  CoordinatorConfig c = Parse("[coordinator]\nname = \"c\"\n");
  c.listen = "192.168.1.1:7700";
  Status s = ValidateConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), StartsWith("test.toml: coordinator.listen: "));
  c.listen = "127.0.0.1:0";
  c.name = "bad name";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("coordinator.name:"));
  c.name = "ok";
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(CoordinatorConfigTest, FlagsReplaceTheFileBeforeTheChecks) {
  const std::string text =
      "[coordinator]\nname = \"bad name\"\nlisten = \"0.0.0.0:7700\"\n";
  ConfigOverrides overrides;
  overrides.name = "c2";
  overrides.listen = "127.0.0.1:7801";
  Result<CoordinatorConfig> c =
      ParseConfig(text, "test.toml", overrides, Env({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "c2");
  EXPECT_EQ(c->listen, "127.0.0.1:7801");
  // A bad override is refused by key, without the file's line.
  overrides.listen = "10.0.0.1:7700";
  c = ParseConfig(text, "test.toml", overrides, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              StartsWith("test.toml: coordinator.listen: \"10.0.0.1:7700\" "
                         "is not a loopback address"));
  overrides.metrics_listen = "";
  overrides.listen = "127.0.0.1:1";
  c = ParseConfig("[coordinator]\nmetrics_listen = 5\n", "test.toml", overrides,
                  Env({}));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
}

TEST(CoordinatorConfigTest, TheSampleConfigLoads) {
  const char* root = std::getenv("LOUPE_SOURCE_ROOT");
  Result<CoordinatorConfig> c = LoadConfig(
      std::string(root != nullptr ? root : ".") + "/config/coordinator.toml",
      {}, Env({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_GE(c->agents.size(), 2u);
}

// [alerts] is the agent's section (agent/alert_sink_config.h): the same
// keys, the same checks and the same file:line: key messages.
TEST(CoordinatorConfigTest, AlertSinksAreTheAgentsSection) {
  CoordinatorConfig c = Parse(R"([alerts]
queue = 64
[[alerts.sink]]
type = "jsonl"
path = "/var/log/noc.jsonl"
[[alerts.sink]]
type = "syslog"
address = "udp:127.0.0.1:514"
facility = "local3"
name = "noc-syslog"
[[alerts.sink]]
type = "alertmanager"
url = "http://127.0.0.1:9093"
resolve_after = "5m"
)");
  EXPECT_EQ(c.alert_queue, 64u);
  ASSERT_EQ(c.alert_sinks.size(), 3u);
  EXPECT_EQ(c.alert_sinks[0].type, agent::SinkType::kJsonl);
  EXPECT_EQ(c.alert_sinks[0].path, "/var/log/noc.jsonl");
  EXPECT_EQ(c.alert_sinks[0].line, 3);
  EXPECT_EQ(c.alert_sinks[1].address, "udp:127.0.0.1:514");
  EXPECT_EQ(c.alert_sinks[1].facility, "local3");
  EXPECT_EQ(c.alert_sinks[1].name, "noc-syslog");
  EXPECT_EQ(c.alert_sinks[2].url, "http://127.0.0.1:9093");
  EXPECT_EQ(c.alert_sinks[2].resolve_after, std::chrono::minutes(5));
  const std::string described = Describe(c);
  EXPECT_THAT(described, HasSubstr("3 alert sinks (queue 64 each):\n"));
  EXPECT_THAT(described, HasSubstr("  jsonl /var/log/noc.jsonl\n"));
  EXPECT_THAT(described, HasSubstr("  syslog udp:127.0.0.1:514 (local3), named "
                                   "noc-syslog\n"));
  EXPECT_THAT(described, HasSubstr("  alertmanager http://127.0.0.1:9093\n"));
  EXPECT_THAT(Describe(Parse("")), HasSubstr("0 alert sinks (queue 1024"));
}

TEST(CoordinatorConfigTest, AlertSinkErrorsNameLineAndKey) {
  const std::string e = Error(R"([alerts]
queue = 0
[[alerts.sink]]
type = "jsonl"
url = "http://x:1"
[[alerts.sink]]
type = "sislog"
[[alerts.sink]]
type = "alertmanager"
url = "ftp://am"
[[alerts.sink]]
type = "syslog"
address = "tcp:1.2.3.4:5"
facility = "local9"
[[alerts.sink]]
path = "/x"
)");
  EXPECT_THAT(e, HasSubstr("test.toml:2: alerts.queue: must be from 1 to "));
  EXPECT_THAT(e, HasSubstr("test.toml:5: alerts.sink[0].url: applies only to "
                           "alertmanager sinks, and this one is jsonl"));
  EXPECT_THAT(e, HasSubstr("test.toml:3: alerts.sink[0].path: missing; a "
                           "jsonl sink needs a file"));
  EXPECT_THAT(e, HasSubstr("test.toml:7: alerts.sink[1].type: unknown sink "
                           "type \"sislog\"; did you mean 'syslog'?"));
  EXPECT_THAT(e, HasSubstr("test.toml:10: alerts.sink[2].url: expected an "
                           "http:// or https:// URL"));
  EXPECT_THAT(e, HasSubstr("test.toml:13: alerts.sink[3].address: expected "
                           "\"udp:HOST:PORT\" or \"unix:/dev/log\""));
  EXPECT_THAT(e, HasSubstr("test.toml:14: alerts.sink[3].facility: unknown "
                           "syslog facility \"local9\""));
  EXPECT_THAT(e, HasSubstr("test.toml:15: alerts.sink[4].type: missing; a "
                           "sink needs a type"));
}

TEST(CoordinatorConfigTest, AgentOnlyAlertKeysAreRefused) {
  const std::string e = Error("[alerts]\nlog_max_alerts = 5\nqueu = 3\n");
  EXPECT_THAT(e, HasSubstr("test.toml:2: alerts.log_max_alerts: unknown key"));
  EXPECT_THAT(e, HasSubstr("test.toml:3: alerts.queu: unknown key; did you "
                           "mean 'queue'?"));
  EXPECT_THAT(Error("[[alerts.sink]]\ntype = \"jsonl\"\npath = \"/a\"\nname "
                    "= \"x\"\n[[alerts.sink]]\ntype = \"jsonl\"\npath = "
                    "\"/b\"\nname = \"x\"\n"),
              HasSubstr("test.toml:8: alerts.sink[1].name: sink \"x\" is "
                        "already defined (line 1)"));
}

}  // namespace
}  // namespace loupe::coordinator
