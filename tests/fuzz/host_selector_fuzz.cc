// Fuzz target for host selectors (coordinator/host_selector.h). Each input
// is used three ways:
//   1. as a selector: Parse must answer (a selector or an error naming a
//      column inside the text, or the length bound); a parsed selector
//      parses again from its text, has at most kMaxSelectorTerms keys, and
//      matches a few names and labels without trouble;
//   2. as a value: names and label values made of the input are matched
//      against template selectors (ranges, padded ranges, lists, globs);
//   3. split at its first newline into a pattern and a value: a pattern of
//      only text and '*' must match exactly as fnmatch(3) does.
// Nothing may crash, hang or trip a sanitizer; a broken invariant aborts.
//
// Built twice: with GCC and tests/fuzz/fuzz_driver.cc (a bounded,
// deterministic campaign in the stress suite; its seeds are text, which
// reaches the parser's error paths and, through the templates, the
// matcher), and with clang++ -fsanitize=fuzzer by scripts/test.sh.
#include <fnmatch.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "coordinator/host_selector.h"
#include "multilog/status.h"

namespace loupe::coordinator {
namespace {

void Require(bool condition, const char* what, std::string_view input) {
  if (condition) return;
  std::fprintf(stderr,
               "host_selector_fuzz: invariant broken: %s\ninput (%zu bytes): "
               "%.*s\n",
               what, input.size(),
               static_cast<int>(std::min<size_t>(input.size(), 512)),
               input.data());
  std::abort();
}

constexpr std::string_view kTemplates[] = {
    "host=hv[1-8],rack=r2", "host=hv[01-16]",    "host=hv[1,3,5-7].dc[1-2]",
    "host=*[0-9]*",         "rack=*,host=*a*b*", "host=[0-999999999][0-9]",
};

bool TextOrStar(std::string_view pattern) {
  if (pattern.empty()) return false;
  for (char c : pattern) {
    const bool text = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                      c == ':' || c == '/' || c == '-' || c == '*';
    if (!text) return false;
  }
  return true;
}

void Check(std::string_view input) {
  // 1. As a selector.
  Result<HostSelector> parsed = HostSelector::Parse(input);
  if (parsed.ok()) {
    Require(parsed->text() == input, "text() is the input", input);
    Require(parsed->keys().size() <= kMaxSelectorTerms, "term bound", input);
    Require(parsed->all() == parsed->keys().empty(), "all() iff no terms",
            input);
    Result<HostSelector> again = HostSelector::Parse(parsed->text());
    Require(again.ok(), "a selector's text parses again", input);
    const Labels labels{{"rack", "r2"}, {"zone", "eu-1"}};
    for (std::string_view name : {"hv1", "hv01", "", "hv3.dc1", "x"}) {
      Require(parsed->Matches(name, labels) == again->Matches(name, labels),
              "the same text matches the same", input);
    }
  } else {
    Require(parsed.status().code() == Status::Code::kInvalidArgument,
            "errors are INVALID_ARGUMENT", input);
    const std::string& m = parsed.status().message();
    if (m.starts_with("selector column ")) {
      const size_t column = std::strtoul(m.c_str() + 16, nullptr, 10);
      Require(column >= 1 && column <= input.size() + 1,
              "the column is inside the text", input);
    } else {
      Require(input.size() > kMaxSelectorBytes,
              "an error without a column is the length bound", input);
    }
  }

  // 2. As a value, against the templates.
  const std::string value(input.substr(0, 300));
  for (std::string_view t : kTemplates) {
    Result<HostSelector> s = HostSelector::Parse(t);
    Require(s.ok(), "templates parse", t);
    (void)s->Matches(value, Labels{{"rack", value}});
  }

  // 3. Against fnmatch, for text-and-star patterns.
  const size_t newline = input.find('\n');
  if (newline != std::string_view::npos && newline <= 200) {
    const std::string pattern(input.substr(0, newline));
    const std::string name(input.substr(newline + 1, 200));
    if (TextOrStar(pattern) && name.find('\0') == std::string::npos) {
      Result<HostSelector> s = HostSelector::Parse("host=" + pattern);
      Require(s.ok(), "text-and-star patterns parse", input);
      const bool expected = fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
      Require(s->Matches(name, {}) == expected, "globs agree with fnmatch",
              input);
    }
  }
}

}  // namespace
}  // namespace loupe::coordinator

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loupe::coordinator::Check(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
