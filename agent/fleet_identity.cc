#include "agent/fleet_identity.h"

#include <algorithm>

#include "agent/toml_reader.h"
#include "multilog/ascii.h"

namespace loupe::agent {
namespace {

bool IsLabelKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxLabelKeyBytes) return false;
  auto letter = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  };
  if (!letter(key[0])) return false;
  return std::all_of(key.begin(), key.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9');
  });
}

// Label values are what a selector's text can match.
bool IsLabelValue(std::string_view value) {
  if (value.empty() || value.size() > kMaxLabelValueBytes) return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
           c == '/' || c == '-';
  });
}

std::string TooManyLabels(size_t n) {
  return std::to_string(n) + " labels; an agent has at most " +
         std::to_string(kMaxLabels);
}

// Quoted, and cut: a hostile 100 KB value is not echoed whole.
std::string Shown(std::string_view text) {
  constexpr size_t kShown = 80;
  if (text.size() <= kShown) return Quoted(text);
  return Quoted(text.substr(0, kShown)) + "... (" +
         std::to_string(text.size()) + " bytes)";
}

}  // namespace

Status CheckAgentName(std::string_view name) {
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
  if (name.empty() || name.size() > kMaxAgentNameBytes || !chars_ok) {
    return Status::InvalidArgument(
        "names are 1 to " + std::to_string(kMaxAgentNameBytes) +
        " letters, digits and _ . -, got " + Shown(name));
  }
  return Status::Ok();
}

Status CheckLabel(std::string_view key, std::string_view value) {
  if (key == kHostKey) {
    return Status::InvalidArgument(
        "is reserved: selectors match host= against the agent's name");
  }
  if (!IsLabelKey(key)) {
    return Status::InvalidArgument(
        "label names are [A-Za-z_][A-Za-z0-9_]*, at most " +
        std::to_string(kMaxLabelKeyBytes) + " characters");
  }
  if (!IsLabelValue(value)) {
    return Status::InvalidArgument(
        "label values are 1 to " + std::to_string(kMaxLabelValueBytes) +
        " letters, digits and _ . : / -, got " + Shown(value));
  }
  return Status::Ok();
}

Status CheckLabels(const Labels& labels) {
  if (labels.size() > kMaxLabels) {
    return Status::InvalidArgument(TooManyLabels(labels.size()));
  }
  for (const auto& [key, value] : labels) {
    if (Status s = CheckLabel(key, value); !s.ok()) {
      return s.Annotate("label " + Shown(key));
    }
  }
  return Status::Ok();
}

void DecodeLabels(TableReader& t, std::string_view key, Labels* labels) {
  const toml::table* table = t.Table(key);
  if (table == nullptr) return;
  const std::string labels_key = t.Key(key);
  for (auto&& [label, node] : *table) {
    const std::string name(label.str());
    const std::string label_key = labels_key + "." + name;
    t.report().SetLine(label_key, LineOf(node));
    std::string value;
    if (t.reader().String(node, label_key, &value)) (*labels)[name] = value;
  }
}

void ValidateLabels(const Labels& labels, const std::string& labels_key,
                    ErrorReport& report) {
  if (labels.size() > kMaxLabels) {
    report.Check(labels_key, TooManyLabels(labels.size()));
  }
  for (const auto& [label, value] : labels) {
    if (Status s = CheckLabel(label, value); !s.ok()) {
      report.Check(labels_key + "." + label, s.message());
    }
  }
}

}  // namespace loupe::agent
