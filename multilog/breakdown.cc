#include "multilog/breakdown.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "multilog/histogram.h"
#include "multilog/internal/flat_key_table.h"
#include "multilog/value_text.h"

namespace loupe {
namespace {

struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>()(s);
  }
};
template <typename V>
using KeyMap = std::unordered_map<std::string, V, KeyHash, std::equal_to<>>;

bool IsNumeric(ColumnType t) {
  return t <= ColumnType::kF64;  // kBool .. kF64
}

Result<const Column*> FindColumn(const Schema& schema, std::string_view what,
                                 const std::string& name) {
  const Column* c = schema.Find(name);
  if (c != nullptr) return c;
  std::string msg = std::string(what) + ": unknown column '" + name + "'";
  const std::string near = schema.Suggest(name);
  if (!near.empty()) msg += "; did you mean '" + near + "'?";
  return Status::InvalidArgument(msg);
}

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(i > 0 && (digit || c == '.' || c == '-'))) return false;
  }
  return true;
}

// The key columns, checked.
Result<std::vector<const Column*>> KeyColumns(const Schema& schema,
                                              const BreakdownWindow& w) {
  if (w.key_columns.empty() || w.key_columns.size() > kMaxBreakdownKeyColumns) {
    return Status::InvalidArgument(
        "key columns: " + std::to_string(w.key_columns.size()) +
        " given; name 1 to " + std::to_string(kMaxBreakdownKeyColumns));
  }
  std::vector<const Column*> out;
  for (const std::string& name : w.key_columns) {
    Result<const Column*> c = FindColumn(schema, "key columns", name);
    if (!c.ok()) return c.status();
    out.push_back(*c);
  }
  return out;
}

// Calls fn(record) for every record of the window that passes the filter.
template <typename Fn>
Status ScanWindow(const Multilog& ml, const BreakdownWindow& w,
                  BreakdownInfo* info, Fn&& fn) {
  if (w.t1_ns < w.t0_ns) {
    return Status::InvalidArgument(
        "time range: end " + std::to_string(w.t1_ns) + " is before start " +
        std::to_string(w.t0_ns));
  }
  const DataLog& data = ml.data_log();
  const uint64_t rs = data.record_size();
  auto visit = [&](const std::vector<uint64_t>& offsets) {
    for (uint64_t off : offsets) {
      (void)data.ForEach(off, off + rs, [&](uint64_t, const uint8_t* rec) {
        ++info->records;
        fn(rec);
        return true;
      });
    }
  };
  bool named = false;
  if (IsIdentifier(w.filter)) {
    for (const FilterInfo& f : ml.ListFilters()) named |= f.name == w.filter;
  }
  if (named) {
    Result<QueryResult> r =
        ml.QueryFilter(w.filter, w.t0_ns, w.t1_ns, 0, w.snapshot);
    if (!r.ok()) return r.status();
    info->snapshot = r->snapshot;
    info->covers_from = r->covers_from;
    info->partial = r->partial;
    info->plan = r->plan;
    visit(r->offsets);
    return Status::Ok();
  }
  if (!w.filter.empty()) {
    Result<QueryResult> r =
        ml.ExecuteFilter(w.filter, w.t0_ns, w.t1_ns, 0, w.snapshot);
    if (!r.ok()) {
      if (IsIdentifier(w.filter) && w.filter != "true" && w.filter != "false") {
        return Status::NotFound(
            "multilog '" + ml.name() + "' has no filter named '" + w.filter +
            "' (and it is no expression: " + r.status().message() + ")");
      }
      return r.status();
    }
    info->snapshot = r->snapshot;
    info->plan = r->plan;
    visit(r->offsets);
    return Status::Ok();
  }
  // Every record: resolve the snapshot the way queries do, then scan.
  Result<QueryResult> snap = ml.ExecuteFilter("true", 0, 0, 0, w.snapshot);
  if (!snap.ok()) return snap.status();
  info->snapshot = snap->snapshot;
  info->plan = "scan";
  uint64_t begin = 0;
  const uint64_t end = info->snapshot;
  for (;;) {
    begin = std::max(begin, data.head());
    if (begin >= end) break;
    uint64_t next = begin;
    Status s = data.ForEach(begin, end, [&](uint64_t off, const uint8_t* rec) {
      next = off + rs;
      uint64_t ts;
      std::memcpy(&ts, rec, sizeof(ts));
      if (ts >= w.t0_ns && ts < w.t1_ns) {
        ++info->records;
        fn(rec);
      }
      return true;
    });
    if (s.ok()) break;
    begin = next;  // kExpired: go on from the new head
  }
  return Status::Ok();
}

