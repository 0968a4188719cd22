#include "agent/program_registry.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "agent/program_file.h"
#include "multilog/ascii.h"
#include "multilog/did_you_mean.h"
#include "multilog/expression.h"
#include "multilog/multilog.h"

namespace loupe::agent {
namespace {

uint64_t WallNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

ObjectKey KeyOf(const std::string& multilog, const ControlStatement& s) {
  return ObjectKey{multilog, s.kind, s.name};
}

// The aggregate a trigger's condition names; empty when it does not parse.
std::string TriggerAggregate(const ControlStatement& trigger) {
  Result<TriggerSpec> spec = ParseTrigger(trigger.expression);
  return spec.ok() ? spec->aggregate : std::string();
}

// Stable sorts by kind: ascending (apply order) or descending (removals).
void SortByKind(std::vector<ProgramStep>* steps, bool descending) {
  std::stable_sort(steps->begin(), steps->end(),
                   [descending](const ProgramStep& a, const ProgramStep& b) {
                     return descending ? a.statement.kind > b.statement.kind
                                       : a.statement.kind < b.statement.kind;
                   });
}

bool SameSections(const std::vector<ProgramSection>& a,
                  const std::vector<ProgramSection>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].multilog != b[i].multilog) return false;
    if (a[i].statements.size() != b[i].statements.size()) return false;
    for (size_t j = 0; j < a[i].statements.size(); ++j) {
      if (!SameStatement(a[i].statements[j], b[i].statements[j])) return false;
    }
  }
  return true;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line =
        text.substr(start, end == std::string::npos ? end : end - start);
    if (!line.empty()) out.push_back(line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

bool HasObject(const Multilog& ml, ControlKind kind, const std::string& name) {
  for (const ControlStatement& s : CurrentStatements(ml)) {
    if (s.kind == kind && s.name == name) return true;
  }
  return false;
}

std::string Describe(const ProgramStep& step) {
  return step.statement.Describe() + " of multilog " + Quoted(step.multilog);
}

Status ValidateProgramName(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("program name is empty");
  Status s = ValidateMultilogName(name);
  if (!s.ok()) return s.Annotate("program name");
  return Status::Ok();
}

}  // namespace

bool SameStatement(const ControlStatement& a, const ControlStatement& b) {
  return a.verb == b.verb && a.kind == b.kind && a.name == b.name &&
         a.filter == b.filter && a.expression == b.expression &&
         a.bucket == b.bucket && a.period == b.period;
}

ProgramDiff DiffProgram(const std::vector<ProgramSection>& installed,
                        const std::vector<ProgramSection>& next) {
  std::map<ObjectKey, const ControlStatement*> old_by_key;
  std::map<ObjectKey, const ControlStatement*> new_by_key;
  for (const ProgramSection& section : installed) {
    for (const ControlStatement& s : section.statements) {
      old_by_key[KeyOf(section.multilog, s)] = &s;
    }
  }
  for (const ProgramSection& section : next) {
    for (const ControlStatement& s : section.statements) {
      new_by_key[KeyOf(section.multilog, s)] = &s;
    }
  }
  // Keys whose old object goes (removed or replaced).
  std::set<ObjectKey> gone;
  for (const auto& [key, s] : old_by_key) {
    auto it = new_by_key.find(key);
    if (it == new_by_key.end() || !SameStatement(*s, *it->second)) {
      gone.insert(key);
    }
  }
  // An aggregate over a replaced filter, and a trigger over a replaced
  // aggregate, are replaced too (Multilog refuses to remove a filter with
  // aggregates, an aggregate with triggers). Kinds in order, so a trigger
  // sees its aggregate's fate.
  for (ControlKind kind : {ControlKind::kAggregate, ControlKind::kTrigger}) {
    for (const auto& [key, s] : old_by_key) {
      if (key.kind != kind || gone.count(key) != 0) continue;
      const ObjectKey on =
          kind == ControlKind::kAggregate
              ? ObjectKey{key.multilog, ControlKind::kFilter, s->filter}
              : ObjectKey{key.multilog, ControlKind::kAggregate,
                          TriggerAggregate(*s)};
      if (gone.count(on) != 0) gone.insert(key);
    }
  }

  ProgramDiff diff;
  for (const ProgramSection& section : installed) {
    for (const ControlStatement& s : section.statements) {
      if (gone.count(KeyOf(section.multilog, s)) != 0) {
        diff.removed.push_back({section.multilog, s});
      }
    }
  }
  for (const ProgramSection& section : next) {
    for (const ControlStatement& s : section.statements) {
      const ObjectKey key = KeyOf(section.multilog, s);
      const bool existed = old_by_key.count(key) != 0;
      if (existed && gone.count(key) == 0) {
        diff.kept.push_back({section.multilog, s});
      } else {
        diff.added.push_back({section.multilog, s});
        if (existed) diff.replaced.push_back({section.multilog, s});
      }
    }
  }
  SortByKind(&diff.removed, /*descending=*/true);
  SortByKind(&diff.added, /*descending=*/false);
  return diff;
}

