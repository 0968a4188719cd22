// PrometheusTextWriter: builds one scrape in the Prometheus text exposition
// format, version 0.0.4 (Content-Type "text/plain; version=0.0.4"):
//
//   text    := family*
//   family  := "# HELP " name " " help "\n"
//              "# TYPE " name " " ("counter" | "gauge" | "histogram" |
//              "untyped") "\n" sample*
//   sample  := name [suffix] ["{" label ("," label)* "}"] " " value "\n"
//   suffix  := "_bucket" | "_sum" | "_count"     (histograms only)
//   label   := label-name "=\"" label-value "\""
//   name        := [a-zA-Z_:][a-zA-Z0-9_:]*
//   label-name  := [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
//   help        := UTF-8 with "\" written "\\" and newline "\n"
//   label-value := UTF-8 with "\" written "\\", '"' "\"" and newline "\n"
//   value       := integer | shortest round-trip float | "NaN" | "+Inf" |
//   "-Inf"
//
// Ill-formed UTF-8 in help or label values is written as U+FFFD. The writer
// never emits text a scraper would reject: a bad metric or label name, a
// family declared twice, a repeated label name or a repeated label set is
// skipped, and the first such error is kept in status(). Not thread-safe;
// one writer per scrape.
#ifndef LOUPE_AGENT_PROMETHEUS_TEXT_H_
#define LOUPE_AGENT_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe::agent {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType : uint8_t { kCounter, kGauge, kUntyped, kHistogram };

// "counter", "gauge", "untyped", "histogram".
std::string_view MetricTypeName(MetricType type);

bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

// Append `s` escaped for a HELP line / for a label value (see the grammar).
void AppendEscapedHelp(std::string* out, std::string_view s);
void AppendEscapedLabelValue(std::string* out, std::string_view s);

struct Label {
  std::string_view name;
  std::string_view value;
};

class PrometheusTextWriter {
 public:
  // Starts a family; the samples that follow belong to it.
  void Family(std::string_view name, std::string_view help, MetricType type);
  // A sample of the current family. Integers are written exactly (a double
  // would round counters above 2^53).
  void Sample(std::initializer_list<Label> labels, uint64_t value);
  void Sample(std::initializer_list<Label> labels, double value);
  // A histogram's sample: `suffix` is "_bucket" (with an "le" label),
  // "_sum" or "_count"; anything else, or a family of another type, is
  // skipped as an error.
  void HistogramSample(std::string_view suffix,
                       std::initializer_list<Label> labels, uint64_t value);
  void HistogramSample(std::string_view suffix,
                       std::initializer_list<Label> labels, double value);

  // OK, or the first thing that was skipped and why.
  const Status& status() const { return status_; }
  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  // Writes "name{labels} " and returns true, or records an error.
  bool BeginSample(std::string_view suffix,
                   std::initializer_list<Label> labels);
  void WriteValue(uint64_t value);
  void WriteValue(double value);
  void Fail(std::string msg);

  std::string text_;
  Status status_;
  std::string family_;  // empty before the first Family or after a bad one
  bool family_ok_ = false;
  MetricType family_type_ = MetricType::kUntyped;
  std::set<std::string, std::less<>> families_;
  std::set<std::string, std::less<>> label_sets_;  // of the current family
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_PROMETHEUS_TEXT_H_
