// The program format: one decoder for program files and the agent
// configuration's [[multilog]] sections.
#include "agent/program_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/toml_reader.h"
#include "multilog/control.h"
#include "multilog/multilog.h"
#include "multilog/packet_schema.h"

namespace loupe::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> {
    return std::nullopt;
  };
}

std::string ConfigDir() {
  const char* root = std::getenv("LOUPE_SOURCE_ROOT");
  return std::string(root != nullptr ? root : ".") + "/config/";
}

TargetLookup Packets() { return SameSchemaForAll(PacketSchema()); }

ControlProgram Parse(std::string_view text,
                     const TargetLookup& targets = Packets()) {
  Result<ControlProgram> p = ParseProgram(text, "p.toml", targets, NoEnv());
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : ControlProgram{};
}

std::string Error(std::string_view text,
                  const TargetLookup& targets = Packets()) {
  Result<ControlProgram> p = ParseProgram(text, "p.toml", targets, NoEnv());
  EXPECT_FALSE(p.ok()) << "accepted:\n" << text;
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  return p.status().message();
}

ControlStatement At(ControlStatement s, int line) {
  s.line = line;
  return s;
}

constexpr std::string_view kSection = "[[multilog]]\nname = \"packets\"\n";

// --- The example ------------------------------------------------------------

TEST(ExampleProgramTest, WebChecksAgainstThePacketSchema) {
  const std::string path = ConfigDir() + "programs/web.toml";
  Result<ControlProgram> p = LoadProgram(path, Packets(), NoEnv());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(Summarize(CountProgram(*p)),
            "2 multilogs, 3 indexes, 5 filters, 3 aggregates, 1 trigger");
  ASSERT_EQ(p->sections.size(), 2u);
  EXPECT_EQ(p->sections[0].multilog, "packets");
  EXPECT_EQ(p->sections[1].multilog, "resolvers");
  EXPECT_GT(p->sections[0].line, 0);
  const std::vector<ControlStatement> triggers =
      StatementsOf(p->sections[0], ControlKind::kTrigger);
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_EQ(triggers[0].name, "syn_flood");
  EXPECT_EQ(triggers[0].expression, "syn_count > 5000");
  EXPECT_EQ(triggers[0].period, seconds(1));
}

// What the checker accepts, loupe::Apply carries out, and the multilog then
// holds exactly the program.
TEST(ExampleProgramTest, ApplyTakesTheWholeProgram) {
  Result<ControlProgram> p =
      LoadProgram(ConfigDir() + "programs/web.toml", Packets(), NoEnv());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  for (const ProgramSection& section : p->sections) {
    SCOPED_TRACE(section.multilog);
    MultilogOptions options;
    options.start_monitor = false;
    options.data.preallocate_bytes = 1 << 20;
    auto log = Multilog::Open(section.multilog, PacketSchema(), options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::vector<ControlStatement> applied;
    for (const ControlStatement& s : section.statements) {
      EXPECT_TRUE(Apply(**log, s).ok()) << s.Describe();
      applied.push_back(At(s, 0));
    }
    EXPECT_EQ(CurrentStatements(**log), applied);
  }
}

// --- Decoding ---------------------------------------------------------------

TEST(ProgramFileTest, DecodesStatementsInApplyOrderWithTheirLines) {
  const ControlProgram p = Parse(
      "[[multilog]]\n"                                                  // 1
      "name = \"packets\"\n"                                            // 2
      "triggers = [{ name = \"t\", condition = \"n > 5\", "             // 3
      "period = \"250ms\" }]\n"                                         //
      "aggregates = [{ name = \"n\", filter = \"tcp\", "                // 4
      "expression = \"COUNT()\" }]\n"                                   //
      "filters = [\n"                                                   // 5
      "  { name = \"tcp\", expression = \"proto == tcp\" },\n"          // 6
      "  { name = \"web\", expression = \"dst_port == 80\" },\n"        // 7
      "]\n"                                                             // 8
      "indexes = [\"src_ip\", { column = \"ip_len\", bucket = 64 }]\n"  // 9
      "[[multilog]]\n"                                                  // 10
      "name = \"other\"\n");                                            // 11
  ASSERT_EQ(p.sections.size(), 2u);
  EXPECT_EQ(p.sections[0].multilog, "packets");
  EXPECT_EQ(p.sections[0].line, 1);
  EXPECT_THAT(
      p.sections[0].statements,
      ElementsAre(
          At(ControlStatement::AddIndex("src_ip"), 9),
          At(ControlStatement::AddIndex("ip_len", 64), 9),
          At(ControlStatement::AddFilter("tcp", "proto == tcp"), 6),
          At(ControlStatement::AddFilter("web", "dst_port == 80"), 7),
          At(ControlStatement::AddAggregate("n", "tcp", "COUNT()"), 4),
          At(ControlStatement::AddTrigger("t", "n > 5", milliseconds(250)),
             3)));
  EXPECT_EQ(p.sections[1].multilog, "other");
  EXPECT_EQ(p.sections[1].line, 10);
  EXPECT_TRUE(p.sections[1].statements.empty());
  EXPECT_EQ(Summarize(CountProgram(p)),
            "2 multilogs, 2 indexes, 2 filters, 1 aggregate, 1 trigger");
}

TEST(ProgramFileTest, StringsUseTheEnvironment) {
  const EnvLookup env = [](const std::string& name) {
    return name == "PORT" ? std::optional<std::string>("8080") : std::nullopt;
  };
  Result<ControlProgram> p = ParseProgram(
      std::string(kSection) +
          "filters = [{ name = \"svc\", expression = \"dst_port == ${PORT}\" "
          "}]\n",
      "p.toml", Packets(), env);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->sections[0].statements[0].expression, "dst_port == 8080");
}

