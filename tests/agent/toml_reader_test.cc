// The generic TOML reader and the environment expansion under it.
#include "agent/toml_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/environment.h"

namespace loupe::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// --- The environment --------------------------------------------------------

std::string Expand(std::string_view text, const EnvLookup& env) {
  Result<std::string> out = ExpandEnvironment(text, env);
  EXPECT_TRUE(out.ok()) << text << ": " << out.status().ToString();
  return out.ok() ? *out : "";
}

std::string ExpandError(std::string_view text, const EnvLookup& env) {
  Result<std::string> out = ExpandEnvironment(text, env);
  EXPECT_FALSE(out.ok()) << text << " gave " << (out.ok() ? *out : "");
  return out.ok() ? "" : out.status().message();
}

TEST(ExpandEnvironmentTest, ValuesAndDefaults) {
  const EnvLookup env = Env({{"HOST", "hv-07"}, {"EMPTY", ""}});
  EXPECT_EQ(Expand("${HOST}", env), "hv-07");
  EXPECT_EQ(Expand("a-${HOST}-b-${HOST}", env), "a-hv-07-b-hv-07");
  EXPECT_EQ(Expand("${UNSET:-x}", env), "x");
  EXPECT_EQ(Expand("${EMPTY:-y}", env), "y");
  EXPECT_EQ(Expand("${EMPTY}", env), "");
  EXPECT_EQ(Expand("${HOST:-y}", env), "hv-07");
  EXPECT_EQ(Expand("${UNSET:-}", env), "");
  EXPECT_EQ(Expand("${UNSET:-a b:c}", env), "a b:c");
  EXPECT_EQ(Expand("no references", env), "no references");
}

TEST(ExpandEnvironmentTest, DollarSigns) {
  const EnvLookup env = Env({{"A", "1"}});
  EXPECT_EQ(Expand("$$5", env), "$5");
  EXPECT_EQ(Expand("$$$$", env), "$$");
  EXPECT_EQ(Expand("$${A}", env), "${A}");  // $$ first: no expansion
  EXPECT_EQ(Expand("a$", env), "a$");
  EXPECT_EQ(Expand("$ 5", env), "$ 5");
  EXPECT_EQ(Expand("$1", env), "$1");
}

TEST(ExpandEnvironmentTest, UnsetVariable) {
  EXPECT_EQ(ExpandError("x${LISTEN}", Env({})),
            "environment variable LISTEN is not set (used as ${LISTEN}; set "
            "it, or give a default with ${LISTEN:-default})");
  // A null lookup is an empty environment.
  EXPECT_THAT(ExpandError("${A}", nullptr), HasSubstr("A is not set"));
  EXPECT_EQ(Expand("${A:-d}", nullptr), "d");
}

TEST(ExpandEnvironmentTest, MalformedReferences) {
  const EnvLookup env = Env({{"HOST", "h"}});
  EXPECT_EQ(ExpandError("$HOST", env),
            "'$HOST' needs braces: write ${HOST} for the environment "
            "variable, or $$ for a literal '$'");
  EXPECT_EQ(ExpandError("${HOST", env),
            "'${' without a closing '}'; write $$ for a literal '$'");
  EXPECT_EQ(ExpandError("${1A}", env),
            "\"${1A}\" does not name an environment variable; expected "
            "${NAME} or ${NAME:-default}");
  EXPECT_THAT(ExpandError("${}", env), HasSubstr("does not name"));
  EXPECT_THAT(ExpandError("${A-B}", env), HasSubstr("does not name"));
}

TEST(ExpandEnvironmentTest, NestedBracesAreRefused) {
  const EnvLookup env = Env({{"A", "1"}, {"B", "2"}});
  // Not half-expanded into "1}" or "${B}": refused, whether A is set or not.
  EXPECT_EQ(ExpandError("${A:-${B}}", env),
            "\"${A:-${B}}\": a default cannot use the environment (no nested "
            "${...}); write the default itself");
  EXPECT_THAT(ExpandError("${UNSET:-${B}}/x", env),
              HasSubstr("no nested ${...}"));
  EXPECT_THAT(ExpandError("${UNSET:-${B", env),
              HasSubstr("without a closing '}'"));
}

TEST(ExpandEnvironmentTest, ProcessEnvironment) {
  ASSERT_EQ(setenv("LOUPE_TOML_READER_TEST", "yes", 1), 0);
  EXPECT_EQ(Expand("${LOUPE_TOML_READER_TEST}", ProcessEnvironment()), "yes");
  unsetenv("LOUPE_TOML_READER_TEST");
  EXPECT_FALSE(ProcessEnvironment()("LOUPE_TOML_READER_TEST").has_value());
}

// --- Reading a file ---------------------------------------------------------

// A small file format read with the reader: [server] name, port, buffer,
// timeout, tags; [[backend]] host.
struct Backend {
  std::string host;
  int line = 0;
};
struct Settings {
  std::string name;
  uint16_t port = 0;
  uint64_t buffer = 0;
  nanoseconds timeout{0};
  std::vector<std::string> tags;
  std::vector<uint32_t> cores;
  std::vector<Backend> backends;
};

