#include "coordinator/loupectl/agents_command.h"

#include <string>

#include "coordinator/loupectl/table.h"
#include "coordinator/loupectl/units.h"

namespace loupe::ctl {
namespace {

std::string StateText(v1::AgentState state) {
  switch (state) {
    case v1::AGENT_STATE_UP:
      return "UP";
    case v1::AGENT_STATE_DOWN:
      return "DOWN";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

std::string AgentsTable(const v1::ListAgentsResponse& response) {
  Table table({"NAME", "ADDRESS", "STATE", "LAST SEEN", "MISSES", "RTT",
               "RESTARTS", "JOINED", "LABELS", "ERROR"});
  for (size_t c : {4, 5, 6}) table.SetAlign(c, Table::Align::kRight);
  for (const v1::AgentInfo& a : response.agents()) {
    std::string labels;
    for (const v1::AgentLabel& l : a.labels()) {
      labels += (labels.empty() ? "" : ",") + l.key() + "=" + l.value();
    }
    table.AddRow(
        {a.name(), a.address(), StateText(a.state()),
         a.last_seen_ns() == 0 ? "never"
                               : DurationText(a.last_seen_age_ns()) + " ago",
         std::to_string(a.consecutive_misses()),
         a.last_rtt_ns() == 0 ? "-" : DurationText(a.last_rtt_ns()),
         std::to_string(a.restarts()),
         a.registered() ? "registered" : "configured", labels, a.error()});
  }
  return table.Render() + std::to_string(response.agents_size()) + " of " +
         std::to_string(response.configured()) +
         " agents: " + std::to_string(response.up()) + " up, " +
         std::to_string(response.down()) + " down, " +
         std::to_string(response.unknown()) + " unknown\n";
}

int Agents(Session& s) {
  v1::ListAgentsRequest request;
  request.set_selector(s.args().selector);
  v1::ListAgentsResponse response;
  CoordinatorClient& client = s.coordinator();
  const grpc::Status status =
      client.stub().ListAgents(client.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(client.Describe(status));
  if (s.json()) return s.OutputProto(response);
  return s.Output(AgentsTable(response));
}

}  // namespace loupe::ctl
