// The generic TOML reader under every loupe configuration file (the agent's
// configuration, control programs, the coordinator's configuration): it
// reads values into plain structs and gathers every error, each naming the
// file, line and key, so that a file is refused as a whole, once:
//
//   agent.toml:23: multilog[0].retention.max_bytes: expected a size like
//   "2GiB", got "lots"
//   agent.toml:2: agent.lisen: unknown key; did you mean 'listen'?
//
// Keys are written as a path: "agent.listen", "multilog[0].filters[1].name".
// Strings go through the environment (agent/environment.h); sizes and
// durations through multilog/units.h; unknown keys get the closest known
// key (multilog/did_you_mean.h) or the list of known keys.
//
// Use: ParseToml, then one ErrorReport and one ValueReader per file, and a
// TableReader per table, which remembers the keys asked for so that
// RejectUnknown can report the others. Decoders write what they read; checks
// on the values read are made afterwards with ErrorReport::Check, which
// finds the line of the key (or its closest parent) and stays quiet about
// keys whose value already failed to read.
//
// Nothing here is shared: an ErrorReport, its readers and the toml::table
// they read belong to one thread. A ValueReader and TableReader keep
// references to their ErrorReport, EnvLookup and table, which must outlive
// them. This library links neither DPDK nor anything of the agent.
#ifndef LOUPE_AGENT_TOML_READER_H_
#define LOUPE_AGENT_TOML_READER_H_

#include <toml++/toml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/environment.h"
#include "multilog/ascii.h"
#include "multilog/status.h"

namespace loupe::agent {

// Errors reported before "<source>: ... and N more errors".
inline constexpr size_t kMaxReportedErrors = 20;
// Larger files are refused unread ("is this a configuration file?").
inline constexpr size_t kMaxTomlFileBytes = 1 << 20;

// --- Pieces of messages -----------------------------------------------------

// "\"text\"", with '"' and '\' escaped (multilog/ascii.h's, the one rule).
using ::loupe::Quoted;
// " (line 12)", or "" for line 0.
std::string AtLine(int line);
// "a, b, c", or "none".
std::string NameList(const std::vector<std::string>& names);
// "key[i]": an array's element.
std::string ElementKey(const std::string& key, size_t i);
// What a value is, for "expected X, got <this>": "\"32\"", "an integer (5)".
std::string DescribeNode(const toml::node& node);
// The line a node starts on.
int LineOf(const toml::node& node);

// --- Files ------------------------------------------------------------------

// The text of `path`, at most kMaxTomlFileBytes. Errors read "reading
// <what> <path>: ..." (kNotFound, kIoError) or "<path>: larger than 1MiB;
// is this a <what> file?" (kInvalidArgument); `what` is "config",
// "program", ...
Result<std::string> ReadTomlFile(const std::string& path,
                                 std::string_view what);

// Parses TOML; a syntax error is "<source>:<line>:<column>: <what>".
Result<toml::table> ParseToml(std::string_view text, const std::string& source);

// --- Errors -----------------------------------------------------------------

// The errors of one file, and where each key was written.
class ErrorReport {
 public:
  // The line of `key`'s value, for checks made after reading.
  void SetLine(const std::string& key, int line) { lines_.emplace(key, line); }

  // `key`'s value could not be read: later checks of it, or of keys below
  // it, would only repeat this error and stay quiet.
  void Bad(int line, const std::string& key, std::string message);

  // A check failed on values read well. The line is `key`'s, else its
  // closest parent's ("multilog[0].filters[1]", then "multilog[0]"), else
  // `near`'s: a key the error is about when `key` was not written.
  void Check(const std::string& key, std::string message,
             const std::string& near = "");

  // Quiets later checks of `key` and below, as if it had failed.
  void Suppress(const std::string& key) { failed_.insert(key); }

  // `key`'s value now comes from elsewhere (a command-line flag): the
  // errors its file value had are dropped, and later ones name no line.
  void Overridden(const std::string& key);

  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }

  // kInvalidArgument: every error in line order (those without a line
  // last), one a line, "<source>:<line>: <key>: <message>", at most
  // kMaxReportedErrors of them.
  Status ToStatus(const std::string& source) const;

 private:
  struct Error {
    int line;
    std::string key;
    std::string message;
  };

  int LineOfKey(const std::string& key) const;

  std::map<std::string, int> lines_;
  std::set<std::string> failed_;
  std::vector<Error> errors_;
};

