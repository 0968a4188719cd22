#include "agent/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include "multilog/expression.h"
#include "multilog/filter_program.h"
#include "multilog/index_log.h"
#include "multilog/packet_schema.h"

namespace loupe::agent {
namespace {

using std::chrono::nanoseconds;

// DPDK's build-time limits (Debian's rte_build_config.h, rte_config.h);
// the config library does not link DPDK.
constexpr uint32_t kMaxPorts = 32;          // RTE_MAX_ETHPORTS
constexpr uint32_t kMaxLcores = 128;        // RTE_MAX_LCORE
constexpr uint32_t kMaxMempoolCache = 512;  // RTE_MEMPOOL_CACHE_MAX_SIZE
constexpr uint32_t kMinRxDescriptors = 32;
constexpr uint32_t kMaxRxDescriptors = 32768;
constexpr uint32_t kMaxWriters = 16;
constexpr uint32_t kMaxBurst = 512;
constexpr uint32_t kMaxRingSize = 1u << 24;
constexpr uint32_t kMaxAlertQueue = 1u << 20;
// Multilog's limit (multilog.cc); checked here so the file gets the line.
constexpr size_t kMaxAggregatesPerFilter = 64;
// DataLog's block_records range (data_log.cc).
constexpr uint32_t kMinBlockRecords = 1024;
constexpr uint32_t kMaxBlockRecords = 1u << 24;
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxConfigBytes = 1 << 20;

__extension__ typedef unsigned __int128 Wide;

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

// "[a-zA-Z_]", for names that may later appear in an expression.
bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Names of ports, multilogs, filters, aggregates and triggers:
// [A-Za-z_][A-Za-z0-9_-]*, at most kMaxNameBytes.
Status CheckName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("is missing or empty");
  if (name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("name " + Quote(name) + " is longer than " +
                                   std::to_string(kMaxNameBytes) + " bytes");
  }
  bool ok = IsIdentStart(name[0]);
  for (char c : name) ok = ok && (IsIdentStart(c) || IsDigit(c) || c == '-');
  if (!ok) {
    return Status::InvalidArgument(
        "name " + Quote(name) +
        " is not an identifier; use letters, digits, '_' and '-', starting "
        "with a letter or '_'");
  }
  return Status::Ok();
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

// Optimal string alignment distance (Levenshtein plus adjacent
// transpositions), ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = Lower(a[i - 1]) == Lower(b[j - 1]) ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) &&
          Lower(a[i - 2]) == Lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The candidate closest to `word`, or "" when none is close enough to be a
// typo of it.
std::string Closest(std::string_view word,
                    const std::vector<std::string>& candidates) {
  if (word.size() > 80) return "";
  const size_t limit = word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
  size_t best = limit + 1;
  std::string best_name;
  for (const std::string& c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best && 2 * d <= word.size()) {
      best = d;
      best_name = c;
    }
  }
  return best_name;
}

// "; did you mean 'x'?", or "".
std::string DidYouMean(std::string_view word,
                       const std::vector<std::string>& candidates) {
  const std::string near = Closest(word, candidates);
  return near.empty() ? "" : "; did you mean '" + near + "'?";
}

std::string List(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

std::string AtLine(int line) {
  return line > 0 ? " (line " + std::to_string(line) + ")" : "";
}

// "4MiB" when exact, else the byte count.
std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  std::string out = std::to_string(bytes) + " bytes";
  uint64_t scale = 1;
  for (const char* unit : kUnits) {
    scale <<= 10;
    if (bytes >= scale && bytes % scale == 0) {
      out = std::to_string(bytes / scale) + unit;
    }
  }
  return out;
}

// The errors of one file, and where each key was written.
class Report {
 public:
  // The line of `key`'s value, for checks made after reading.
  void SetLine(const std::string& key, int line) { lines_.emplace(key, line); }

  // `key`'s value could not be read: later checks of it, or of keys below
  // it, would only repeat this error and stay quiet.
  void Bad(int line, const std::string& key, std::string message) {
    failed_.insert(key);
    errors_.push_back({line, key, std::move(message)});
  }

  // A check failed on values read well. The line is `key`'s, else its
  // closest parent's ("multilog[0].filters[1]", then "multilog[0]"), else
  // `near`'s: a key the error is about when `key` was not written.
  void Check(const std::string& key, std::string message,
             const std::string& near = "") {
    for (std::string k = key;; k = Parent(k)) {
      if (failed_.count(k) != 0) return;
      if (k.empty()) break;
    }
    int line = LineOf(key);
    if (line == 0 && !near.empty()) line = LineOf(near);
    errors_.push_back({line, key, std::move(message)});
  }

  // Quiets later checks of `key` and below, as if it had failed.
  void Suppress(const std::string& key) { failed_.insert(key); }

  bool empty() const { return errors_.empty(); }

  Status ToStatus(const std::string& source) const {
    std::vector<Error> errors = errors_;
    std::stable_sort(errors.begin(), errors.end(),
                     [](const Error& a, const Error& b) {
                       const int la = a.line > 0 ? a.line : INT32_MAX;
                       const int lb = b.line > 0 ? b.line : INT32_MAX;
                       return la < lb;
                     });
    std::string msg;
    for (size_t i = 0; i < errors.size() && i < kMaxConfigErrors; ++i) {
      const Error& e = errors[i];
      if (!msg.empty()) msg += '\n';
      msg += source;
      if (e.line > 0) msg += ":" + std::to_string(e.line);
      msg += ": ";
      if (!e.key.empty()) msg += e.key + ": ";
      msg += e.message;
    }
    if (errors.size() > kMaxConfigErrors) {
      msg += "\n" + source + ": ... and " +
             std::to_string(errors.size() - kMaxConfigErrors) + " more errors";
    }
    return Status::InvalidArgument(std::move(msg));
  }

 private:
  struct Error {
    int line;
    std::string key;
    std::string message;
  };

  static std::string Parent(const std::string& key) {
    const size_t cut = key.find_last_of(".[");
    return cut == std::string::npos ? "" : key.substr(0, cut);
  }

  int LineOf(const std::string& key) const {
    for (std::string k = key; !k.empty(); k = Parent(k)) {
      auto it = lines_.find(k);
      if (it != lines_.end()) return it->second;
    }
    return 0;
  }

