// JsonWriter: compact JSON documents for every program of loupe that
// writes JSON -- loupectl's `--json` output (one document per command, or
// one per line for streams: JSON lines), and the daemons' JSON sinks and
// bodies. It writes into a string and places the commas itself:
//
//   JsonWriter w;
//   w.BeginObject().Key("name").String("tcp").Key("count").Uint(3);
//   w.EndObject();   // w.str() == {"name":"tcp","count":3}
//
// Strings are emitted as valid UTF-8 whatever their bytes: control
// characters are escaped, invalid sequences become U+FFFD. Doubles are
// written as JsonNumberText says (whole numbers in full); non-finite ones
// become null (JSON has no NaN). Misuse (a value where a key is
// due, unbalanced End*) is a programming error, asserted. Not synchronized.
#ifndef LOUPE_AGENT_JSON_WRITER_H_
#define LOUPE_AGENT_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loupe {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // The text so far; a complete document once every Begin has its End.
  const std::string& str() const { return out_; }
  bool complete() const { return stack_.empty() && !out_.empty(); }

 private:
  enum class Scope { kObject, kArray };
  void BeforeValue();

  std::string out_;
  std::vector<Scope> stack_;
  bool first_ = true;       // nothing written yet in the current scope
  bool after_key_ = false;  // a Key() was written; its value is due
};

// `text` as a quoted JSON string literal, escaped as JsonWriter::String.
std::string JsonQuote(std::string_view text);

// The one text of a double in loupe's JSON, and wherever a number is shown
// to operators next to it (alert messages): text that reads back as `v`,
// whole numbers below 1e15 in full ("1000000" rather than "1e+06", as
// operators read thresholds and rates), others the shortest round-trip
// form ("0.25", "1e+100", "1e+15"). "null" for NaN and infinities.
std::string JsonNumberText(double v);

}  // namespace loupe

#endif  // LOUPE_AGENT_JSON_WRITER_H_
