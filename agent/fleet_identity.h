// How an agent is named in a fleet: its name and labels, checked by one
// validator wherever they come from -- a coordinator's [[agent]] tables,
// an agent's own [agent] name and labels, or a Register RPC -- so that
// what one path accepts no other refuses, and no name or label can carry
// a blank, a newline or a selector's punctuation into a log line, a
// selector or a state file.
//
//   name   [A-Za-z0-9_.-], 1 to kMaxAgentNameBytes
//   label  key [A-Za-z_][A-Za-z0-9_]* (at most kMaxLabelKeyBytes; not
//          "host", which selectors match against the name), value 1 to
//          kMaxLabelValueBytes of [A-Za-z0-9_.:/-]; at most kMaxLabels
//
// DecodeLabels and ValidateLabels are the configuration files' halves
// (file:line: key errors through agent/toml_reader.h). Pure functions;
// thread-safe.
#ifndef LOUPE_AGENT_FLEET_IDENTITY_H_
#define LOUPE_AGENT_FLEET_IDENTITY_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe::agent {

class ErrorReport;  // agent/toml_reader.h
class TableReader;

inline constexpr size_t kMaxAgentNameBytes = 64;
inline constexpr size_t kMaxLabels = 32;
inline constexpr size_t kMaxLabelKeyBytes = 64;
inline constexpr size_t kMaxLabelValueBytes = 128;

// The key selectors match against an agent's name rather than a label.
inline constexpr std::string_view kHostKey = "host";

// An agent's labels, by key.
using Labels = std::map<std::string, std::string, std::less<>>;

// kInvalidArgument: "names are 1 to 64 letters, digits and _ . -, got
// \"a b\"".
Status CheckAgentName(std::string_view name);

// One label; kInvalidArgument saying what is wrong with the key or the
// value (without naming the label: callers put it before).
Status CheckLabel(std::string_view key, std::string_view value);

// Every label and their count; the first problem, naming its label:
// "label \"rack\": label values are ...".
Status CheckLabels(const Labels& labels);

// Reads the inline table `key` of `t` (labels = { rack = "r1" }) into
// *labels; a value that is not a string is an error at its line.
void DecodeLabels(TableReader& t, std::string_view key, Labels* labels);

// CheckLabels' checks as file errors, each at its label's key below
// `labels_key` ("agent[2].labels.rack: ...").
void ValidateLabels(const Labels& labels, const std::string& labels_key,
                    ErrorReport& report);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_FLEET_IDENTITY_H_
