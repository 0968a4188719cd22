// The coordinator's program files (coordinator/program_plan.h): `on`
// selectors beside the agent's format, errors as file:line: key, and each
// agent's text -- which the agent's own parser reads back to the sections
// meant for it, with the lines of the operator's file.
#include "coordinator/program_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/program_file.h"
#include "multilog/schema.h"

namespace loupe::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<AgentEntry> Agents() {
  std::vector<AgentEntry> out;
  const char* racks[] = {"r1", "r1", "r2", "r2"};
  for (int i = 0; i < 4; ++i) {
    AgentEntry e;
    e.name = "hv" + std::to_string(i + 1);
    e.address = "127.0.0.1:" + std::to_string(7000 + i);
    e.labels = {{"rack", racks[i]}, {"role", i == 3 ? "storage" : "compute"}};
    out.push_back(e);
  }
  return out;
}

constexpr char kWeb[] = R"toml(# web traffic, per rack
[[multilog]]
name = "flows"
indexes = ["port"]
filters = [
  { name = "http", expression = "port == 80" },
]

[[multilog]]
name = "flows2"
on = "rack=r2"   # the second rack only
filters = [
  { name = "tls", expression = "port == 443" },
]
aggregates = [
  { name = "tls_bytes", filter = "tls", expression = "SUM(bytes)" },
]

[[multilog]]
name = "flows3"
on = "host=hv4"
[[multilog.filters]]
name = "dns"
expression = "port == 53"
)toml";

ProgramPlan Parse(const std::string& text) {
  Result<ProgramPlan> plan = ParseProgramPlan(text, "web.toml");
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? std::move(plan).value() : ProgramPlan();
}

std::string Error(const std::string& text) {
  Result<ProgramPlan> plan = ParseProgramPlan(text, "web.toml");
  EXPECT_FALSE(plan.ok()) << "accepted:\n" << text;
  if (plan.ok()) return "";
  EXPECT_EQ(plan.status().code(), Status::Code::kInvalidArgument);
  return plan.status().message();
}

std::string AssignError(const std::string& text) {
  Result<std::vector<AgentProgram>> a = AssignPlan(Parse(text), Agents());
  EXPECT_FALSE(a.ok()) << "assigned:\n" << text;
  if (a.ok()) return "";
  EXPECT_EQ(a.status().code(), Status::Code::kInvalidArgument);
  return a.status().message();
}

// The agent's decoder on an agent's text: multilog and line per section.
std::vector<std::string> AgentSections(const std::string& text) {
  Result<Schema> schema = Schema::Parse("bytes:u32, port:u16");
  EXPECT_TRUE(schema.ok());
  Result<ControlProgram> p =
      agent::ParseProgram(text, "web.toml", agent::SameSchemaForAll(*schema));
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << text;
  std::vector<std::string> out;
  if (!p.ok()) return out;
  for (const ProgramSection& s : p->sections) {
    std::string line = s.multilog + "@" + std::to_string(s.line) + ":";
    for (const ControlStatement& st : s.statements) {
      line += " " + st.name + "@" + std::to_string(st.line);
    }
    out.push_back(line);
  }
  return out;
}

TEST(ProgramPlanTest, SectionsKeepTheirSelectorsAndLines) {
  ProgramPlan plan = Parse(kWeb);
  ASSERT_EQ(plan.sections.size(), 3u);
  EXPECT_EQ(plan.sections[0].multilog, "flows");
  EXPECT_TRUE(plan.sections[0].on.all());
  EXPECT_EQ(plan.sections[0].on_line, 0);
  EXPECT_EQ(plan.sections[0].line, 2);
  EXPECT_EQ(plan.sections[0].first_line, 2);
  EXPECT_EQ(plan.sections[0].last_line, 8);
  EXPECT_EQ(plan.sections[1].on.text(), "rack=r2");
  EXPECT_EQ(plan.sections[1].on_line, 11);
  EXPECT_EQ(plan.sections[1].first_line, 9);
  EXPECT_EQ(plan.sections[2].on.text(), "host=hv4");
  EXPECT_EQ(plan.sections[2].last_line, 24);
}

TEST(ProgramPlanTest, EachAgentGetsItsSectionsAtTheFilesLines) {
  Result<std::vector<AgentProgram>> assigned =
      AssignPlan(Parse(kWeb), Agents());
  ASSERT_TRUE(assigned.ok()) << assigned.status().ToString();
  ASSERT_EQ(assigned->size(), 4u);
  EXPECT_THAT((*assigned)[0].sections, ElementsAre(0));
  EXPECT_THAT((*assigned)[1].sections, ElementsAre(0));
  EXPECT_THAT((*assigned)[2].sections, ElementsAre(0, 1));
  EXPECT_THAT((*assigned)[3].sections, ElementsAre(0, 1, 2));
  // The agent's own decoder reads them, with the operator's line numbers.
  EXPECT_THAT(AgentSections((*assigned)[0].text),
              ElementsAre("flows@2: port@4 http@6"));
  EXPECT_THAT(
      AgentSections((*assigned)[2].text),
      ElementsAre("flows@2: port@4 http@6", "flows2@9: tls@13 tls_bytes@16"));
  EXPECT_THAT(
      AgentSections((*assigned)[3].text),
      ElementsAre("flows@2: port@4 http@6", "flows2@9: tls@13 tls_bytes@16",
                  "flows3@19: dns@22"));
  // No `on` reaches an agent, and the lines stay where they were.
  for (const AgentProgram& a : *assigned) {
    EXPECT_THAT(a.text, Not(HasSubstr("\non =")));
    EXPECT_EQ(std::count(a.text.begin(), a.text.end(), '\n'),
              std::count(std::begin(kWeb), std::end(kWeb), '\n'));
  }
  EXPECT_THAT((*assigned)[0].text, Not(HasSubstr("tls")));
}

