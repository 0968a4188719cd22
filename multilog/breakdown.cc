#include "multilog/breakdown.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "multilog/filter_program.h"
#include "multilog/histogram.h"
#include "multilog/internal/flat_key_table.h"
#include "multilog/value_text.h"

namespace loupe {
namespace {

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

// Records are scanned in runs of up to kRunRecords consecutive ones with a
// mask of those that pass: the time test and the filter are evaluated over
// a run at once (FilterProgram::MatchMask), and the offsets an index or a
// filter log answered are read a run, not a record, at a time.
constexpr uint64_t kRunRecords = 64;

uint64_t LowBits(uint64_t count) {
  return count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
}

// Bit i set iff record i of `count` (<= 64), every `rs` bytes from
// `records`, has a timestamp in [t0, t1) (t0 <= t1).
uint64_t TimeMask(const uint8_t* records, uint64_t count, uint64_t rs,
                  uint64_t t0, uint64_t t1) {
  uint64_t mask = 0;
  for (uint64_t i = 0; i < count; ++i, records += rs) {
    uint64_t ts;
    std::memcpy(&ts, records, sizeof(ts));
    mask |= uint64_t{ts - t0 < t1 - t0} << i;
  }
  return mask;
}

// Calls fn(offset, records, count) for the runs of [begin, end) that
// retention has not retired, going on from the new head when it retires
// the front meanwhile (those records are skipped, as queries skip them).
template <typename Fn>
void ForEachLiveRun(const DataLog& data, uint64_t begin, uint64_t end,
                    Fn&& fn) {
  const uint64_t rs = data.record_size();
  for (;;) {
    begin = std::max(begin, data.head());
    if (begin >= end) return;
    uint64_t next = begin;
    Status s = data.ForEachRun(
        begin, end, [&](uint64_t off, const uint8_t* recs, uint64_t count) {
          fn(off, recs, count);
          next = off + count * rs;
          return true;
        });
    if (s.ok()) return;
    begin = next;  // kExpired
  }
}

// Whether ExecuteFilter could answer `filter` from an index: only if one
// of its columns is indexed (query_planner.cc); else its plan is a scan.
bool MayUseIndex(const Multilog& ml, const BoundFilter& filter) {
  const std::vector<IndexInfo> indexes = ml.ListIndexes();
  for (const FilterNode& node : filter.nodes) {
    if (node.column == nullptr) continue;
    for (const IndexInfo& index : indexes) {
      if (index.column == node.column->name) return true;
    }
  }
  return false;
}

// Calls fn(records, mask) -> bool for the records of the window that pass
// the filter, a run at a time: record i at records + i * record_size, bit
// i of mask set iff it passes (mask is never 0). fn returns false to stop.
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
  bool stopped = false;
  auto pass = [&](const uint8_t* records, uint64_t mask) {
    if (mask == 0 || stopped) return;
    info->records += static_cast<uint64_t>(std::popcount(mask));
    stopped = !fn(records, mask);
  };
  // Sorted offsets that passed, grouped into runs.
  auto visit = [&](const std::vector<uint64_t>& offsets) {
    for (size_t i = 0; i < offsets.size() && !stopped;) {
      const uint64_t base = offsets[i];
      uint64_t mask = 0;
      for (; i < offsets.size() && offsets[i] - base < kRunRecords * rs; ++i) {
        mask |= uint64_t{1} << ((offsets[i] - base) / rs);
      }
      ForEachLiveRun(data, base, offsets[i - 1] + rs,
                     [&](uint64_t off, const uint8_t* recs, uint64_t count) {
                       pass(recs, (mask >> (off - base) / rs) & LowBits(count));
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
  std::optional<FilterProgram> program;
  if (!w.filter.empty()) {
    Result<FilterProgram> p = FilterProgram::Compile(ml.schema(), w.filter);
    if (p.ok() && MayUseIndex(ml, p->bound())) {
      Result<QueryResult> r =
          ml.ExecuteFilter(w.filter, w.t0_ns, w.t1_ns, 0, w.snapshot);
      if (!r.ok()) return r.status();
      info->snapshot = r->snapshot;
      info->plan = r->plan;
      visit(r->offsets);
      return Status::Ok();
    }
    if (!p.ok()) {
      if (IsIdentifier(w.filter) && w.filter != "true" && w.filter != "false") {
        return Status::NotFound(
            "multilog '" + ml.name() + "' has no filter named '" + w.filter +
            "' (and it is no expression: " + p.status().message() + ")");
      }
      return p.status();
    }
    program = std::move(p).value();
  }
  // A scan: resolve the snapshot the way queries do, then go through the
  // data log below it.
  Result<QueryResult> snap = ml.ExecuteFilter("true", 0, 0, 0, w.snapshot);
  if (!snap.ok()) return snap.status();
  info->snapshot = snap->snapshot;
  info->plan = "scan";
  if (w.t1_ns == w.t0_ns) return Status::Ok();
  ForEachLiveRun(data, 0, info->snapshot,
                 [&](uint64_t, const uint8_t* recs, uint64_t count) {
                   for (uint64_t i = 0; i < count; i += kRunRecords) {
                     const uint8_t* run = recs + i * rs;
                     const uint64_t n = std::min(kRunRecords, count - i);
                     uint64_t mask = TimeMask(run, n, rs, w.t0_ns, w.t1_ns);
                     if (mask != 0 && program) {
                       mask &= program->MatchMask(run, n, rs);
                     }
                     pass(run, mask);
                   }
                 });
  return Status::Ok();
}

// Calls fn(record) for each record of a run that its mask selects.
template <typename Fn>
void ForEachSelected(const uint8_t* records, uint64_t mask, uint64_t rs,
                     Fn&& fn) {
  for (; mask != 0; mask &= mask - 1) {
    fn(records + static_cast<uint64_t>(std::countr_zero(mask)) * rs);
  }
}

// Key bytes <-> value text. A key is built in place as padded words
// (FlatKeyTable): each column's bytes go to a fixed place, copied with a
// width the compiler knows for the common column types.
class KeyCodec {
 public:
  KeyCodec(const Schema& schema, std::vector<const Column*> columns)
      : columns_(std::move(columns)), record_(schema.record_size(), 0) {
    for (const Column* c : columns_) {
      parts_.push_back({c->offset, c->width, static_cast<uint32_t>(width_)});
      width_ += c->width;
    }
  }
  size_t width() const { return width_; }
  size_t words() const { return (width_ + 7) / 8; }
  // Writes the key's bytes into `out`; the padding is the caller's (zero
  // it once: Extract never writes there).
  void Extract(const uint8_t* rec, uint64_t* out) const {
    uint8_t* to = reinterpret_cast<uint8_t*>(out);
    for (const Part& p : parts_) Copy(to + p.at, rec + p.offset, p.width);
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
  struct Part {
    uint32_t offset;  // in the record
    uint32_t width;
    uint32_t at;  // in the key
  };
  static void Copy(uint8_t* to, const uint8_t* from, uint32_t width) {
    switch (width) {
      case 1:
        std::memcpy(to, from, 1);
        break;
      case 2:
        std::memcpy(to, from, 2);
        break;
      case 4:
        std::memcpy(to, from, 4);
        break;
      case 6:
        std::memcpy(to, from, 6);
        break;
      case 8:
        std::memcpy(to, from, 8);
        break;
      case 16:
        std::memcpy(to, from, 16);
        break;
      default:
        std::memcpy(to, from, width);
        break;
    }
  }

  std::vector<const Column*> columns_;
  std::vector<Part> parts_;
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
  std::vector<uint64_t> key(codec.words(), 0);
  bool over = false;
  TopKResult out;
  const uint64_t rs = schema.record_size();
  // kWords: the key's words when known at compile time (FlatKeyTable).
  auto count = [&]<size_t kWords>(std::integral_constant<size_t, kWords>) {
    return ScanWindow(
        ml, q.window, &out.info, [&](const uint8_t* records, uint64_t mask) {
          ForEachSelected(records, mask, rs, [&](const uint8_t* rec) {
            if (over) return;
            codec.Extract(rec, key.data());
            const uint32_t i =
                table.FindOrInsertPadded<kWords>(key.data(), cap);
            if (i == internal::FlatKeyTable::kNone) {
              over = true;
              return;
            }
            if (i == accs.size()) accs.emplace_back();
            ++accs[i].count;
            accs[i].value += value != nullptr ? ReadNumber(*value, rec) : 1.0;
          });
          return !over;
        });
  };
  const size_t words = codec.words();
  Status s = words == 1   ? count(std::integral_constant<size_t, 1>())
             : words == 2 ? count(std::integral_constant<size_t, 2>())
                          : count(std::integral_constant<size_t, 0>());
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
  const size_t key_width = width + (q.bucket_ns != 0 ? 8 : 0);
  static_assert(kMaxBreakdownKeyColumns * Schema::kMaxStringWidth + 8 <=
                internal::FlatKeyTable::kMaxWidth);
  internal::FlatKeyTable table(key_width);
  std::vector<uint64_t> key(table.words(), 0);
  uint8_t* bucket = reinterpret_cast<uint8_t*>(key.data()) + width;
  std::vector<Group> groups;
  bool over = false;
  const uint64_t rs = schema.record_size();
  auto add = [&](const uint8_t* rec) {
    if (over) return;
    codec.Extract(rec, key.data());
    if (q.bucket_ns != 0) {
      uint64_t ts;
      std::memcpy(&ts, rec, sizeof(ts));
      const uint64_t b = ts / q.bucket_ns;
      for (int i = 0; i < 8; ++i) {
        bucket[i] = static_cast<uint8_t>(b >> (56 - 8 * i));
      }
    }
    const uint32_t gi = table.FindOrInsertPadded(key.data(), cap);
    if (gi == internal::FlatKeyTable::kNone) {
      over = true;
      return;
    }
    if (gi == groups.size()) {
      groups.emplace_back();
      groups.back().cells.resize(specs.size());
    }
    Group& g = groups[gi];
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
  };
  Status s = ScanWindow(ml, q.window, &out.info,
                        [&](const uint8_t* records, uint64_t mask) {
                          ForEachSelected(records, mask, rs, add);
                          return !over;
                        });
  if (!s.ok()) return s;
  if (over) {
    return TooManyKeys(quantiles ? "GroupBy (with quantiles)" : "GroupBy", cap);
  }
  out.info.keys = groups.size();

  std::vector<uint32_t> order(groups.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return table.key(a) < table.key(b);
  });
  const size_t take =
      q.limit == 0 ? order.size() : std::min(q.limit, order.size());
  out.truncated = take < order.size();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (size_t r = 0; r < take; ++r) {
    const std::string_view k = table.key(order[r]);
    const Group& g = groups[order[r]];
    GroupRow row;
    row.key = std::string(k.substr(0, width));
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
