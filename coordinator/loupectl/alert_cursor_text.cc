#include "coordinator/loupectl/alert_cursor_text.h"

#include <charconv>

namespace loupe::ctl {
namespace {

constexpr std::string_view kForm = "MULTILOG=INCARNATION:SEQUENCE[,...]";

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

Status Bad(std::string_view entry, std::string_view why) {
  return Status::InvalidArgument("--after: '" + std::string(entry) +
                                 "': " + std::string(why) + "; the form is " +
                                 std::string(kForm));
}

}  // namespace

Result<AlertCursorText> ParseAlertCursor(std::string_view text) {
  AlertCursorText out;
  if (text.empty()) return Bad(text, "empty cursor");
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string_view entry = text.substr(
        start, comma == std::string_view::npos ? comma : comma - start);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) return Bad(entry, "no '='");
    const std::string_view name = entry.substr(0, eq);
    const std::string_view position = entry.substr(eq + 1);
    if (name.empty()) return Bad(entry, "no multilog name before '='");
    const size_t colon = position.find(':');
    if (colon == std::string_view::npos) {
      return Bad(entry, "no ':' between incarnation and sequence");
    }
    AlertPosition p;
    if (!ParseDecimal(position.substr(0, colon), &p.incarnation)) {
      return Bad(entry, "the incarnation is not a decimal number");
    }
    if (!ParseDecimal(position.substr(colon + 1), &p.sequence)) {
      return Bad(entry, "the sequence is not a decimal number");
    }
    if (!out.emplace(std::string(name), p).second) {
      return Bad(entry, "multilog '" + std::string(name) + "' is given twice");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string FormatAlertCursor(const AlertCursorText& cursor) {
  std::string out;
  for (const auto& [name, p] : cursor) {
    if (!out.empty()) out += ',';
    out += name + "=" + std::to_string(p.incarnation) + ":" +
           std::to_string(p.sequence);
  }
  return out;
}

}  // namespace loupe::ctl