  std::map<std::string, int> lines_;
  std::set<std::string> failed_;
  std::vector<Error> errors_;
};

// --- Environment ------------------------------------------------------------

Result<std::string> ExpandEnvironment(std::string_view text,
                                      const EnvLookup& env) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      out += c;
      ++i;
      continue;
    }
    const char next = text[i + 1];
    if (next == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (IsIdentStart(next)) {
      size_t end = i + 1;
      while (end < text.size() &&
             (IsIdentStart(text[end]) || IsDigit(text[end]))) {
        ++end;
      }
      const std::string name(text.substr(i + 1, end - i - 1));
      return Status::InvalidArgument(
          "'$" + name + "' needs braces: write ${" + name +
          "} for the environment variable, or $$ for a literal '$'");
    }
    if (next != '{') {
      out += c;
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(
          "'${' without a closing '}'; write $$ for a literal '$'");
    }
    std::string_view inner = text.substr(i + 2, close - i - 2);
    std::optional<std::string_view> fallback;
    if (size_t dash = inner.find(":-"); dash != std::string_view::npos) {
      fallback = inner.substr(dash + 2);
      inner = inner.substr(0, dash);
    }
    bool valid = !inner.empty() && IsIdentStart(inner[0]);
    for (char ch : inner) valid = valid && (IsIdentStart(ch) || IsDigit(ch));
    if (!valid) {
      return Status::InvalidArgument(
          Quote(text.substr(i, close - i + 1)) +
          " does not name an environment variable; expected ${NAME} or "
          "${NAME:-default}");
    }
    const std::string name(inner);
    std::optional<std::string> value = env ? env(name) : std::nullopt;
    if (fallback.has_value() && (!value.has_value() || value->empty())) {
      value = std::string(*fallback);
    }
    if (!value.has_value()) {
      return Status::InvalidArgument(
          "environment variable " + name + " is not set (used as ${" + name +
          "}; set it, or give a default with ${" + name + ":-default})");
    }
    out += *value;
    i = close + 1;
  }
  return out;
}

// --- Reading TOML values ----------------------------------------------------

int LineOf(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

// "key[i]": the name of an array's element in messages.
std::string Element(const std::string& key, size_t i) {
  return key + "[" + std::to_string(i) + "]";
}

std::string Describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return Quote(node.as_string()->get());
    case toml::node_type::integer:
      return "an integer (" + std::to_string(node.as_integer()->get()) + ")";
    case toml::node_type::floating_point: {
      std::ostringstream s;
      s << node.as_floating_point()->get();
      return "a float (" + s.str() + ")";
    }
    case toml::node_type::boolean:
      return std::string("a boolean (") +
             (node.as_boolean()->get() ? "true" : "false") + ")";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Reads values into the config, reporting what does not fit to Report.
class Reader {
 public:
  Reader(Report& report, const EnvLookup& env) : report_(report), env_(env) {}

  Report& report() { return report_; }

  bool String(const toml::node& node, const std::string& key,
              std::string* out) {
    if (!node.is_string()) {
      report_.Bad(LineOf(node), key,
                  "expected a string, got " + Describe(node));
      return false;
    }
    Result<std::string> expanded =
        ExpandEnvironment(node.as_string()->get(), env_);
    if (!expanded.ok()) {
      report_.Bad(LineOf(node), key, expanded.status().message());
      return false;
    }
    *out = std::move(expanded).value();
    return true;
  }

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
                      ", got " + Describe(node));
      return false;
    }
    *out = static_cast<T>(node.as_integer()->get());
    return true;
  }

  bool Size(const toml::node& node, const std::string& key, uint64_t* out) {
    if (node.is_integer()) return Unsigned(node, key, out);
    std::string text;
    if (!node.is_string()) {
      report_.Bad(LineOf(node), key,
                  "expected a size like \"2GiB\", got " + Describe(node));
      return false;
    }
    if (!String(node, key, &text)) return false;
    Result<uint64_t> size = ParseSize(text);
    if (!size.ok()) {
      report_.Bad(LineOf(node), key, size.status().message());
      return false;
    }
    *out = *size;
    return true;
  }

  bool Duration(const toml::node& node, const std::string& key,
                nanoseconds* out) {
    if (node.is_integer() && node.as_integer()->get() == 0) {
      *out = nanoseconds(0);
      return true;
    }
    std::string text;
    if (!node.is_string()) {
      report_.Bad(LineOf(node), key,
                  "expected a duration like \"500ms\" (a string with a unit: "
                  "ns, us, ms, s, m, h, d), got " +
                      Describe(node));
      return false;
    }
    if (!String(node, key, &text)) return false;
    Result<nanoseconds> duration = ParseDuration(text);
    if (!duration.ok()) {
      report_.Bad(LineOf(node), key, duration.status().message());
      return false;
    }
    *out = *duration;
    return true;
  }

  const toml::table* Table(const toml::node& node, const std::string& key) {
    if (!node.is_table()) {
      report_.Bad(LineOf(node), key, "expected a table, got " + Describe(node));
      return nullptr;
    }
    return node.as_table();
  }

  const toml::array* Array(const toml::node& node, const std::string& key) {
    if (!node.is_array()) {
      report_.Bad(LineOf(node), key,
                  "expected an array, got " + Describe(node));
      return nullptr;
    }
    return node.as_array();
  }

  // An array of tables ([[key]] or a list of inline tables). Elements that
  // are not tables are reported and given as nullptr, so that the indices
  // in later messages stay those of the file.
  std::vector<const toml::table*> Tables(const toml::node& node,
                                         const std::string& key) {
    std::vector<const toml::table*> out;
    if (!node.is_array()) {
      const bool top = key.find_first_of(".[") == std::string::npos;
      report_.Bad(LineOf(node), key,
                  (top ? "expected [[" + key + "]] tables"
                       : "expected a list "
                         "of tables") +
                      std::string(", got ") + Describe(node));
      return out;
    }
    const toml::array& array = *node.as_array();
    for (size_t i = 0; i < array.size(); ++i) {
      const std::string element = Element(key, i);
      if (!array[i].is_table()) {
        report_.Bad(LineOf(array[i]), element,
                    "expected a table, got " + Describe(array[i]));
        out.push_back(nullptr);
        continue;
      }
      report_.SetLine(element, LineOf(array[i]));
      out.push_back(array[i].as_table());
    }
    return out;
  }

 private:
  Report& report_;
  const EnvLookup& env_;
};

// One TOML table being read: remembers the keys asked for, so that the
// rest are reported as unknown, with the closest known key.
class TableReader {
 public:
  TableReader(Reader& reader, const toml::table& table, std::string path)
      : reader_(reader), table_(table), path_(std::move(path)) {}

  std::string Key(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  // The value of `key`, or nullptr when it is absent.
  const toml::node* Get(std::string_view key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      known_.emplace_back(key);
    }
    const toml::node* node = table_.get(key);
    if (node != nullptr) reader_.report().SetLine(Key(key), LineOf(*node));
    return node;
  }