// --- Values -----------------------------------------------------------------

// Reads single values, reporting what does not fit to the ErrorReport
// (each returns false then, and leaves *out alone).
class ValueReader {
 public:
  ValueReader(ErrorReport& report, const EnvLookup& env)
      : report_(report), env_(env) {}

  ErrorReport& report() { return report_; }

  // A string, with the environment expanded.
  bool String(const toml::node& node, const std::string& key, std::string* out);
  bool Bool(const toml::node& node, const std::string& key, bool* out);

  // An integer from 0 to T's maximum.
  template <typename T>
  bool Unsigned(const toml::node& node, const std::string& key, T* out) {
    constexpr uint64_t kMax = std::numeric_limits<T>::max();
    bool fits = node.is_integer() && node.as_integer()->get() >= 0;
    if constexpr (kMax < std::numeric_limits<int64_t>::max()) {
      fits = fits && static_cast<uint64_t>(node.as_integer()->get()) <= kMax;
    }
    if (!fits) {
      report_.Bad(LineOf(node), key,
                  "expected an integer from 0 to " + std::to_string(kMax) +
                      ", got " + DescribeNode(node));
      return false;
    }
    *out = static_cast<T>(node.as_integer()->get());
    return true;
  }

  // A byte count: an integer, or a string loupe::ParseSize takes.
  bool Size(const toml::node& node, const std::string& key, uint64_t* out);
  // 0, or a string loupe::ParseDuration takes.
  bool Duration(const toml::node& node, const std::string& key,
                std::chrono::nanoseconds* out);

  const toml::table* Table(const toml::node& node, const std::string& key);
  const toml::array* Array(const toml::node& node, const std::string& key);

  // An array of tables ([[key]] or a list of inline tables). Elements that
  // are not tables are reported and given as nullptr, so that the indices
  // in later messages stay those of the file.
  std::vector<const toml::table*> Tables(const toml::node& node,
                                         const std::string& key);

 private:
  ErrorReport& report_;
  const EnvLookup& env_;
};

// One TOML table being read: remembers the keys asked for, so that the
// rest are reported as unknown, with the closest known key. `path` is the
// table's key ("" for the file's top level).
class TableReader {
 public:
  TableReader(ValueReader& reader, const toml::table& table, std::string path)
      : reader_(reader), table_(table), path_(std::move(path)) {}

  ValueReader& reader() { return reader_; }
  ErrorReport& report() { return reader_.report(); }

  // "<path>.<key>".
  std::string Key(std::string_view key) const;

  // The value of `key`, or nullptr when it is absent; `key` is known from
  // now on.
  const toml::node* Get(std::string_view key);

  // Each reads `key` when present; the bool ones say whether it was present
  // and read well.
  bool String(std::string_view key, std::string* out);
  bool Bool(std::string_view key, bool* out);
  template <typename T>
  void Unsigned(std::string_view key, T* out) {
    if (const toml::node* n = Get(key)) reader_.Unsigned(*n, Key(key), out);
  }
  void Size(std::string_view key, uint64_t* out);
  void Duration(std::string_view key, std::chrono::nanoseconds* out);
  void Strings(std::string_view key, std::vector<std::string>* out);
  void Unsigneds(std::string_view key, std::vector<uint32_t>* out);
  const toml::table* Table(std::string_view key);

  // Decodes the array of tables `key` into `out`, one element per entry of
  // the array (so indices stay those of the file), each with its line:
  // decode(reader, table, element_key, &element) for the entries that are
  // tables. T has an `int line`.
  template <typename T, typename Decoder>
  void Tables(std::string_view key, std::vector<T>* out, Decoder decode) {
    const toml::node* n = Get(key);
    if (n == nullptr) return;
    const std::string path = Key(key);
    const std::vector<const toml::table*> tables = reader_.Tables(*n, path);
    for (size_t i = 0; i < tables.size(); ++i) {
      T& element = out->emplace_back();
      if (tables[i] == nullptr) continue;
      element.line = LineOf(*tables[i]);
      decode(reader_, *tables[i], ElementKey(path, i), &element);
    }
  }

  // Reports every key that was not asked for. At the top level, tables are
  // called sections.
  void RejectUnknown();

 private:
  ValueReader& reader_;
  const toml::table& table_;
  const std::string path_;
  std::vector<std::string> known_;
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_TOML_READER_H_
