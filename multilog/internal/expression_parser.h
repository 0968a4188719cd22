// What the three parsers of the expression language (filters, aggregates,
// triggers; multilog/expression.h) share: one token of lookahead, error
// messages with the offending token's position ("unexpected ')'; expected
// ..."), the length limit, looking up a field with a did-you-mean, and
// reading a literal.
//
// Internal to the expression parsers. A Parser views its text and Schema,
// which must outlive it; one Parser per parse, used by one thread.
#ifndef LOUPE_MULTILOG_INTERNAL_EXPRESSION_PARSER_H_
#define LOUPE_MULTILOG_INTERNAL_EXPRESSION_PARSER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "multilog/internal/expression_lexer.h"
#include "multilog/internal/expression_literal.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe::internal {

class Parser {
 public:
  // `language` ("filter", "aggregate", "trigger") starts every message;
  // `schema` may be null for a language without fields (triggers).
  Parser(std::string_view language, std::string_view text, const Schema* schema)
      : errors_(language, text), text_(text), schema_(schema), lexer_(text) {}

 protected:
  Status Error(size_t offset, std::string_view message) const {
    return errors_.At(offset, message);
  }

  // "unexpected ')'; expected X" or "expected X, found end of input".
  Status Unexpected(const Token& token, std::string_view expected) const;

  // Refuses a text over kMaxExpressionBytes.
  Status CheckLength() const;

  void Advance(Mode mode = Mode::kNormal) { token_ = lexer_.Next(mode); }

  // The column named by the identifier token_, or an error with a
  // suggestion.
  Result<const Column*> FindColumn() const;

  // The literal in token_ (not consumed); `context` completes "expected a
  // literal ...".
  Result<Literal> ReadLiteral(std::string_view context) const;

  ExpressionErrors errors_;
  std::string_view text_;
  const Schema* schema_;
  Lexer lexer_;
  Token token_;
};

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_EXPRESSION_PARSER_H_