// --- Errors, each with its line ---------------------------------------------

TEST(ProgramFileErrorTest, Structure) {
  EXPECT_THAT(Error("[[multilog]]\nname = \n"), StartsWith("p.toml:2:"));
  EXPECT_EQ(Error(""),
            "p.toml: multilog: no [[multilog]] sections; a program gives, "
            "for each multilog it programs, a [[multilog]] with its name and "
            "indexes, filters, aggregates or triggers");
  EXPECT_EQ(Error("[[multilogs]]\nname = \"x\"\n"),
            "p.toml:1: multilogs: unknown section [[multilogs]]; did you mean "
            "'multilog'?");
  EXPECT_EQ(Error("[multilog]\nname = \"x\"\n"),
            "p.toml:1: multilog: expected [[multilog]] tables, got a table");
  EXPECT_EQ(Error(std::string(kSection) + "filtres = []\n"),
            "p.toml:3: multilog[0].filtres: unknown key; did you mean "
            "'filters'?");
  // A configuration's key is not a program's.
  EXPECT_EQ(Error(std::string(kSection) + "schema = \"packet\"\n"),
            "p.toml:3: multilog[0].schema: unknown key (expected one of: "
            "name, indexes, filters, aggregates, triggers)");
  EXPECT_EQ(Error("[[multilog]]\nfilters = []\n"),
            "p.toml:1: multilog[0].name: is missing or empty");
  EXPECT_EQ(Error(std::string(kSection) + std::string(kSection)),
            "p.toml:4: multilog[1].name: multilog \"packets\" is already "
            "defined (line 1)");
}

TEST(ProgramFileErrorTest, WrongTypes) {
  EXPECT_EQ(Error(std::string(kSection) + "indexes = \"src_ip\"\n"),
            "p.toml:3: multilog[0].indexes: expected an array, got "
            "\"src_ip\"");
  EXPECT_EQ(Error(std::string(kSection) + "indexes = [5]\n"),
            "p.toml:3: multilog[0].indexes[0]: expected a column name or a "
            "table {column = \"...\", bucket = N}, got an integer (5)");
  EXPECT_EQ(Error(std::string(kSection) + "indexes = [{ bucket = 2 }]\n"),
            "p.toml:3: multilog[0].indexes[0]: an index needs a column: "
            "{column = \"...\"}");
  EXPECT_EQ(Error(std::string(kSection) +
                  "filters = [1, { name = \"f\", expression = \"dst_prt == "
                  "1\" }]\n"),
            "p.toml:3: multilog[0].filters[0]: expected a table, got an "
            "integer (1)\n"
            "p.toml:3: multilog[0].filters[1].expression: filter 1:1: "
            "unknown field 'dst_prt'; did you mean 'dst_port'?");
  EXPECT_EQ(Error(std::string(kSection) +
                  "triggers = [{ name = \"t\", condition = \"a > 1\", period "
                  "= 5 }]\n"),
            "p.toml:3: multilog[0].triggers[0].period: expected a duration "
            "like \"500ms\" (a string with a unit: ns, us, ms, s, m, h, d), "
            "got an integer (5)\n"
            "p.toml:3: multilog[0].triggers[0].condition: no aggregate named "
            "\"a\" in multilog \"packets\" (aggregates: none)");
}

