// The aggregate and trigger grammars (multilog/expression.h): one function
// call over a numeric field, and one comparison of an aggregate with a
// number.
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>

#include "multilog/did_you_mean.h"
#include "multilog/expression.h"
#include "multilog/internal/expression_lexer.h"
#include "multilog/internal/expression_literal.h"
#include "multilog/internal/expression_parser.h"
#include "multilog/internal/literal_binding.h"

namespace loupe {
namespace {

using internal::IsCompareOp;
using internal::IsDigit;
using internal::IsNumeric;
using internal::KindPhrase;
using internal::Literal;
using internal::Mode;
using internal::Printable;
using internal::ToCompareOp;
using internal::Tok;
using internal::TypeName;
using internal::Upper;

constexpr std::string_view kAggregateNames[] = {
    "COUNT", "SUM", "MIN", "MAX", "HIST", "P50", "P90", "P99", "QUANTILE",
};

class AggregateParser : public internal::Parser {
 public:
  AggregateParser(const Schema& schema, std::string_view text)
      : Parser("aggregate", text, &schema) {}

  Result<AggregateSpec> Parse() {
    LOUPE_RETURN_IF_ERROR(CheckLength());
    AggregateSpec spec;
    spec.text = std::string(text_);
    Advance();
    if (token_.kind == Tok::kEnd) {
      return Error(token_.offset,
                   "empty aggregate; expected a function such as COUNT() or "
                   "SUM(field)");
    }
    if (token_.kind != Tok::kIdent) {
      return Unexpected(token_,
                        "an aggregate function such as COUNT() or SUM(field)");
    }
    const std::string name = Upper(token_.text);
    if (!Lookup(name, spec)) {
      std::string message =
          "unknown aggregate function '" + Printable(token_.text) + "'";
      const std::string close = Closest(name, kAggregateNames);
      if (!close.empty()) {
        message += "; did you mean '" + close + "'?";
      } else {
        message +=
            "; expected COUNT, SUM, MIN, MAX, HIST, P50, P90, P99 or QUANTILE";
      }
      return Error(token_.offset, message);
    }
    Advance();
    if (token_.kind != Tok::kLParen) {
      return Unexpected(token_, "'(' after '" + name + "'");
    }
    Advance();
    if (spec.function == AggregateFunction::kCount) {
      if (token_.kind != Tok::kRParen) {
        return Unexpected(token_, "')': COUNT() takes no field");
      }
    } else {
      if (token_.kind != Tok::kIdent) {
        return Unexpected(token_, "a field name after '" + name + "('");
      }
      Result<const Column*> column = FindColumn();
      if (!column.ok()) return column.status();
      if (!IsNumeric((*column)->type)) {
        return Error(token_.offset,
                     "column '" + (*column)->name + "' is " +
                         TypeName(**column) +
                         "; expected a numeric column "
                         "(bool, u8 to u64, i8 to i64, f32, f64) for " +
                         name);
      }
      spec.column = *column;
      Advance();
      if (name == "QUANTILE") {
        if (token_.kind != Tok::kComma) {
          return Unexpected(token_, "',' and a quantile such as 0.99");
        }
        Advance(Mode::kLiteral);
        Result<Literal> q = ReadLiteral("for the quantile");
        if (!q.ok()) return q.status();
        if (q->kind != Literal::Kind::kNumber || !q->protocol.empty() ||
            !(q->number > 0 && q->number < 1)) {
          return Error(q->offset,
                       "quantile '" + Printable(q->source) +
                           "' is out of range; expected a number between 0 "
                           "and 1 (exclusive), such as 0.99");
        }
        spec.quantile = q->number;
        Advance();
      }
      if (token_.kind != Tok::kRParen) {
        return Unexpected(token_, "')'");
      }
    }
    Advance();
    if (token_.kind != Tok::kEnd) {
      return Unexpected(token_, "end of input after ')'");
    }
    return spec;
  }

