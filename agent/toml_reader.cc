#include "agent/toml_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>
#include <utility>

#include "multilog/did_you_mean.h"
#include "multilog/units.h"

namespace loupe::agent {
namespace {

using std::chrono::nanoseconds;

// "multilog[0].filters[1]" -> "multilog[0].filters" -> "multilog[0]" -> "".
std::string Parent(const std::string& key) {
  const size_t cut = key.find_last_of(".[");
  return cut == std::string::npos ? "" : key.substr(0, cut);
}

}  // namespace

// --- Pieces of messages -----------------------------------------------------

std::string AtLine(int line) {
  return line > 0 ? " (line " + std::to_string(line) + ")" : "";
}

std::string NameList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

std::string ElementKey(const std::string& key, size_t i) {
  return key + "[" + std::to_string(i) + "]";
}

std::string DescribeNode(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return Quoted(node.as_string()->get());
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

int LineOf(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

// --- Files ------------------------------------------------------------------

Result<std::string> ReadTomlFile(const std::string& path,
                                 std::string_view what) {
  const std::string context = "reading " + std::string(what) + " " + path;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(context, errno);
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return Status::FromErrno(context, err);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxTomlFileBytes) {
      close(fd);
      return Status::InvalidArgument(
          path + ": larger than " + FormatSize(kMaxTomlFileBytes) +
          "; is this a " + std::string(what) + " file?");
    }
  }
  close(fd);
  return text;
}

Result<toml::table> ParseToml(std::string_view text,
                              const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(source + ":" +
                                   std::to_string(e.source().begin.line) + ":" +
                                   std::to_string(e.source().begin.column) +
                                   ": " + std::string(e.description()));
  }
}

// --- ErrorReport ------------------------------------------------------------

void ErrorReport::Bad(int line, const std::string& key, std::string message) {
  failed_.insert(key);
  errors_.push_back({line, key, std::move(message)});
}

void ErrorReport::Check(const std::string& key, std::string message,
                        const std::string& near) {
  for (std::string k = key;; k = Parent(k)) {
    if (failed_.count(k) != 0) return;
    if (k.empty()) break;
  }
  int line = LineOfKey(key);
  if (line == 0 && !near.empty()) line = LineOfKey(near);
  errors_.push_back({line, key, std::move(message)});
}

void ErrorReport::Overridden(const std::string& key) {
  lines_[key] = 0;
  failed_.erase(key);
  std::erase_if(errors_, [&](const Error& e) { return e.key == key; });
}

int ErrorReport::LineOfKey(const std::string& key) const {
  for (std::string k = key; !k.empty(); k = Parent(k)) {
    auto it = lines_.find(k);
    if (it != lines_.end()) return it->second;
  }
  return 0;
}

Status ErrorReport::ToStatus(const std::string& source) const {
  std::vector<Error> errors = errors_;
  std::stable_sort(errors.begin(), errors.end(),
                   [](const Error& a, const Error& b) {
                     const int la = a.line > 0 ? a.line : INT32_MAX;
                     const int lb = b.line > 0 ? b.line : INT32_MAX;
                     return la < lb;
                   });
  std::string msg;
  for (size_t i = 0; i < errors.size() && i < kMaxReportedErrors; ++i) {
    const Error& e = errors[i];
    if (!msg.empty()) msg += '\n';
    msg += source;
    if (e.line > 0) msg += ":" + std::to_string(e.line);
    msg += ": ";
    if (!e.key.empty()) msg += e.key + ": ";
    msg += e.message;
  }
  if (errors.size() > kMaxReportedErrors) {
    msg += "\n" + source + ": ... and " +
           std::to_string(errors.size() - kMaxReportedErrors) + " more errors";
  }
  return Status::InvalidArgument(std::move(msg));
}

// --- ValueReader ------------------------------------------------------------

bool ValueReader::Bool(const toml::node& node, const std::string& key,
                       bool* out) {
  if (!node.is_boolean()) {
    report_.Bad(LineOf(node), key,
                "expected true or false, got " + DescribeNode(node));
    return false;
  }
  *out = node.as_boolean()->get();
  return true;
}

