// loupectl's text for the coordinator's program answers
// (coordinator/loupectl/fleet_program_command.h).
#include "coordinator/loupectl/fleet_program_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace loupe::ctl {
namespace {

using ::testing::HasSubstr;

TEST(FleetProgramTextTest, EachAgentWithItsVersionsAndProblemsOrChanges) {
  v1::FleetApplyProgramResponse r;
  r.set_name("web");
  r.set_version(2);
  r.set_outcome(v1::FLEET_PROGRAM_REFUSED);
  r.set_summary("refused, nothing changed: hv2: 1 problem");
  v1::AgentProgramResult* ok = r.add_agents();
  ok->set_agent("hv1");
  ok->set_state(v1::AGENT_PROGRAM_CHECKED);
  ok->set_installed_version(1);
  ok->set_version_after(1);
  v1::ProgramChange* c = ok->add_changes();
  c->set_multilog("flows");
  c->set_action(v1::PROGRAM_ACTION_ADD);
  c->set_line(8);
  c->mutable_statement()->set_verb(v1::CONTROL_VERB_ADD);
  c->mutable_statement()->set_kind(v1::CONTROL_KIND_FILTER);
  c->mutable_statement()->set_name("big");
  c->mutable_statement()->set_expression("bytes > 1000");
  v1::AgentProgramResult* bad = r.add_agents();
  bad->set_agent("hv2");
  bad->set_state(v1::AGENT_PROGRAM_REFUSED);
  bad->add_errors("web.toml:8: multilog[0].filters[1].name: taken");
  v1::AgentProgramResult* gone = r.add_agents();
  gone->set_agent("hv3");
  gone->set_action(v1::AGENT_PROGRAM_ACTION_REMOVE);
  gone->set_state(v1::AGENT_PROGRAM_CHECKED);
  gone->set_installed_version(1);
  gone->set_version_after(1);

  const std::string text = FleetProgramText(r);
  EXPECT_THAT(text, HasSubstr("program web version 2: REFUSED: refused, "
                              "nothing changed: hv2: 1 problem\n"));
  EXPECT_THAT(text, HasSubstr("  hv1  CHECKED  version 1 -> 1\n"));
  EXPECT_THAT(text, HasSubstr("+ filter big"));
  EXPECT_THAT(text, HasSubstr("(line 8)"));
  EXPECT_THAT(text, HasSubstr("  hv2  REFUSED  version none -> none\n      "
                              "web.toml:8: multilog[0].filters[1].name: "
                              "taken\n"));
  EXPECT_THAT(text, HasSubstr("  hv3  CHECKED  version 1 -> 1  (loses it)\n"));
}

TEST(FleetProgramsTableTest, OneRowPerProgramAndAgent) {
  v1::FleetListProgramsResponse r;
  v1::FleetProgramInfo* p = r.add_programs();
  p->set_name("web");
  p->set_version(2);
  p->set_in_sync(false);
  v1::AgentProgramVersion* a = p->add_agents();
  a->set_agent("hv1");
  a->set_desired_version(2);
  a->set_installed_version(2);
  a->set_in_sync(true);
  v1::AgentProgramVersion* b = p->add_agents();
  b->set_agent("hv2");
  b->set_desired_version(2);
  b->set_error("agent is DOWN");
  const std::string table = FleetProgramsTable(r);
  EXPECT_THAT(table, HasSubstr("hv1"));
  EXPECT_THAT(table, HasSubstr("agent is DOWN"));
  EXPECT_THAT(table, HasSubstr("1 desired programs, 0 in sync"));
}

}  // namespace
}  // namespace loupe::ctl
