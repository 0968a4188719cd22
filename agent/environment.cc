#include "agent/environment.h"

#include <cstdlib>

#include "multilog/ascii.h"
namespace loupe::agent {
namespace {

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

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
             (IsIdentStart(text[end]) || IsAsciiDigit(text[end]))) {
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
      if (fallback->find("${") != std::string_view::npos) {
        const size_t end = text.find('}', close + 1);
        return Status::InvalidArgument(
            Quoted(text.substr(i, end == std::string_view::npos
                                      ? std::string_view::npos
                                      : end - i + 1)) +
            ": a default cannot use the environment (no nested ${...}); "
            "write the default itself");
      }
    }
    bool valid = !inner.empty() && IsIdentStart(inner[0]);
    for (char ch : inner)
      valid = valid && (IsIdentStart(ch) || IsAsciiDigit(ch));
    if (!valid) {
      return Status::InvalidArgument(
          Quoted(text.substr(i, close - i + 1)) +
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

}  // namespace loupe::agent