// Key bytes <-> value text.
class KeyCodec {
 public:
  KeyCodec(const Schema& schema, std::vector<const Column*> columns)
      : columns_(std::move(columns)), record_(schema.record_size(), 0) {
    for (const Column* c : columns_) width_ += c->width;
  }
  size_t width() const { return width_; }
  void Extract(const uint8_t* rec, char* out) const {
    for (const Column* c : columns_) {
      std::memcpy(out, rec + c->offset, c->width);
      out += c->width;
    }
  }
  std::vector<std::string> Text(std::string_view key) {
    std::vector<std::string> out;
    size_t at = 0;
    for (const Column* c : columns_) {
      std::memcpy(record_.data() + c->offset, key.data() + at, c->width);
      at += c->width;
      out.push_back(ValueText(*c, record_.data(), ValueStyle::kLiteral));
    }
    return out;
  }

 private:
  std::vector<const Column*> columns_;
  std::vector<uint8_t> record_;
  size_t width_ = 0;
};

Status TooManyKeys(std::string_view rpc, size_t cap) {
  return Status::ResourceExhausted(
      std::string(rpc) + ": more than " + std::to_string(cap) +
      " distinct keys in the window (the limit max_keys); narrow the time "
      "window or the filter, or key by fewer columns");
}

std::string JoinText(const std::vector<std::string>& text) {
  std::string out;
  for (const std::string& t : text) {
    out += t;
    out += '\0';
  }
  return out;
}

}  // namespace