  bool String(std::string_view key, std::string* out) {
    const toml::node* n = Get(key);
    return n != nullptr && reader_.String(*n, Key(key), out);
  }
  template <typename T>
  void Unsigned(std::string_view key, T* out) {
    if (const toml::node* n = Get(key)) reader_.Unsigned(*n, Key(key), out);
  }
  void Size(std::string_view key, uint64_t* out) {
    if (const toml::node* n = Get(key)) reader_.Size(*n, Key(key), out);
  }
  void Duration(std::string_view key, nanoseconds* out) {
    if (const toml::node* n = Get(key)) reader_.Duration(*n, Key(key), out);
  }
  void Strings(std::string_view key, std::vector<std::string>* out) {
    const toml::node* n = Get(key);
    if (n == nullptr) return;
    const toml::array* array = reader_.Array(*n, Key(key));
    if (array == nullptr) return;
    out->clear();
    for (size_t i = 0; i < array->size(); ++i) {
      std::string s;
      if (reader_.String((*array)[i], Element(Key(key), i), &s)) {
        out->push_back(std::move(s));
      }
    }
  }
  void Unsigneds(std::string_view key, std::vector<uint32_t>* out) {
    const toml::node* n = Get(key);
    if (n == nullptr) return;
    const toml::array* array = reader_.Array(*n, Key(key));
    if (array == nullptr) return;
    out->clear();
    for (size_t i = 0; i < array->size(); ++i) {
      uint32_t v = 0;
      if (reader_.Unsigned((*array)[i], Element(Key(key), i), &v)) {
        out->push_back(v);
      }
    }
  }
  const toml::table* Table(std::string_view key) {
    const toml::node* n = Get(key);
    return n == nullptr ? nullptr : reader_.Table(*n, Key(key));
  }
  // Decodes the array of tables `key` into `out`, one element per entry of
  // the array (so indices stay those of the file), each with its line:
  // decode(reader, table, element_key, &element) for the entries that are
  // tables.
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
      decode(reader_, *tables[i], Element(path, i), &element);
    }
  }

  // Reports every key that was not asked for. At the top level, tables are
  // called sections.
  void RejectUnknown() {
    for (auto&& [key, node] : table_) {
      const std::string name(key.str());
      if (std::find(known_.begin(), known_.end(), name) != known_.end()) {
        continue;
      }
      std::string what = "unknown key";
      if (path_.empty() && node.is_table()) {
        what = "unknown section [" + name + "]";
      } else if (path_.empty() && node.is_array_of_tables()) {
        what = "unknown section [[" + name + "]]";
      }
      const std::string near = Closest(name, known_);
      std::string msg = what + DidYouMean(name, known_);
      if (near.empty()) {
        msg += " (expected one of: " + List(known_) + ")";
      } else if (table_.get(near) == nullptr) {
        // The key meant is then missing: say nothing more about it.
        reader_.report().Suppress(Key(near));
      }
      reader_.report().Bad(static_cast<int>(key.source().begin.line), Key(name),
                           std::move(msg));
    }
  }

 private:
  Reader& reader_;
  const toml::table& table_;
  const std::string path_;
  std::vector<std::string> known_;
};

// --- Decoding: TOML to AgentConfig ------------------------------------------

void DecodeAgent(Reader& reader, const toml::table& table, AgentConfig* c,
                 bool* host_given) {
  TableReader t(reader, table, "agent");
  *host_given = t.Get("host") != nullptr;
  t.String("host", &c->host);
  t.String("listen", &c->listen);
  t.String("metrics_listen", &c->metrics_listen);
  t.String("log_level", &c->log_level);
  t.RejectUnknown();
}

void DecodePort(Reader& reader, const toml::table& table,
                const std::string& path, PortConfig* p) {
  TableReader t(reader, table, path);
  t.String("name", &p->name);
  t.String("device", &p->device);
  t.Unsigned("rx_descriptors", &p->rx_descriptors);
  t.Unsigned("max_pps", &p->max_pps);
  t.RejectUnknown();
}

void DecodeDataplane(Reader& reader, const toml::table& table,
                     DataplaneConfig* d) {
  TableReader t(reader, table, "dataplane");
  t.String("multilog", &d->multilog);
  t.Unsigned("writers", &d->writers);
  t.Unsigneds("rx_lcores", &d->rx_lcores);
  t.Unsigneds("writer_lcores", &d->writer_lcores);
  t.Unsigned("burst", &d->burst);
  t.Unsigned("ring_size", &d->ring_size);
  t.Unsigned("mbufs", &d->mbufs);
  t.Unsigned("mbuf_cache", &d->mbuf_cache);
  t.RejectUnknown();
}

void DecodeIndexes(Reader& reader, const toml::node& node,
                   const std::string& path, MultilogConfig* m) {
  const toml::array* array = reader.Array(node, path);
  if (array == nullptr) return;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = (*array)[i];
    const std::string key = Element(path, i);
    IndexConfig index;
    index.line = LineOf(element);
    reader.report().SetLine(key, index.line);
    if (element.is_string()) {
      if (!reader.String(element, key, &index.column)) {
        reader.report().Suppress(key);
      }
    } else if (element.is_table()) {
      TableReader t(reader, *element.as_table(), key);
      if (t.Get("column") == nullptr) {
        reader.report().Bad(index.line, key,
                            "an index needs a column: {column = \"...\"}");
      } else if (!t.String("column", &index.column)) {
        reader.report().Suppress(key);
      }
      t.Unsigned("bucket", &index.bucket);
      t.RejectUnknown();
    } else {
      reader.report().Bad(index.line, key,
                          "expected a column name or a table {column = "
                          "\"...\", bucket = N}, got " +
                              Describe(element));
    }
    m->indexes.push_back(std::move(index));
  }
}

void DecodeFilter(Reader& reader, const toml::table& table,
                  const std::string& path, FilterConfig* f) {
  TableReader t(reader, table, path);
  t.String("name", &f->name);
  t.String("expression", &f->expression);
  t.RejectUnknown();
}

void DecodeAggregate(Reader& reader, const toml::table& table,
                     const std::string& path, AggregateConfig* a) {
  TableReader t(reader, table, path);
  t.String("name", &a->name);
  t.String("filter", &a->filter);
  t.String("expression", &a->expression);
  t.RejectUnknown();
}

void DecodeTrigger(Reader& reader, const toml::table& table,
                   const std::string& path, TriggerConfig* g) {
  TableReader t(reader, table, path);
  t.String("name", &g->name);
  t.String("condition", &g->condition);
  t.Duration("period", &g->period);
  t.RejectUnknown();
}

