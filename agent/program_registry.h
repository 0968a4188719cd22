// ProgramRegistry: the programs an agent has installed -- name -> version
// and the ProgramSections (statements per multilog) it installed -- and the
// ownership of every index, filter, aggregate and trigger: the program
// that added it, or none for objects added one by one through Control.
// It carries out ApplyProgram and RemoveProgram all or nothing, and is the
// one gate every control mutation of a hosted multilog goes through.
//
// Apply: the program text is decoded by ParseProgram (agent/program_file.h,
// the one decoder) against each multilog's schema and its current objects
// minus those this program already owns, then planned: DiffProgram against
// the installed version gives what to remove (reverse dependency order:
// triggers, aggregates, filters, indexes), what to add (dependency order)
// and what to keep. Unchanged statements keep their objects (data,
// covers_from); changed ones are replaced, and so are the aggregates of a
// replaced filter and the triggers of a replaced aggregate. The plan is
// checked against objects the program does not own (a filter it removes
// must not carry someone else's aggregate). A dry run stops there and
// reports every problem; an apply carries the plan out and, on any
// failure, undoes what it did (removed adds, re-added removals) before it
// answers.
//
// Versions: a program's version starts at >= 1 and only increases (but for
// a rollback, which names the version it undoes in if_version); the same
// version with the same statements is idempotent (nothing changes), with
// other statements kFailedPrecondition. `if_version` (when given) must equal
// the installed version, 0 meaning "not installed": optimistic concurrency
// for two operators.
//
// Thread safety: every method may be called from any thread. One mutex
// serializes applies, removals, Control statements and listings, so no
// control mutation interleaves with an apply (control is not the packet
// path). The MultilogRegistry must outlive this registry. A multilog that
// is dropped takes its objects with it; the program's record stays and a
// later apply re-adds what is missing, a removal skips it.
#ifndef LOUPE_AGENT_PROGRAM_REGISTRY_H_
#define LOUPE_AGENT_PROGRAM_REGISTRY_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/multilog_registry.h"
#include "multilog/control.h"
#include "multilog/status.h"

namespace loupe::agent {

// Bounds of one program.
inline constexpr size_t kMaxProgramTextBytes = 1 << 20;
inline constexpr size_t kMaxProgramStatements = 4096;
inline constexpr size_t kMaxPrograms = 256;

// An object of a multilog: (multilog, kind, name); an index's name is its
// column.
struct ObjectKey {
  std::string multilog;
  ControlKind kind = ControlKind::kFilter;
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
};

struct ProgramStep {
  std::string multilog;
  ControlStatement statement;
};

// What applying a new version changes. A replaced object is in `removed`
// (its old statement) and in `added` (its new one) and listed in
// `replaced` (the new statement).
struct ProgramDiff {
  std::vector<ProgramStep> removed;  // in removal order
  std::vector<ProgramStep> added;    // in apply order
  std::vector<ProgramStep> kept;
  std::vector<ProgramStep> replaced;
  bool empty() const { return removed.empty() && added.empty(); }
};

// True when `a` and `b` install the same object (the line is ignored).
bool SameStatement(const ControlStatement& a, const ControlStatement& b);

// The difference from `installed` to `next` (all add statements). Pure.
ProgramDiff DiffProgram(const std::vector<ProgramSection>& installed,
                        const std::vector<ProgramSection>& next);

struct InstalledProgram {
  std::string name;
  uint64_t version = 0;
  std::vector<ProgramSection> sections;
  uint64_t applied_ns = 0;  // wall clock
  bool configured = false;  // from the agent's configuration
};

// The program of a [[multilog]] section of the agent's configuration:
// named after its multilog, version 1, configured.
InstalledProgram ConfiguredProgram(const std::string& multilog,
                                   const ProgramSection& section);

struct ApplyProgramArgs {
  std::string name;
  uint64_t version = 0;
  std::optional<uint64_t> if_version;
  std::string text;
  std::string source;  // names the text in messages; default: the name
  bool dry_run = false;
  // Undoing a newer version: `version` may be below the installed one;
  // requires if_version.
  bool rollback = false;
};

struct ApplyProgramOutcome {
  // Every problem found ("source:line: key: message"); nothing changed
  // when not empty.
  std::vector<std::string> errors;
  ProgramDiff diff;
  uint64_t previous_version = 0;  // 0: was not installed
  bool applied = false;           // something changed
};

// How one statement is carried out: loupe::Apply, or a fault-injecting
// seam in tests.
using StatementApplier = std::function<Status(
    Multilog&, const std::string& multilog, const ControlStatement&)>;

class ProgramRegistry {
 public:
  explicit ProgramRegistry(MultilogRegistry* multilogs);
  ProgramRegistry(const ProgramRegistry&) = delete;
  ProgramRegistry& operator=(const ProgramRegistry&) = delete;

  // Records a program that is already installed (the agent's configuration:
  // named after its multilog, version 1). kAlreadyExists when the name is
  // taken; kInvalidArgument for a bad name.
  Status RegisterInstalled(InstalledProgram program);

  // Validation problems are outcome.errors (not a failed Result); a failed
  // Result is a version conflict (kFailedPrecondition), a bad argument
  // (kInvalidArgument), a limit (kResourceExhausted) or a failure while
  // applying, after which everything was undone.
  Result<ApplyProgramOutcome> Apply(const ApplyProgramArgs& args);

  // Removes every object the program owns (triggers first) and forgets it.
  // kNotFound; kFailedPrecondition for an if_version mismatch or when an
  // object of another owner depends on one of its objects.
  Result<ProgramDiff> Remove(const std::string& name,
                             std::optional<uint64_t> if_version);

  std::vector<InstalledProgram> List() const;
  std::optional<InstalledProgram> Find(const std::string& name) const;

  // A Control statement: refuses (kFailedPrecondition, naming the program)
  // to remove an object a program owns; otherwise applies it, serialized
  // with applies.
  Status Control(Multilog& multilog, const ControlStatement& statement);

  // Owners of `multilog`'s objects; objects added one by one are absent.
  std::map<ObjectKey, std::string> OwnersIn(const std::string& multilog) const;

  // Tests: how statements are carried out (loupe::Apply by default).
  void SetApplierForTesting(StatementApplier applier);

 private:
  Status Execute(const ProgramDiff& diff, std::vector<std::string>* errors);
  void CheckPlan(const std::string& program, const ProgramDiff& diff,
                 std::vector<std::string>* errors) const;  // mu_ held
  void Own(const InstalledProgram& program);               // mu_ held
  void Disown(const std::string& program);                 // mu_ held

  MultilogRegistry* const multilogs_;
  mutable std::mutex mu_;
  StatementApplier applier_;                          // mu_
  std::map<std::string, InstalledProgram> programs_;  // mu_
  std::map<ObjectKey, std::string> owners_;           // mu_
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_PROGRAM_REGISTRY_H_
