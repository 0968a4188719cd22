// The names of the expression language's operators and aggregate functions;
// the grammars are in expression_filter.cc and expression_aggregate.cc.
#include "multilog/expression.h"

#include <string_view>

namespace loupe {

std::string_view CompareOpName(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "==";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

std::string_view AggregateFunctionName(AggregateFunction function) {
  switch (function) {
    case AggregateFunction::kCount:
      return "COUNT";
    case AggregateFunction::kSum:
      return "SUM";
    case AggregateFunction::kMin:
      return "MIN";
    case AggregateFunction::kMax:
      return "MAX";
    case AggregateFunction::kHist:
      return "HIST";
    case AggregateFunction::kQuantile:
      return "QUANTILE";
  }
  return "?";
}

}  // namespace loupe