void DecodeMultilog(Reader& reader, const toml::table& table,
                    const std::string& path, MultilogConfig* m) {
  TableReader t(reader, table, path);
  t.String("name", &m->name);
  t.String("schema", &m->schema);
  if (std::string storage; t.String("storage", &storage)) {
    Result<StorageMode> mode = ParseStorageMode(storage);
    if (mode.ok()) {
      m->storage = *mode;
    } else {
      reader.report().Bad(LineOf(*t.Get("storage")), t.Key("storage"),
                          mode.status().message());
      reader.report().Suppress(t.Key("directory"));
    }
  }
  t.String("directory", &m->directory);
  if (const toml::node* n = t.Get("flush_interval")) {
    nanoseconds interval{0};
    if (reader.Duration(*n, t.Key("flush_interval"), &interval)) {
      if (interval % std::chrono::milliseconds(1) != nanoseconds(0)) {
        reader.report().Bad(LineOf(*n), t.Key("flush_interval"),
                            "must be whole milliseconds");
      } else {
        m->flush_interval =
            std::chrono::duration_cast<std::chrono::milliseconds>(interval);
      }
    }
  }
  if (const toml::table* retention = t.Table("retention")) {
    TableReader r(reader, *retention, t.Key("retention"));
    r.Size("max_bytes", &m->retention.max_bytes);
    r.Duration("max_age", &m->retention.max_age);
    r.RejectUnknown();
  }
  t.Size("capacity_bytes", &m->capacity_bytes);
  t.Size("preallocate_bytes", &m->preallocate_bytes);
  t.Unsigned("block_records", &m->block_records);
  t.Duration("bucket", &m->bucket);
  if (const toml::node* n = t.Get("indexes")) {
    DecodeIndexes(reader, *n, t.Key("indexes"), m);
  }
  t.Tables("filters", &m->filters, DecodeFilter);
  t.Tables("aggregates", &m->aggregates, DecodeAggregate);
  t.Tables("triggers", &m->triggers, DecodeTrigger);
  t.RejectUnknown();
}

// The keys of each sink type; a key of another type is refused by name.
struct SinkKey {
  std::string_view key;
  SinkType type;
};
constexpr SinkKey kSinkKeys[] = {
    {"path", SinkType::kJsonl},
    {"address", SinkType::kSyslog},
    {"facility", SinkType::kSyslog},
    {"url", SinkType::kAlertmanager},
    {"resolve_after", SinkType::kAlertmanager},
};

std::optional<SinkType> ParseSinkType(std::string_view name) {
  for (SinkType t :
       {SinkType::kJsonl, SinkType::kSyslog, SinkType::kAlertmanager}) {
    if (name == SinkTypeName(t)) return t;
  }
  return std::nullopt;
}

void DecodeSink(Reader& reader, const toml::table& table,
                const std::string& path, AlertSinkConfig* s) {
  TableReader t(reader, table, path);
  std::optional<SinkType> type;
  if (std::string name; t.String("type", &name)) {
    type = ParseSinkType(name);
    if (!type.has_value()) {
      reader.report().Bad(
          LineOf(*t.Get("type")), t.Key("type"),
          "unknown sink type " + Quote(name) +
              DidYouMean(name, {"jsonl", "syslog", "alertmanager"}) +
              " (expected jsonl, syslog or alertmanager)");
    }
  } else if (t.Get("type") == nullptr) {
    reader.report().Bad(s->line, t.Key("type"),
                        "missing; a sink needs a type: jsonl, syslog or "
                        "alertmanager");
  }
  if (type.has_value()) {
    s->type = *type;
  } else {
    reader.report().Suppress(path);
  }
  t.String("name", &s->name);
  for (const SinkKey& k : kSinkKeys) {
    const toml::node* n = t.Get(k.key);
    if (n == nullptr || !type.has_value()) continue;
    const std::string key = t.Key(k.key);
    if (k.type != *type) {
      reader.report().Bad(
          LineOf(*n), key,
          "applies only to " + std::string(SinkTypeName(k.type)) +
              " sinks, and this one is " + std::string(SinkTypeName(*type)));
      continue;
    }
    if (k.key == "path") reader.String(*n, key, &s->path);
    if (k.key == "address") reader.String(*n, key, &s->address);
    if (k.key == "facility") reader.String(*n, key, &s->facility);
    if (k.key == "url") reader.String(*n, key, &s->url);
    if (k.key == "resolve_after") reader.Duration(*n, key, &s->resolve_after);
  }
  t.RejectUnknown();
}

void DecodeAlerts(Reader& reader, const toml::table& table, AlertsConfig* a) {
  TableReader t(reader, table, "alerts");
  t.Unsigned("queue", &a->queue);
  t.Tables("sink", &a->sinks, DecodeSink);
  t.RejectUnknown();
}

void Decode(Reader& reader, const toml::table& root, AgentConfig* c) {
  TableReader top(reader, root, "");
  bool host_given = false;
  if (const toml::table* agent = top.Table("agent")) {
    DecodeAgent(reader, *agent, c, &host_given);
  }
  if (const toml::table* dpdk = top.Table("dpdk")) {
    TableReader t(reader, *dpdk, "dpdk");
    t.Strings("eal_args", &c->eal_args);
    t.RejectUnknown();
  }
  top.Tables("port", &c->ports, DecodePort);
  if (const toml::table* dataplane = top.Table("dataplane")) {
    DecodeDataplane(reader, *dataplane, &c->dataplane);
  }
  top.Tables("multilog", &c->multilogs, DecodeMultilog);
  if (const toml::table* alerts = top.Table("alerts")) {
    DecodeAlerts(reader, *alerts, &c->alerts);
  }
  top.RejectUnknown();

  if (!host_given) {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0) {
      reader.report().Check(
          "agent.host",
          "not given, and gethostname failed: " + std::string(strerror(errno)));
    }
    c->host = name;
  }
}

// --- Validation: checks on the decoded values -------------------------------

bool IsPowerOfTwo(uint64_t v) { return std::has_single_bit(v); }

// HOST:PORT with the host as in CheckListenAddress. `example` is shown in
// messages.
Status CheckHostPort(std::string_view text, bool port_zero_ok,
                     std::string_view example) {
  const std::string expected = "expected HOST:PORT such as " + Quote(example) +
                               " or \"[::1]:7070\", got " + Quote(text);
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return Status::InvalidArgument(expected);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr address;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &address) != 1) {
      return Status::InvalidArgument(Quote(host) + " is not an IPv6 address; " +
                                     expected);
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument(expected);
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Status::InvalidArgument(
          "an IPv6 address needs brackets, as in \"[::1]:7070\"; got " +
          Quote(text));
    }
    bool valid = !host.empty() && host.size() <= 253;
    for (char c : host) {
      valid = valid && (IsIdentStart(c) || IsDigit(c) || c == '.' || c == '-');
    }
    if (!valid) {
      return Status::InvalidArgument(
          Quote(host) + " is not a host name or address; " + expected);
    }
  }
  bool digits = !port.empty() && port.size() <= 5;
  for (char c : port) digits = digits && IsDigit(c);
  const long value =
      digits ? std::strtol(std::string(port).c_str(), nullptr, 10) : -1;
  if (!digits || value > 65535 || (value == 0 && !port_zero_ok)) {
    return Status::InvalidArgument(
        "port " + Quote(port) + " is not a port number (" +
        (port_zero_ok ? "0" : "1") + " to 65535); " + expected);
  }
  return Status::Ok();
}

