// The registered agents' file, state_directory/agents/registered: the
// agents that joined with the Register RPC (agent/proto/registry.proto),
// kept so that a restarted coordinator drives the same fleet before they
// heartbeat again.
//
//   file  := "loupe-registered-agents 1\n" line*
//   line  := "agent " NAME " " ADDRESS " " START_TIME_NS (" " KEY "=" VALUE)*
//            "\n"
//
// NAME and the labels follow agent/fleet_identity.h (no blanks, no "="
// in a key), ADDRESS is HOST:PORT, START_TIME_NS the decimal incarnation
// the agent registered with. ParseRegistrations checks every field with
// the validators the RPC and the configuration use, so a hand-edited file
// cannot bring in what Register would refuse; an error names the line.
// Pure functions; thread-safe.
#ifndef LOUPE_COORDINATOR_REGISTRATIONS_H_
#define LOUPE_COORDINATOR_REGISTRATIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/config.h"
#include "multilog/status.h"

namespace loupe::coordinator {

inline constexpr size_t kMaxRegistrationsFileBytes = 4 << 20;

struct Registration {
  AgentEntry entry;  // line: 0
  uint64_t start_time_ns = 0;
};

std::string FormatRegistrations(const std::vector<Registration>& agents);
// kInvalidArgument "line 3: ..." on anything FormatRegistrations would not
// write, a name twice included.
Result<std::vector<Registration>> ParseRegistrations(std::string_view text);

// The file at `path`: none when it does not exist; its errors name it.
Result<std::vector<Registration>> LoadRegistrations(const std::string& path);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_REGISTRATIONS_H_
