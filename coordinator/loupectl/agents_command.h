// loupectl's commands of the coordinator (issue 14): `agents`, the
// coordinator's ListAgents over --coordinator HOST:PORT, with --selector,
// as a table (AgentsTable) or, with --json, the answer itself. Exit 0 when
// the call succeeds, whatever the agents' states. Single-threaded, like
// every command (coordinator/loupectl/loupectl_commands.h).
#ifndef LOUPE_COORDINATOR_LOUPECTL_AGENTS_COMMAND_H_
#define LOUPE_COORDINATOR_LOUPECTL_AGENTS_COMMAND_H_

#include <string>

#include "coordinator/loupectl/loupectl_commands.h"
#include "coordinator/proto/coordinator.pb.h"

namespace loupe::ctl {

int Agents(Session& s);

// The table `agents` prints, and a last line of totals:
//   NAME  ADDRESS         STATE  LAST SEEN  MISSES  RTT    RESTARTS  LABELS
//   ERROR hv1   127.0.0.1:7070  UP     0.4s ago        0  0.8ms         0
//   rack=r1 2 of 2 agents: 1 up, 1 down, 0 unknown
std::string AgentsTable(const v1::ListAgentsResponse& response);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_AGENTS_COMMAND_H_