void ValidateAgent(const AgentConfig& c, Report& r) {
  bool host_ok = !c.host.empty() && c.host.size() <= 255;
  for (char ch : c.host) {
    host_ok = host_ok && static_cast<unsigned char>(ch) > ' ' && ch != 0x7f;
  }
  if (!host_ok) {
    r.Check("agent.host",
            "must be 1 to 255 printable characters without spaces, got " +
                Quote(c.host) + " (omit it to use the machine's host name)");
  }
  if (Status s = CheckListenAddress(c.listen); !s.ok()) {
    r.Check("agent.listen", s.message());
  }
  if (!c.metrics_listen.empty()) {
    if (Status s = CheckListenAddress(c.metrics_listen); !s.ok()) {
      r.Check("agent.metrics_listen", s.message() + " (\"\" turns it off)");
    } else if (c.metrics_listen == c.listen && !c.listen.ends_with(":0")) {
      r.Check("agent.metrics_listen",
              "is the same address as agent.listen (" + c.listen +
                  "); give /metrics its own port, or \"\" to turn it off");
    }
  }
  static const std::vector<std::string> kLevels = {"error", "warn", "info",
                                                   "debug"};
  if (std::find(kLevels.begin(), kLevels.end(), c.log_level) == kLevels.end()) {
    r.Check("agent.log_level", "unknown level " + Quote(c.log_level) +
                                   DidYouMean(c.log_level, kLevels) +
                                   " (expected error, warn, info or debug)");
  }
  for (size_t i = 0; i < c.eal_args.size(); ++i) {
    if (c.eal_args[i].empty()) {
      r.Check(Element("dpdk.eal_args", i), "is an empty argument");
    }
  }
}

void ValidatePorts(const AgentConfig& c, Report& r) {
  if (c.ports.size() > kMaxPorts) {
    r.Check(Element("port", kMaxPorts),
            "too many ports: " + std::to_string(c.ports.size()) +
                "; DPDK allows " + std::to_string(kMaxPorts));
  }
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const PortConfig& p = c.ports[i];
    const std::string key = Element("port", i);
    if (Status s = CheckName(p.name); !s.ok()) {
      r.Check(key + ".name", s.message());
    }
    const std::string device = p.device.substr(0, p.device.find(','));
    if (device.empty()) {
      r.Check(key + ".device",
              "needs a DPDK device, e.g. "
              "\"net_pcap0,rx_pcap=capture.pcap\" or "
              "\"net_af_packet0,iface=eth1\"");
    }
    if (p.rx_descriptors < kMinRxDescriptors ||
        p.rx_descriptors > kMaxRxDescriptors) {
      r.Check(key + ".rx_descriptors",
              "must be from " + std::to_string(kMinRxDescriptors) + " to " +
                  std::to_string(kMaxRxDescriptors) + ", got " +
                  std::to_string(p.rx_descriptors));
    }
    for (size_t j = 0; j < i; ++j) {
      const PortConfig& q = c.ports[j];
      if (!p.name.empty() && q.name == p.name) {
        r.Check(key + ".name", "port " + Quote(p.name) + " is already defined" +
                                   AtLine(q.line));
      }
      if (!device.empty() && q.device.substr(0, q.device.find(',')) == device) {
        r.Check(key + ".device", "device " + Quote(device) +
                                     " is already used by port " +
                                     Quote(q.name) + AtLine(q.line));
      }
    }
  }
}

const MultilogConfig* FindMultilog(const AgentConfig& c,
                                   std::string_view name) {
  for (const MultilogConfig& m : c.multilogs) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

void ValidateLcores(const std::string& key, const std::vector<uint32_t>& cores,
                    std::set<uint32_t>& used, Report& r) {
  for (size_t i = 0; i < cores.size(); ++i) {
    if (cores[i] >= kMaxLcores) {
      r.Check(Element(key, i), "lcore " + std::to_string(cores[i]) +
                                   " is out of range (0 to " +
                                   std::to_string(kMaxLcores - 1) + ")");
    } else if (!used.insert(cores[i]).second) {
      r.Check(Element(key, i),
              "lcore " + std::to_string(cores[i]) +
                  " is listed twice; each lcore runs one loop");
    }
  }
}

void ValidateDataplane(const AgentConfig& c, Report& r) {
  const DataplaneConfig& d = c.dataplane;
  if (d.writers < 1 || d.writers > kMaxWriters) {
    r.Check("dataplane.writers", "must be from 1 to " +
                                     std::to_string(kMaxWriters) + ", got " +
                                     std::to_string(d.writers));
  }
  if (d.burst < 1 || d.burst > kMaxBurst) {
    r.Check("dataplane.burst", "must be from 1 to " +
                                   std::to_string(kMaxBurst) + ", got " +
                                   std::to_string(d.burst));
  }
  if (d.ring_size < 2 || d.ring_size > kMaxRingSize ||
      !IsPowerOfTwo(d.ring_size)) {
    r.Check("dataplane.ring_size", "must be a power of two from 2 to " +
                                       std::to_string(kMaxRingSize) + ", got " +
                                       std::to_string(d.ring_size));
  } else if (d.ring_size < d.burst) {
    r.Check("dataplane.ring_size", std::to_string(d.ring_size) +
                                       " cannot hold one burst (" +
                                       std::to_string(d.burst) + ")");
  }
  uint64_t descriptors = 0;
  for (const PortConfig& p : c.ports) descriptors += p.rx_descriptors;
  if (d.mbufs <= descriptors + d.burst) {
    r.Check("dataplane.mbufs",
            std::to_string(d.mbufs) +
                " mbufs cannot fill the ports' receive rings and one burst (" +
                std::to_string(descriptors) + " + " + std::to_string(d.burst) +
                "); raise mbufs or lower port rx_descriptors");
  }
  if (d.mbuf_cache > kMaxMempoolCache ||
      uint64_t{d.mbuf_cache} * 3 / 2 > d.mbufs) {
    r.Check("dataplane.mbuf_cache", "must be at most " +
                                        std::to_string(kMaxMempoolCache) +
                                        " and at most mbufs / 1.5, got " +
                                        std::to_string(d.mbuf_cache));
  }
  std::set<uint32_t> used;
  ValidateLcores("dataplane.rx_lcores", d.rx_lcores, used, r);
  ValidateLcores("dataplane.writer_lcores", d.writer_lcores, used, r);
  if (!d.writer_lcores.empty() && d.writer_lcores.size() != d.writers) {
    r.Check("dataplane.writer_lcores",
            "lists " + std::to_string(d.writer_lcores.size()) + " lcores for " +
                std::to_string(d.writers) +
                " writers; list one per writer, or none");
  }
  if (!d.rx_lcores.empty() &&
      d.rx_lcores.size() > std::max<size_t>(1, c.ports.size())) {
    r.Check("dataplane.rx_lcores",
            "lists " + std::to_string(d.rx_lcores.size()) + " lcores for " +
                std::to_string(c.ports.size()) +
                " ports; an RX lcore needs at least one port");
  }
  if (c.ports.empty()) return;
  const MultilogConfig* m = FindMultilog(c, d.multilog);
  if (m == nullptr) {
    std::vector<std::string> names;
    for (const MultilogConfig& x : c.multilogs) names.push_back(x.name);
    r.Check("dataplane.multilog",
            "no [[multilog]] named " + Quote(d.multilog) +
                " for the ports' packets" + DidYouMean(d.multilog, names) +
                " (multilogs: " + List(names) + ")",
            "port[0]");
    return;
  }
  Result<Schema> schema = ResolveSchema(m->schema);
  if (schema.ok() && !(*schema == PacketSchema())) {
    r.Check("dataplane.multilog",
            "multilog " + Quote(m->name) + AtLine(m->line) +
                " does not have the packet schema; the ports need one with "
                "schema = \"packet\"",
            "port[0]");
  }
}

template <typename T>
std::vector<std::string> NamesOf(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const T& item : items) out.push_back(item.name);
  return out;
}