TEST(ProgramFileErrorTest, StatementsAreCheckedAgainstTheSchema) {
  EXPECT_EQ(Error(std::string(kSection) + "indexes = [\"src_pi\"]\n"),
            "p.toml:3: multilog[0].indexes[0]: index: unknown column "
            "'src_pi'; did you mean 'src_ip'?");
  EXPECT_EQ(
      Error(std::string(kSection) + "indexes = [\"src_ip\",\n  \"src_ip\"]\n"),
      "p.toml:4: multilog[0].indexes[1]: column \"src_ip\" is already "
      "indexed (line 3)");
  EXPECT_THAT(Error(std::string(kSection) +
                    "filters = [{ name = \"f\", expression = \"ttl == 300\" "
                    "}]\n"),
              StartsWith("p.toml:3: multilog[0].filters[0].expression: "
                         "filter 1:8: "));
  EXPECT_THAT(Error(std::string(kSection) +
                    "filters = [{ name = \"f\", expression = \"true\" }]\n"
                    "aggregates = [{ name = \"s\", filter = \"f\", "
                    "expression = \"SUM(src_ip)\" }]\n"),
              StartsWith("p.toml:4: multilog[0].aggregates[0].expression: "
                         "aggregate 1:"));
}

TEST(ProgramFileErrorTest, ReferencesResolveInTheProgram) {
  const std::string base =
      std::string(kSection) +
      "filters = [{ name = \"web\", expression = \"dst_port == 80\" }]\n";
  EXPECT_EQ(Error(base + "aggregates = [{ name = \"b\", filter = \"webb\", "
                         "expression = \"COUNT()\" }]\n"),
            "p.toml:4: multilog[0].aggregates[0].filter: no filter named "
            "\"webb\" in multilog \"packets\"; did you mean 'web'? (filters: "
            "web)");
  EXPECT_EQ(
      Error(base + "aggregates = [{ name = \"bytes\", filter = \"web\", "
                   "expression = \"SUM(ip_len)\" }]\n"
                   "triggers = [{ name = \"t\", condition = \"byte > 1\" }]\n"),
      "p.toml:5: multilog[0].triggers[0].condition: no aggregate named "
      "\"byte\" in multilog \"packets\"; did you mean 'bytes'? "
      "(aggregates: bytes)");
  EXPECT_EQ(Error(base + "aggregates = [{ name = \"b\", filter = \"web\", "
                         "expression = \"COUNT()\" }]\n"
                         "triggers = [{ name = \"t\", condition = \"b > 1\", "
                         "period = \"2h\" }]\n"),
            "p.toml:5: multilog[0].triggers[0].period: must be from 1ms to "
            "1h, got 7200000000000ns");
  EXPECT_EQ(Error(base + "aggregates = [{ name = \"a-b\", filter = \"web\", "
                         "expression = \"COUNT()\" }]\n"),
            "p.toml:4: multilog[0].aggregates[0].name: aggregate names "
            "cannot contain '-' (triggers name them in expressions); use '_'");
  // A TOML syntax error (a key given twice) names its line and column.
  EXPECT_THAT(Error(base + "filters = []\n"), StartsWith("p.toml:4:11: "));
}

