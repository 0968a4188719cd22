#include "coordinator/registrations.h"

#include <set>

#include "agent/host_port.h"
#include "multilog/atomic_file.h"
#include "multilog/line_fields.h"

namespace loupe::coordinator {
namespace {

constexpr std::string_view kHeader = "loupe-registered-agents 1";

Status AtLine(size_t line, const std::string& message) {
  return Status::InvalidArgument("line " + std::to_string(line) + ": " +
                                 message);
}

}  // namespace

std::string FormatRegistrations(const std::vector<Registration>& agents) {
  std::string out(kHeader);
  out += "\n";
  for (const Registration& r : agents) {
    out += "agent " + r.entry.name + " " + r.entry.address + " " +
           std::to_string(r.start_time_ns);
    for (const auto& [key, value] : r.entry.labels) {
      out += " " + key + "=" + value;
    }
    out += "\n";
  }
  return out;
}

Result<std::vector<Registration>> ParseRegistrations(std::string_view text) {
  std::vector<Registration> out;
  std::set<std::string, std::less<>> names;
  size_t line_no = 0;
  bool header = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return AtLine(line_no + 1, "the last line has no newline (cut short?)");
    }
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    if (!header) {
      if (line != kHeader) {
        return AtLine(line_no, "expected \"" + std::string(kHeader) + "\"");
      }
      header = true;
      continue;
    }
    const std::vector<std::string_view> w = SplitWords(line);
    if (w.size() < 4 || w[0] != "agent") {
      return AtLine(line_no,
                    "expected \"agent NAME ADDRESS START_TIME_NS "
                    "[KEY=VALUE ...]\"");
    }
    Registration r;
    r.entry.name = std::string(w[1]);
    if (Status s = CheckAgentName(w[1]); !s.ok()) {
      return AtLine(line_no, s.message());
    }
    if (!names.emplace(w[1]).second) {
      return AtLine(line_no, "agent " + r.entry.name + " is there twice");
    }
    if (Status s = CheckHostPort(w[2], false, "10.0.0.1:7070"); !s.ok()) {
      return AtLine(line_no, s.message());
    }
    r.entry.address = std::string(w[2]);
    if (!ParseDecimal(w[3], &r.start_time_ns)) {
      return AtLine(line_no, "START_TIME_NS is not a decimal number");
    }
    for (size_t i = 4; i < w.size(); ++i) {
      const size_t eq = w[i].find('=');
      if (eq == std::string_view::npos) {
        return AtLine(line_no, "expected KEY=VALUE, got \"" +
                                   std::string(w[i].substr(0, 80)) + "\"");
      }
      r.entry.labels[std::string(w[i].substr(0, eq))] =
          std::string(w[i].substr(eq + 1));
    }
    if (Status s = agent::CheckLabels(r.entry.labels); !s.ok()) {
      return AtLine(line_no, s.message());
    }
    out.push_back(std::move(r));
  }
  if (!header) return AtLine(1, "empty file");
  return out;
}

Result<std::vector<Registration>> LoadRegistrations(const std::string& path) {
  Result<std::string> text = ReadSmallFile(path, kMaxRegistrationsFileBytes);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      return std::vector<Registration>{};
    }
    return text.status();
  }
  Result<std::vector<Registration>> parsed = ParseRegistrations(*text);
  if (!parsed.ok()) {
    return Status::InvalidArgument(
        path + ": " + parsed.status().message() +
        " (it lists the agents that registered; fix it, or move it away and "
        "let them register again)");
  }
  return parsed;
}

}  // namespace loupe::coordinator
