// Fuzz target for coordinator program files (coordinator/program_plan.h).
// Each input is used as a whole program text and, so that the driver's
// seeds (expressions and selectors, not TOML) reach past the TOML parser,
// also spliced into templates: as an `on` selector, as a filter
// expression, and as lines between two sections. For every text:
//   1. ParseProgramPlan answers: a plan, or kInvalidArgument whose every
//      line starts with "fuzz.toml:";
//   2. a plan's sections are in order and tile the text: each starts where
//      its header is and ends before the next;
//   3. AssignPlan over four agents answers likewise; every text it gives an
//      agent has exactly the input's lines, is TOML again, and has as many
//      [[multilog]] sections as the agent was assigned, none with `on`.
// Nothing may crash, hang or trip a sanitizer; a broken invariant aborts.
//
// Built with GCC and tests/fuzz/fuzz_driver.cc (a bounded, deterministic
// campaign in the stress suite). Not built for libFuzzer: the program
// decoder pulls in most of the multilog, which the clang build of
// tests/meson.build compiles file by file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/toml_reader.h"
#include "coordinator/program_plan.h"

namespace loupe::coordinator {
namespace {

void Require(bool condition, const char* what, std::string_view input) {
  if (condition) return;
  std::fprintf(stderr,
               "program_plan_fuzz: invariant broken: %s\ninput (%zu bytes): "
               "%.*s\n",
               what, input.size(),
               static_cast<int>(std::min<size_t>(input.size(), 512)),
               input.data());
  std::abort();
}

const std::vector<AgentEntry>& Agents() {
  static const std::vector<AgentEntry> agents = [] {
    std::vector<AgentEntry> out;
    for (int i = 0; i < 4; ++i) {
      AgentEntry e;
      e.name = "hv" + std::to_string(i + 1);
      e.address = "127.0.0.1:" + std::to_string(7000 + i);
      e.labels = {{"rack", i < 2 ? "r1" : "r2"}};
      out.push_back(e);
    }
    return out;
  }();
  return agents;
}

size_t Lines(std::string_view text) {
  size_t n = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  return n + (!text.empty() && text.back() != '\n');
}

void CheckText(const std::string& text) {
  Result<ProgramPlan> plan = ParseProgramPlan(text, "fuzz.toml");
  if (!plan.ok()) {
    Require(plan.status().code() == Status::Code::kInvalidArgument,
            "errors are INVALID_ARGUMENT", text);
    Require(plan.status().message().starts_with("fuzz.toml"),
            "errors name the source", text);
    return;
  }
  const int lines = static_cast<int>(Lines(text));
  Require(!plan->sections.empty(), "a plan has sections", text);
  for (size_t i = 0; i < plan->sections.size(); ++i) {
    const PlanSection& s = plan->sections[i];
    Require(s.first_line == s.line && s.line >= 1, "starts at its header",
            text);
    Require(s.last_line >= s.first_line && s.last_line <= lines,
            "ends inside the text", text);
    if (i + 1 < plan->sections.size()) {
      Require(plan->sections[i + 1].first_line == s.last_line + 1,
              "sections tile the text", text);
    } else {
      Require(s.last_line == lines, "the last ends the text", text);
    }
    Require(s.on_line == 0 ||
                (s.on_line > s.first_line && s.on_line <= s.last_line),
            "`on` is inside its section", text);
  }
  Result<std::vector<AgentProgram>> assigned = AssignPlan(*plan, Agents());
  if (!assigned.ok()) {
    Require(assigned.status().message().starts_with("fuzz.toml"),
            "assign errors name the source", text);
    return;
  }
  for (const AgentProgram& a : *assigned) {
    Require(std::count(a.text.begin(), a.text.end(), '\n') ==
                std::count(text.begin(), text.end(), '\n'),
            "an agent's text keeps every line", text);
    Result<toml::table> root = agent::ParseToml(a.text, "agent.toml");
    Require(root.ok(), "an agent's text is TOML", text);
    const toml::array* sections = (*root)["multilog"].as_array();
    Require(sections != nullptr && sections->size() == a.sections.size(),
            "an agent gets exactly its sections", text);
    for (const toml::node& n : *sections) {
      Require(n.is_table() && !n.as_table()->contains("on"),
              "no `on` reaches an agent", text);
    }
  }
}

void Check(std::string_view input) {
  const std::string in(input.substr(0, 4096));
  CheckText(in);
  std::string escaped;
  for (char c : in.substr(0, 256)) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (c != '\n' && c != '\r') escaped += c;
  }
  CheckText("[[multilog]]\nname = \"flows\"\non = \"" + escaped +
            "\"\nindexes = [\"port\"]\n[[multilog]]\nname = \"b\"\n");
  CheckText(
      "[[multilog]]\nname = \"flows\"\non = \"rack=r2\"\nfilters = [{ "
      "name = \"f\", expression = \"" +
      escaped + "\" }]\n[[multilog]]\nname = \"b\"\non = \"host=hv1\"\n");
  CheckText("# head\n[[multilog]]\nname = \"flows\"\n" + in +
            "\n[[multilog]]\nname = \"two\"\non = \"rack=r1\"\n");
}

}  // namespace
}  // namespace loupe::coordinator

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loupe::coordinator::Check(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