TEST(ProgramFileErrorTest, DuplicateAndBadNames) {
  EXPECT_EQ(Error(std::string(kSection) +
                  "filters = [\n"
                  "  { name = \"web\", expression = \"dst_port == 80\" },\n"
                  "  { name = \"web\", expression = \"dst_port == 443\" },\n"
                  "]\n"),
            "p.toml:5: multilog[0].filters[1].name: filter \"web\" is "
            "already defined (line 4)");
  EXPECT_EQ(Error("[[multilog]]\nname = \"9lives\"\n"),
            "p.toml:2: multilog[0].name: name \"9lives\" is not an "
            "identifier; use letters, digits, '_' and '-', starting with a "
            "letter or '_'");
}

TEST(ProgramFileErrorTest, EveryErrorAtOnceInLineOrder) {
  EXPECT_EQ(
      Error("[[multilog]]\n"          // 1
            "name = \"packets\"\n"    // 2
            "indexes = [\"nope\"]\n"  // 3
            "filters = [{ name = \"f\", expression = \"dst_prot == 1\" }]\n"
            "aggregates = [{ name = \"a\", filter = \"g\", expression = "  // 5
            "\"COUNT()\" }]\n"
            "trigers = []\n"                                            // 6
            "[[multilog]]\n"                                            // 7
            "name = \"second\"\n"                                       // 8
            "triggers = [{ name = \"t\", condition = \"x > 1\" }]\n"),  // 9
      "p.toml:3: multilog[0].indexes[0]: index: unknown column 'nope'\n"
      "p.toml:4: multilog[0].filters[0].expression: filter 1:1: unknown "
      "field 'dst_prot'; did you mean 'dst_port'?\n"
      "p.toml:5: multilog[0].aggregates[0].filter: no filter named \"g\" in "
      "multilog \"packets\"; did you mean 'f'? (filters: f)\n"
      "p.toml:6: multilog[0].trigers: unknown key; did you mean "
      "'triggers'?\n"
      "p.toml:9: multilog[1].triggers[0].condition: no aggregate named "
      "\"x\" in multilog \"second\" (aggregates: none)");
}

// --- Targets: the multilog's schema and what it already has ------------------

TEST(ProgramTargetTest, ExistingObjectsResolveAndCollide) {
  Result<Schema> schema = ResolveSchema("src:ipv4, bytes:u32");
  ASSERT_TRUE(schema.ok());
  const TargetLookup targets =
      [&](const std::string& name) -> Result<ProgramTarget> {
    if (name != "flows") {
      return Status::NotFound("no multilog named \"" + name + "\"");
    }
    return ProgramTarget{
        *schema,
        {ControlStatement::AddIndex("src"),
         ControlStatement::AddFilter("big", "bytes > 1000"),
         ControlStatement::AddAggregate("big_count", "big", "COUNT()")},
        nullptr};
  };
  // Aggregates may name an existing filter, triggers an existing aggregate.
  const ControlProgram p = Parse(
      "[[multilog]]\nname = \"flows\"\n"
      "aggregates = [{ name = \"big_bytes\", filter = \"big\", expression = "
      "\"SUM(bytes)\" }]\n"
      "triggers = [{ name = \"t\", condition = \"big_count > 10\" }]\n",
      targets);
  EXPECT_EQ(CountProgram(p).aggregates, 1u);
  EXPECT_EQ(Error("[[multilog]]\nname = \"flows\"\nindexes = [\"src\"]\n"
                  "filters = [{ name = \"big\", expression = \"true\" }]\n",
                  targets),
            "p.toml:3: multilog[0].indexes[0]: column \"src\" is already "
            "indexed in multilog \"flows\"\n"
            "p.toml:4: multilog[0].filters[0].name: filter \"big\" already "
            "exists in multilog \"flows\"");
  EXPECT_EQ(Error("[[multilog]]\nname = \"flow\"\n", targets),
            "p.toml:2: multilog[0].name: no multilog named \"flow\"");
}

TEST(ValidateSectionTest, RemovalsAreNotPartOfAProgram) {
  ProgramSection section;
  section.multilog = "packets";
  section.statements.push_back(
      ControlStatement::Remove(ControlKind::kFilter, "web"));
  ErrorReport report;
  ValidateSection(section, "multilog[0]",
                  ProgramTarget{PacketSchema(), {}, nullptr}, report);
  EXPECT_EQ(report.ToStatus("x").message(),
            "x: multilog[0]: a program only adds; filter web is a removal, "
            "which is sent as a control statement");
}

