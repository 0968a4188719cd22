#include "coordinator/loupectl/control_command.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/control_proto.h"
#include "coordinator/loupectl/answer_format.h"
#include "coordinator/loupectl/table.h"
#include "coordinator/loupectl/units.h"

namespace loupe::ctl {
namespace {

// One kind's rows of the table.
struct KindCommand {
  ControlKind kind;
  // The argument that names the object: an index's column, else its name.
  std::string CommandArgs::*name;
  // The add statement from this kind's arguments.
  Result<ControlStatement> (*add)(const CommandArgs& a);
  // The confirmations, after "added " and "removed ".
  std::string (*added)(const ControlStatement& s, const std::string& m);
  std::string (*removed)(const ControlStatement& s, const std::string& m);
  // The list: headers, the right-aligned columns, a row per object.
  std::vector<std::string> headers;
  std::vector<size_t> right_aligned;
  std::vector<std::string> (*row)(const ControlStatement& s,
                                  const v1::ControlObject& o);
};

std::string OnColumn(const ControlStatement& s, const std::string& m) {
  return "index on " + m + "." + s.name;
}
std::string From(const ControlStatement& s, const std::string& m) {
  return std::string(ControlKindName(s.kind)) + " " + s.name + " from " + m;
}

const std::vector<KindCommand>& KindCommands() {
  static const std::vector<KindCommand> kCommands = {
      {ControlKind::kIndex,
       &CommandArgs::column,
       [](const CommandArgs& a) -> Result<ControlStatement> {
         return ControlStatement::AddIndex(a.column, a.index_bucket);
       },
       OnColumn,
       OnColumn,
       {"COLUMN", "BUCKET", "ENTRIES", "COVERS FROM"},
       {1, 2},
       [](const ControlStatement& s, const v1::ControlObject& o) {
         return std::vector<std::string>{
             s.name, s.bucket > 1 ? std::to_string(s.bucket) : "exact",
             std::to_string(o.entries()), CoversFromText(o.covers_from())};
       }},
      {ControlKind::kFilter,
       &CommandArgs::name,
       [](const CommandArgs& a) -> Result<ControlStatement> {
         return ControlStatement::AddFilter(a.name, Joined(a.expression_words));
       },
       [](const ControlStatement& s, const std::string& m) {
         return "filter " + s.name + " to " + m;
       },
       From,
       {"NAME", "EXPRESSION", "COVERS FROM"},
       {},
       [](const ControlStatement& s, const v1::ControlObject& o) {
         return std::vector<std::string>{s.name, s.expression,
                                         CoversFromText(o.covers_from())};
       }},
      {ControlKind::kAggregate,
       &CommandArgs::name,
       [](const CommandArgs& a) -> Result<ControlStatement> {
         return ControlStatement::AddAggregate(a.name, a.filter,
                                               Joined(a.expression_words));
       },
       [](const ControlStatement& s, const std::string& m) {
         return "aggregate " + s.name + " on filter " + s.filter + " of " + m;
       },
       From,
       {"NAME", "FILTER", "EXPRESSION", "COVERS FROM"},
       {},
       [](const ControlStatement& s, const v1::ControlObject& o) {
         return std::vector<std::string>{s.name, s.filter, s.expression,
                                         CoversFromText(o.covers_from())};
       }},
      {ControlKind::kTrigger,
       &CommandArgs::name,
       [](const CommandArgs& a) -> Result<ControlStatement> {
         Result<uint64_t> period = ParseDurationNs(a.period);
         if (!period.ok()) {
           return Status::InvalidArgument("--period: " +
                                          period.status().message());
         }
         if (*period % kNsPerMs != 0 || *period == 0) {
           return Status::InvalidArgument(
               "--period: '" + a.period +
               "' is not a whole number of milliseconds (1ms to 1h)");
         }
         return ControlStatement::AddTrigger(
             a.name, Joined(a.expression_words),
             std::chrono::nanoseconds(static_cast<int64_t>(*period)));
       },
       [](const ControlStatement& s, const std::string& m) {
         return "trigger " + s.name + " to " + m + ", checked every " +
                DurationText(static_cast<uint64_t>(s.period.count()));
       },
       From,
       {"NAME", "CONDITION", "PERIOD"},
       {},
       [](const ControlStatement& s, const v1::ControlObject&) {
         return std::vector<std::string>{
             s.name, s.expression,
             DurationText(static_cast<uint64_t>(s.period.count()))};
       }},
  };
  return kCommands;
}

const KindCommand& CommandOf(ControlKind kind) {
  for (const KindCommand& c : KindCommands()) {
    if (c.kind == kind) return c;
  }
  return KindCommands().front();  // unreachable: every kind has a row
}

}  // namespace

Result<ControlStatement> StatementFromArgs(ControlVerb verb, ControlKind kind,
                                           const CommandArgs& args) {
  const KindCommand& c = CommandOf(kind);
  if (verb == ControlVerb::kRemove) {
    return ControlStatement::Remove(kind, args.*c.name);
  }
  return c.add(args);
}

std::string ControlDoneText(const ControlStatement& statement,
                            const std::string& multilog) {
  const KindCommand& c = CommandOf(statement.kind);
  return statement.verb == ControlVerb::kAdd
             ? "added " + c.added(statement, multilog)
             : "removed " + c.removed(statement, multilog);
}

std::string ControlObjectsTable(ControlKind kind,
                                const v1::ListControlResponse& response) {
  const KindCommand& c = CommandOf(kind);
  Table table(c.headers);
  for (size_t column : c.right_aligned) {
    table.SetAlign(column, Table::Align::kRight);
  }
  for (const v1::ControlObject& object : response.objects()) {
    Result<ControlStatement> s = agent::FromProto(object.statement());
    if (!s.ok() || s->kind != kind) continue;
    table.AddRow(c.row(*s, object));
  }
  return table.Render();
}

namespace {

int RunControl(Session& s, ControlVerb verb, ControlKind kind) {
  Result<ControlStatement> statement = StatementFromArgs(verb, kind, s.args());
  if (!statement.ok()) return s.Usage(statement.status().message());
  v1::ControlRequest request;
  request.set_multilog(s.multilog());
  *request.mutable_statement() = agent::ToProto(*statement);
  v1::ControlResponse response;
  const grpc::Status status =
      s.client().stub().Control(s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  return s.Output(ControlDoneText(*statement, s.multilog()) + "\n");
}

}  // namespace

int ControlAdd(Session& s, ControlKind kind) {
  return RunControl(s, ControlVerb::kAdd, kind);
}

int ControlRemove(Session& s, ControlKind kind) {
  return RunControl(s, ControlVerb::kRemove, kind);
}

int ControlList(Session& s, ControlKind kind) {
  v1::ListControlRequest request;
  request.set_multilog(s.multilog());
  request.set_kind(agent::KindToProto(kind));
  v1::ListControlResponse response;
  const grpc::Status status = s.client().stub().ListControl(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  return s.json() ? s.OutputProto(response)
                  : s.Output(ControlObjectsTable(kind, response));
}

}  // namespace loupe::ctl