// Names are identifiers, unique among `items`.
template <typename T>
void CheckNames(const std::string& key, std::string_view kind,
                const std::vector<T>& items, Report& r) {
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string name_key = Element(key, i) + ".name";
    if (Status s = CheckName(items[i].name); !s.ok()) {
      r.Check(name_key, s.message());
      continue;
    }
    for (size_t j = 0; j < i; ++j) {
      if (items[j].name == items[i].name) {
        r.Check(name_key, std::string(kind) + " " + Quote(items[i].name) +
                              " is already defined" + AtLine(items[j].line));
        break;
      }
    }
  }
}

// Checks the control program of a multilog against its schema.
void ValidateProgram(const MultilogConfig& m, const std::string& key,
                     const Schema& schema, Report& r) {
  for (size_t i = 0; i < m.indexes.size(); ++i) {
    const IndexConfig& index = m.indexes[i];
    Result<std::unique_ptr<IndexLog>> log =
        IndexLog::Create(schema, IndexSpec{index.column, index.bucket}, 0);
    if (!log.ok())
      r.Check(Element(key + ".indexes", i), log.status().message());
    for (size_t j = 0; j < i; ++j) {
      if (m.indexes[j].column == index.column) {
        r.Check(Element(key + ".indexes", i), "column " + Quote(index.column) +
                                                  " is already indexed" +
                                                  AtLine(m.indexes[j].line));
        break;
      }
    }
  }
  CheckNames(key + ".filters", "filter", m.filters, r);
  for (size_t i = 0; i < m.filters.size(); ++i) {
    const std::string expression_key =
        Element(key + ".filters", i) + ".expression";
    Result<FilterProgram> program =
        FilterProgram::Compile(schema, m.filters[i].expression);
    if (!program.ok()) r.Check(expression_key, program.status().message());
  }

  CheckNames(key + ".aggregates", "aggregate", m.aggregates, r);
  const std::vector<std::string> filters = NamesOf(m.filters);
  std::map<std::string, size_t> per_filter;
  for (size_t i = 0; i < m.aggregates.size(); ++i) {
    const AggregateConfig& a = m.aggregates[i];
    const std::string a_key = Element(key + ".aggregates", i);
    if (a.name.find('-') != std::string::npos) {
      r.Check(a_key + ".name",
              "aggregate names cannot contain '-' (triggers name them in "
              "expressions); use '_'");
    }
    if (std::find(filters.begin(), filters.end(), a.filter) == filters.end()) {
      r.Check(a_key + ".filter", "no filter named " + Quote(a.filter) +
                                     " in multilog " + Quote(m.name) +
                                     DidYouMean(a.filter, filters) +
                                     " (filters: " + List(filters) + ")");
    } else if (++per_filter[a.filter] == kMaxAggregatesPerFilter + 1) {
      r.Check(a_key + ".filter", "filter " + Quote(a.filter) + " already has " +
                                     std::to_string(kMaxAggregatesPerFilter) +
                                     " aggregates, the most a filter can have");
    }
    Result<AggregateSpec> spec = ParseAggregate(schema, a.expression);
    if (!spec.ok()) r.Check(a_key + ".expression", spec.status().message());
  }

  CheckNames(key + ".triggers", "trigger", m.triggers, r);
  const std::vector<std::string> aggregates = NamesOf(m.aggregates);
  for (size_t i = 0; i < m.triggers.size(); ++i) {
    const TriggerConfig& t = m.triggers[i];
    const std::string t_key = Element(key + ".triggers", i);
    Result<TriggerSpec> spec = ParseTrigger(t.condition);
    if (!spec.ok()) {
      r.Check(t_key + ".condition", spec.status().message());
    } else if (std::find(aggregates.begin(), aggregates.end(),
                         spec->aggregate) == aggregates.end()) {
      r.Check(t_key + ".condition",
              "no aggregate named " + Quote(spec->aggregate) + " in multilog " +
                  Quote(m.name) + DidYouMean(spec->aggregate, aggregates) +
                  " (aggregates: " + List(aggregates) + ")");
    }
    if (t.period < std::chrono::milliseconds(1) ||
        t.period > std::chrono::hours(1)) {
      r.Check(t_key + ".period", "must be from 1ms to 1h, got " +
                                     std::to_string(t.period.count()) + "ns");
    }
  }
}

void ValidateMultilog(const AgentConfig& c, size_t i, Report& r) {
  const MultilogConfig& m = c.multilogs[i];
  const std::string key = Element("multilog", i);
  const bool durable = m.storage != StorageMode::kInMemory;
  if (durable && m.directory.empty()) {
    r.Check(key + ".directory", "storage \"" +
                                    std::string(StorageModeName(m.storage)) +
                                    "\" needs a directory to keep the log in");
  }
  if (!durable && !m.directory.empty()) {
    r.Check(key + ".directory",
            "a directory is used only by storage \"durable\" and "
            "\"durable-relaxed\"; this multilog is in memory");
  }
  if (durable && !m.directory.empty()) {
    for (size_t j = 0; j < i; ++j) {
      const MultilogConfig& o = c.multilogs[j];
      if (o.storage != StorageMode::kInMemory && o.directory == m.directory) {
        r.Check(key + ".directory", "directory " + Quote(m.directory) +
                                        " is already used by multilog " +
                                        Quote(o.name) + AtLine(o.line) +
                                        "; each multilog needs its own");
      }
    }
  }
  if (m.flush_interval < std::chrono::milliseconds(1) ||
      m.flush_interval > std::chrono::hours(1)) {
    r.Check(key + ".flush_interval",
            "must be from 1ms to 1h, got " +
                std::to_string(m.flush_interval.count()) + "ms");
  }
  if (m.bucket < std::chrono::microseconds(1) ||
      m.bucket > std::chrono::hours(1)) {
    r.Check(key + ".bucket", "must be from 1us to 1h, got " +
                                 std::to_string(m.bucket.count()) + "ns");
  }
  if (m.block_records < kMinBlockRecords ||
      m.block_records > kMaxBlockRecords || !IsPowerOfTwo(m.block_records)) {
    r.Check(key + ".block_records",
            "must be a power of two from " + std::to_string(kMinBlockRecords) +
                " to " + std::to_string(kMaxBlockRecords) + ", got " +
                std::to_string(m.block_records));
  }

  if (m.schema.empty()) {
    r.Check(key + ".schema",
            "missing; use \"packet\" or columns such as "
            "\"src:ipv4, bytes:u32, host:string(16)\"");
    return;
  }
  Result<Schema> schema = ResolveSchema(m.schema);
  if (!schema.ok()) {
    r.Check(key + ".schema", schema.status().message());
    return;
  }
  const uint64_t block_bytes =
      uint64_t{m.block_records} * schema->record_size();
  if (m.retention.max_bytes != 0 && m.retention.max_bytes < block_bytes) {
    r.Check(key + ".retention.max_bytes",
            FormatBytes(m.retention.max_bytes) +
                " is smaller than one block (" + FormatBytes(block_bytes) +
                " = block_records " + std::to_string(m.block_records) + " x " +
                std::to_string(schema->record_size()) +
                "-byte records); raise it or lower block_records");
  }
  if (m.capacity_bytes != 0 && m.retention.max_bytes != 0 &&
      m.capacity_bytes < m.retention.max_bytes + 2 * block_bytes) {
    r.Check(key + ".capacity_bytes", FormatBytes(m.capacity_bytes) +
                                         " cannot hold the retention window (" +
                                         FormatBytes(m.retention.max_bytes) +
                                         ") plus two blocks (" +
                                         FormatBytes(2 * block_bytes) + ")");
  }
  ValidateProgram(m, key, *schema, r);
}