InstalledProgram ConfiguredProgram(const std::string& multilog,
                                   const ProgramSection& section) {
  InstalledProgram p;
  p.name = multilog;
  p.version = 1;
  p.sections = {section};
  p.sections.front().multilog = multilog;
  p.configured = true;
  return p;
}

ProgramRegistry::ProgramRegistry(MultilogRegistry* multilogs)
    : multilogs_(multilogs),
      applier_([](Multilog& ml, const std::string&, const ControlStatement& s) {
        return loupe::Apply(ml, s);
      }) {}

void ProgramRegistry::SetApplierForTesting(StatementApplier applier) {
  std::lock_guard<std::mutex> lock(mu_);
  applier_ = std::move(applier);
}

Status ProgramRegistry::RegisterInstalled(InstalledProgram program) {
  if (Status s = ValidateProgramName(program.name); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (programs_.count(program.name) != 0) {
    return Status::AlreadyExists("program " + Quoted(program.name) +
                                 " is already installed");
  }
  if (program.applied_ns == 0) program.applied_ns = WallNs();
  Own(program);
  const std::string name = program.name;
  programs_.emplace(name, std::move(program));
  return Status::Ok();
}

void ProgramRegistry::Own(const InstalledProgram& program) {
  for (const ProgramSection& section : program.sections) {
    for (const ControlStatement& s : section.statements) {
      owners_[KeyOf(section.multilog, s)] = program.name;
    }
  }
}

void ProgramRegistry::Disown(const std::string& program) {
  std::erase_if(owners_,
                [&](const auto& entry) { return entry.second == program; });
}

void ProgramRegistry::CheckPlan(const std::string& program,
                                const ProgramDiff& diff,
                                std::vector<std::string>* errors) const {
  std::set<ObjectKey> removing;
  for (const ProgramStep& step : diff.removed) {
    removing.insert(KeyOf(step.multilog, step.statement));
  }
  auto owner_text = [&](const ObjectKey& key) -> std::string {
    auto it = owners_.find(key);
    if (it == owners_.end()) return "added one by one through Control";
    return "owned by program " + Quoted(it->second);
  };
  for (const ProgramStep& step : diff.removed) {
    const ControlKind kind = step.statement.kind;
    if (kind != ControlKind::kFilter && kind != ControlKind::kAggregate) {
      continue;
    }
    Result<std::shared_ptr<Multilog>> ml = multilogs_->Find(step.multilog);
    if (!ml.ok()) continue;  // dropped: nothing to remove
    for (const ControlStatement& s : CurrentStatements(**ml)) {
      const bool depends =
          (kind == ControlKind::kFilter && s.kind == ControlKind::kAggregate &&
           s.filter == step.statement.name) ||
          (kind == ControlKind::kAggregate && s.kind == ControlKind::kTrigger &&
           TriggerAggregate(s) == step.statement.name);
      const ObjectKey key = KeyOf(step.multilog, s);
      if (!depends || removing.count(key) != 0) continue;
      errors->push_back("program " + Quoted(program) + ": " + Describe(step) +
                        " is used by " + s.Describe() + " (" + owner_text(key) +
                        "), which this change does not "
                        "remove; remove that first");
    }
  }
}

Status ProgramRegistry::Execute(const ProgramDiff& diff,
                                std::vector<std::string>* undo_errors) {
  struct Done {
    ProgramStep step;
    bool added;  // else removed
  };
  std::vector<Done> done;
  Status failure;
  const ProgramStep* failed = nullptr;
  bool failed_removing = false;
  for (const ProgramStep& step : diff.removed) {
    Result<std::shared_ptr<Multilog>> ml = multilogs_->Find(step.multilog);
    if (!ml.ok()) continue;  // dropped with its objects
    if (!HasObject(**ml, step.statement.kind, step.statement.name)) continue;
    const ControlStatement remove =
        ControlStatement::Remove(step.statement.kind, step.statement.name);
    failure = applier_(**ml, step.multilog, remove);
    if (!failure.ok()) {
      failed = &step;
      failed_removing = true;
      break;
    }
    done.push_back({step, false});
  }
  if (failed == nullptr) {
    for (const ProgramStep& step : diff.added) {
      Result<std::shared_ptr<Multilog>> ml = multilogs_->Find(step.multilog);
      failure =
          ml.ok() ? applier_(**ml, step.multilog, step.statement) : ml.status();
      if (!failure.ok()) {
        failed = &step;
        break;
      }
      done.push_back({step, true});
    }
  }
  if (failed == nullptr) return Status::Ok();

  // Undo in reverse: adds go (triggers first), removals come back (indexes
  // first). Undo goes through loupe::Apply, never the test seam.
  for (auto it = done.rbegin(); it != done.rend(); ++it) {
    Result<std::shared_ptr<Multilog>> ml = multilogs_->Find(it->step.multilog);
    Status s = ml.status();
    if (ml.ok()) {
      s = loupe::Apply(
          **ml, it->added ? ControlStatement::Remove(it->step.statement.kind,
                                                     it->step.statement.name)
                          : it->step.statement);
    }
    if (!s.ok()) {
      undo_errors->push_back("undoing " + Describe(it->step) + ": " +
                             s.ToString());
    }
  }
  std::string where = Describe(*failed);
  if (failed->statement.line > 0) {
    where += " (line " + std::to_string(failed->statement.line) + ")";
  }
  return failure.Annotate(
      std::string(failed_removing ? "removing " : "adding ") + where);
}

Result<ApplyProgramOutcome> ProgramRegistry::Apply(
    const ApplyProgramArgs& args) {
  if (Status s = ValidateProgramName(args.name); !s.ok()) return s;
  if (args.version == 0) {
    return Status::InvalidArgument("version is 0; versions start at 1");
  }
  if (args.text.size() > kMaxProgramTextBytes) {
    return Status::InvalidArgument(
        "program is " + std::to_string(args.text.size()) + " bytes; at most " +
        std::to_string(kMaxProgramTextBytes));
  }
  const std::string source = args.source.empty() ? args.name : args.source;

  std::lock_guard<std::mutex> lock(mu_);
  auto installed = programs_.find(args.name);
  const uint64_t current =
      installed == programs_.end() ? 0 : installed->second.version;
  if (args.if_version.has_value() && *args.if_version != current) {
    return Status::FailedPrecondition(
        "program " + Quoted(args.name) +
        (current == 0 ? " is not installed"
                      : " is at version " + std::to_string(current)) +
        ", not if_version " + std::to_string(*args.if_version) +
        "; someone else changed it: list it and retry");
  }
  if (args.rollback && !args.if_version.has_value()) {
    return Status::InvalidArgument(
        "a rollback needs if_version: the installed version it undoes");
  }
  if (current > args.version && !args.rollback) {
    return Status::FailedPrecondition(
        "program " + Quoted(args.name) + " version " +
        std::to_string(args.version) + " is older than the installed version " +
        std::to_string(current) + "; a new version must be greater");
  }
  if (installed == programs_.end() && programs_.size() >= kMaxPrograms) {
    return Status::ResourceExhausted(
        "the agent has " + std::to_string(programs_.size()) +
        " programs, the most it holds; remove one first");
  }

  ApplyProgramOutcome outcome;
  outcome.previous_version = current;
  const TargetLookup lookup =
      [&](const std::string& multilog) -> Result<ProgramTarget> {
    Result<std::shared_ptr<Multilog>> ml = multilogs_->Find(multilog);
    if (!ml.ok()) return ml.status();
    ProgramTarget target{(*ml)->schema(), {}, nullptr};
    for (ControlStatement& s : CurrentStatements(**ml)) {
      auto it = owners_.find(KeyOf(multilog, s));
      // This program's own objects are kept or replaced, not taken.
      if (it != owners_.end() && it->second == args.name) continue;
      target.existing.push_back(std::move(s));
    }
    target.owner_of = [this, multilog](ControlKind kind,
                                       const std::string& name) {
      auto it = owners_.find(ObjectKey{multilog, kind, name});
      return it == owners_.end() ? std::string() : it->second;
    };
    return target;
  };
  Result<ControlProgram> program = ParseProgram(args.text, source, lookup);
  if (!program.ok()) {
    outcome.errors = SplitLines(program.status().message());
    if (outcome.errors.empty()) outcome.errors.push_back(source + ": invalid");
    return outcome;
  }
  size_t statements = 0;
  for (const ProgramSection& s : program->sections) {
    statements += s.statements.size();
  }
  if (statements > kMaxProgramStatements) {
    outcome.errors.push_back(source + ": " + std::to_string(statements) +
                             " statements; a program holds at most " +
                             std::to_string(kMaxProgramStatements));
    return outcome;
  }

  static const std::vector<ProgramSection> kNone;
  const std::vector<ProgramSection>& before =
      installed == programs_.end() ? kNone : installed->second.sections;
  if (current == args.version) {
    if (!SameSections(before, program->sections)) {
      return Status::FailedPrecondition(
          "program " + Quoted(args.name) + " version " +
          std::to_string(args.version) +
          " is already installed with other statements; give the new "
          "statements a greater version");
    }
    outcome.diff = DiffProgram(before, program->sections);
    return outcome;  // idempotent: nothing changes
  }
  ProgramDiff diff = DiffProgram(before, program->sections);
  // A kept object that is gone (its multilog was dropped and re-created)
  // is added again.
  std::vector<ProgramStep> kept;
  for (ProgramStep& step : diff.kept) {
    Result<std::shared_ptr<Multilog>> ml = multilogs_->Find(step.multilog);
    if (ml.ok() && !HasObject(**ml, step.statement.kind, step.statement.name)) {
      diff.added.push_back(std::move(step));
    } else {
      kept.push_back(std::move(step));
    }
  }
  diff.kept = std::move(kept);
  SortByKind(&diff.added, /*descending=*/false);
  CheckPlan(args.name, diff, &outcome.errors);
  outcome.diff = std::move(diff);
  if (!outcome.errors.empty() || args.dry_run) return outcome;

  std::vector<std::string> undo_errors;
  if (Status s = Execute(outcome.diff, &undo_errors); !s.ok()) {
    const std::string what = "program " + Quoted(args.name) + " version " +
                             std::to_string(args.version);
    if (!undo_errors.empty()) {
      return Status::Internal(
          what + ": " + s.message() +
          "; undoing failed too: " + JoinLines(undo_errors));
    }
    return s.Annotate(what + " (nothing was changed)");
  }
  if (installed != programs_.end()) {
    Disown(args.name);
    programs_.erase(installed);
  }
  InstalledProgram record;
  record.name = args.name;
  record.version = args.version;
  record.sections = std::move(program->sections);
  record.applied_ns = WallNs();
  Own(record);
  programs_.emplace(args.name, std::move(record));
  outcome.applied = true;
  return outcome;
}

Result<ProgramDiff> ProgramRegistry::Remove(
    const std::string& name, std::optional<uint64_t> if_version) {
  if (Status s = ValidateProgramName(name); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = programs_.find(name);
  if (it == programs_.end()) {
    std::vector<std::string> names;
    for (const auto& [n, p] : programs_) names.push_back(n);
    return Status::NotFound("no program named " + Quoted(name) +
                            DidYouMean(name, names));
  }
  if (if_version.has_value() && *if_version != it->second.version) {
    return Status::FailedPrecondition(
        "program " + Quoted(name) + " is at version " +
        std::to_string(it->second.version) + ", not if_version " +
        std::to_string(*if_version) + "; someone else changed it");
  }
  ProgramDiff diff = DiffProgram(it->second.sections, {});
  std::vector<std::string> errors;
  CheckPlan(name, diff, &errors);
  if (!errors.empty()) return Status::FailedPrecondition(JoinLines(errors));
  std::vector<std::string> undo_errors;
  if (Status s = Execute(diff, &undo_errors); !s.ok()) {
    if (!undo_errors.empty()) {
      return Status::Internal(
          s.message() + "; undoing failed too: " + JoinLines(undo_errors));
    }
    return s.Annotate("removing program " + Quoted(name) +
                      " (nothing was changed)");
  }
  Disown(name);
  programs_.erase(it);
  return diff;
}

std::vector<InstalledProgram> ProgramRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InstalledProgram> out;
  for (const auto& [name, p] : programs_) out.push_back(p);
  return out;
}

std::optional<InstalledProgram> ProgramRegistry::Find(
    const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = programs_.find(name);
  if (it == programs_.end()) return std::nullopt;
  return it->second;
}

Status ProgramRegistry::Control(Multilog& multilog,
                                const ControlStatement& statement) {
  std::lock_guard<std::mutex> lock(mu_);
  if (statement.verb == ControlVerb::kRemove) {
    auto it = owners_.find(KeyOf(multilog.name(), statement));
    if (it != owners_.end() &&
        HasObject(multilog, statement.kind, statement.name)) {
      return Status::FailedPrecondition(
          ControlStatement::Remove(statement.kind, statement.name).Describe() +
          " of multilog " + Quoted(multilog.name()) + " belongs to program " +
          Quoted(it->second) +
          "; apply a new version of the program without it, or remove the "
          "program");
    }
  }
  return loupe::Apply(multilog, statement);
}

std::map<ObjectKey, std::string> ProgramRegistry::OwnersIn(
    const std::string& multilog) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<ObjectKey, std::string> out;
  for (const auto& [key, owner] : owners_) {
    if (key.multilog == multilog) out.emplace(key, owner);
  }
  return out;
}

}  // namespace loupe::agent