Result<Settings> Read(std::string_view text, const EnvLookup& env = Env({})) {
  Result<toml::table> root = ParseToml(text, "t.toml");
  if (!root.ok()) return root.status();
  ErrorReport report;
  ValueReader reader(report, env);
  Settings s;
  TableReader top(reader, *root, "");
  if (const toml::table* server = top.Table("server")) {
    TableReader t(reader, *server, "server");
    t.String("name", &s.name);
    t.Unsigned("port", &s.port);
    t.Size("buffer", &s.buffer);
    t.Duration("timeout", &s.timeout);
    t.Strings("tags", &s.tags);
    t.Unsigneds("cores", &s.cores);
    t.RejectUnknown();
  }
  top.Tables("backend", &s.backends,
             [](ValueReader& r, const toml::table& table,
                const std::string& path, Backend* b) {
               TableReader t(r, table, path);
               t.String("host", &b->host);
               t.RejectUnknown();
             });
  top.RejectUnknown();
  for (size_t i = 0; i < s.backends.size(); ++i) {
    if (s.backends[i].host.empty()) {
      report.Check(ElementKey("backend", i) + ".host", "missing");
    }
  }
  if (s.port == 1) report.Check("server.port", "is reserved");
  if (!report.empty()) return report.ToStatus("t.toml");
  return s;
}

std::string ReadError(std::string_view text, const EnvLookup& env = Env({})) {
  Result<Settings> s = Read(text, env);
  EXPECT_FALSE(s.ok()) << "accepted:\n" << text;
  return s.ok() ? "" : s.status().message();
}

