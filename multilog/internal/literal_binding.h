// Binding a literal of the expression language to a column: checking that
// the literal fits the column's type and encoding it as the column's record
// bytes (multilog/expression.h says which literal each type takes).
//
// Internal to the expression parsers. Pure functions, thread-safe; a bound
// FilterNode points to the Column, whose Schema must outlive it.
#ifndef LOUPE_MULTILOG_INTERNAL_LITERAL_BINDING_H_
#define LOUPE_MULTILOG_INTERNAL_LITERAL_BINDING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "multilog/expression.h"
#include "multilog/internal/expression_lexer.h"
#include "multilog/internal/expression_literal.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe::internal {

// bool, u8 to u64, i8 to i64, f32, f64.
bool IsNumeric(ColumnType t);

// "u16", "ipv6", "string(16)".
std::string TypeName(const Column& column);

// The literal in `column`'s record encoding (column.width bytes), or why it
// does not fit ("type mismatch: ...", "... is out of range ...").
Result<std::vector<uint8_t>> BindLiteral(const Column& column,
                                         const Literal& literal,
                                         const ExpressionErrors& errors);

// Makes `node` the kInPrefix node "column in literal" (literal is a prefix);
// an IPv4 prefix on an ipv6 column becomes ::ffff:a.b.c.d/(96+n).
Status BindPrefix(const Column& column, const Literal& literal,
                  const ExpressionErrors& errors, FilterNode& node);

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_LITERAL_BINDING_H_