Result<TopKResult> TopK(const Multilog& ml, const TopKQuery& q) {
  const Schema& schema = ml.schema();
  Result<std::vector<const Column*>> columns = KeyColumns(schema, q.window);
  if (!columns.ok()) return columns.status();
  if (q.k == 0 || q.k > kMaxTopK) {
    return Status::InvalidArgument("k " + std::to_string(q.k) +
                                   " is outside 1.." +
                                   std::to_string(kMaxTopK));
  }
  if (std::isnan(q.min_value)) {
    return Status::InvalidArgument("min_value is NaN");
  }
  const Column* value = nullptr;
  if (!q.value.empty()) {
    Result<const Column*> c = FindColumn(schema, "value", q.value);
    if (!c.ok()) return c.status();
    if (!IsNumeric((*c)->type)) {
      return Status::InvalidArgument("value: SUM needs a numeric column; '" +
                                     q.value + "' is " +
                                     std::string(ColumnTypeName((*c)->type)));
    }
    value = *c;
  }
  if (q.wanted.size() > kMaxWantedKeys) {
    return Status::InvalidArgument("keys: " + std::to_string(q.wanted.size()) +
                                   " asked; at most " +
                                   std::to_string(kMaxWantedKeys));
  }
  for (const auto& w : q.wanted) {
    if (w.size() != columns->size()) {
      return Status::InvalidArgument("keys: a key has " +
                                     std::to_string(w.size()) +
                                     " values; give one per key column (" +
                                     std::to_string(columns->size()) + ")");
    }
  }
  const size_t cap = std::min(q.window.max_keys, kMaxBreakdownKeys);
  KeyCodec codec(schema, *columns);
  struct Acc {
    double value = 0;
    uint64_t count = 0;
  };
  static_assert(kMaxBreakdownKeyColumns * Schema::kMaxStringWidth <=
                internal::FlatKeyTable::kMaxWidth);
  internal::FlatKeyTable table(codec.width());
  std::vector<Acc> accs;
  std::string key(codec.width(), '\0');
  bool over = false;
  TopKResult out;
  Status s = ScanWindow(ml, q.window, &out.info, [&](const uint8_t* rec) {
    if (over) return;
    codec.Extract(rec, key.data());
    const uint32_t i =
        table.FindOrInsert(reinterpret_cast<const uint8_t*>(key.data()), cap);
    if (i == internal::FlatKeyTable::kNone) {
      over = true;
      return;
    }
    if (i == accs.size()) accs.emplace_back();
    ++accs[i].count;
    accs[i].value += value != nullptr ? ReadNumber(*value, rec) : 1.0;
  });
  if (!s.ok()) return s;
  if (over) return TooManyKeys("TopK", cap);
  out.info.keys = table.size();
  std::vector<std::pair<std::string, Acc>> sums;
  sums.reserve(table.size());
  for (uint32_t i = 0; i < table.size(); ++i) {
    sums.emplace_back(std::string(table.key(i)), accs[i]);
  }

  std::vector<const std::pair<std::string, Acc>*> passing;
  for (const auto& e : sums) {
    if (e.second.value >= q.min_value) passing.push_back(&e);
  }
  out.passing = passing.size();
  auto before = [](const auto* a, const auto* b) {
    if (a->second.value != b->second.value) {
      return a->second.value > b->second.value;
    }
    return a->first < b->first;
  };
  const size_t take = std::min<size_t>(q.k, passing.size());
  std::partial_sort(passing.begin(), passing.begin() + take, passing.end(),
                    before);
  for (size_t i = 0; i < take; ++i) {
    KeyValue kv;
    kv.key = passing[i]->first;
    kv.text = codec.Text(kv.key);
    kv.value = passing[i]->second.value;
    kv.count = passing[i]->second.count;
    out.top.push_back(std::move(kv));
  }
  out.more = passing.size() > q.k;
  out.kth_value = passing.size() >= q.k ? out.top.back().value : 0;

  if (!q.wanted.empty()) {
    std::unordered_map<std::string, size_t> index;  // joined text -> wanted
    for (size_t i = 0; i < q.wanted.size(); ++i) {
      index.emplace(JoinText(q.wanted[i]), i);
      KeyValue kv;
      kv.text = q.wanted[i];
      kv.found = false;
      out.wanted.push_back(std::move(kv));
    }
    for (const auto& e : sums) {
      std::vector<std::string> text = codec.Text(e.first);
      auto it = index.find(JoinText(text));
      if (it == index.end()) continue;
      for (size_t i = it->second; i < q.wanted.size(); ++i) {
        // Duplicates in `wanted` all get the value.
        if (q.wanted[i] != text) continue;
        KeyValue& kv = out.wanted[i];
        kv.key = e.first;
        kv.value = e.second.value;
        kv.count = e.second.count;
        kv.found = true;
      }
    }
  }
  return out;
}

