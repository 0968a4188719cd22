// JsonField: one field of a JSON-lines alert sink's line, as the tests read
// them (the sink writes flat objects with string and number values): the
// string's text, the number's digits, or "" when the field is absent.
#ifndef LOUPE_TESTS_SUPPORT_JSONL_FIELD_H_
#define LOUPE_TESTS_SUPPORT_JSONL_FIELD_H_

#include <string>

namespace loupe::test_support {

inline std::string JsonField(const std::string& line, const std::string& name) {
  const std::string tag = "\"" + name + "\":";
  size_t at = line.find(tag);
  if (at == std::string::npos) return std::string();
  at += tag.size();
  if (at < line.size() && line[at] == '"') {
    return line.substr(at + 1, line.find('"', at + 1) - at - 1);
  }
  return line.substr(at, line.find_first_of(",}", at) - at);
}

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_JSONL_FIELD_H_
