// ProgramChangesText: how loupectl program apply|diff shows an
// ApplyProgram answer -- the problems, or a headline and one line per
// change.
#include "coordinator/loupectl/program_command.h"

#include <gtest/gtest.h>

#include "agent/control_proto.h"
#include "multilog/control.h"

namespace loupe::ctl {
namespace {

void AddChange(v1::ApplyProgramResponse* r, v1::ProgramAction action,
               const ControlStatement& s, uint32_t line) {
  v1::ProgramChange* c = r->add_changes();
  c->set_multilog("flows");
  c->set_action(action);
  *c->mutable_statement() = agent::ToProto(s);
  c->set_line(line);
}

TEST(ProgramChangesTextTest, ShowsEveryProblem) {
  v1::ApplyProgramResponse r;
  r.add_errors("web.toml:4: multilog[0].filters[0].name: taken");
  r.add_errors("web.toml:8: multilog[0].aggregates[0].filter: no filter");
  EXPECT_EQ(ProgramChangesText("web", 2, r, /*dry_run=*/true),
            "program web version 2: 2 problems, nothing would change:\n"
            "  web.toml:4: multilog[0].filters[0].name: taken\n"
            "  web.toml:8: multilog[0].aggregates[0].filter: no filter\n");
}

TEST(ProgramChangesTextTest, ShowsWhatADiffWouldChange) {
  v1::ApplyProgramResponse r;
  r.set_previous_version(1);
  AddChange(&r, v1::PROGRAM_ACTION_REMOVE,
            ControlStatement::AddFilter("old", "port == 1"), 0);
  AddChange(&r, v1::PROGRAM_ACTION_REPLACE,
            ControlStatement::AddFilter("tls", "port == 443"), 5);
  AddChange(&r, v1::PROGRAM_ACTION_ADD,
            ControlStatement::AddFilter("dns", "port == 53"), 6);
  AddChange(&r, v1::PROGRAM_ACTION_KEEP,
            ControlStatement::AddFilter("http", "port == 80"), 4);
  EXPECT_EQ(ProgramChangesText("web", 2, r, /*dry_run=*/true),
            "program web version 2 (installed: version 1), if applied: 1 "
            "added, 1 removed, 1 replaced, 1 kept\n"
            "  - filter old on flows\n"
            "  ~ filter tls on flows (line 5)\n"
            "  + filter dns on flows (line 6)\n"
            "  = filter http on flows (line 4)\n");
  r.set_applied(true);
  EXPECT_EQ(ProgramChangesText("web", 2, r, /*dry_run=*/false).substr(0, 55),
            "program web version 2 applied (installed: version 1): 1");
}

}  // namespace
}  // namespace loupe::ctl