TEST(TomlReaderTest, ReadsValues) {
  Result<Settings> s = Read(
      "[server]\nname = \"${N:-web}\"\nport = 8080\nbuffer = \"4MiB\"\n"
      "timeout = \"1.5s\"\ntags = [\"a\", \"b\"]\ncores = [1, 2]\n"
      "[[backend]]\nhost = \"x\"\n[[backend]]\nhost = \"y\"\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "web");
  EXPECT_EQ(s->port, 8080);
  EXPECT_EQ(s->buffer, 4u << 20);
  EXPECT_EQ(s->timeout, milliseconds(1500));
  EXPECT_EQ(s->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s->cores, (std::vector<uint32_t>{1, 2}));
  ASSERT_EQ(s->backends.size(), 2u);
  EXPECT_EQ(s->backends[0].line, 8);
  EXPECT_EQ(s->backends[1].host, "y");
  EXPECT_EQ(s->backends[1].line, 10);
}

TEST(TomlReaderTest, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(Read("[server]\nname = \n").status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_THAT(Read("[server]\nname = \n").status().message(),
              StartsWith("t.toml:2:"));
  EXPECT_THAT(Read("[server]\nport = 1\nport = 2\n").status().message(),
              StartsWith("t.toml:3:"));
}

TEST(TomlReaderTest, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(ReadError("[server]\nport = \"80\"\n"),
            "t.toml:2: server.port: expected an integer from 0 to 65535, got "
            "\"80\"");
  EXPECT_EQ(ReadError("[server]\nport = 70000\n"),
            "t.toml:2: server.port: expected an integer from 0 to 65535, got "
            "an integer (70000)");
  EXPECT_EQ(ReadError("[server]\nname = 1.5\n"),
            "t.toml:2: server.name: expected a string, got a float (1.5)");
  EXPECT_EQ(ReadError("[server]\nbuffer = \"64M\"\n"),
            "t.toml:2: server.buffer: ambiguous size \"64M\": write 64MiB "
            "(powers of 1024) or 64MB (powers of 1000)");
  EXPECT_EQ(ReadError("[server]\ntimeout = 5\n"),
            "t.toml:2: server.timeout: expected a duration like \"500ms\" (a "
            "string with a unit: ns, us, ms, s, m, h, d), got an integer (5)");
  EXPECT_EQ(ReadError("[server]\ntags = [\"a\", true]\n"),
            "t.toml:2: server.tags[1]: expected a string, got a boolean "
            "(true)");
  EXPECT_EQ(ReadError("server = []\n"),
            "t.toml:1: server: expected a table, got an array");
  EXPECT_EQ(ReadError("[backend]\nhost = \"x\"\n"),
            "t.toml:1: backend: expected [[backend]] tables, got a table");
  EXPECT_EQ(ReadError("[server]\nname = \"${NAME}\"\n"),
            "t.toml:2: server.name: environment variable NAME is not set "
            "(used as ${NAME}; set it, or give a default with "
            "${NAME:-default})");
}

TEST(TomlReaderTest, UnknownKeysGetTheClosestOrTheList) {
  EXPECT_EQ(ReadError("[server]\nprot = 80\n"),
            "t.toml:2: server.prot: unknown key; did you mean 'port'?");
  EXPECT_EQ(ReadError("[servr]\n"),
            "t.toml:1: servr: unknown section [servr]; did you mean "
            "'server'?");
  EXPECT_EQ(ReadError("[[backends]]\nhost = \"x\"\n"),
            "t.toml:1: backends: unknown section [[backends]]; did you mean "
            "'backend'?");
  EXPECT_EQ(ReadError("[server]\nzzzzzz = 1\n"),
            "t.toml:2: server.zzzzzz: unknown key (expected one of: name, "
            "port, buffer, timeout, tags, cores)");
}

TEST(TomlReaderTest, ChecksFindTheLineOfTheKeyOrItsParent) {
  // backend[1].host was not written: the line of backend[1].
  EXPECT_EQ(ReadError("[[backend]]\nhost = \"x\"\n[[backend]]\n"),
            "t.toml:3: backend[1].host: missing");
  EXPECT_EQ(ReadError("[server]\nname = \"n\"\nport = 1\n"),
            "t.toml:3: server.port: is reserved");
}

TEST(TomlReaderTest, ABadValueIsReportedOnce) {
  // A misspelt key suppresses the "missing" of the key it meant.
  EXPECT_EQ(ReadError("[[backend]]\nhots = \"x\"\n"),
            "t.toml:2: backend[0].hots: unknown key; did you mean 'host'?");
  // A value that failed to read is not checked again.
  EXPECT_EQ(ReadError("[[backend]]\nhost = 5\n"),
            "t.toml:2: backend[0].host: expected a string, got an integer "
            "(5)");
  // A non-table element keeps the other elements' indices.
  EXPECT_EQ(ReadError("backend = [1, { host = \"\" }]\n"),
            "t.toml:1: backend[0]: expected a table, got an integer (1)\n"
            "t.toml:1: backend[1].host: missing");
}

TEST(TomlReaderTest, AllErrorsInLineOrderAtMostTwenty) {
  EXPECT_EQ(ReadError("[server]\nport = 1\nname = 2\n[[backend]]\n"),
            "t.toml:2: server.port: is reserved\n"
            "t.toml:3: server.name: expected a string, got an integer (2)\n"
            "t.toml:4: backend[0].host: missing");
  std::string text = "[server]\n";
  for (int i = 0; i < 23; ++i) text += "k" + std::to_string(i) + " = 1\n";
  const std::string message = ReadError(text);
  EXPECT_THAT(message, StartsWith("t.toml:2: server.k0: unknown key"));
  EXPECT_THAT(message, HasSubstr("\nt.toml:21: server.k19: unknown key"));
  EXPECT_THAT(message, testing::EndsWith("\nt.toml: ... and 3 more errors"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'),
            static_cast<long>(kMaxReportedErrors));
}

TEST(ErrorReportTest, ErrorsWithoutALineComeLast) {
  ErrorReport report;
  report.SetLine("a.b", 7);
  report.Check("z", "no line");
  report.Check("a.b.c", "at its parent's line");
  report.Check("y", "near a.b", "a.b");
  EXPECT_EQ(report.size(), 3u);
  EXPECT_EQ(report.ToStatus("f").message(),
            "f:7: a.b.c: at its parent's line\n"
            "f:7: y: near a.b\n"
            "f: z: no line");
  report.Suppress("q");
  report.Check("q.r", "quiet");
  EXPECT_EQ(report.size(), 3u);
}

TEST(ErrorReportTest, AnOverriddenKeyLosesItsLineAndItsErrors) {
  ErrorReport report;
  report.SetLine("agent.listen", 3);
  report.Bad(3, "agent.listen", "the file's value was bad");
  report.Check("agent.listen", "quiet: it failed");
  report.Overridden("agent.listen");
  EXPECT_TRUE(report.empty());
  report.Check("agent.listen", "the flag's value is bad too");
  EXPECT_EQ(report.ToStatus("f").message(),
            "f: agent.listen: the flag's value is bad too");
}

TEST(ReadTomlFileTest, ReadsAndRefuses) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("loupe_toml_reader_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string small = (dir / "small.toml").string();
  std::ofstream(small) << "a = 1\n";
  Result<std::string> text = ReadTomlFile(small, "config");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "a = 1\n");

  const std::string big = (dir / "big.toml").string();
  std::ofstream(big) << std::string(kMaxTomlFileBytes + 1, '#');
  Result<std::string> refused = ReadTomlFile(big, "program");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            big + ": larger than 1MiB; is this a program file?");

  Result<std::string> missing = ReadTomlFile(dir / "none.toml", "config");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("reading config "));
  std::filesystem::remove_all(dir);
}

TEST(MessagePiecesTest, QuotedAtLineNameList) {
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(AtLine(0), "");
  EXPECT_EQ(AtLine(12), " (line 12)");
  EXPECT_EQ(NameList({}), "none");
  EXPECT_EQ(NameList({"a", "b"}), "a, b");
  EXPECT_EQ(ElementKey("port", 3), "port[3]");
}

}  // namespace
}  // namespace loupe::agent
