#include "coordinator/installed_program_text.h"

#include <toml++/toml.h>

#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

namespace loupe::coordinator {
namespace {

struct Section {
  std::string multilog;
  toml::array indexes, filters, aggregates, triggers;
};

}  // namespace

std::string InstalledProgramText(const v1::ProgramInfo& program) {
  std::vector<Section> sections;
  // A section may have no statements: its multilog is still listed.
  for (const std::string& multilog : program.multilogs()) {
    sections.emplace_back().multilog = multilog;
  }
  for (const v1::ProgramChange& object : program.objects()) {
    Section* section = nullptr;
    for (Section& s : sections) {
      if (s.multilog == object.multilog()) section = &s;
    }
    if (section == nullptr) {
      section = &sections.emplace_back();
      section->multilog = object.multilog();
    }
    const v1::ControlStatement& st = object.statement();
    switch (st.kind()) {
      case v1::CONTROL_KIND_INDEX:
        if (st.bucket() > 1) {
          section->indexes.push_back(
              toml::table{{"column", st.name()},
                          {"bucket", static_cast<int64_t>(st.bucket())}});
        } else {
          section->indexes.push_back(st.name());
        }
        break;
      case v1::CONTROL_KIND_FILTER:
        section->filters.push_back(
            toml::table{{"name", st.name()}, {"expression", st.expression()}});
        break;
      case v1::CONTROL_KIND_AGGREGATE:
        section->aggregates.push_back(toml::table{
            {"name", st.name()},
            {"filter", st.filter()},
            {"expression", st.expression()},
        });
        break;
      case v1::CONTROL_KIND_TRIGGER:
        section->triggers.push_back(toml::table{
            {"name", st.name()},
            {"condition", st.expression()},
            {"period",
             std::to_string(st.period_ms() == 0 ? 1000 : st.period_ms()) +
                 "ms"},
        });
        break;
      default:
        break;
    }
  }
  toml::array multilogs;
  for (Section& s : sections) {
    toml::table t{{"name", s.multilog}};
    // Inline tables in arrays, as a person writes them.
    for (auto* array : {&s.indexes, &s.filters, &s.aggregates, &s.triggers}) {
      for (toml::node& element : *array) {
        if (toml::table* table = element.as_table()) table->is_inline(true);
      }
    }
    if (!s.indexes.empty()) t.insert("indexes", std::move(s.indexes));
    if (!s.filters.empty()) t.insert("filters", std::move(s.filters));
    if (!s.aggregates.empty()) t.insert("aggregates", std::move(s.aggregates));
    if (!s.triggers.empty()) t.insert("triggers", std::move(s.triggers));
    multilogs.push_back(std::move(t));
  }
  toml::table root{{"multilog", std::move(multilogs)}};
  std::ostringstream out;
  out << toml::toml_formatter(root);
  return out.str() + "\n";
}

}  // namespace loupe::coordinator