TEST(ProgramPlanTest, AnAgentTheFileDoesNotSelectGetsNothing) {
  Result<std::vector<AgentProgram>> assigned = AssignPlan(
      Parse("[[multilog]]\nname = \"flows\"\non = \"rack=r1\"\n"), Agents());
  ASSERT_TRUE(assigned.ok()) << assigned.status().ToString();
  ASSERT_EQ(assigned->size(), 2u);
  EXPECT_EQ((*assigned)[0].agent, 0u);
  EXPECT_EQ((*assigned)[1].agent, 1u);
}

TEST(ProgramPlanTest, TwoSectionsOfOneMultilogOnDisjointAgents) {
  const std::string text =
      "[[multilog]]\nname = \"flows\"\non = \"rack=r1\"\n"
      "filters = [{ name = \"a\", expression = \"port == 1\" }]\n"
      "[[multilog]]\nname = \"flows\"\non = \"rack=r2\"\n"
      "filters = [{ name = \"b\", expression = \"port == 2\" }]\n";
  Result<std::vector<AgentProgram>> assigned =
      AssignPlan(Parse(text), Agents());
  ASSERT_TRUE(assigned.ok()) << assigned.status().ToString();
  EXPECT_THAT(AgentSections((*assigned)[0].text), ElementsAre("flows@1: a@4"));
  EXPECT_THAT(AgentSections((*assigned)[3].text), ElementsAre("flows@5: b@8"));
  // Overlapping: hv3 would get the multilog twice.
  const std::string overlap =
      "[[multilog]]\nname = \"flows\"\non = \"host=hv[1-3]\"\n"
      "[[multilog]]\nname = \"flows\"\non = \"rack=r2\"\n";
  EXPECT_EQ(AssignError(overlap),
            "web.toml:6: multilog[1].on: agent \"hv3\" is selected by two "
            "sections of multilog \"flows\" (lines 1 and 4); merge them, or "
            "make their `on` selectors disjoint");
}

TEST(ProgramPlanTest, ErrorsNameTheFileLineAndKey) {
  EXPECT_EQ(Error("[[multilog]]\nname = \"flows\"\non = \"host=hv[1-\"\n"),
            "web.toml:3: multilog[0].on: selector column 11: expected a "
            "number after '-', got the end");
  EXPECT_THAT(Error("[[multilog]]\nname = \"flows\"\non = 5\n"),
              HasSubstr("web.toml:3: multilog[0].on: expected a string"));
  // The agent's decoder's errors, with `on` a known key.
  EXPECT_THAT(Error("[[multilog]]\nname = \"flows\"\nonn = \"rack=r1\"\n"),
              HasSubstr("web.toml:3: multilog[0].onn: unknown key; did you "
                        "mean 'on'?"));
  EXPECT_THAT(Error("[[multilog]]\nname = \"flows\"\nfilters = [5]\n"),
              HasSubstr("web.toml:3: multilog[0].filters[0]:"));
  EXPECT_THAT(Error("[[multilog]]\nname = \"a b\"\n"),
              HasSubstr("web.toml:2: multilog[0].name: name \"a b\" is not an "
                        "identifier"));
  EXPECT_THAT(Error("x = 1\n"), HasSubstr("web.toml:1: x:"));
  EXPECT_THAT(Error("# nothing\n"), HasSubstr("no [[multilog]] sections"));
  EXPECT_THAT(Error("[[multilog\n"), HasSubstr("web.toml:1:"));
  // Every error at once, in line order.
  const std::string both = Error(
      "[[multilog]]\nname = \"flows\"\non = \"[\"\n"
      "[[multilog]]\nname = \"ok\"\nfilterz = []\n");
  EXPECT_THAT(both, HasSubstr("web.toml:3: multilog[0].on:"));
  EXPECT_THAT(both, HasSubstr("web.toml:6: multilog[1].filterz:"));
}

TEST(ProgramPlanTest, SectionsMustBeHeadersAndSelectorsOneLine) {
  EXPECT_THAT(Error("multilog = [{ name = \"flows\" }]\n"),
              HasSubstr("web.toml:1: multilog[0]: write each section as a "
                        "[[multilog]] header"));
  EXPECT_THAT(
      Error("[[multilog]]\nname = \"flows\"\non = \"\"\"\nrack=r1\"\"\"\n"),
      HasSubstr("web.toml:3: multilog[0].on: write the selector on "
                "one line"));
}

