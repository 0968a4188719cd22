#include "coordinator/loupectl/fleet_program_command.h"

#include <string>
#include <string_view>

#include "coordinator/loupectl/table.h"

namespace loupe::ctl {
namespace {

std::string_view OutcomeName(v1::FleetProgramOutcome o) {
  switch (o) {
    case v1::FLEET_PROGRAM_CHECKED:
      return "CHECKED";
    case v1::FLEET_PROGRAM_APPLIED:
      return "APPLIED";
    case v1::FLEET_PROGRAM_REFUSED:
      return "REFUSED";
    case v1::FLEET_PROGRAM_ROLLED_BACK:
      return "ROLLED BACK";
    case v1::FLEET_PROGRAM_ROLLBACK_FAILED:
      return "ROLLBACK FAILED";
    default:
      return "?";
  }
}

std::string_view StateName(v1::AgentProgramState s) {
  switch (s) {
    case v1::AGENT_PROGRAM_CHECKED:
      return "CHECKED";
    case v1::AGENT_PROGRAM_REFUSED:
      return "REFUSED";
    case v1::AGENT_PROGRAM_UNREACHABLE:
      return "UNREACHABLE";
    case v1::AGENT_PROGRAM_APPLIED:
      return "APPLIED";
    case v1::AGENT_PROGRAM_UNCHANGED:
      return "UNCHANGED";
    case v1::AGENT_PROGRAM_FAILED:
      return "FAILED";
    case v1::AGENT_PROGRAM_ROLLED_BACK:
      return "ROLLED-BACK";
    case v1::AGENT_PROGRAM_ROLLBACK_FAILED:
      return "ROLLBACK-FAILED";
    case v1::AGENT_PROGRAM_NOT_APPLIED:
      return "NOT-APPLIED";
    default:
      return "?";
  }
}

std::string Version(uint64_t v) { return v == 0 ? "none" : std::to_string(v); }

}  // namespace

std::string FleetProgramText(const v1::FleetApplyProgramResponse& r) {
  std::string out =
      "program " + r.name() + " version " + std::to_string(r.version()) + ": " +
      std::string(OutcomeName(r.outcome())) + ": " + r.summary() + "\n";
  for (const v1::AgentProgramResult& a : r.agents()) {
    out += "  " + a.agent() + "  " + std::string(StateName(a.state())) +
           "  version " + Version(a.installed_version()) + " -> " +
           Version(a.version_after());
    if (a.action() == v1::AGENT_PROGRAM_ACTION_REMOVE) out += "  (loses it)";
    out += "\n";
    for (const std::string& e : a.errors()) out += "      " + e + "\n";
    if (a.changes_size() > 0) {
      v1::ApplyProgramResponse changes;
      *changes.mutable_changes() = a.changes();
      const std::string text =
          ProgramChangesText(r.name(), r.version(), changes, true);
      // Its lines but the headline, indented under the agent.
      size_t nl = text.find('\n');
      while (nl != std::string::npos && nl + 1 < text.size()) {
        const size_t next = text.find('\n', nl + 1);
        out += "    " + text.substr(nl + 1, next - nl);
        nl = next;
      }
    }
  }
  return out;
}

std::string FleetProgramsTable(const v1::FleetListProgramsResponse& r) {
  Table table({"PROGRAM", "VERSION", "AGENT", "DESIRED", "INSTALLED", "IN SYNC",
               "ERROR"});
  for (size_t c : {1, 3, 4}) table.SetAlign(c, Table::Align::kRight);
  size_t in_sync = 0;
  for (const v1::FleetProgramInfo& p : r.programs()) {
    in_sync += p.in_sync();
    for (const v1::AgentProgramVersion& v : p.agents()) {
      table.AddRow(
          {p.name(), std::to_string(p.version()), v.agent(),
           v.desired_version() == 0 ? "-" : Version(v.desired_version()),
           Version(v.installed_version()), v.in_sync() ? "yes" : "no",
           v.error()});
    }
  }
  return table.Render() + std::to_string(r.programs_size()) +
         " desired programs, " + std::to_string(in_sync) + " in sync\n";
}

int FleetProgramApply(Session& s, const ProgramArgs& args, bool dry_run) {
  Result<std::string> text = ReadProgramFile(args.file);
  if (!text.ok()) return s.Usage(text.status().message());
  const std::string source = args.file.size() <= 256 ? args.file : args.name;
  CoordinatorClient& client = s.coordinator();
  v1::FleetApplyProgramResponse response;
  grpc::Status status;
  if (dry_run && !args.if_version.has_value()) {
    v1::FleetDiffProgramRequest request;
    request.set_name(args.name);
    request.set_version(args.version);
    request.set_program(*text);
    request.set_source(source);
    status =
        client.stub().DiffProgram(client.Context().get(), request, &response);
  } else {
    v1::FleetApplyProgramRequest request;
    request.set_name(args.name);
    request.set_version(args.version);
    if (args.if_version.has_value()) request.set_if_version(*args.if_version);
    request.set_program(*text);
    request.set_source(source);
    request.set_dry_run(dry_run);  // diff --if-version: exactly this apply
    status =
        client.stub().ApplyProgram(client.Context().get(), request, &response);
  }
  if (!status.ok()) return s.Fail(client.Describe(status));
  const int rc =
      s.json() ? s.OutputProto(response) : s.Output(FleetProgramText(response));
  const bool ok = response.outcome() == (dry_run ? v1::FLEET_PROGRAM_CHECKED
                                                 : v1::FLEET_PROGRAM_APPLIED);
  return !ok && rc == kExitOk ? kExitFailed : rc;
}

int FleetProgramRemove(Session& s, const ProgramArgs& args) {
  v1::FleetRemoveProgramRequest request;
  request.set_name(args.name);
  if (args.if_version.has_value()) request.set_if_version(*args.if_version);
  v1::FleetApplyProgramResponse response;
  CoordinatorClient& client = s.coordinator();
  const grpc::Status status =
      client.stub().RemoveProgram(client.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(client.Describe(status));
  const int rc =
      s.json() ? s.OutputProto(response) : s.Output(FleetProgramText(response));
  return response.outcome() != v1::FLEET_PROGRAM_APPLIED && rc == kExitOk
             ? kExitFailed
             : rc;
}

int FleetProgramList(Session& s, const ProgramArgs& args) {
  v1::FleetListProgramsRequest request;
  request.set_name(args.name);
  request.set_selector(s.args().selector);
  v1::FleetListProgramsResponse response;
  CoordinatorClient& client = s.coordinator();
  const grpc::Status status =
      client.stub().ListPrograms(client.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(client.Describe(status));
  if (s.json()) return s.OutputProto(response);
  return s.Output(FleetProgramsTable(response));
}

}  // namespace loupe::ctl
