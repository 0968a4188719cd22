// The expression language of the multilog: filters, aggregates and
// triggers, parsed by hand and bound to a Schema. Parsing is control-path
// work (it allocates, and reports errors as Status values written for the
// operator: "filter 1:1: unknown field 'dst_prot'; did you mean
// 'dst_port'?"); evaluating a filter on records is FilterProgram's job
// (multilog/filter_program.h).
//
//   filter    := or
//   or        := and ('||' and)*
//   and       := unary ('&&' unary)*
//   unary     := '!' unary | '(' or ')' | cmp | 'true' | 'false'
//   cmp       := field op literal | field 'in' prefix
//              | field 'in' '{' literal (',' literal)* '}'
//   op        := '==' | '!=' | '<' | '<=' | '>' | '>='
//   literal   := number            42, -7, 0x1f, 1.5, 1e6
//              | ipv4 | ipv6       10.1.2.3, ::1, fe80::1, ::ffff:1.2.3.4
//              | mac               aa:bb:cc:dd:ee:ff
//              | string            'text' or "text" (escapes \\ \' \" \n \t
//                                  \0 \xHH)
//              | true | false
//              | protocol name     icmp igmp ipip tcp udp gre esp ah icmpv6
//                                  ospf pim vrrp l2tp sctp udplite (numbers)
//   prefix    := ipv4 '/' bits | ipv6 '/' bits    10.0.0.0/8, 2001:db8::/32
//   aggregate := COUNT() | SUM(f) | MIN(f) | MAX(f) | HIST(f)
//              | Pnn(f) (P50, P90, P99, P999...) | QUANTILE(f, q)
//   trigger   := aggregate_name op number
//
// `true` and `false` stand alone only when the schema has no column of that
// name; they are kept in the tree as kTrue and !kTrue.
//
// Binding checks every literal against its column: numbers must fit the
// column's type (u8 takes 0..255; a float literal must be whole for an
// integer column); bool takes true, false, 0 and 1; ipv4 takes IPv4
// addresses and prefixes; ipv6 takes IPv6 and IPv4 ones (a.b.c.d becomes
// ::ffff:a.b.c.d, /n becomes /(96+n)); mac takes MAC addresses; string(N)
// takes quoted strings of at most N bytes (zero-padded). Every operator
// works on every type; on addresses, MACs and strings the order is the
// order of their bytes. Host bits of a prefix are cleared (10.1.2.3/8 is
// 10.0.0.0/8).
//
// Limits, so that no input can exhaust the stack or memory: at most
// kMaxExpressionBytes of text and kMaxExpressionDepth nested '(' and '!'.
//
// Every function here is thread-safe (no shared state). A BoundFilter and an
// AggregateSpec point to Columns of the Schema they were bound to: the
// Schema must outlive them.
#ifndef LOUPE_MULTILOG_EXPRESSION_H_
#define LOUPE_MULTILOG_EXPRESSION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe {

inline constexpr size_t kMaxExpressionBytes = 64 * 1024;
inline constexpr int kMaxExpressionDepth = 64;

enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

// "==", "!=", "<", "<=", ">", ">=".
std::string_view CompareOpName(CompareOp op);

// One node of a bound filter. The tree lives in a flat vector; node 0 is the
// root and children have larger indices than their parent.
struct FilterNode {
  enum class Kind : uint8_t {
    kAnd,
    kOr,
    kNot,
    kCompare,
    kInSet,
    kInPrefix,
    kTrue,
  };
  Kind kind;
  // kAnd/kOr: two or more children (nested ones of the same kind are
  // flattened); kNot: one.
  std::vector<uint32_t> children;
  // kCompare/kInSet/kInPrefix: points into the Schema, which must outlive
  // the node.
  const Column* column = nullptr;
  CompareOp op = CompareOp::kEq;  // kCompare
  // kCompare: the literal in record encoding, column->width bytes.
  // kInPrefix: the prefix in record encoding with host bits cleared.
  std::vector<uint8_t> value;
  // kInSet: each member in record encoding, in the order written.
  std::vector<std::vector<uint8_t>> set;
  uint32_t prefix_bits = 0;  // kInPrefix: leading bits of value to match
};

// A filter parsed and bound to (type-checked against) a schema.
struct BoundFilter {
  std::string text;
  std::vector<FilterNode> nodes;
};

// Errors are kInvalidArgument: "filter <line>:<column>: <what>; expected
// <what>", with the 1-based line and column of the offending token.
Result<BoundFilter> ParseFilter(const Schema& schema, std::string_view text);

enum class AggregateFunction : uint8_t {
  kCount,
  kSum,
  kMin,
  kMax,
  kHist,
  kQuantile,
};

// "COUNT", "SUM", "MIN", "MAX", "HIST", "QUANTILE".
std::string_view AggregateFunctionName(AggregateFunction function);

struct AggregateSpec {
  AggregateFunction function;
  const Column* column = nullptr;  // null for COUNT
  double quantile = 0;             // kQuantile: P50 -> 0.5
  std::string text;
};

// Function names ignore case. Every function but COUNT needs a numeric
// column (bool to f64); a quantile lies strictly between 0 and 1. Errors:
// "aggregate <line>:<column>: ...".
Result<AggregateSpec> ParseAggregate(const Schema& schema,
                                     std::string_view text);

struct TriggerSpec {
  std::string aggregate;  // the name of an aggregate (an identifier)
  CompareOp op;
  double threshold;
  std::string text;
};

// Errors: "trigger <line>:<column>: ...".
Result<TriggerSpec> ParseTrigger(std::string_view text);

// Whether `value op threshold` holds: a trigger's test.
bool CompareHolds(double value, CompareOp op, double threshold);

}  // namespace loupe

#endif  // LOUPE_MULTILOG_EXPRESSION_H_
