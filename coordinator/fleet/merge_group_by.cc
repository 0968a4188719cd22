#include "coordinator/fleet/merge_group_by.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace loupe::coordinator {
namespace {

enum class Combine { kAdd, kMin, kMax };

// How an aggregate of GetGroupBy combines across hosts, or nullopt for a
// quantile.
std::optional<Combine> CombineOf(std::string_view aggregate) {
  const size_t paren = aggregate.find('(');
  std::string fn(aggregate.substr(0, paren));
  for (char& c : fn) c = static_cast<char>(std::toupper(c));
  if (fn == "COUNT" || fn == "SUM") return Combine::kAdd;
  if (fn == "MIN") return Combine::kMin;
  if (fn == "MAX") return Combine::kMax;
  return std::nullopt;
}

bool AsNumber(const std::string& s, double* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Key order: value by value, numbers by value before text, text by bytes.
bool KeyLess(const v1::KeyText& a, const v1::KeyText& b) {
  const int n = std::min(a.values_size(), b.values_size());
  for (int i = 0; i < n; ++i) {
    const std::string& x = a.values(i);
    const std::string& y = b.values(i);
    if (x == y) continue;
    double dx, dy;
    const bool nx = AsNumber(x, &dx), ny = AsNumber(y, &dy);
    if (nx && ny && dx != dy) return dx < dy;
    if (nx != ny) return nx;
    return x < y;
  }
  return a.values_size() < b.values_size();
}

std::string KeyId(const v1::GroupByRow& row) {
  std::string id;
  for (const std::string& v : row.key().values()) {
    id += std::to_string(v.size());
    id += ':';
    id += v;
  }
  id += '@';
  id += std::to_string(row.bucket_start_ns());
  return id;
}

}  // namespace

Status MergeGroupBy(const std::vector<const v1::GetGroupByResponse*>& parts,
                    size_t limit, v1::GetGroupByResponse* merged) {
  merged->Clear();
  if (parts.empty()) return Status::Ok();
  const v1::GetGroupByResponse& first = *parts.front();
  std::vector<Combine> combine;
  for (const std::string& a : first.aggregates()) {
    std::optional<Combine> c = CombineOf(a);
    if (!c) {
      return Status::FailedPrecondition(
          "aggregate " + a +
          " is a quantile: per-host values do not merge exactly; ask "
          "GetAggregate of a quantile aggregate (merged from histogram "
          "bins) or group by COUNT, SUM, MIN or MAX");
    }
    combine.push_back(*c);
  }
  for (const v1::GetGroupByResponse* p : parts) {
    if (p->aggregates_size() != first.aggregates_size() ||
        !std::equal(p->aggregates().begin(), p->aggregates().end(),
                    first.aggregates().begin()) ||
        p->key_columns_size() != first.key_columns_size() ||
        !std::equal(p->key_columns().begin(), p->key_columns().end(),
                    first.key_columns().begin())) {
      return Status::FailedPrecondition(
          "the hosts answered different aggregates or key columns (their "
          "multilogs' schemas differ?)");
    }
  }
  std::map<std::string, v1::GroupByRow> rows;
  uint64_t records = 0, covers_from = 0;
  bool truncated = false, partial = false;
  for (const v1::GetGroupByResponse* p : parts) {
    records += p->records();
    covers_from = std::max(covers_from, p->covers_from());
    truncated = truncated || p->truncated();
    partial = partial || p->partial();
    for (const v1::GroupByRow& row : p->rows()) {
      if (row.values_size() != first.aggregates_size()) {
        return Status::InvalidArgument(
            "a row has " + std::to_string(row.values_size()) + " values for " +
            std::to_string(first.aggregates_size()) + " aggregates");
      }
      auto [it, fresh] = rows.try_emplace(KeyId(row), row);
      if (fresh) continue;
      v1::GroupByRow& m = it->second;
      m.set_count(m.count() + row.count());
      for (int i = 0; i < row.values_size(); ++i) {
        const double v = row.values(i);
        double& acc = *m.mutable_values()->Mutable(i);
        switch (combine[static_cast<size_t>(i)]) {
          case Combine::kAdd:
            acc += v;
            break;
          case Combine::kMin:
            acc = std::min(acc, v);
            break;
          case Combine::kMax:
            acc = std::max(acc, v);
            break;
        }
      }
    }
  }
  std::vector<v1::GroupByRow*> ordered;
  ordered.reserve(rows.size());
  for (auto& [id, row] : rows) ordered.push_back(&row);
  std::sort(ordered.begin(), ordered.end(),
            [](const v1::GroupByRow* a, const v1::GroupByRow* b) {
              if (KeyLess(a->key(), b->key())) return true;
              if (KeyLess(b->key(), a->key())) return false;
              return a->bucket_start_ns() < b->bucket_start_ns();
            });
  *merged->mutable_aggregates() = first.aggregates();
  *merged->mutable_key_columns() = first.key_columns();
  for (size_t i = 0; i < ordered.size() && i < limit; ++i) {
    *merged->add_rows() = std::move(*ordered[i]);
  }
  merged->set_groups(ordered.size());
  merged->set_truncated(truncated || ordered.size() > limit);
  merged->set_records(records);
  merged->set_covers_from(covers_from);
  merged->set_partial(partial);
  return Status::Ok();
}

}  // namespace loupe::coordinator
