// loupectl's `fleet alerts` (issue 14, alert fan-in), over --coordinator:
// without --follow, the stored alerts of the agents a --selector picks
// (Coordinator.GetAlerts: every agent asked at once, merged oldest first
// under one --limit), as a table with the agent of each or, with --json,
// the answer; with --follow, the live alerts the coordinator's fan-in
// receives from those agents (Coordinator.SubscribeAlerts) until Ctrl-C,
// one line or JSON line each, and a note when loupectl read too slowly and
// the coordinator dropped some for it. Single-threaded, like every command
// (coordinator/loupectl/loupectl_commands.h).
#ifndef LOUPE_COORDINATOR_LOUPECTL_FLEET_ALERTS_COMMAND_H_
#define LOUPE_COORDINATOR_LOUPECTL_FLEET_ALERTS_COMMAND_H_

#include "coordinator/loupectl/loupectl_commands.h"

namespace loupe::ctl {

int FleetAlerts(Session& s);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_FLEET_ALERTS_COMMAND_H_
