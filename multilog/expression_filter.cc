// The filter grammar (multilog/expression.h): a recursive descent over
// '||', '&&', '!', '(' and comparisons, building the flat BoundFilter tree.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "multilog/expression.h"
#include "multilog/internal/expression_lexer.h"
#include "multilog/internal/expression_literal.h"
#include "multilog/internal/expression_parser.h"
#include "multilog/internal/literal_binding.h"

namespace loupe {
namespace {

using internal::BindLiteral;
using internal::BindPrefix;
using internal::IsCompareOp;
using internal::KindPhrase;
using internal::Literal;
using internal::Mode;
using internal::Position;
using internal::Printable;
using internal::ToCompareOp;
using internal::Tok;
using internal::Token;

class FilterParser : public internal::Parser {
 public:
  FilterParser(const Schema& schema, std::string_view text)
      : Parser("filter", text, &schema) {}

  Result<BoundFilter> Parse() {
    LOUPE_RETURN_IF_ERROR(CheckLength());
    Advance();
    if (token_.kind == Tok::kEnd) {
      return Error(token_.offset,
                   "empty filter; expected a condition such as "
                   "'dst_port == 443'");
    }
    Result<uint32_t> root = ParseOr(0);
    if (!root.ok()) return root.status();
    if (token_.kind != Tok::kEnd) {
      return Unexpected(token_, "'&&', '||' or end of input");
    }
    BoundFilter bound;
    bound.text = std::string(text_);
    bound.nodes.reserve(nodes_.size());
    CopyPreorder(*root, bound.nodes);
    return bound;
  }

 private:
  Result<uint32_t> ParseOr(int depth) {
    return ParseChain(depth, Tok::kOr, FilterNode::Kind::kOr);
  }

  // or := and ('||' and)*; and := unary ('&&' unary)*.
  Result<uint32_t> ParseChain(int depth, Tok separator, FilterNode::Kind kind) {
    std::vector<uint32_t> operands;
    while (true) {
      Result<uint32_t> operand =
          kind == FilterNode::Kind::kOr
              ? ParseChain(depth, Tok::kAnd, FilterNode::Kind::kAnd)
              : ParseUnary(depth);
      if (!operand.ok()) return operand.status();
      FilterNode& node = nodes_[*operand];
      if (node.kind == kind) {
        // (a || b) || c: one node with three children.
        operands.insert(operands.end(), node.children.begin(),
                        node.children.end());
      } else {
        operands.push_back(*operand);
      }
      if (token_.kind != separator) break;
      Advance();
    }
    if (operands.size() == 1) return operands.front();
    FilterNode node;
    node.kind = kind;
    node.children = std::move(operands);
    return Add(std::move(node));
  }

  Result<uint32_t> ParseUnary(int depth) {
    if (token_.kind == Tok::kNot || token_.kind == Tok::kLParen) {
      if (depth >= kMaxExpressionDepth) {
        return Error(token_.offset,
                     "nesting deeper than " +
                         std::to_string(kMaxExpressionDepth) +
                         " levels of '(' and '!'; expected a flatter "
                         "expression");
      }
    }
    if (token_.kind == Tok::kNot) {
      Advance();
      Result<uint32_t> operand = ParseUnary(depth + 1);
      if (!operand.ok()) return operand.status();
      FilterNode node;
      node.kind = FilterNode::Kind::kNot;
      node.children = {*operand};
      return Add(std::move(node));
    }
    if (token_.kind == Tok::kLParen) {
      const size_t open = token_.offset;
      Advance();
      Result<uint32_t> inner = ParseOr(depth + 1);
      if (!inner.ok()) return inner.status();
      if (token_.kind != Tok::kRParen) {
        return Unexpected(token_,
                          "')' to close the '(' at " + Position(text_, open));
      }
      Advance();
      return inner;
    }
    if (token_.kind == Tok::kIdent) return ParseCompare();
    return Unexpected(token_,
                      "a condition such as 'dst_port == 443', '(' or '!'");
  }

