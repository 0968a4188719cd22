// The program format: ONE decoder of the TOML text that holds the initial
// indexes, filters, aggregates and triggers of named multilogs, into a
// loupe::ControlProgram (multilog/control.h) that loupe::Apply carries out.
// The agent's configuration decodes the program arrays of its [[multilog]]
// sections through DecodeProgramArrays below, a program file (the
// coordinator's, or `loupe-agent --check-program FILE`) through
// ParseProgram; the same text gives the same statements and the same
// `file:line: key` errors either way.
//
//   program   := section+
//   section   := "[[multilog]]" name indexes? filters? aggregates? triggers?
//   name      := name = "<multilog>"
//   indexes   := indexes = [ "<column>" | { column = "<column>",
//                                            bucket = N }, ... ]
//   filters   := filters = [ { name = "...", expression = "..." }, ... ]
//   aggregates:= aggregates = [ { name = "...", filter = "<filter>",
//                                 expression = "COUNT()" }, ... ]
//   triggers  := triggers = [ { name = "...", condition = "<aggregate> > 5",
//                               period = "1s" }, ... ]
//
// (config/README.md and config/programs/web.toml document it for users.)
// A section's statements are in apply order: its indexes, filters,
// aggregates, then triggers, each in the order written, each with the line
// of its array element.
//
// Validation checks each section against its multilog's schema and the
// objects the multilog already has: names are identifiers and unique,
// indexes name columns, expressions parse and bind, aggregates name a
// filter of the program or of the multilog, triggers an aggregate, and
// periods are in range -- what loupe::Apply would otherwise refuse halfway.
//
// Functions without shared state; thread-safe. Links neither DPDK nor the
// agent's service.
#ifndef LOUPE_AGENT_PROGRAM_FILE_H_
#define LOUPE_AGENT_PROGRAM_FILE_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/environment.h"
#include "multilog/control.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe::agent {

class ErrorReport;  // agent/toml_reader.h
class TableReader;

// --- Names ------------------------------------------------------------------

// Names of multilogs, filters, aggregates, triggers (and the agent's
// ports): [A-Za-z_][A-Za-z0-9_-]*, at most kMaxNameBytes.
inline constexpr size_t kMaxNameBytes = 64;
Status CheckName(std::string_view name);

struct NameAndLine {
  std::string_view name;
  int line = 0;
};
// Each of `items` (the elements of the array `key`) is a valid name, unique
// among them: errors at "<key>[i].name", "<kind> \"x\" is already defined
// (line N)".
void CheckNames(const std::string& key, std::string_view kind,
                const std::vector<NameAndLine>& items, ErrorReport& report);

// --- Schemas ----------------------------------------------------------------

// The schema name that selects PacketSchema().
inline constexpr std::string_view kPacketSchemaName = "packet";
// PacketSchema() for "packet", else Schema::Parse(schema).
Result<Schema> ResolveSchema(std::string_view schema);

// --- Decoding ---------------------------------------------------------------

// Reads the keys indexes, filters, aggregates and triggers of `table` (a
// [[multilog]] table, of a program or of the agent's configuration) into
// section->statements. Reports what does not fit; the element of an array
// that cannot be read still takes its place (as a statement of its kind),
// so that the indices in messages stay those of the file.
void DecodeProgramArrays(TableReader& table, ProgramSection* section);

// --- Validation -------------------------------------------------------------

// What a section is checked against.
struct ProgramTarget {
  Schema schema;
  // The multilog's current objects (loupe::CurrentStatements); empty for a
  // multilog that does not exist yet.
  std::vector<ControlStatement> existing;
  // When set, who owns each existing object (its program's name, or empty
  // for an object added one by one through Control), for the messages of
  // names already taken.
  std::function<std::string(ControlKind, const std::string&)> owner_of;
};

// Checks `section` (the element `key` of the program, e.g. "multilog[0]")
// against `target`, reporting each error at its statement's key
// ("multilog[0].filters[1].expression"). Removals are checked for a name.
void ValidateSection(const ProgramSection& section, const std::string& key,
                     const ProgramTarget& target, ErrorReport& report);

// The target of a section's multilog; an error (e.g. "no multilog named
// ...") is reported at the section's name.
using TargetLookup =
    std::function<Result<ProgramTarget>(const std::string& multilog)>;
// Every multilog is a new one with `schema`.
TargetLookup SameSchemaForAll(Schema schema);

// --- Program files ----------------------------------------------------------

// Decodes and validates a program; `source` names it in messages. On error
// kInvalidArgument with every error found, one a line.
Result<ControlProgram> ParseProgram(
    std::string_view text, const std::string& source,
    const TargetLookup& targets, const EnvLookup& env = ProcessEnvironment());
// The same for a file (named as given); kNotFound/kIoError when it cannot
// be read.
Result<ControlProgram> LoadProgram(const std::string& path,
                                   const TargetLookup& targets,
                                   const EnvLookup& env = ProcessEnvironment());

// --- Summaries --------------------------------------------------------------

struct ProgramCounts {
  size_t multilogs = 0;
  size_t indexes = 0;
  size_t filters = 0;
  size_t aggregates = 0;
  size_t triggers = 0;
};
ProgramCounts CountSection(const ProgramSection& section);
ProgramCounts CountProgram(const ControlProgram& program);
// "2 multilogs, 3 indexes, 5 filters, 3 aggregates, 1 trigger".
std::string Summarize(const ProgramCounts& counts);

// The statements of `section` of one kind, in order.
std::vector<ControlStatement> StatementsOf(const ProgramSection& section,
                                           ControlKind kind);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_PROGRAM_FILE_H_
