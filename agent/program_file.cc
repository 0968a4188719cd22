#include "agent/program_file.h"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "agent/toml_reader.h"
#include "multilog/did_you_mean.h"
#include "multilog/expression.h"
#include "multilog/filter_program.h"
#include "multilog/index_log.h"
#include "multilog/packet_schema.h"

namespace loupe::agent {
namespace {

// Multilog's limit (multilog.cc); checked here so the file gets the line.
constexpr size_t kMaxAggregatesPerFilter = 64;

constexpr size_t kKinds = std::size(kAllControlKinds);

size_t KindIndex(ControlKind kind) { return static_cast<size_t>(kind); }

// The key of a kind's array in a [[multilog]] table.
std::string_view ArrayKey(ControlKind kind) {
  switch (kind) {
    case ControlKind::kIndex:
      return "indexes";
    case ControlKind::kFilter:
      return "filters";
    case ControlKind::kAggregate:
      return "aggregates";
    case ControlKind::kTrigger:
      return "triggers";
  }
  return "?";
}

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void DecodeIndexes(ValueReader& reader, const toml::node& node,
                   const std::string& path,
                   std::vector<ControlStatement>* out) {
  const toml::array* array = reader.Array(node, path);
  if (array == nullptr) return;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = (*array)[i];
    const std::string key = ElementKey(path, i);
    ControlStatement index = ControlStatement::AddIndex("");
    index.line = LineOf(element);
    reader.report().SetLine(key, index.line);
    if (element.is_string()) {
      if (!reader.String(element, key, &index.name)) {
        reader.report().Suppress(key);
      }
    } else if (element.is_table()) {
      TableReader t(reader, *element.as_table(), key);
      if (t.Get("column") == nullptr) {
        reader.report().Bad(index.line, key,
                            "an index needs a column: {column = \"...\"}");
      } else if (!t.String("column", &index.name)) {
        reader.report().Suppress(key);
      }
      t.Unsigned("bucket", &index.bucket);
      t.RejectUnknown();
    } else {
      reader.report().Bad(index.line, key,
                          "expected a column name or a table {column = "
                          "\"...\", bucket = N}, got " +
                              DescribeNode(element));
    }
    out->push_back(std::move(index));
  }
}

// The filters, aggregates or triggers array `key` of `table`.
void DecodeObjects(TableReader& table, ControlKind kind,
                   std::vector<ControlStatement>* out) {
  const std::string_view key = ArrayKey(kind);
  const toml::node* n = table.Get(key);
  if (n == nullptr) return;
  const std::string path = table.Key(key);
  const std::vector<const toml::table*> tables =
      table.reader().Tables(*n, path);
  for (size_t i = 0; i < tables.size(); ++i) {
    ControlStatement s;
    s.kind = kind;
    if (tables[i] != nullptr) {
      s.line = LineOf(*tables[i]);
      TableReader t(table.reader(), *tables[i], ElementKey(path, i));
      t.String("name", &s.name);
      switch (kind) {
        case ControlKind::kIndex:
          break;
        case ControlKind::kFilter:
          t.String("expression", &s.expression);
          break;
        case ControlKind::kAggregate:
          t.String("filter", &s.filter);
          t.String("expression", &s.expression);
          break;
        case ControlKind::kTrigger:
          t.String("condition", &s.expression);
          t.Duration("period", &s.period);
          break;
      }
      t.RejectUnknown();
    }
    out->push_back(std::move(s));
  }
}

std::vector<NameAndLine> NamesAndLines(
    const std::vector<const ControlStatement*>& items) {
  std::vector<NameAndLine> out;
  for (const ControlStatement* s : items) out.push_back({s->name, s->line});
  return out;
}

// The names of `kind` in the program's statements and the existing ones.
std::vector<std::string> Known(
    const std::vector<const ControlStatement*>& program,
    const ProgramTarget& target, ControlKind kind) {
  std::vector<std::string> out;
  for (const ControlStatement* s : program) out.push_back(s->name);
  for (const ControlStatement& s : target.existing) {
    if (s.kind == kind) out.push_back(s.name);
  }
  return out;
}

bool Exists(const ProgramTarget& target, ControlKind kind,
            std::string_view name) {
  return std::any_of(target.existing.begin(), target.existing.end(),
                     [&](const ControlStatement& s) {
                       return s.kind == kind && s.name == name;
                     });
}

// " (owned by program \"p\")" when the target knows owners.
std::string OwnedBy(const ProgramTarget& target, ControlKind kind,
                    const std::string& name) {
  if (!target.owner_of) return "";
  const std::string owner = target.owner_of(kind, name);
  if (owner.empty()) return " (added one by one through Control)";
  return " (owned by program " + Quoted(owner) + ")";
}

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace

// --- Names ------------------------------------------------------------------

Status CheckName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("is missing or empty");
  if (name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("name " + Quoted(name) + " is longer than " +
                                   std::to_string(kMaxNameBytes) + " bytes");
  }
  bool ok = IsIdentStart(name[0]);
  for (char c : name) ok = ok && (IsIdentStart(c) || IsDigit(c) || c == '-');
  if (!ok) {
    return Status::InvalidArgument(
        "name " + Quoted(name) +
        " is not an identifier; use letters, digits, '_' and '-', starting "
        "with a letter or '_'");
  }
  return Status::Ok();
}

