// Breakdowns: exact top-k and group-by over every record of a time window
// of a Multilog, keyed by 1 to 4 columns -- what GetTopK and GetGroupBy
// answer, and what a coordinator merges across agents (TopK's `wanted`
// keys are the third round of TPUT, Cao & Wang, PODC 2004).
//
// A key is the concatenation of its columns' bytes, in the order given;
// answers order ties by those bytes and show each key as value text
// (multilog/value_text.h, kLiteral), which is also how `wanted` names keys.
// Records: those of [t0_ns, t1_ns) below one snapshot that pass `filter`
// -- empty (every record), the name of one of the multilog's filters (read
// from its filter log, so only records from its covers_from), or an
// expression (ExecuteFilter's plan: indexes where they help). Nothing is
// sampled. Sums are doubles: exact for integers below 2^53.
//
// Memory is bounded by max_keys distinct keys (groups), beyond which the
// answer is kResourceExhausted naming the limit; quantile aggregates keep
// a Histogram per group and cap groups at kMaxQuantileGroups.
//
// Pure functions of a Multilog, thread-safe as its queries are.
#ifndef LOUPE_MULTILOG_BREAKDOWN_H_
#define LOUPE_MULTILOG_BREAKDOWN_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "multilog/multilog.h"
#include "multilog/status.h"

namespace loupe {

inline constexpr size_t kMaxBreakdownKeyColumns = 4;
inline constexpr size_t kMaxBreakdownKeys = 1'000'000;
inline constexpr size_t kMaxQuantileGroups = 100'000;
inline constexpr uint32_t kMaxTopK = 10'000;
inline constexpr size_t kMaxWantedKeys = 100'000;
inline constexpr size_t kMaxGroupByAggregates = 16;

struct BreakdownWindow {
  std::vector<std::string> key_columns;  // 1..4 names
  std::string filter;                    // "", a filter name or an expression
  uint64_t t0_ns = 0;
  uint64_t t1_ns = std::numeric_limits<uint64_t>::max();
  uint64_t snapshot = 0;  // 0: the read tail
  size_t max_keys = kMaxBreakdownKeys;
};

// What a breakdown saw.
struct BreakdownInfo {
  uint64_t snapshot = 0;
  uint64_t covers_from = 0;  // a named filter's coverage
  bool partial = false;
  uint64_t records = 0;  // records that passed
  uint64_t keys = 0;     // distinct keys (groups)
  std::string plan;
};

struct KeyValue {
  std::string key;                // the key's bytes
  std::vector<std::string> text;  // one value text per key column
  double value = 0;
  uint64_t count = 0;  // records of the key
  bool found = true;   // wanted keys: whether any record had it
};

struct TopKQuery {
  BreakdownWindow window;
  std::string value;  // empty: count records; else SUM of this column
  uint32_t k = 10;    // 1..kMaxTopK
  double min_value = -std::numeric_limits<double>::infinity();
  // Keys whose exact values to answer, one value text per key column.
  std::vector<std::vector<std::string>> wanted;
};

struct TopKResult {
  // The (at most k) keys of largest value >= min_value; ties by key bytes.
  std::vector<KeyValue> top;
  double kth_value = 0;  // the k-th value; 0 when fewer than k keys pass
  uint64_t passing = 0;  // keys with value >= min_value
  bool more = false;     // passing > k
  std::vector<KeyValue> wanted;  // in the order asked
  BreakdownInfo info;
};

Result<TopKResult> TopK(const Multilog& ml, const TopKQuery& query);

struct GroupByQuery {
  BreakdownWindow window;
  // COUNT(), SUM(c), MIN(c), MAX(c), Pnn(c), QUANTILE(c, q) (ParseAggregate);
  // 1..kMaxGroupByAggregates.
  std::vector<std::string> aggregates;
  uint64_t bucket_ns = 0;  // 0: one row per key; else per key and bucket
  size_t limit = 0;        // rows answered; 0 = all
};

struct GroupRow {
  std::string key;
  std::vector<std::string> text;
  uint64_t bucket_start_ns = 0;
  uint64_t count = 0;
  std::vector<double> values;  // one per aggregate; NaN without a value
};

struct GroupByResult {
  std::vector<std::string> functions;  // each aggregate's canonical text
  std::vector<GroupRow> rows;          // by key bytes, then bucket
  bool truncated = false;              // rows stopped at the limit
  BreakdownInfo info;
};

Result<GroupByResult> GroupBy(const Multilog& ml, const GroupByQuery& query);

}  // namespace loupe

#endif  // LOUPE_MULTILOG_BREAKDOWN_H_
