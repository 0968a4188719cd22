// The Multilog's control state: its indexes, filters and aggregates (the
// ControlSet that writers read under RCU) and its triggers (which only the
// monitor reads). A ControlSet is immutable once published; the entries it
// points to are shared between successive sets, so a log survives a change
// to the set, and are freed when the last set or query holding them lets go.
// Each entry's `start` is its coverage start, set once by the arming
// protocol of multilog.h.
#ifndef LOUPE_MULTILOG_INTERNAL_CONTROL_SET_H_
#define LOUPE_MULTILOG_INTERNAL_CONTROL_SET_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "multilog/multilog.h"

namespace loupe {
namespace internal {

// Values of an entry's `start` before it holds the covered offset.
inline constexpr uint64_t kNotArmed = std::numeric_limits<uint64_t>::max();
inline constexpr uint64_t kArmed = kNotArmed - 1;

}  // namespace internal

struct Multilog::IndexEntry {
  IndexSpec spec;
  std::unique_ptr<IndexLog> log;
  std::atomic<uint64_t> start{internal::kNotArmed};
};

struct Multilog::FilterEntry {
  std::string name;
  std::string expression;
  FilterProgram program;
  std::unique_ptr<FilterLog> log;
  std::atomic<uint64_t> start{internal::kNotArmed};
};

struct Multilog::AggregateEntry {
  std::string name;
  std::shared_ptr<FilterEntry> filter;
  AggregateSpec spec;
  std::unique_ptr<AggregateLog> log;
  std::atomic<uint64_t> start{internal::kNotArmed};
};

struct Multilog::TriggerEntry {
  std::string name;
  TriggerSpec spec;
  uint64_t period_ns = 0;
  std::shared_ptr<AggregateEntry> aggregate;
  std::mutex mu;                 // guards next_window_end
  uint64_t next_window_end = 0;  // 0: not evaluated yet
};

struct Multilog::ControlSet {
  struct Filter {
    std::shared_ptr<FilterEntry> filter;
    std::vector<std::shared_ptr<AggregateEntry>> aggregates;
  };
  std::vector<std::shared_ptr<IndexEntry>> indexes;
  std::vector<Filter> filters;

  bool empty() const { return indexes.empty() && filters.empty(); }
  const Filter* FindFilter(std::string_view name) const {
    for (const Filter& f : filters) {
      if (f.filter->name == name) return &f;
    }
    return nullptr;
  }
  const AggregateEntry* FindAggregate(std::string_view name) const {
    for (const Filter& f : filters) {
      for (const auto& a : f.aggregates) {
        if (a->name == name) return a.get();
      }
    }
    return nullptr;
  }
  const IndexEntry* FindIndex(std::string_view column) const {
    for (const auto& i : indexes) {
      if (i->spec.column == column) return i.get();
    }
    return nullptr;
  }
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_INTERNAL_CONTROL_SET_H_