Result<GroupByResult> GroupBy(const Multilog& ml, const GroupByQuery& q) {
  const Schema& schema = ml.schema();
  Result<std::vector<const Column*>> columns = KeyColumns(schema, q.window);
  if (!columns.ok()) return columns.status();
  if (q.aggregates.empty() || q.aggregates.size() > kMaxGroupByAggregates) {
    return Status::InvalidArgument(
        "aggregates: " + std::to_string(q.aggregates.size()) +
        " given; name 1 to " + std::to_string(kMaxGroupByAggregates));
  }
  std::vector<AggregateSpec> specs;
  bool quantiles = false;
  GroupByResult out;
  for (const std::string& text : q.aggregates) {
    Result<AggregateSpec> spec = ParseAggregate(schema, text);
    if (!spec.ok()) return spec.status();
    if (spec->function == AggregateFunction::kHist) {
      return Status::InvalidArgument(
          "aggregate '" + text +
          "': HIST has no single value per group; ask for quantiles "
          "(P50(c), QUANTILE(c, q)) instead");
    }
    quantiles |= spec->function == AggregateFunction::kQuantile;
    out.functions.push_back(spec->text.empty() ? text : spec->text);
    specs.push_back(std::move(spec).value());
  }
  size_t cap = std::min(q.window.max_keys, kMaxBreakdownKeys);
  if (quantiles) cap = std::min(cap, kMaxQuantileGroups);

  struct Cell {
    double sum = 0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    std::unique_ptr<Histogram> hist;
  };
  struct Group {
    uint64_t count = 0;
    std::vector<Cell> cells;
  };
  KeyCodec codec(schema, *columns);
  const size_t width = codec.width();
  // The key, then the bucket big-endian so that bytes order by time.
  std::string key(width + (q.bucket_ns != 0 ? 8 : 0), '\0');
  KeyMap<Group> groups;
  bool over = false;
  Status s = ScanWindow(ml, q.window, &out.info, [&](const uint8_t* rec) {
    if (over) return;
    codec.Extract(rec, key.data());
    if (q.bucket_ns != 0) {
      uint64_t ts;
      std::memcpy(&ts, rec, sizeof(ts));
      const uint64_t b = ts / q.bucket_ns;
      for (int i = 0; i < 8; ++i) {
        key[width + i] = static_cast<char>(b >> (56 - 8 * i));
      }
    }
    auto it = groups.find(std::string_view(key));
    if (it == groups.end()) {
      if (groups.size() == cap) {
        over = true;
        return;
      }
      it = groups.emplace(key, Group{}).first;
      it->second.cells.resize(specs.size());
    }
    Group& g = it->second;
    ++g.count;
    for (size_t i = 0; i < specs.size(); ++i) {
      const AggregateSpec& spec = specs[i];
      if (spec.column == nullptr) continue;
      const double v = ReadNumber(*spec.column, rec);
      Cell& c = g.cells[i];
      switch (spec.function) {
        case AggregateFunction::kSum:
          c.sum += v;
          break;
        case AggregateFunction::kMin:
          if (v < c.min) c.min = v;
          break;
        case AggregateFunction::kMax:
          if (v > c.max) c.max = v;
          break;
        case AggregateFunction::kQuantile:
          if (!c.hist) c.hist = std::make_unique<Histogram>();
          c.hist->Add(v);
          break;
        default:
          break;
      }
    }
  });
  if (!s.ok()) return s;
  if (over) {
    return TooManyKeys(quantiles ? "GroupBy (with quantiles)" : "GroupBy", cap);
  }
  out.info.keys = groups.size();

  std::vector<const std::pair<const std::string, Group>*> order;
  order.reserve(groups.size());
  for (const auto& e : groups) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  const size_t take =
      q.limit == 0 ? order.size() : std::min(q.limit, order.size());
  out.truncated = take < order.size();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (size_t r = 0; r < take; ++r) {
    const auto& [k, g] = *order[r];
    GroupRow row;
    row.key = k.substr(0, width);
    row.text = codec.Text(row.key);
    if (q.bucket_ns != 0) {
      uint64_t b = 0;
      for (int i = 0; i < 8; ++i) {
        b = (b << 8) | static_cast<uint8_t>(k[width + i]);
      }
      row.bucket_start_ns = b * q.bucket_ns;
    }
    row.count = g.count;
    for (size_t i = 0; i < specs.size(); ++i) {
      const Cell& c = g.cells[i];
      double v = kNaN;
      switch (specs[i].function) {
        case AggregateFunction::kCount:
          v = static_cast<double>(g.count);
          break;
        case AggregateFunction::kSum:
          v = c.sum;
          break;
        case AggregateFunction::kMin:
          v = c.min;
          break;
        case AggregateFunction::kMax:
          v = c.max;
          break;
        case AggregateFunction::kQuantile:
          if (c.hist) v = c.hist->Quantile(specs[i].quantile);
          break;
        default:
          break;
      }
      row.values.push_back(v);
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace loupe
