// InstalledProgramText (coordinator/installed_program_text.h): what an agent
// lists of a program becomes a text the agent's decoder reads back to the
// same statements, in the same order -- the rollback's input.
#include "coordinator/installed_program_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "agent/program_file.h"
#include "multilog/schema.h"

namespace loupe::coordinator {
namespace {

v1::ProgramChange* Add(v1::ProgramInfo& p, const std::string& multilog,
                       v1::ControlKind kind, const std::string& name) {
  v1::ProgramChange* c = p.add_objects();
  c->set_multilog(multilog);
  c->set_action(v1::PROGRAM_ACTION_KEEP);
  c->mutable_statement()->set_verb(v1::CONTROL_VERB_ADD);
  c->mutable_statement()->set_kind(kind);
  c->mutable_statement()->set_name(name);
  return c;
}

TEST(InstalledProgramTextTest, TheAgentReadsBackTheSameStatements) {
  v1::ProgramInfo p;
  p.set_name("web");
  p.add_multilogs("flows");
  p.add_multilogs("empty");
  p.add_multilogs("other");
  Add(p, "flows", v1::CONTROL_KIND_INDEX, "port");
  Add(p, "flows", v1::CONTROL_KIND_INDEX, "bytes")
      ->mutable_statement()
      ->set_bucket(100);
  Add(p, "flows", v1::CONTROL_KIND_FILTER, "http")
      ->mutable_statement()
      ->set_expression("port == 80 && bytes > 10");
  auto* a = Add(p, "flows", v1::CONTROL_KIND_AGGREGATE, "http_count");
  a->mutable_statement()->set_filter("http");
  a->mutable_statement()->set_expression("COUNT()");
  auto* t = Add(p, "flows", v1::CONTROL_KIND_TRIGGER, "busy");
  t->mutable_statement()->set_expression("http_count > 100");
  t->mutable_statement()->set_period_ms(250);
  Add(p, "other", v1::CONTROL_KIND_FILTER, "quote")
      ->mutable_statement()
      ->set_expression("name == 'a\"b\\\\c'");

  const std::string text = InstalledProgramText(p);
  Result<Schema> schema = Schema::Parse("bytes:u32, port:u16, name:string(8)");
  ASSERT_TRUE(schema.ok());
  Result<ControlProgram> back =
      agent::ParseProgram(text, "rollback", agent::SameSchemaForAll(*schema));
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
  ASSERT_EQ(back->sections.size(), 3u) << text;
  EXPECT_EQ(back->sections[0].multilog, "flows");
  EXPECT_EQ(back->sections[1].multilog, "empty");
  EXPECT_TRUE(back->sections[1].statements.empty());
  const auto& s = back->sections[0].statements;
  ASSERT_EQ(s.size(), 5u) << text;
  EXPECT_EQ(s[0].name, "port");
  EXPECT_EQ(s[1].name, "bytes");
  EXPECT_EQ(s[1].bucket, 100u);
  EXPECT_EQ(s[2].expression, "port == 80 && bytes > 10");
  EXPECT_EQ(s[3].filter, "http");
  EXPECT_EQ(s[3].expression, "COUNT()");
  EXPECT_EQ(s[4].expression, "http_count > 100");
  EXPECT_EQ(s[4].period, std::chrono::milliseconds(250));
  ASSERT_EQ(back->sections[2].statements.size(), 1u);
  EXPECT_EQ(back->sections[2].statements[0].expression, "name == 'a\"b\\\\c'");
}

}  // namespace
}  // namespace loupe::coordinator