// The facilities the syslog sink sends with (agent/alert_sinks.h).
const std::vector<std::string>& SyslogFacilities() {
  static const std::vector<std::string> kFacilities = {
      "user",   "daemon", "local0", "local1", "local2",
      "local3", "local4", "local5", "local6", "local7"};
  return kFacilities;
}

void ValidateSink(const AlertSinkConfig& s, const std::string& key, Report& r) {
  switch (s.type) {
    case SinkType::kJsonl:
      if (s.path.empty()) {
        r.Check(key + ".path",
                "missing; a jsonl sink needs a file, or \"-\" for stdout");
      }
      break;
    case SinkType::kSyslog: {
      const std::string_view a = s.address;
      if (a.starts_with("udp:")) {
        if (Status st = CheckHostPort(a.substr(4), false, "127.0.0.1:514");
            !st.ok()) {
          r.Check(key + ".address", "udp: " + st.message());
        }
      } else if (a.starts_with("unix:")) {
        if (a.size() < 7 || a[5] != '/') {
          r.Check(key + ".address",
                  "expected \"unix:\" and an absolute path "
                  "such as \"unix:/dev/log\", got " +
                      Quote(a));
        }
      } else {
        r.Check(
            key + ".address",
            "expected \"udp:HOST:PORT\" or \"unix:/dev/log\", got " + Quote(a));
      }
      const auto& facilities = SyslogFacilities();
      if (std::find(facilities.begin(), facilities.end(), s.facility) ==
          facilities.end()) {
        r.Check(key + ".facility", "unknown syslog facility " +
                                       Quote(s.facility) +
                                       DidYouMean(s.facility, facilities) +
                                       " (expected local0 to local7, user or "
                                       "daemon)");
      }
      break;
    }
    case SinkType::kAlertmanager: {
      const std::string_view url = s.url;
      if (url.empty()) {
        r.Check(key + ".url",
                "missing; an alertmanager sink needs the Alertmanager's base "
                "URL, e.g. \"http://127.0.0.1:9093\"");
      } else if (!url.starts_with("http://") && !url.starts_with("https://")) {
        r.Check(key + ".url",
                "expected an http:// or https:// URL such as "
                "\"http://127.0.0.1:9093\", got " +
                    Quote(url));
      } else {
        std::string_view authority = url.substr(url.find("//") + 2);
        authority = authority.substr(0, authority.find('/'));
        const bool has_port = !authority.empty() &&
                              authority.find(':') != std::string_view::npos &&
                              authority.back() != ']';
        const std::string host_port =
            has_port ? std::string(authority) : std::string(authority) + ":80";
        if (Status st = CheckHostPort(host_port, false, "127.0.0.1:9093");
            !st.ok()) {
          r.Check(key + ".url", Quote(url) + ": " + st.message());
        }
      }
      if (s.resolve_after != nanoseconds(0) &&
          (s.resolve_after < std::chrono::seconds(1) ||
           s.resolve_after > std::chrono::hours(24))) {
        r.Check(key + ".resolve_after",
                "must be 0 (twice the trigger's period) or from 1s to 24h, "
                "got " +
                    std::to_string(s.resolve_after.count()) + "ns");
      }
      break;
    }
  }
}

void Validate(const AgentConfig& c, Report& r) {
  ValidateAgent(c, r);
  ValidatePorts(c, r);
  ValidateDataplane(c, r);
  CheckNames("multilog", "multilog", c.multilogs, r);
  for (size_t i = 0; i < c.multilogs.size(); ++i) ValidateMultilog(c, i, r);
  if (c.alerts.queue < 1 || c.alerts.queue > kMaxAlertQueue) {
    r.Check("alerts.queue", "must be from 1 to " +
                                std::to_string(kMaxAlertQueue) + ", got " +
                                std::to_string(c.alerts.queue));
  }
  for (size_t i = 0; i < c.alerts.sinks.size(); ++i) {
    const AlertSinkConfig& s = c.alerts.sinks[i];
    ValidateSink(s, Element("alerts.sink", i), r);
    for (size_t j = 0; j < i && !s.name.empty(); ++j) {
      if (c.alerts.sinks[j].name == s.name) {
        r.Check(Element("alerts.sink", i) + ".name",
                "sink " + Quote(s.name) + " is already defined" +
                    AtLine(c.alerts.sinks[j].line));
      }
    }
  }
}

// Digits with an optional fraction: *whole, *fraction and its *digits.
// Returns the characters read, 0 if none.
size_t ReadDecimal(std::string_view s, Wide* whole, Wide* fraction,
                   int* fraction_digits) {
  size_t i = 0;
  *whole = 0;
  *fraction = 0;
  *fraction_digits = 0;
  while (i < s.size() && IsDigit(s[i])) {
    if (i >= 20) return 0;  // more than fits a u64 with any unit
    *whole = *whole * 10 + static_cast<unsigned>(s[i] - '0');
    ++i;
  }
  if (i == 0) return 0;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && IsDigit(s[j])) {
      if (*fraction_digits >= 18) return 0;
      *fraction = *fraction * 10 + static_cast<unsigned>(s[j] - '0');
      ++*fraction_digits;
      ++j;
    }
    if (j == i + 1) return 0;
    i = j;
  }
  return i;
}