  Result<uint32_t> ParseCompare() {
    const Token field = token_;
    if ((field.text == "true" || field.text == "false") &&
        schema_->Find(field.text) == nullptr) {
      Advance();
      FilterNode node;
      node.kind = FilterNode::Kind::kTrue;
      uint32_t id = Add(std::move(node));
      if (field.text == "true") return id;
      FilterNode negation;
      negation.kind = FilterNode::Kind::kNot;
      negation.children = {id};
      return Add(std::move(negation));
    }
    Result<const Column*> found = FindColumn();
    if (!found.ok()) return found.status();
    const Column& column = **found;
    Advance();
    FilterNode node;
    node.column = &column;
    if (IsCompareOp(token_.kind)) {
      node.kind = FilterNode::Kind::kCompare;
      node.op = ToCompareOp(token_.kind);
      const std::string after = "after '" + std::string(token_.text) + "'";
      Advance(Mode::kLiteral);
      Result<Literal> literal = ReadLiteral(after);
      if (!literal.ok()) return literal.status();
      if (literal->kind == Literal::Kind::kPrefix4 ||
          literal->kind == Literal::Kind::kPrefix6) {
        return Error(literal->offset,
                     "unexpected prefix '" + Printable(literal->source) + "' " +
                         after + "; expected a single value (write '" +
                         column.name + " in " + Printable(literal->source) +
                         "' to match a prefix)");
      }
      Result<std::vector<uint8_t>> value =
          BindLiteral(column, *literal, errors_);
      if (!value.ok()) return value.status();
      node.value = std::move(value).value();
      Advance();
      return Add(std::move(node));
    }
    if (token_.kind == Tok::kIdent && token_.text == "in") {
      Advance(Mode::kLiteral);
      if (token_.kind == Tok::kLBrace) return ParseSet(std::move(node));
      Result<Literal> literal = ReadLiteral("after 'in'");
      if (!literal.ok()) return literal.status();
      if (literal->kind != Literal::Kind::kPrefix4 &&
          literal->kind != Literal::Kind::kPrefix6) {
        return Error(literal->offset,
                     "unexpected " + std::string(KindPhrase(*literal)) +
                         " after 'in'; expected a prefix like 10.0.0.0/8 or "
                         "a set like {1, 2}");
      }
      LOUPE_RETURN_IF_ERROR(BindPrefix(column, *literal, errors_, node));
      Advance();
      return Add(std::move(node));
    }
    return Unexpected(token_,
                      "a comparison (==, !=, <, <=, >, >=) or 'in' "
                      "after '" +
                          column.name + "'");
  }

  Result<uint32_t> ParseSet(FilterNode node) {
    node.kind = FilterNode::Kind::kInSet;
    const size_t open = token_.offset;
    Advance(Mode::kLiteral);
    if (token_.kind == Tok::kRBrace) {
      return Error(open, "empty set after 'in'; expected at least one literal");
    }
    while (true) {
      Result<Literal> literal = ReadLiteral("in the set");
      if (!literal.ok()) return literal.status();
      if (literal->kind == Literal::Kind::kPrefix4 ||
          literal->kind == Literal::Kind::kPrefix6) {
        return Error(literal->offset, "unexpected prefix '" +
                                          Printable(literal->source) +
                                          "' in a set; expected single values");
      }
      Result<std::vector<uint8_t>> value =
          BindLiteral(*node.column, *literal, errors_);
      if (!value.ok()) return value.status();
      node.set.push_back(std::move(value).value());
      Advance();
      if (token_.kind == Tok::kRBrace) break;
      if (token_.kind != Tok::kComma) {
        return Unexpected(
            token_, "',' or '}' in the set opened at " + Position(text_, open));
      }
      Advance(Mode::kLiteral);
    }
    Advance();
    return Add(std::move(node));
  }

  uint32_t Add(FilterNode node) {
    nodes_.push_back(std::move(node));
    return static_cast<uint32_t>(nodes_.size() - 1);
  }

  // Copies the tree under `id` to `out` in pre-order, so that the root is
  // node 0. Recursion is bounded by the nesting limit.
  uint32_t CopyPreorder(uint32_t id, std::vector<FilterNode>& out) {
    const auto index = static_cast<uint32_t>(out.size());
    out.push_back(std::move(nodes_[id]));
    std::vector<uint32_t> children = std::move(out[index].children);
    out[index].children.clear();
    for (uint32_t child : children) {
      uint32_t copied = CopyPreorder(child, out);
      out[index].children.push_back(copied);
    }
    return index;
  }

  std::vector<FilterNode> nodes_;
};

}  // namespace

Result<BoundFilter> ParseFilter(const Schema& schema, std::string_view text) {
  return FilterParser(schema, text).Parse();
}

}  // namespace loupe