void CheckNames(const std::string& key, std::string_view kind,
                const std::vector<NameAndLine>& items, ErrorReport& report) {
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string name_key = ElementKey(key, i) + ".name";
    if (Status s = CheckName(items[i].name); !s.ok()) {
      report.Check(name_key, s.message());
      continue;
    }
    for (size_t j = 0; j < i; ++j) {
      if (items[j].name == items[i].name) {
        report.Check(name_key, std::string(kind) + " " + Quoted(items[i].name) +
                                   " is already defined" +
                                   AtLine(items[j].line));
        break;
      }
    }
  }
}

// --- Schemas ----------------------------------------------------------------

Result<Schema> ResolveSchema(std::string_view schema) {
  if (schema == kPacketSchemaName) return PacketSchema();
  return Schema::Parse(schema);
}

// --- Decoding ---------------------------------------------------------------

void DecodeProgramArrays(TableReader& table, ProgramSection* section) {
  if (const toml::node* n = table.Get("indexes")) {
    DecodeIndexes(table.reader(), *n, table.Key("indexes"),
                  &section->statements);
  }
  DecodeObjects(table, ControlKind::kFilter, &section->statements);
  DecodeObjects(table, ControlKind::kAggregate, &section->statements);
  DecodeObjects(table, ControlKind::kTrigger, &section->statements);
}

// --- Validation -------------------------------------------------------------

