#include "coordinator/program_plan.h"

#include <utility>

#include "agent/program_file.h"
#include "agent/toml_reader.h"
#include "multilog/ascii.h"
#include "multilog/control.h"
#include "multilog/units.h"

namespace loupe::coordinator {
namespace {

using agent::ElementKey;
using agent::ErrorReport;
using agent::TableReader;
using agent::ValueReader;

// What one [[multilog]] table decodes to: the agent's section (for its
// checks) and the coordinator's additions.
struct DecodedSection {
  int line = 0;
  ProgramSection section;
  std::string on;
  bool on_given = false;
  int on_line = 0;
  bool inline_table = false;
};

// Each line of `text` with its end of line.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
    out.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

// The end of line `line` keeps its '\n' (and '\r') so the text stays TOML.
std::string_view EndOfLine(std::string_view line) {
  size_t n = line.size();
  if (n > 0 && line[n - 1] == '\n') --n;
  if (n > 0 && line[n - 1] == '\r') --n;
  return line.substr(n);
}

// An `on = "network"` section: triggers only, each condition parsed and
// its period in range.
void CheckNetworkSection(const DecodedSection& d, const std::string& key,
                         PlanSection* p, ErrorReport& report) {
  size_t trigger = 0;
  for (const ControlStatement& st : d.section.statements) {
    if (st.kind != ControlKind::kTrigger) {
      report.Check(key + "." + std::string(kOnKey),
                   "a section on \"network\" holds only triggers (it has " +
                       st.Describe() +
                       "): the coordinator evaluates them over the agents' "
                       "merged aggregates; give the agents their indexes, "
                       "filters and aggregates in another section");
      return;
    }
    const std::string tkey = ElementKey(key + ".triggers", trigger++);
    NetworkTriggerSpec t;
    t.multilog = d.section.multilog;
    t.name = st.name;
    t.condition = st.expression;
    t.period = st.period;
    t.line = st.line;
    Result<TriggerSpec> spec = ParseTrigger(st.expression);
    if (!spec.ok()) {
      report.Check(tkey + ".condition", spec.status().message());
      continue;
    }
    t.spec = std::move(*spec);
    if (st.period < kMinNetworkTriggerPeriod ||
        st.period > kMaxNetworkTriggerPeriod) {
      report.Check(tkey + ".period",
                   "a network trigger's period is 100ms to 1h (each period "
                   "takes a fleet snapshot), got " +
                       FormatDuration(st.period));
      continue;
    }
    p->triggers.push_back(std::move(t));
  }
  if (trigger == 0) {
    report.Check(key + "." + std::string(kOnKey),
                 "a section on \"network\" needs triggers");
  }
}

}  // namespace

Result<ProgramPlan> ParseProgramPlan(std::string_view text,
                                     const std::string& source) {
  if (text.size() > kMaxPlanTextBytes) {
    return Status::InvalidArgument(
        source + ": the program is " + std::to_string(text.size()) +
        " bytes; at most " + std::to_string(kMaxPlanTextBytes));
  }
  Result<toml::table> root = agent::ParseToml(text, source);
  if (!root.ok()) return root.status();
  ErrorReport report;
  // ${NAME} in the agents' keys is expanded by each agent, in its own
  // environment; here any NAME stands for a placeholder.
  const agent::EnvLookup agents_expand = [](const std::string&) {
    return std::optional<std::string>("x");
  };
  ValueReader reader(report, agents_expand);
  std::vector<DecodedSection> decoded;
  TableReader top(reader, *root, "");
  top.Tables("multilog", &decoded,
             [](ValueReader& r, const toml::table& table,
                const std::string& path, DecodedSection* d) {
               d->inline_table = table.is_inline();
               TableReader t(r, table, path);
               t.String("name", &d->section.multilog);
               if (const toml::node* on = t.Get(kOnKey)) {
                 d->on_given = true;
                 d->on_line = agent::LineOf(*on);
                 const std::string key = t.Key(kOnKey);
                 // Taken as written: a selector has no ${NAME}.
                 if (!on->is_string()) {
                   r.String(*on, key, &d->on);  // reports what it is
                 } else if (d->on = on->as_string()->get();
                            on->source().end.line != on->source().begin.line) {
                   r.report().Check(key,
                                    "write the selector on one line, as "
                                    "on = \"rack=r2\"");
                 }
               }
               agent::DecodeProgramArrays(t, &d->section);
               t.RejectUnknown();
             });
  top.RejectUnknown();
  if (decoded.empty() && report.empty()) {
    report.Check("multilog",
                 "no [[multilog]] sections; a program gives, for each "
                 "multilog it programs, a [[multilog]] with its name, an "
                 "optional `on` host selector and its indexes, filters, "
                 "aggregates or triggers");
  }

  ProgramPlan plan;
  plan.source = source;
  plan.text = std::string(text);
  const int line_count = static_cast<int>(Lines(text).size());
  for (size_t i = 0; i < decoded.size(); ++i) {
    DecodedSection& d = decoded[i];
    const std::string key = ElementKey("multilog", i);
    if (d.inline_table) {
      report.Check(key,
                   "write each section as a [[multilog]] header, not an "
                   "inline table: the coordinator sends each agent the lines "
                   "of its sections");
    }
    if (Status s = agent::CheckName(d.section.multilog); !s.ok()) {
      report.Check(key + ".name", s.message());
    }
    PlanSection p;
    p.multilog = d.section.multilog;
    p.line = d.line;
    p.on_line = d.on_line;
    if (d.on_given && d.on == kOnNetwork) {
      p.network = true;
      CheckNetworkSection(d, key, &p, report);
    } else if (d.on_given) {
      Result<HostSelector> selector = HostSelector::Parse(d.on);
      if (selector.ok()) {
        p.on = std::move(*selector);
      } else {
        report.Check(key + "." + std::string(kOnKey),
                     selector.status().message());
      }
    }
    p.first_line = d.line;
    p.last_line = line_count;
    if (!plan.sections.empty()) plan.sections.back().last_line = d.line - 1;
    plan.sections.push_back(std::move(p));
  }
  if (!report.empty()) return report.ToStatus(source);
  return plan;
}

Result<std::vector<AgentProgram>> AssignPlan(
    const ProgramPlan& plan, const std::vector<AgentEntry>& agents) {
  ErrorReport report;
  std::vector<AgentProgram> per_agent(agents.size());
  for (size_t a = 0; a < agents.size(); ++a) per_agent[a].agent = a;
  for (size_t i = 0; i < plan.sections.size(); ++i) {
    const PlanSection& section = plan.sections[i];
    if (section.network) continue;  // the coordinator's own
    const std::string key = ElementKey("multilog", i);
    const std::string on_key = key + "." + std::string(kOnKey);
    report.SetLine(key, section.line);
    if (section.on_line > 0) report.SetLine(on_key, section.on_line);
    if (Status s = CheckSelectorLabels(section.on, agents); !s.ok()) {
      report.Check(on_key, s.message());
      continue;
    }
    size_t selected = 0;
    for (size_t a = 0; a < agents.size(); ++a) {
      if (!section.on.Matches(agents[a].name, agents[a].labels)) continue;
      ++selected;
      for (size_t j : per_agent[a].sections) {
        const PlanSection& other = plan.sections[j];
        if (other.multilog != section.multilog) continue;
        report.Check(on_key, "agent " + Quoted(agents[a].name) +
                                 " is selected by two sections of multilog " +
                                 Quoted(section.multilog) + " (lines " +
                                 std::to_string(other.line) + " and " +
                                 std::to_string(section.line) +
                                 "); merge them, or make their `on` selectors "
                                 "disjoint");
        break;
      }
      per_agent[a].sections.push_back(i);
    }
    if (selected == 0) {
      report.Check(on_key, "selects no agent (" +
                               std::to_string(agents.size()) +
                               " configured); check the selector " +
                               Quoted(section.on.text()));
    }
  }
  if (!report.empty()) return report.ToStatus(plan.source);
  std::vector<AgentProgram> out;
  for (AgentProgram& p : per_agent) {
    if (p.sections.empty()) continue;
    p.text = SectionsText(plan, p.sections);
    out.push_back(std::move(p));
  }
  return out;
}

std::string SectionsText(const ProgramPlan& plan,
                         const std::vector<size_t>& sections) {
  const std::vector<std::string_view> lines = Lines(plan.text);
  // Lines before the first section are kept (comments only: a program has
  // no top-level keys); every line of a section not chosen, and each `on`
  // line, becomes empty.
  std::vector<bool> keep(lines.size() + 1, true);
  for (size_t i = 0; i < plan.sections.size(); ++i) {
    const PlanSection& s = plan.sections[i];
    bool chosen = false;
    for (size_t j : sections) chosen = chosen || j == i;
    for (int l = s.first_line; l <= s.last_line; ++l) {
      if (l >= 1 && static_cast<size_t>(l) <= lines.size()) {
        keep[static_cast<size_t>(l)] = chosen && l != s.on_line;
      }
    }
  }
  std::string out;
  out.reserve(plan.text.size());
  for (size_t l = 1; l <= lines.size(); ++l) {
    out += keep[l] ? lines[l - 1] : EndOfLine(lines[l - 1]);
  }
  return out;
}

}  // namespace loupe::coordinator
