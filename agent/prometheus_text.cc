#include "agent/prometheus_text.h"

#include <charconv>
#include <cmath>

#include "agent/internal/utf8.h"
#include "multilog/ascii.h"

namespace loupe::agent {
namespace {

void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  internal::ForEachUtf8(
      s,
      [&](char c) {
        switch (c) {
          case '\\':
            out->append("\\\\");
            break;
          case '\n':
            out->append("\\n");
            break;
          case '"':
            out->append(quote ? "\\\"" : "\"");
            break;
          default:
            out->push_back(c);
        }
      },
      [&](std::string_view seq) { out->append(seq); });
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kUntyped:
      return "untyped";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok =
        IsAsciiLetter(c) || c == '_' || c == ':' || (i > 0 && IsAsciiDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAsciiLetter(c) || c == '_' || (i > 0 && IsAsciiDigit(c));
    if (!ok) return false;
  }
  return true;
}

void AppendEscapedHelp(std::string* out, std::string_view s) {
  AppendEscaped(out, s, /*quote=*/false);
}

void AppendEscapedLabelValue(std::string* out, std::string_view s) {
  AppendEscaped(out, s, /*quote=*/true);
}

void PrometheusTextWriter::Fail(std::string msg) {
  if (status_.ok()) status_ = Status::InvalidArgument(std::move(msg));
}

void PrometheusTextWriter::Family(std::string_view name, std::string_view help,
                                  MetricType type) {
  family_.assign(name);
  family_ok_ = false;
  family_type_ = type;
  label_sets_.clear();
  if (!IsValidMetricName(name)) {
    Fail("metrics: invalid metric name '" + family_ + "'");
    return;
  }
  if (!families_.insert(family_).second) {
    Fail("metrics: family '" + family_ + "' declared twice");
    return;
  }
  family_ok_ = true;
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  AppendEscapedHelp(&text_, help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += MetricTypeName(type);
  text_ += '\n';
}

bool PrometheusTextWriter::BeginSample(std::string_view suffix,
                                       std::initializer_list<Label> labels) {
  if (!family_ok_) {
    Fail(family_.empty()
             ? "metrics: sample before any family"
             : "metrics: sample of invalid family '" + family_ + "'");
    return false;
  }
  const bool histogram = family_type_ == MetricType::kHistogram;
  if (histogram != !suffix.empty() ||
      (histogram && suffix != "_bucket" && suffix != "_sum" &&
       suffix != "_count")) {
    Fail("metrics: " + family_ + ": sample suffix '" + std::string(suffix) +
         "' does not fit its type");
    return false;
  }
  std::string line = family_;
  line += suffix;
  if (labels.size() > 0) {
    line += '{';
    for (const Label* l = labels.begin(); l != labels.end(); ++l) {
      if (!IsValidLabelName(l->name)) {
        Fail("metrics: " + family_ + ": invalid label name '" +
             std::string(l->name) + "'");
        return false;
      }
      for (const Label* prev = labels.begin(); prev != l; ++prev) {
        if (prev->name == l->name) {
          Fail("metrics: " + family_ + ": label '" + std::string(l->name) +
               "' given twice");
          return false;
        }
      }
      if (l != labels.begin()) line += ',';
      line += l->name;
      line += "=\"";
      AppendEscapedLabelValue(&line, l->value);
      line += '"';
    }
    line += '}';
  }
  if (!label_sets_.insert(line).second) {
    Fail("metrics: duplicate sample " + line);
    return false;
  }
  text_ += line;
  text_ += ' ';
  return true;
}

void PrometheusTextWriter::Sample(std::initializer_list<Label> labels,
                                  uint64_t value) {
  if (BeginSample("", labels)) WriteValue(value);
}

void PrometheusTextWriter::Sample(std::initializer_list<Label> labels,
                                  double value) {
  if (BeginSample("", labels)) WriteValue(value);
}

void PrometheusTextWriter::HistogramSample(std::string_view suffix,
                                           std::initializer_list<Label> labels,
                                           uint64_t value) {
  if (BeginSample(suffix, labels)) WriteValue(value);
}

void PrometheusTextWriter::HistogramSample(std::string_view suffix,
                                           std::initializer_list<Label> labels,
                                           double value) {
  if (BeginSample(suffix, labels)) WriteValue(value);
}

void PrometheusTextWriter::WriteValue(uint64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), value);
  text_.append(buf, r.ptr);
  text_ += '\n';
}

void PrometheusTextWriter::WriteValue(double value) {
  if (std::isnan(value)) {
    text_ += "NaN";
  } else if (std::isinf(value)) {
    text_ += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof(buf), value);
    text_.append(buf, r.ptr);
  }
  text_ += '\n';
}

}  // namespace loupe::agent