Wide Pow10(int n) {
  Wide p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string_view SinkTypeName(SinkType type) {
  switch (type) {
    case SinkType::kJsonl:
      return "jsonl";
    case SinkType::kSyslog:
      return "syslog";
    case SinkType::kAlertmanager:
      return "alertmanager";
  }
  return "?";
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<uint64_t> ParseSize(std::string_view text) {
  const std::string expected =
      "expected a size like \"2GiB\", got " + Quote(text);
  const std::string_view s = Trim(text);
  Wide whole;
  Wide fraction;
  int digits;
  const size_t n = ReadDecimal(s, &whole, &fraction, &digits);
  if (n == 0) return Status::InvalidArgument(expected);
  std::string unit(Trim(s.substr(n)));
  for (char& c : unit) c = Lower(c);
  struct Unit {
    std::string_view name;
    Wide scale;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"b", 1},
      {"kib", Wide{1} << 10},
      {"mib", Wide{1} << 20},
      {"gib", Wide{1} << 30},
      {"tib", Wide{1} << 40},
      {"pib", Wide{1} << 50},
      {"eib", Wide{1} << 60},
      {"kb", 1000},
      {"mb", 1000'000},
      {"gb", 1000'000'000},
      {"tb", 1000'000'000'000},
      {"pb", 1000'000'000'000'000},
      {"eb", 1000'000'000'000'000'000},
  };
  const Unit* found = nullptr;
  for (const Unit& u : kUnits) {
    if (u.name == unit) found = &u;
  }
  if (found == nullptr) {
    if (unit.size() == 1 &&
        std::string_view("kmgtpe").find(unit[0]) != std::string_view::npos) {
      std::string upper = unit;
      upper[0] = static_cast<char>(upper[0] - 'a' + 'A');
      const std::string number(s.substr(0, n));
      return Status::InvalidArgument(
          "ambiguous size " + Quote(text) + ": write " + number + upper +
          "iB (powers of 1024) or " + number + upper + "B (powers of 1000)");
    }
    return Status::InvalidArgument(
        expected + " (units: B, KiB, MiB, GiB, TiB, or kB, MB, GB, TB)");
  }
  const Wide scaled_fraction = fraction * found->scale;
  const Wide divisor = Pow10(digits);
  if (scaled_fraction % divisor != 0) {
    return Status::InvalidArgument("size " + Quote(text) +
                                   " is not a whole number of bytes");
  }
  const Wide bytes = whole * found->scale + scaled_fraction / divisor;
  if (bytes > std::numeric_limits<uint64_t>::max()) {
    return Status::InvalidArgument("size " + Quote(text) +
                                   " is too large (at most 16EiB)");
  }
  return static_cast<uint64_t>(bytes);
}

Result<nanoseconds> ParseDuration(std::string_view text) {
  const std::string expected =
      "expected a duration like \"500ms\" or \"1h30m\" (units: ns, us, ms, "
      "s, m, h, d), got " +
      Quote(text);
  std::string_view s = Trim(text);
  if (s == "0") return nanoseconds(0);
  if (s.empty()) return Status::InvalidArgument(expected);
  struct Unit {
    std::string_view name;
    Wide ns;
  };
  static constexpr Unit kUnits[] = {
      {"ns", 1},
      {"us", 1000},
      {"\xc2\xb5s", 1000},  // µs
      {"ms", 1000'000},
      {"s", 1000'000'000},
      {"m", Wide{60} * 1000'000'000},
      {"h", Wide{3600} * 1000'000'000},
      {"d", Wide{86400} * 1000'000'000},
  };
  Wide total = 0;
  while (!s.empty()) {
    Wide whole;
    Wide fraction;
    int digits;
    const size_t n = ReadDecimal(s, &whole, &fraction, &digits);
    if (n == 0) return Status::InvalidArgument(expected);
    s = Trim(s.substr(n));
    size_t u = 0;
    while (u < s.size() && !IsDigit(s[u]) && s[u] != ' ' && s[u] != '.') ++u;
    const std::string_view unit = s.substr(0, u);
    const Unit* found = nullptr;
    for (const Unit& x : kUnits) {
      if (x.name == unit) found = &x;
    }
    if (found == nullptr) {
      if (unit.empty()) {
        return Status::InvalidArgument("duration " + Quote(text) +
                                       " needs a unit; " + expected);
      }
      return Status::InvalidArgument(expected);
    }
    const Wide divisor = Pow10(digits);
    if (fraction * found->ns % divisor != 0) {
      return Status::InvalidArgument("duration " + Quote(text) +
                                     " is not a whole number of nanoseconds");
    }
    total += whole * found->ns + fraction * found->ns / divisor;
    if (total > static_cast<Wide>(std::numeric_limits<int64_t>::max())) {
      return Status::InvalidArgument("duration " + Quote(text) +
                                     " is too long (at most about 292 years)");
    }
    s = Trim(s.substr(u));
  }
  return nanoseconds(static_cast<int64_t>(total));
}

Status CheckListenAddress(std::string_view address) {
  return CheckHostPort(address, true, "127.0.0.1:7070");
}

Result<Schema> ResolveSchema(std::string_view schema) {
  if (schema == kPacketSchemaName) return PacketSchema();
  return Schema::Parse(schema);
}

MultilogOptions ToMultilogOptions(const MultilogConfig& m) {
  MultilogOptions options;
  options.data.mode = m.storage;
  options.data.directory = m.directory;
  options.data.block_records = m.block_records;
  options.data.preallocate_bytes = m.preallocate_bytes;
  options.data.capacity_bytes = m.capacity_bytes;
  options.data.retention = m.retention;
  options.data.flush_interval = m.flush_interval;
  options.bucket = m.bucket;
  return options;
}

Result<AgentConfig> ParseConfig(std::string_view text,
                                const std::string& source_name,
                                const EnvLookup& env) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(source_name + ":" +
                                   std::to_string(e.source().begin.line) + ":" +
                                   std::to_string(e.source().begin.column) +
                                   ": " + std::string(e.description()));
  }
  Report report;
  Reader reader(report, env);
  AgentConfig config;
  config.source = source_name;
  Decode(reader, root, &config);
  Validate(config, report);
  if (!report.empty()) return report.ToStatus(source_name);
  return config;
}

Result<AgentConfig> LoadConfig(const std::string& path, const EnvLookup& env) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("reading config " + path, errno);
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return Status::FromErrno("reading config " + path, err);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      close(fd);
      return Status::InvalidArgument(path + ": larger than " +
                                     FormatBytes(kMaxConfigBytes) +
                                     "; is this a configuration file?");
    }
  }
  close(fd);
  return ParseConfig(text, path, env);
}

Status ValidateConfig(const AgentConfig& config) {
  Report report;
  Validate(config, report);
  return report.empty() ? Status::Ok() : report.ToStatus(config.source);
}

}  // namespace loupe::agent