bool ValueReader::String(const toml::node& node, const std::string& key,
                         std::string* out) {
  if (!node.is_string()) {
    report_.Bad(LineOf(node), key,
                "expected a string, got " + DescribeNode(node));
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

bool ValueReader::Size(const toml::node& node, const std::string& key,
                       uint64_t* out) {
  if (node.is_integer()) return Unsigned(node, key, out);
  std::string text;
  if (!node.is_string()) {
    report_.Bad(LineOf(node), key,
                "expected a size like \"2GiB\", got " + DescribeNode(node));
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

bool ValueReader::Duration(const toml::node& node, const std::string& key,
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
                    DescribeNode(node));
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

const toml::table* ValueReader::Table(const toml::node& node,
                                      const std::string& key) {
  if (!node.is_table()) {
    report_.Bad(LineOf(node), key,
                "expected a table, got " + DescribeNode(node));
    return nullptr;
  }
  return node.as_table();
}

const toml::array* ValueReader::Array(const toml::node& node,
                                      const std::string& key) {
  if (!node.is_array()) {
    report_.Bad(LineOf(node), key,
                "expected an array, got " + DescribeNode(node));
    return nullptr;
  }
  return node.as_array();
}

std::vector<const toml::table*> ValueReader::Tables(const toml::node& node,
                                                    const std::string& key) {
  std::vector<const toml::table*> out;
  if (!node.is_array()) {
    const bool top = key.find_first_of(".[") == std::string::npos;
    report_.Bad(LineOf(node), key,
                (top ? "expected [[" + key + "]] tables"
                     : "expected a list of tables") +
                    std::string(", got ") + DescribeNode(node));
    return out;
  }
  const toml::array& array = *node.as_array();
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string element = ElementKey(key, i);
    if (!array[i].is_table()) {
      report_.Bad(LineOf(array[i]), element,
                  "expected a table, got " + DescribeNode(array[i]));
      out.push_back(nullptr);
      continue;
    }
    report_.SetLine(element, LineOf(array[i]));
    out.push_back(array[i].as_table());
  }
  return out;
}

// --- TableReader ------------------------------------------------------------

std::string TableReader::Key(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::node* TableReader::Get(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
    known_.emplace_back(key);
  }
  const toml::node* node = table_.get(key);
  if (node != nullptr) report().SetLine(Key(key), LineOf(*node));
  return node;
}

bool TableReader::Bool(std::string_view key, bool* out) {
  const toml::node* n = Get(key);
  return n != nullptr && reader_.Bool(*n, Key(key), out);
}

bool TableReader::String(std::string_view key, std::string* out) {
  const toml::node* n = Get(key);
  return n != nullptr && reader_.String(*n, Key(key), out);
}

void TableReader::Size(std::string_view key, uint64_t* out) {
  if (const toml::node* n = Get(key)) reader_.Size(*n, Key(key), out);
}

void TableReader::Duration(std::string_view key, nanoseconds* out) {
  if (const toml::node* n = Get(key)) reader_.Duration(*n, Key(key), out);
}

void TableReader::Strings(std::string_view key, std::vector<std::string>* out) {
  const toml::node* n = Get(key);
  if (n == nullptr) return;
  const toml::array* array = reader_.Array(*n, Key(key));
  if (array == nullptr) return;
  out->clear();
  for (size_t i = 0; i < array->size(); ++i) {
    std::string s;
    if (reader_.String((*array)[i], ElementKey(Key(key), i), &s)) {
      out->push_back(std::move(s));
    }
  }
}

void TableReader::Unsigneds(std::string_view key, std::vector<uint32_t>* out) {
  const toml::node* n = Get(key);
  if (n == nullptr) return;
  const toml::array* array = reader_.Array(*n, Key(key));
  if (array == nullptr) return;
  out->clear();
  for (size_t i = 0; i < array->size(); ++i) {
    uint32_t v = 0;
    if (reader_.Unsigned((*array)[i], ElementKey(Key(key), i), &v)) {
      out->push_back(v);
    }
  }
}

const toml::table* TableReader::Table(std::string_view key) {
  const toml::node* n = Get(key);
  return n == nullptr ? nullptr : reader_.Table(*n, Key(key));
}

void TableReader::RejectUnknown() {
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
      msg += " (expected one of: " + NameList(known_) + ")";
    } else if (table_.get(near) == nullptr) {
      // The key meant is then missing: say nothing more about it.
      report().Suppress(Key(near));
    }
    report().Bad(static_cast<int>(key.source().begin.line), Key(name),
                 std::move(msg));
  }
}

}  // namespace loupe::agent
