// The control commands' table: statements from command lines, their
// confirmations, and the list tables of a ListControl answer.
#include "coordinator/loupectl/control_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "agent/control_proto.h"

namespace loupe::ctl {
namespace {

using ::testing::HasSubstr;

CommandArgs Args() {
  CommandArgs a;
  a.name = "big";
  a.column = "bytes";
  a.filter = "big";
  a.expression_words = {"bytes", ">", "15"};
  a.index_bucket = 64;
  a.period = "250ms";
  return a;
}

TEST(StatementFromArgsTest, EveryKindAdds) {
  const CommandArgs a = Args();
  EXPECT_EQ(*StatementFromArgs(ControlVerb::kAdd, ControlKind::kIndex, a),
            ControlStatement::AddIndex("bytes", 64));
  EXPECT_EQ(*StatementFromArgs(ControlVerb::kAdd, ControlKind::kFilter, a),
            ControlStatement::AddFilter("big", "bytes > 15"));
  EXPECT_EQ(*StatementFromArgs(ControlVerb::kAdd, ControlKind::kAggregate, a),
            ControlStatement::AddAggregate("big", "big", "bytes > 15"));
  EXPECT_EQ(*StatementFromArgs(ControlVerb::kAdd, ControlKind::kTrigger, a),
            ControlStatement::AddTrigger("big", "bytes > 15",
                                         std::chrono::milliseconds(250)));
}

TEST(StatementFromArgsTest, RemovesNameTheObject) {
  const CommandArgs a = Args();
  EXPECT_EQ(*StatementFromArgs(ControlVerb::kRemove, ControlKind::kIndex, a),
            ControlStatement::Remove(ControlKind::kIndex, "bytes"));
  for (ControlKind kind :
       {ControlKind::kFilter, ControlKind::kAggregate, ControlKind::kTrigger}) {
    EXPECT_EQ(*StatementFromArgs(ControlVerb::kRemove, kind, a),
              ControlStatement::Remove(kind, "big"));
  }
}

TEST(StatementFromArgsTest, TriggerPeriodIsWholeMilliseconds) {
  CommandArgs a = Args();
  for (const char* bad : {"1.5ms", "0", "10x", "5M"}) {
    a.period = bad;
    const Result<ControlStatement> s =
        StatementFromArgs(ControlVerb::kAdd, ControlKind::kTrigger, a);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_THAT(s.status().message(), HasSubstr("--period: ")) << bad;
  }
}

TEST(ControlDoneTextTest, SaysWhatWasDone) {
  const CommandArgs a = Args();
  auto done = [&](ControlVerb verb, ControlKind kind) {
    return ControlDoneText(*StatementFromArgs(verb, kind, a), "flows");
  };
  EXPECT_EQ(done(ControlVerb::kAdd, ControlKind::kIndex),
            "added index on flows.bytes");
  EXPECT_EQ(done(ControlVerb::kRemove, ControlKind::kIndex),
            "removed index on flows.bytes");
  EXPECT_EQ(done(ControlVerb::kAdd, ControlKind::kFilter),
            "added filter big to flows");
  EXPECT_EQ(done(ControlVerb::kRemove, ControlKind::kFilter),
            "removed filter big from flows");
  EXPECT_EQ(done(ControlVerb::kAdd, ControlKind::kAggregate),
            "added aggregate big on filter big of flows");
  EXPECT_EQ(done(ControlVerb::kRemove, ControlKind::kAggregate),
            "removed aggregate big from flows");
  EXPECT_EQ(done(ControlVerb::kAdd, ControlKind::kTrigger),
            "added trigger big to flows, checked every 250ms");
  EXPECT_EQ(done(ControlVerb::kRemove, ControlKind::kTrigger),
            "removed trigger big from flows");
}

TEST(ControlObjectsTableTest, EachKindItsColumns) {
  v1::ListControlResponse r;
  auto add = [&](const ControlStatement& s, uint64_t covers, uint64_t n) {
    v1::ControlObject* o = r.add_objects();
    *o->mutable_statement() = agent::ToProto(s);
    o->set_covers_from(covers);
    o->set_entries(n);
  };
  add(ControlStatement::AddIndex("bytes"), 0, 7);
  add(ControlStatement::AddIndex("port", 16), 640, 3);
  add(ControlStatement::AddFilter("big", "bytes > 15"), 64, 0);
  add(ControlStatement::AddAggregate("big_sum", "big", "SUM(bytes)"), 0, 0);
  add(ControlStatement::AddTrigger("hot", "big_sum > 1000",
                                   std::chrono::seconds(2)),
      0, 0);
  EXPECT_EQ(ControlObjectsTable(ControlKind::kIndex, r),
            "COLUMN  BUCKET  ENTRIES  COVERS FROM\n"
            "bytes    exact        7  0 (everything)\n"
            "port        16        3  640\n");
  EXPECT_EQ(ControlObjectsTable(ControlKind::kFilter, r),
            "NAME  EXPRESSION  COVERS FROM\n"
            "big   bytes > 15  64\n");
  EXPECT_EQ(ControlObjectsTable(ControlKind::kAggregate, r),
            "NAME     FILTER  EXPRESSION  COVERS FROM\n"
            "big_sum  big     SUM(bytes)  0 (everything)\n");
  EXPECT_EQ(ControlObjectsTable(ControlKind::kTrigger, r),
            "NAME  CONDITION       PERIOD\n"
            "hot   big_sum > 1000  2s\n");
}

}  // namespace
}  // namespace loupe::ctl
