#include "multilog/internal/expression_parser.h"

#include <string>
#include <string_view>

#include "multilog/expression.h"

namespace loupe::internal {
namespace {

std::string Describe(const Token& token) {
  if (token.kind == Tok::kEnd) return "end of input";
  return "'" + Printable(token.text) + "'";
}

}  // namespace

Status Parser::Unexpected(const Token& token, std::string_view expected) const {
  if (token.kind == Tok::kEnd) {
    return Error(token.offset,
                 "expected " + std::string(expected) + ", found end of input");
  }
  if (token.kind == Tok::kInvalid) {
    if (token.problem.find("; ") != std::string::npos) {
      return Error(token.offset, token.problem);
    }
    return Error(token.offset,
                 token.problem + "; expected " + std::string(expected));
  }
  return Error(token.offset, "unexpected " + Describe(token) + "; expected " +
                                 std::string(expected));
}

Status Parser::CheckLength() const {
  if (text_.size() > kMaxExpressionBytes) {
    return Error(0, "expression is " + std::to_string(text_.size()) +
                        " bytes long; expected at most " +
                        std::to_string(kMaxExpressionBytes));
  }
  return Status::Ok();
}

Result<const Column*> Parser::FindColumn() const {
  const Column* column = schema_->Find(token_.text);
  if (column != nullptr) return column;
  std::string message = "unknown field '" + Printable(token_.text) + "'";
  // Schema::Suggest offers nothing for a query longer than any column name
  // could be a typo of (kMaxSuggestQuery), at no cost.
  const std::string suggestion = schema_->Suggest(token_.text);
  if (!suggestion.empty()) {
    message += "; did you mean '" + suggestion + "'?";
  } else {
    message += "; expected one of ";
    const auto& columns = schema_->columns();
    for (size_t i = 0; i < columns.size() && i < 12; ++i) {
      if (i > 0) message += ", ";
      message += columns[i].name;
    }
    if (columns.size() > 12) message += ", ...";
  }
  return Error(token_.offset, message);
}

Result<Literal> Parser::ReadLiteral(std::string_view context) const {
  if (token_.kind != Tok::kString && token_.kind != Tok::kWord &&
      token_.kind != Tok::kIdent) {
    return Unexpected(token_, "a literal " + std::string(context));
  }
  return DecodeLiteral(token_, errors_, schema_);
}

}  // namespace loupe::internal
