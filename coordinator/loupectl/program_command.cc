#include "coordinator/loupectl/program_command.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/control_proto.h"
#include "coordinator/loupectl/table.h"

namespace loupe::ctl {

Result<std::string> ReadProgramFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open program file " + path);
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxProgramFileBytes) {
      return Status::InvalidArgument(path + " is larger than " +
                                     std::to_string(kMaxProgramFileBytes) +
                                     " bytes, the most a program may be");
    }
  }
  if (in.bad()) return Status::IoError("cannot read program file " + path);
  return text;
}

namespace {

std::string_view Sign(v1::ProgramAction action) {
  switch (action) {
    case v1::PROGRAM_ACTION_ADD:
      return "+";
    case v1::PROGRAM_ACTION_REMOVE:
      return "-";
    case v1::PROGRAM_ACTION_REPLACE:
      return "~";
    case v1::PROGRAM_ACTION_KEEP:
      return "=";
    default:
      return "?";
  }
}

std::string ChangeLine(const v1::ProgramChange& c) {
  Result<ControlStatement> s = agent::FromProto(c.statement());
  std::string what = s.ok() ? s->Describe() : c.statement().name();
  std::string line =
      "  " + std::string(Sign(c.action())) + " " + what + " on " + c.multilog();
  if (c.line() > 0) line += " (line " + std::to_string(c.line()) + ")";
  return line + "\n";
}

std::string Count(size_t n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what);
}

}  // namespace

std::string ProgramChangesText(const std::string& name, uint64_t version,
                               const v1::ApplyProgramResponse& r,
                               bool dry_run) {
  const std::string program =
      "program " + name + " version " + std::to_string(version);
  if (r.errors_size() > 0) {
    std::string out = program + ": " + std::to_string(r.errors_size()) +
                      (r.errors_size() == 1 ? " problem" : " problems") +
                      ", nothing would change:\n";
    for (const std::string& e : r.errors()) out += "  " + e + "\n";
    return out;
  }
  size_t counts[5] = {0, 0, 0, 0, 0};
  for (const v1::ProgramChange& c : r.changes()) {
    if (c.action() >= 0 && c.action() < 5) ++counts[c.action()];
  }
  std::string out = program;
  if (!dry_run) {
    out += r.applied() ? " applied" : " is already installed, unchanged";
  }
  if (r.previous_version() != 0) {
    out += " (installed: version " + std::to_string(r.previous_version()) + ")";
  }
  if (dry_run) out += ", if applied";
  out += ": " + Count(counts[v1::PROGRAM_ACTION_ADD], "added") + ", " +
         Count(counts[v1::PROGRAM_ACTION_REMOVE], "removed") + ", " +
         Count(counts[v1::PROGRAM_ACTION_REPLACE], "replaced") + ", " +
         Count(counts[v1::PROGRAM_ACTION_KEEP], "kept") + "\n";
  for (const v1::ProgramChange& c : r.changes()) out += ChangeLine(c);
  return out;
}

int ProgramApply(Session& s, const ProgramArgs& args, bool dry_run) {
  Result<std::string> text = ReadProgramFile(args.file);
  if (!text.ok()) return s.Usage(text.status().message());
  v1::ApplyProgramRequest request;
  request.set_name(args.name);
  request.set_version(args.version);
  if (args.if_version.has_value()) request.set_if_version(*args.if_version);
  request.set_program(*text);
  request.set_dry_run(dry_run);
  request.set_source(args.file.size() <= 256 ? args.file : args.name);
  v1::ApplyProgramResponse response;
  const grpc::Status status = s.client().stub().ApplyProgram(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  const int rc = s.json() ? s.OutputProto(response)
                          : s.Output(ProgramChangesText(args.name, args.version,
                                                        response, dry_run));
  return response.errors_size() > 0 && rc == kExitOk ? kExitFailed : rc;
}

int ProgramRemove(Session& s, const ProgramArgs& args) {
  v1::RemoveProgramRequest request;
  request.set_name(args.name);
  if (args.if_version.has_value()) request.set_if_version(*args.if_version);
  v1::RemoveProgramResponse response;
  const grpc::Status status = s.client().stub().RemoveProgram(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  std::string out =
      "removed program " + args.name + ": " +
      Count(static_cast<size_t>(response.changes_size()), "objects") + "\n";
  for (const v1::ProgramChange& c : response.changes()) out += ChangeLine(c);
  return s.Output(out);
}

int ProgramList(Session& s, const ProgramArgs& args) {
  v1::ListProgramsRequest request;
  request.set_name(args.name);
  v1::ListProgramsResponse response;
  const grpc::Status status = s.client().stub().ListPrograms(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  Table table({"NAME", "VERSION", "MULTILOGS", "INDEXES", "FILTERS",
               "AGGREGATES", "TRIGGERS", "FROM"});
  for (size_t column : {1, 3, 4, 5, 6}) {
    table.SetAlign(column, Table::Align::kRight);
  }
  for (const v1::ProgramInfo& p : response.programs()) {
    std::string multilogs;
    for (const std::string& m : p.multilogs()) {
      multilogs += (multilogs.empty() ? "" : ",") + m;
    }
    table.AddRow({p.name(), std::to_string(p.version()), multilogs,
                  std::to_string(p.indexes()), std::to_string(p.filters()),
                  std::to_string(p.aggregates()), std::to_string(p.triggers()),
                  p.configured() ? "config" : "api"});
  }
  return s.Output(table.Render());
}

}  // namespace loupe::ctl