void ValidateSection(const ProgramSection& section, const std::string& key,
                     const ProgramTarget& target, ErrorReport& r) {
  const Schema& schema = target.schema;
  const std::string in_multilog = " in multilog " + Quoted(section.multilog);
  // The adds of each kind, in order: element i of the kind's array.
  std::vector<const ControlStatement*> of[kKinds];
  for (size_t i = 0; i < section.statements.size(); ++i) {
    const ControlStatement& s = section.statements[i];
    if (s.verb == ControlVerb::kAdd) {
      of[KindIndex(s.kind)].push_back(&s);
    } else {
      r.Check(key, "a program only adds; " + s.Describe() +
                       " is a removal, which is sent as a control statement");
    }
  }
  auto element = [&](ControlKind kind, size_t i) {
    return ElementKey(key + "." + std::string(ArrayKey(kind)), i);
  };
  auto check_new = [&](ControlKind kind, size_t i, const std::string& at) {
    const ControlStatement& s = *of[KindIndex(kind)][i];
    if (!s.name.empty() && Exists(target, kind, s.name)) {
      r.Check(at, std::string(ControlKindName(kind)) + " " + Quoted(s.name) +
                      " already exists" + in_multilog +
                      OwnedBy(target, kind, s.name));
    }
  };

  const auto& indexes = of[KindIndex(ControlKind::kIndex)];
  for (size_t i = 0; i < indexes.size(); ++i) {
    const ControlStatement& index = *indexes[i];
    const std::string at = element(ControlKind::kIndex, i);
    Result<std::unique_ptr<IndexLog>> log =
        IndexLog::Create(schema, IndexSpec{index.name, index.bucket}, 0);
    if (!log.ok()) r.Check(at, log.status().message());
    bool twice = false;
    for (size_t j = 0; j < i && !twice; ++j) {
      if (indexes[j]->name == index.name) {
        r.Check(at, "column " + Quoted(index.name) + " is already indexed" +
                        AtLine(indexes[j]->line));
        twice = true;
      }
    }
    if (!twice && Exists(target, ControlKind::kIndex, index.name)) {
      r.Check(at, "column " + Quoted(index.name) + " is already indexed" +
                      in_multilog +
                      OwnedBy(target, ControlKind::kIndex, index.name));
    }
  }

  const auto& filters = of[KindIndex(ControlKind::kFilter)];
  CheckNames(key + ".filters", "filter", NamesAndLines(filters), r);
  for (size_t i = 0; i < filters.size(); ++i) {
    const std::string at = element(ControlKind::kFilter, i);
    check_new(ControlKind::kFilter, i, at + ".name");
    Result<FilterProgram> program =
        FilterProgram::Compile(schema, filters[i]->expression);
    if (!program.ok()) r.Check(at + ".expression", program.status().message());
  }

  const auto& aggregates = of[KindIndex(ControlKind::kAggregate)];
  CheckNames(key + ".aggregates", "aggregate", NamesAndLines(aggregates), r);
  const std::vector<std::string> filter_names =
      Known(filters, target, ControlKind::kFilter);
  std::map<std::string, size_t> per_filter;
  for (const ControlStatement& s : target.existing) {
    if (s.kind == ControlKind::kAggregate) ++per_filter[s.filter];
  }
  for (size_t i = 0; i < aggregates.size(); ++i) {
    const ControlStatement& a = *aggregates[i];
    const std::string at = element(ControlKind::kAggregate, i);
    if (a.name.find('-') != std::string::npos) {
      r.Check(at + ".name",
              "aggregate names cannot contain '-' (triggers name them in "
              "expressions); use '_'");
    }
    check_new(ControlKind::kAggregate, i, at + ".name");
    if (std::find(filter_names.begin(), filter_names.end(), a.filter) ==
        filter_names.end()) {
      r.Check(at + ".filter", "no filter named " + Quoted(a.filter) +
                                  in_multilog +
                                  DidYouMean(a.filter, filter_names) +
                                  " (filters: " + NameList(filter_names) + ")");
    } else if (++per_filter[a.filter] == kMaxAggregatesPerFilter + 1) {
      r.Check(at + ".filter", "filter " + Quoted(a.filter) + " already has " +
                                  std::to_string(kMaxAggregatesPerFilter) +
                                  " aggregates, the most a filter can have");
    }
    Result<AggregateSpec> spec = ParseAggregate(schema, a.expression);
    if (!spec.ok()) r.Check(at + ".expression", spec.status().message());
  }

  const auto& triggers = of[KindIndex(ControlKind::kTrigger)];
  CheckNames(key + ".triggers", "trigger", NamesAndLines(triggers), r);
  const std::vector<std::string> aggregate_names =
      Known(aggregates, target, ControlKind::kAggregate);
  for (size_t i = 0; i < triggers.size(); ++i) {
    const ControlStatement& t = *triggers[i];
    const std::string at = element(ControlKind::kTrigger, i);
    check_new(ControlKind::kTrigger, i, at + ".name");
    Result<TriggerSpec> spec = ParseTrigger(t.expression);
    if (!spec.ok()) {
      r.Check(at + ".condition", spec.status().message());
    } else if (std::find(aggregate_names.begin(), aggregate_names.end(),
                         spec->aggregate) == aggregate_names.end()) {
      r.Check(at + ".condition",
              "no aggregate named " + Quoted(spec->aggregate) + in_multilog +
                  DidYouMean(spec->aggregate, aggregate_names) +
                  " (aggregates: " + NameList(aggregate_names) + ")");
    }
    if (t.period < std::chrono::milliseconds(1) ||
        t.period > std::chrono::hours(1)) {
      r.Check(at + ".period", "must be from 1ms to 1h, got " +
                                  std::to_string(t.period.count()) + "ns");
    }
  }
}