TEST(ProgramPlanTest, SelectorsAreCheckedAgainstTheAgents) {
  const std::string typo =
      AssignError("[[multilog]]\nname = \"flows\"\non = \"rak=r1\"\n");
  EXPECT_THAT(typo, HasSubstr("web.toml:3: multilog[0].on: no agent has a "
                              "label \"rak\""));
  EXPECT_THAT(typo, HasSubstr("did you mean 'rack'?"));
  EXPECT_THAT(AssignError("[[multilog]]\nname = \"flows\"\non = \"rack=r9\"\n"),
              HasSubstr("web.toml:3: multilog[0].on: selects no agent (4 "
                        "configured)"));
}

TEST(ProgramPlanTest, EnvironmentReferencesAreLeftToTheAgents) {
  const std::string text =
      "[[multilog]]\nname = \"flows\"\n"
      "filters = [{ name = \"a\", expression = \"port == ${PORT}\" }]\n";
  Result<std::vector<AgentProgram>> assigned =
      AssignPlan(Parse(text), Agents());
  ASSERT_TRUE(assigned.ok());
  EXPECT_THAT((*assigned)[0].text, HasSubstr("${PORT}"));
}

TEST(ProgramPlanTest, OversizedTextIsRefused) {
  const std::string big(kMaxPlanTextBytes + 1, '#');
  EXPECT_THAT(Error(big), HasSubstr("at most 1048576"));
}

}  // namespace
}  // namespace loupe::coordinator

namespace loupe::coordinator {
namespace {

TEST(ProgramPlanNetworkTest, NetworkSectionsAreTheCoordinatorsTriggers) {
  const std::string text =
      "[[multilog]]\nname = \"flows\"\n"
      "aggregates = [{ name = \"total\", filter = \"every\", expression = "
      "\"SUM(bytes)\" }]\n"
      "filters = [{ name = \"every\", expression = \"bytes >= 0\" }]\n"
      "\n[[multilog]]\nname = \"flows\"\non = \"network\"\n"
      "triggers = [{ name = \"busy\", condition = \"total >= 1e6\", "
      "period = \"500ms\" }]\n";
  const ProgramPlan plan = Parse(text);
  ASSERT_EQ(plan.sections.size(), 2u);
  EXPECT_FALSE(plan.sections[0].network);
  ASSERT_TRUE(plan.sections[1].network);
  ASSERT_EQ(plan.sections[1].triggers.size(), 1u);
  const NetworkTriggerSpec& t = plan.sections[1].triggers[0];
  EXPECT_EQ(t.multilog, "flows");
  EXPECT_EQ(t.name, "busy");
  EXPECT_EQ(t.spec.aggregate, "total");
  EXPECT_EQ(t.spec.op, CompareOp::kGe);
  EXPECT_EQ(t.spec.threshold, 1e6);
  EXPECT_EQ(t.period, std::chrono::milliseconds(500));
  // No agent is sent the network section; every agent the other one.
  Result<std::vector<AgentProgram>> assigned = AssignPlan(plan, Agents());
  ASSERT_TRUE(assigned.ok()) << assigned.status().ToString();
  ASSERT_EQ(assigned->size(), Agents().size());
  for (const AgentProgram& a : *assigned) {
    EXPECT_EQ(a.sections, std::vector<size_t>{0});
    EXPECT_EQ(a.text.find("network"), std::string::npos) << a.text;
    EXPECT_EQ(a.text.find("busy"), std::string::npos) << a.text;
  }
}

TEST(ProgramPlanNetworkTest, NetworkSectionsHoldOnlyWellFormedTriggers) {
  EXPECT_THAT(Error("[[multilog]]\nname = \"flows\"\non = \"network\"\n"
                    "filters = [{ name = \"f\", expression = \"bytes > 0\" "
                    "}]\n"),
              HasSubstr("multilog[0].on: a section on "
                        "\"network\" holds only triggers (it has filter f)"));
  EXPECT_THAT(Error("[[multilog]]\nname = \"flows\"\non = \"network\"\n"),
              HasSubstr("a section on \"network\" needs triggers"));
  EXPECT_THAT(Error("[[multilog]]\nname = \"flows\"\non = \"network\"\n"
                    "triggers = [{ name = \"t\", condition = \"total >>> 1\" "
                    "}]\n"),
              HasSubstr("multilog[0].triggers[0].condition: trigger"));
  EXPECT_THAT(Error("[[multilog]]\nname = \"flows\"\non = \"network\"\n"
                    "triggers = [{ name = \"t\", condition = \"total > 1\", "
                    "period = \"10ms\" }]\n"),
              HasSubstr("multilog[0].triggers[0].period: a network "
                        "trigger's period is 100ms to 1h"));
}

}  // namespace
}  // namespace loupe::coordinator