 private:
  // Recognizes COUNT, SUM, MIN, MAX, HIST, QUANTILE and percentiles: Pnn
  // with two digits (P50 = 0.5, P05 = 0.05) or only nines (P999 = 0.999).
  static bool Lookup(const std::string& name, AggregateSpec& spec) {
    struct Named {
      std::string_view name;
      AggregateFunction function;
    };
    static constexpr Named kNamed[] = {
        {"COUNT", AggregateFunction::kCount},
        {"SUM", AggregateFunction::kSum},
        {"MIN", AggregateFunction::kMin},
        {"MAX", AggregateFunction::kMax},
        {"HIST", AggregateFunction::kHist},
        {"QUANTILE", AggregateFunction::kQuantile},
    };
    for (const Named& n : kNamed) {
      if (name == n.name) {
        spec.function = n.function;
        return true;
      }
    }
    std::string_view digits = std::string_view(name).substr(1);
    if (name.size() < 3 || name[0] != 'P' || digits.size() > 6 ||
        !std::all_of(digits.begin(), digits.end(), IsDigit)) {
      return false;
    }
    double q = 0;
    if (digits.size() == 2) {
      q = ((digits[0] - '0') * 10 + (digits[1] - '0')) / 100.0;
    } else if (std::all_of(digits.begin(), digits.end(),
                           [](char c) { return c == '9'; })) {
      q = 1 - std::pow(10.0, -static_cast<double>(digits.size()));
    }
    if (!(q > 0 && q < 1)) return false;
    spec.function = AggregateFunction::kQuantile;
    spec.quantile = q;
    return true;
  }
};

class TriggerParser : public internal::Parser {
 public:
  explicit TriggerParser(std::string_view text)
      : Parser("trigger", text, nullptr) {}

  Result<TriggerSpec> Parse() {
    LOUPE_RETURN_IF_ERROR(CheckLength());
    TriggerSpec spec;
    spec.text = std::string(text_);
    Advance();
    if (token_.kind == Tok::kEnd) {
      return Error(token_.offset,
                   "empty trigger; expected a condition such as "
                   "'http_bytes > 1e6'");
    }
    if (token_.kind != Tok::kIdent) {
      return Unexpected(token_, "the name of an aggregate");
    }
    spec.aggregate = std::string(token_.text);
    Advance();
    if (!IsCompareOp(token_.kind)) {
      return Unexpected(token_, "a comparison (==, !=, <, <=, >, >=) after '" +
                                    spec.aggregate + "'");
    }
    spec.op = ToCompareOp(token_.kind);
    const std::string after = "after '" + std::string(token_.text) + "'";
    Advance(Mode::kLiteral);
    Result<Literal> threshold = ReadLiteral(after);
    if (!threshold.ok()) return threshold.status();
    if (threshold->kind != Literal::Kind::kNumber ||
        !threshold->protocol.empty()) {
      return Error(threshold->offset, "unexpected " +
                                          std::string(KindPhrase(*threshold)) +
                                          " " + after + "; expected a number");
    }
    spec.threshold = threshold->number;
    Advance();
    if (token_.kind != Tok::kEnd) {
      return Unexpected(token_, "end of input after the threshold");
    }
    return spec;
  }
};

}  // namespace

Result<AggregateSpec> ParseAggregate(const Schema& schema,
                                     std::string_view text) {
  return AggregateParser(schema, text).Parse();
}

bool CompareHolds(double value, CompareOp op, double threshold) {
  switch (op) {
    case CompareOp::kEq:
      return value == threshold;
    case CompareOp::kNe:
      return value != threshold;
    case CompareOp::kLt:
      return value < threshold;
    case CompareOp::kLe:
      return value <= threshold;
    case CompareOp::kGt:
      return value > threshold;
    case CompareOp::kGe:
      return value >= threshold;
  }
  return false;
}

Result<TriggerSpec> ParseTrigger(std::string_view text) {
  return TriggerParser(text).Parse();
}

}  // namespace loupe
