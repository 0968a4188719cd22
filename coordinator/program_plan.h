// ProgramPlan: a coordinator program file -- the agent's program format
// (agent/program_file.h) with one more key per section, `on`, a host
// selector (coordinator/host_selector.h) naming the agents that section
// goes to (absent or "": every agent):
//
//   [[multilog]]
//   name = "flows"
//   on = "rack=r2"
//   filters = [ { name = "http", expression = "port == 80" } ]
//
// ParseProgramPlan decodes the file with the agent's own decoder
// (DecodeProgramArrays, CheckName) and reads `on` beside it, so a file is
// refused for the same `file:line: key: message` errors the agents would
// give, plus those of `on`. It checks no schema: the agents do that in
// their dry run. Two sections may program one multilog when no agent is
// selected by both (a rack's filters, another rack's).
//
// `on = "network"` makes a section the coordinator's own: it holds only
// triggers, each naming an aggregate the agents have (given to them by
// other sections), evaluated by the coordinator over the agents' merged
// aggregate (coordinator/network_triggers.h). No agent is sent it.
//
// AssignPlan resolves the selectors over the coordinator's agents and
// gives each selected agent the text it is sent: the file itself with the
// lines of every other section, and the `on` lines, blanked. Lines keep
// their numbers, so an agent's errors ("web.toml:12: ...") point into the
// operator's file; a section's index in those errors ("multilog[0]")
// counts only the sections that agent got. For this the sections must be
// written as [[multilog]] headers (not inline tables) and each `on` on one
// line.
//
// Value types and pure functions; thread-safe.
#ifndef LOUPE_COORDINATOR_PROGRAM_PLAN_H_
#define LOUPE_COORDINATOR_PROGRAM_PLAN_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/config.h"
#include "coordinator/host_selector.h"
#include "multilog/expression.h"
#include "multilog/status.h"

namespace loupe::coordinator {

// The largest program file, as the agent's.
inline constexpr size_t kMaxPlanTextBytes = 1 << 20;
// The key of a section's host selector.
inline constexpr std::string_view kOnKey = "on";
// The `on` of a section of network triggers.
inline constexpr std::string_view kOnNetwork = "network";
// A network trigger's period: each costs a fleet snapshot and a merged
// query per period.
inline constexpr auto kMinNetworkTriggerPeriod = std::chrono::milliseconds(100);
inline constexpr auto kMaxNetworkTriggerPeriod = std::chrono::hours(1);

// One trigger of an `on = "network"` section.
struct NetworkTriggerSpec {
  std::string multilog;
  std::string name;
  std::string condition;  // "<aggregate> <op> <number>"
  TriggerSpec spec;       // parsed
  std::chrono::nanoseconds period{std::chrono::seconds(1)};
  int line = 0;
};

struct PlanSection {
  std::string multilog;
  HostSelector on;       // every agent when absent
  bool network = false;  // on = "network": the coordinator's triggers
  std::vector<NetworkTriggerSpec> triggers;  // network: its triggers
  int line = 0;                              // of its [[multilog]] header
  int on_line = 0;                           // of its `on`; 0: absent
  // The lines it spans, 1-based: from its header to the line before the
  // next section's (the last one: to the end of the text).
  int first_line = 0;
  int last_line = 0;
};

struct ProgramPlan {
  std::string source;  // names the text in messages
  std::string text;
  std::vector<PlanSection> sections;
};

// Decodes `text` (named `source` in messages). kInvalidArgument with every
// error found, one a line, "source:line: key: message".
Result<ProgramPlan> ParseProgramPlan(std::string_view text,
                                     const std::string& source);

// What one agent is sent.
struct AgentProgram {
  size_t agent = 0;              // index into the agents given
  std::vector<size_t> sections;  // the plan's sections that select it
  std::string text;              // the agent-program TOML text
};

// The agents (configuration order) that at least one section selects, each
// with its text. kInvalidArgument, "source:line: multilog[i].on: ...", when
// a selector names a label no agent has, selects no agent, or selects an
// agent that another section of the same multilog selects too.
Result<std::vector<AgentProgram>> AssignPlan(
    const ProgramPlan& plan, const std::vector<AgentEntry>& agents);

// The plan's text with only `sections` (indices into plan.sections) and
// their lines kept, `on` lines blanked; every line keeps its number.
std::string SectionsText(const ProgramPlan& plan,
                         const std::vector<size_t>& sections);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_PROGRAM_PLAN_H_
