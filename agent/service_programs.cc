// AgentService: programs, all or nothing (ApplyProgram, RemoveProgram,
// ListPrograms) over the ProgramRegistry (agent/program_registry.h), which
// decodes, plans, applies and undoes; this file only translates.
#include <optional>
#include <string>
#include <utility>

#include "agent/control_proto.h"
#include "agent/internal/service_internal.h"
#include "agent/program_file.h"
#include "agent/program_registry.h"
#include "agent/service.h"

namespace loupe::agent {

using service_internal::Invalid;
using service_internal::RequireField;

namespace {

// A source name in messages; a client's file name, bounded.
constexpr size_t kMaxSourceBytes = 256;

void AddChange(const ProgramStep& step, v1::ProgramAction action,
               google::protobuf::RepeatedPtrField<v1::ProgramChange>* out) {
  v1::ProgramChange* c = out->Add();
  c->set_multilog(step.multilog);
  c->set_action(action);
  *c->mutable_statement() = ToProto(step.statement);
  if (step.statement.line > 0) {
    c->set_line(static_cast<uint32_t>(step.statement.line));
  }
}

bool SameObject(const ProgramStep& a, const ProgramStep& b) {
  return a.multilog == b.multilog && a.statement.kind == b.statement.kind &&
         a.statement.name == b.statement.name;
}

bool Contains(const std::vector<ProgramStep>& steps, const ProgramStep& step) {
  for (const ProgramStep& s : steps) {
    if (SameObject(s, step)) return true;
  }
  return false;
}

// Removals, additions (a replaced object once, as REPLACE), then the kept.
void FillChanges(const ProgramDiff& diff,
                 google::protobuf::RepeatedPtrField<v1::ProgramChange>* out) {
  for (const ProgramStep& s : diff.removed) {
    if (!Contains(diff.replaced, s)) {
      AddChange(s, v1::PROGRAM_ACTION_REMOVE, out);
    }
  }
  for (const ProgramStep& s : diff.added) {
    AddChange(s,
              Contains(diff.replaced, s) ? v1::PROGRAM_ACTION_REPLACE
                                         : v1::PROGRAM_ACTION_ADD,
              out);
  }
  for (const ProgramStep& s : diff.kept) {
    AddChange(s, v1::PROGRAM_ACTION_KEEP, out);
  }
}

void FillProgram(const InstalledProgram& p, v1::ProgramInfo* out) {
  out->set_name(p.name);
  out->set_version(p.version);
  out->set_applied_time_ns(p.applied_ns);
  out->set_configured(p.configured);
  ProgramCounts total;
  for (const ProgramSection& section : p.sections) {
    out->add_multilogs(section.multilog);
    const ProgramCounts n = CountSection(section);
    total.indexes += n.indexes;
    total.filters += n.filters;
    total.aggregates += n.aggregates;
    total.triggers += n.triggers;
    for (const ControlStatement& s : section.statements) {
      AddChange({section.multilog, s}, v1::PROGRAM_ACTION_KEEP,
                out->mutable_objects());
    }
  }
  out->set_indexes(static_cast<uint32_t>(total.indexes));
  out->set_filters(static_cast<uint32_t>(total.filters));
  out->set_aggregates(static_cast<uint32_t>(total.aggregates));
  out->set_triggers(static_cast<uint32_t>(total.triggers));
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace

grpc::Status AgentService::ApplyProgram(grpc::ServerContext*,
                                        const v1::ApplyProgramRequest* request,
                                        v1::ApplyProgramResponse* response) {
  return Serve(kApplyProgram, [&]() -> grpc::Status {
    grpc::Status s = RequireField("name", request->name());
    if (!s.ok()) return s;
    if (request->program().empty()) {
      return Invalid("program is empty; send the program file's TOML text");
    }
    if (request->source().size() > kMaxSourceBytes ||
        request->source().find_first_of("\r\n") != std::string::npos) {
      return Invalid("source must be one line of at most " +
                     std::to_string(kMaxSourceBytes) + " bytes");
    }
    ApplyProgramArgs args;
    args.name = request->name();
    args.version = request->version();
    if (request->has_if_version()) args.if_version = request->if_version();
    args.text = request->program();
    args.source = request->source();
    args.dry_run = request->dry_run();
    args.rollback = request->rollback();
    Result<ApplyProgramOutcome> outcome = programs_.Apply(args);
    if (!outcome.ok()) return ToGrpcStatus(outcome.status());
    if (!outcome->errors.empty() && !args.dry_run) {
      return Invalid(JoinLines(outcome->errors));
    }
    for (const std::string& e : outcome->errors) response->add_errors(e);
    response->set_applied(outcome->applied);
    response->set_previous_version(outcome->previous_version);
    FillChanges(outcome->diff, response->mutable_changes());
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::RemoveProgram(
    grpc::ServerContext*, const v1::RemoveProgramRequest* request,
    v1::RemoveProgramResponse* response) {
  return Serve(kRemoveProgram, [&]() -> grpc::Status {
    grpc::Status s = RequireField("name", request->name());
    if (!s.ok()) return s;
    std::optional<uint64_t> if_version;
    if (request->has_if_version()) if_version = request->if_version();
    Result<ProgramDiff> diff = programs_.Remove(request->name(), if_version);
    if (!diff.ok()) return ToGrpcStatus(diff.status());
    FillChanges(*diff, response->mutable_changes());
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::ListPrograms(grpc::ServerContext*,
                                        const v1::ListProgramsRequest* request,
                                        v1::ListProgramsResponse* response) {
  return Serve(kListPrograms, [&]() -> grpc::Status {
    if (!request->name().empty()) {
      std::optional<InstalledProgram> p = programs_.Find(request->name());
      if (!p.has_value()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "no program named '" + request->name() + "'");
      }
      FillProgram(*p, response->add_programs());
      return grpc::Status::OK;
    }
    for (const InstalledProgram& p : programs_.List()) {
      FillProgram(p, response->add_programs());
    }
    return grpc::Status::OK;
  });
}

}  // namespace loupe::agent
