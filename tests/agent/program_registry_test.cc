// DiffProgram: what a new version of a program changes -- kept, added,
// removed and replaced statements, the cascade from a replaced filter to its
// aggregates and triggers, and the order (removals in reverse dependency
// order, additions in dependency order). Pure values, no multilog.
#include "agent/program_registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "multilog/control.h"

namespace loupe::agent {
namespace {

ProgramSection Section(std::string multilog,
                       std::vector<ControlStatement> statements) {
  ProgramSection s;
  s.multilog = std::move(multilog);
  s.statements = std::move(statements);
  return s;
}

std::vector<std::string> Names(const std::vector<ProgramStep>& steps) {
  std::vector<std::string> out;
  for (const ProgramStep& s : steps) {
    out.push_back(s.multilog + ":" + s.statement.Describe());
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(DiffProgramTest, FirstVersionAddsEverythingInDependencyOrder) {
  // Written triggers-first: the diff still adds in dependency order.
  const ProgramDiff d = DiffProgram(
      {}, {Section("m", {ControlStatement::AddTrigger("t", "a > 1"),
                         ControlStatement::AddAggregate("a", "f", "COUNT()"),
                         ControlStatement::AddFilter("f", "port == 80"),
                         ControlStatement::AddIndex("port")})});
  EXPECT_EQ(Names(d.added), (Strings{"m:index port", "m:filter f",
                                     "m:aggregate a", "m:trigger t"}));
  EXPECT_TRUE(d.removed.empty());
  EXPECT_TRUE(d.kept.empty());
  EXPECT_TRUE(d.replaced.empty());
}

TEST(DiffProgramTest, SameStatementsAreKeptWhateverTheirLines) {
  ControlStatement f = ControlStatement::AddFilter("f", "port == 80");
  ControlStatement moved = f;
  moved.line = 42;
  const ProgramDiff d =
      DiffProgram({Section("m", {f})}, {Section("m", {moved})});
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(Names(d.kept), (Strings{"m:filter f"}));
}

TEST(DiffProgramTest, ChangedFilterReplacesItsAggregatesAndTriggers) {
  const std::vector<ProgramSection> v1 = {
      Section("m", {ControlStatement::AddIndex("port"),
                    ControlStatement::AddFilter("f", "port == 80"),
                    ControlStatement::AddFilter("g", "port == 443"),
                    ControlStatement::AddAggregate("a", "f", "COUNT()"),
                    ControlStatement::AddAggregate("b", "g", "COUNT()"),
                    ControlStatement::AddTrigger("t", "a > 5"),
                    ControlStatement::AddTrigger("old", "b > 5")})};
  const std::vector<ProgramSection> v2 = {Section(
      "m", {ControlStatement::AddIndex("port"),
            ControlStatement::AddFilter("f", "port == 8080"),  // changed
            ControlStatement::AddFilter("g", "port == 443"),
            ControlStatement::AddAggregate("a", "f", "COUNT()"),
            ControlStatement::AddAggregate("b", "g", "COUNT()"),
            ControlStatement::AddTrigger("t", "a > 5"),
            ControlStatement::AddFilter("new", "port == 22")})};
  const ProgramDiff d = DiffProgram(v1, v2);
  // Removals: triggers, then aggregates, then filters.
  EXPECT_EQ(Names(d.removed), (Strings{"m:trigger t", "m:trigger old",
                                       "m:aggregate a", "m:filter f"}));
  EXPECT_EQ(Names(d.added), (Strings{"m:filter f", "m:filter new",
                                     "m:aggregate a", "m:trigger t"}));
  EXPECT_EQ(Names(d.replaced),
            (Strings{"m:filter f", "m:aggregate a", "m:trigger t"}));
  EXPECT_EQ(Names(d.kept),
            (Strings{"m:index port", "m:filter g", "m:aggregate b"}));
}

TEST(DiffProgramTest, ChangedIndexBucketIsReplaced) {
  const ProgramDiff d =
      DiffProgram({Section("m", {ControlStatement::AddIndex("bytes", 64)})},
                  {Section("m", {ControlStatement::AddIndex("bytes", 128)})});
  EXPECT_EQ(Names(d.removed), (Strings{"m:index bytes"}));
  EXPECT_EQ(Names(d.added), (Strings{"m:index bytes"}));
  EXPECT_EQ(Names(d.replaced), (Strings{"m:index bytes"}));
}

TEST(DiffProgramTest, MultilogsAreSeparateAndADroppedSectionGoes) {
  const ProgramDiff d = DiffProgram(
      {Section("a", {ControlStatement::AddFilter("f", "port == 1")}),
       Section("b", {ControlStatement::AddFilter("f", "port == 1"),
                     ControlStatement::AddAggregate("n", "f", "COUNT()")})},
      {Section("a", {ControlStatement::AddFilter("f", "port == 1")})});
  EXPECT_EQ(Names(d.kept), (Strings{"a:filter f"}));
  EXPECT_EQ(Names(d.removed), (Strings{"b:aggregate n", "b:filter f"}));
  EXPECT_TRUE(d.added.empty());
}

TEST(DiffProgramTest, RemovingEverythingIsTheReverseOfInstalling) {
  const ProgramDiff d = DiffProgram(
      {Section("m", {ControlStatement::AddIndex("port"),
                     ControlStatement::AddFilter("f", "port == 80"),
                     ControlStatement::AddAggregate("a", "f", "COUNT()"),
                     ControlStatement::AddTrigger("t", "a > 1")})},
      {});
  EXPECT_EQ(Names(d.removed), (Strings{"m:trigger t", "m:aggregate a",
                                       "m:filter f", "m:index port"}));
}

TEST(ConfiguredProgramTest, IsNamedAfterItsMultilogAtVersionOne) {
  ProgramSection section =
      Section("", {ControlStatement::AddFilter("f", "port == 80")});
  const InstalledProgram p = ConfiguredProgram("packets", section);
  EXPECT_EQ(p.name, "packets");
  EXPECT_EQ(p.version, 1u);
  EXPECT_TRUE(p.configured);
  ASSERT_EQ(p.sections.size(), 1u);
  EXPECT_EQ(p.sections[0].multilog, "packets");
}

}  // namespace
}  // namespace loupe::agent