TargetLookup SameSchemaForAll(Schema schema) {
  return [schema =
              std::move(schema)](const std::string&) -> Result<ProgramTarget> {
    return ProgramTarget{schema, {}, nullptr};
  };
}

// --- Program files ----------------------------------------------------------

Result<ControlProgram> ParseProgram(std::string_view text,
                                    const std::string& source,
                                    const TargetLookup& targets,
                                    const EnvLookup& env) {
  Result<toml::table> root = ParseToml(text, source);
  if (!root.ok()) return root.status();
  ErrorReport report;
  ValueReader reader(report, env);
  ControlProgram program;
  TableReader top(reader, *root, "");
  top.Tables("multilog", &program.sections,
             [](ValueReader& r, const toml::table& table,
                const std::string& path, ProgramSection* section) {
               TableReader t(r, table, path);
               t.String("name", &section->multilog);
               DecodeProgramArrays(t, section);
               t.RejectUnknown();
             });
  top.RejectUnknown();
  if (program.sections.empty() && report.empty()) {
    report.Check("multilog",
                 "no [[multilog]] sections; a program gives, for each "
                 "multilog it programs, a [[multilog]] with its name and "
                 "indexes, filters, aggregates or triggers");
  }

  std::vector<NameAndLine> names;
  for (const ProgramSection& s : program.sections) {
    names.push_back({s.multilog, s.line});
  }
  CheckNames("multilog", "multilog", names, report);
  for (size_t i = 0; i < program.sections.size(); ++i) {
    const ProgramSection& section = program.sections[i];
    const std::string key = ElementKey("multilog", i);
    if (!CheckName(section.multilog).ok()) continue;
    Result<ProgramTarget> target = targets(section.multilog);
    if (!target.ok()) {
      report.Check(key + ".name", target.status().message());
      continue;
    }
    ValidateSection(section, key, *target, report);
  }
  if (!report.empty()) return report.ToStatus(source);
  return program;
}

Result<ControlProgram> LoadProgram(const std::string& path,
                                   const TargetLookup& targets,
                                   const EnvLookup& env) {
  Result<std::string> text = ReadTomlFile(path, "program");
  if (!text.ok()) return text.status();
  return ParseProgram(*text, path, targets, env);
}

// --- Summaries --------------------------------------------------------------

ProgramCounts CountSection(const ProgramSection& section) {
  ProgramCounts n;
  n.multilogs = 1;
  for (const ControlStatement& s : section.statements) {
    switch (s.kind) {
      case ControlKind::kIndex:
        ++n.indexes;
        break;
      case ControlKind::kFilter:
        ++n.filters;
        break;
      case ControlKind::kAggregate:
        ++n.aggregates;
        break;
      case ControlKind::kTrigger:
        ++n.triggers;
        break;
    }
  }
  return n;
}

ProgramCounts CountProgram(const ControlProgram& program) {
  ProgramCounts total;
  for (const ProgramSection& section : program.sections) {
    const ProgramCounts n = CountSection(section);
    total.multilogs += n.multilogs;
    total.indexes += n.indexes;
    total.filters += n.filters;
    total.aggregates += n.aggregates;
    total.triggers += n.triggers;
  }
  return total;
}

std::string Summarize(const ProgramCounts& n) {
  return Plural(n.multilogs, "multilog", "multilogs") + ", " +
         Plural(n.indexes, "index", "indexes") + ", " +
         Plural(n.filters, "filter", "filters") + ", " +
         Plural(n.aggregates, "aggregate", "aggregates") + ", " +
         Plural(n.triggers, "trigger", "triggers");
}

std::vector<ControlStatement> StatementsOf(const ProgramSection& section,
                                           ControlKind kind) {
  std::vector<ControlStatement> out;
  for (const ControlStatement& s : section.statements) {
    if (s.kind == kind) out.push_back(s);
  }
  return out;
}

}  // namespace loupe::agent