// --- One decoder: a configuration's section and a program file --------------

TEST(OneDecoderTest, ConfigSectionAndProgramFileDecodeEqually) {
  // The same arrays on the same lines; the configuration's schema line is a
  // comment in the program.
  const std::string arrays =
      "indexes = [\"src_ip\", { column = \"ip_len\", bucket = 64 }]\n"
      "filters = [\n"
      "  { name = \"tcp\", expression = \"proto == tcp\" },\n"
      "  { name = \"web\", expression = \"dst_port in {80, 443}\" },\n"
      "]\n"
      "aggregates = [{ name = \"web_bytes\", filter = \"web\", expression = "
      "\"SUM(ip_len)\" }]\n"
      "triggers = [{ name = \"big\", condition = \"web_bytes > 1000000\", "
      "period = \"5s\" }]\n";
  Result<AgentConfig> config = ParseConfig(
      "[[multilog]]\nname = \"packets\"\nschema = \"packet\"\n" + arrays,
      "agent.toml", NoEnv());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const ControlProgram program =
      Parse("[[multilog]]\nname = \"packets\"\n# (schema)\n" + arrays);
  ASSERT_EQ(config->multilogs.size(), 1u);
  ASSERT_EQ(program.sections.size(), 1u);
  const ProgramSection& from_config = config->multilogs[0].program;
  const ProgramSection& from_file = program.sections[0];
  EXPECT_EQ(from_config.multilog, from_file.multilog);
  EXPECT_EQ(from_config.line, from_file.line);
  EXPECT_EQ(from_config.statements, from_file.statements);
  EXPECT_EQ(from_config.statements.size(), 6u);

  // And the same error text, but for the file's name.
  const std::string bad =
      "filters = [{ name = \"f\", expression = \"dst_prot == 1\" }]\n";
  Result<AgentConfig> bad_config = ParseConfig(
      "[[multilog]]\nname = \"packets\"\nschema = \"packet\"\n" + bad, "x.toml",
      NoEnv());
  ASSERT_FALSE(bad_config.ok());
  Result<ControlProgram> bad_program =
      ParseProgram("[[multilog]]\nname = \"packets\"\n\n" + bad, "x.toml",
                   Packets(), NoEnv());
  ASSERT_FALSE(bad_program.ok());
  EXPECT_EQ(bad_config.status().message(), bad_program.status().message());
}

// --- Small pieces -----------------------------------------------------------

TEST(ProgramFileTest, Summaries) {
  EXPECT_EQ(Summarize({}),
            "0 multilogs, 0 indexes, 0 filters, 0 aggregates, 0 triggers");
  EXPECT_EQ(Summarize({1, 1, 1, 1, 1}),
            "1 multilog, 1 index, 1 filter, 1 aggregate, 1 trigger");
}

TEST(ProgramFileTest, NamesAndSchemas) {
  EXPECT_TRUE(CheckName("a_b-9").ok());
  EXPECT_TRUE(CheckName("_x").ok());
  EXPECT_EQ(CheckName("").message(), "is missing or empty");
  EXPECT_FALSE(CheckName("a b").ok());
  EXPECT_FALSE(CheckName("-a").ok());
  EXPECT_THAT(CheckName(std::string(65, 'a')).message(),
              HasSubstr("longer than 64 bytes"));
  EXPECT_TRUE(CheckName(std::string(64, 'a')).ok());
  Result<Schema> packet = ResolveSchema(kPacketSchemaName);
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(*packet, PacketSchema());
  EXPECT_FALSE(ResolveSchema("a:nope").ok());
}

TEST(ProgramFileTest, LoadProgramReportsUnreadableFiles) {
  Result<ControlProgram> missing =
      LoadProgram("/nonexistent/p.toml", Packets(), NoEnv());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("reading program /nonexistent/p.toml"));
}

}  // namespace
}  // namespace loupe::agent
