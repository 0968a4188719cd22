#include "multilog/control.h"

#include <utility>

#include "multilog/multilog.h"

namespace loupe {

std::string_view ControlKindName(ControlKind kind) {
  switch (kind) {
    case ControlKind::kIndex:
      return "index";
    case ControlKind::kFilter:
      return "filter";
    case ControlKind::kAggregate:
      return "aggregate";
    case ControlKind::kTrigger:
      return "trigger";
  }
  return "?";
}

std::optional<ControlKind> ParseControlKind(std::string_view name) {
  for (ControlKind kind : kAllControlKinds) {
    if (ControlKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

std::string_view ControlVerbName(ControlVerb verb) {
  return verb == ControlVerb::kAdd ? "add" : "remove";
}

ControlStatement ControlStatement::AddIndex(std::string column,
                                            uint64_t bucket) {
  ControlStatement s;
  s.kind = ControlKind::kIndex;
  s.name = std::move(column);
  s.bucket = bucket;
  return s;
}

ControlStatement ControlStatement::AddFilter(std::string name,
                                             std::string expression) {
  ControlStatement s;
  s.kind = ControlKind::kFilter;
  s.name = std::move(name);
  s.expression = std::move(expression);
  return s;
}

ControlStatement ControlStatement::AddAggregate(std::string name,
                                                std::string filter,
                                                std::string expression) {
  ControlStatement s;
  s.kind = ControlKind::kAggregate;
  s.name = std::move(name);
  s.filter = std::move(filter);
  s.expression = std::move(expression);
  return s;
}

ControlStatement ControlStatement::AddTrigger(std::string name,
                                              std::string condition,
                                              std::chrono::nanoseconds period) {
  ControlStatement s;
  s.kind = ControlKind::kTrigger;
  s.name = std::move(name);
  s.expression = std::move(condition);
  s.period = period;
  return s;
}

ControlStatement ControlStatement::Remove(ControlKind kind, std::string name) {
  ControlStatement s;
  s.verb = ControlVerb::kRemove;
  s.kind = kind;
  s.name = std::move(name);
  return s;
}

std::string ControlStatement::Describe() const {
  return std::string(ControlKindName(kind)) + " " + name;
}

Status Apply(Multilog& multilog, const ControlStatement& s) {
  const bool add = s.verb == ControlVerb::kAdd;
  switch (s.kind) {
    case ControlKind::kIndex:
      return add ? multilog.AddIndex({s.name, s.bucket})
                 : multilog.RemoveIndex(s.name);
    case ControlKind::kFilter:
      return add ? multilog.AddFilter(s.name, s.expression)
                 : multilog.RemoveFilter(s.name);
    case ControlKind::kAggregate:
      return add ? multilog.AddAggregate(s.name, s.filter, s.expression)
                 : multilog.RemoveAggregate(s.name);
    case ControlKind::kTrigger: {
      TriggerOptions options;
      options.period = s.period;
      return add ? multilog.AddTrigger(s.name, s.expression, options)
                 : multilog.RemoveTrigger(s.name);
    }
  }
  return Status::InvalidArgument("unknown control statement kind");
}

std::vector<ControlStatement> CurrentStatements(const Multilog& multilog) {
  std::vector<ControlStatement> out;
  for (const IndexInfo& i : multilog.ListIndexes()) {
    out.push_back(ControlStatement::AddIndex(i.column, i.bucket));
  }
  for (const FilterInfo& f : multilog.ListFilters()) {
    out.push_back(ControlStatement::AddFilter(f.name, f.expression));
  }
  for (const AggregateInfo& a : multilog.ListAggregates()) {
    out.push_back(
        ControlStatement::AddAggregate(a.name, a.filter, a.expression));
  }
  for (const TriggerInfo& t : multilog.ListTriggers()) {
    out.push_back(ControlStatement::AddTrigger(t.name, t.condition, t.period));
  }
  return out;
}

}  // namespace loupe
