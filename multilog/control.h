// ControlStatement: the one vocabulary of control -- add or remove an
// index, filter, aggregate or trigger -- and Apply, the one place that
// carries a statement out on a Multilog. Every layer only translates its
// input into statements: the program decoder (TOML, agent/program_file.h),
// the RPC handlers, loupectl and the coordinator. Nothing else switches
// over the four kinds. (LevelDB's WriteBatch is the model: one
// representation of a change, built by every API, applied in one place.)
//
// A ControlProgram is what one program file holds: per multilog, the
// statements (all adds) that make up its initial indexes, filters,
// aggregates and triggers, in the order they must be applied (an aggregate
// after its filter, a trigger after its aggregate).
//
// Value types and a function over a Multilog; Apply is as thread-safe as
// the Multilog's control calls (serialized internally).
#ifndef LOUPE_MULTILOG_CONTROL_H_
#define LOUPE_MULTILOG_CONTROL_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/status.h"

namespace loupe {

class Multilog;

enum class ControlKind : uint8_t { kIndex, kFilter, kAggregate, kTrigger };
enum class ControlVerb : uint8_t { kAdd, kRemove };

inline constexpr ControlKind kAllControlKinds[] = {
    ControlKind::kIndex, ControlKind::kFilter, ControlKind::kAggregate,
    ControlKind::kTrigger};

// "index", "filter", "aggregate", "trigger".
std::string_view ControlKindName(ControlKind kind);
// The inverse; nullopt for anything else.
std::optional<ControlKind> ParseControlKind(std::string_view name);
// "add", "remove".
std::string_view ControlVerbName(ControlVerb verb);

struct ControlStatement {
  ControlVerb verb = ControlVerb::kAdd;
  ControlKind kind = ControlKind::kFilter;
  // index: the column; the others: the object's name.
  std::string name;
  // aggregate: the filter it is defined on.
  std::string filter;
  // filter: its expression; aggregate: COUNT(), SUM(col), ...; trigger: its
  // condition ("<aggregate> <op> <number>"). Empty for removals.
  std::string expression;
  // index: integer columns are keyed by value / bucket (0 or 1: exact).
  uint64_t bucket = 0;
  // trigger: how often it is evaluated (1 ms to 1 h).
  std::chrono::nanoseconds period = std::chrono::seconds(1);
  // Where the statement came from, for messages: a program file's line, or
  // 0 when it did not come from a file.
  int line = 0;

  static ControlStatement AddIndex(std::string column, uint64_t bucket = 0);
  static ControlStatement AddFilter(std::string name, std::string expression);
  static ControlStatement AddAggregate(std::string name, std::string filter,
                                       std::string expression);
  static ControlStatement AddTrigger(
      std::string name, std::string condition,
      std::chrono::nanoseconds period = std::chrono::seconds(1));
  static ControlStatement Remove(ControlKind kind, std::string name);

  // "filter https" / "index src_ip": what a message calls the object.
  std::string Describe() const;

  bool operator==(const ControlStatement&) const = default;
};

// One multilog's part of a program.
struct ProgramSection {
  std::string multilog;
  std::vector<ControlStatement> statements;
  int line = 0;  // where the section starts in its file
};

struct ControlProgram {
  std::vector<ProgramSection> sections;
};

// Carries out `statement` on `multilog`: the one switch over the kinds.
// Errors are the Multilog's (a clear Status; nothing changed).
Status Apply(Multilog& multilog, const ControlStatement& statement);

// The multilog's current objects as add statements, in an order that Apply
// can replay (indexes, filters, aggregates, triggers).
std::vector<ControlStatement> CurrentStatements(const Multilog& multilog);

}  // namespace loupe

#endif  // LOUPE_MULTILOG_CONTROL_H_
