// Multilog::ExecuteFilter: the ad-hoc query planner. An expression is
// answered from index logs where its shape allows -- equality, set
// membership and prefix tests on an indexed column, intersected for &&,
// united for || when every branch is indexed -- and by scanning the data log
// otherwise. Index candidates are verified against the compiled filter (an
// index may be bucketed), and records older than the indexes' coverage are
// scanned, so the answer is the same whichever plan is chosen.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "multilog/internal/control_set.h"
#include "multilog/multilog.h"

namespace loupe {
namespace {

using internal::kArmed;
using internal::kNotArmed;

struct Candidates {
  bool indexed = false;
  std::vector<uint64_t> offsets;  // sorted, unique
  uint64_t covers_from = 0;
  std::string how;
};

void SortUnique(std::vector<uint64_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

// Drops offsets below `from` (they are answered by the scan).
void DropBelow(std::vector<uint64_t>* v, uint64_t from) {
  v->erase(v->begin(), std::lower_bound(v->begin(), v->end(), from));
}

template <typename IndexEntry>
Candidates Leaf(const FilterNode& node, const IndexEntry* index,
                uint64_t snapshot) {
  Candidates c;
  if (index == nullptr) return c;
  const uint64_t start = index->start.load(std::memory_order_acquire);
  if (start == kNotArmed || start == kArmed) return c;
  auto push = [&](uint64_t offset) { c.offsets.push_back(offset); };
  switch (node.kind) {
    case FilterNode::Kind::kCompare:
      if (node.op != CompareOp::kEq) return c;
      index->log->Equal(node.value.data(), snapshot, push);
      c.how = "index " + node.column->name + " ==";
      break;
    case FilterNode::Kind::kInSet:
      for (const auto& v : node.set)
        index->log->Equal(v.data(), snapshot, push);
      c.how = "index " + node.column->name + " in set of " +
              std::to_string(node.set.size());
      break;
    case FilterNode::Kind::kInPrefix:
      index->log->Prefix(node.value.data(), node.prefix_bits, snapshot, push);
      c.how = "index " + node.column->name + " prefix /" +
              std::to_string(node.prefix_bits);
      break;
    default:
      return c;
  }
  c.indexed = true;
  c.covers_from = start;
  SortUnique(&c.offsets);
  return c;
}

template <typename ControlSet>
Candidates Plan(const BoundFilter& filter, uint32_t i, const ControlSet& set,
                uint64_t snapshot) {
  const FilterNode& node = filter.nodes[i];
  switch (node.kind) {
    case FilterNode::Kind::kCompare:
    case FilterNode::Kind::kInSet:
    case FilterNode::Kind::kInPrefix:
      return Leaf(node, set.FindIndex(node.column->name), snapshot);
    case FilterNode::Kind::kAnd: {
      Candidates out;
      for (uint32_t child : node.children) {
        Candidates c = Plan(filter, child, set, snapshot);
        if (!c.indexed) continue;  // verified by the filter afterwards
        if (!out.indexed) {
          out = std::move(c);
          continue;
        }
        out.covers_from = std::max(out.covers_from, c.covers_from);
        std::vector<uint64_t> both;
        std::set_intersection(out.offsets.begin(), out.offsets.end(),
                              c.offsets.begin(), c.offsets.end(),
                              std::back_inserter(both));
        out.offsets = std::move(both);
        out.how += " && " + c.how;
      }
      if (out.indexed) DropBelow(&out.offsets, out.covers_from);
      return out;
    }
    case FilterNode::Kind::kOr: {
      Candidates out;
      out.indexed = true;
      for (uint32_t child : node.children) {
        Candidates c = Plan(filter, child, set, snapshot);
        if (!c.indexed) return Candidates{};  // one branch needs a scan
        out.covers_from = std::max(out.covers_from, c.covers_from);
        std::vector<uint64_t> either;
        std::set_union(out.offsets.begin(), out.offsets.end(),
                       c.offsets.begin(), c.offsets.end(),
                       std::back_inserter(either));
        out.offsets = std::move(either);
        out.how += out.how.empty() ? c.how : " || " + c.how;
      }
      DropBelow(&out.offsets, out.covers_from);
      return out;
    }
    default:
      return Candidates{};
  }
}

}  // namespace

Result<QueryResult> Multilog::ExecuteFilter(std::string_view expression,
                                            uint64_t t0_ns, uint64_t t1_ns,
                                            size_t limit, uint64_t snapshot,
                                            uint64_t from_offset) const {
  if (t1_ns < t0_ns) {
    return Status::InvalidArgument("time range: end " + std::to_string(t1_ns) +
                                   " is before start " + std::to_string(t0_ns));
  }
  Result<FilterProgram> program = FilterProgram::Compile(schema(), expression);
  if (!program.ok()) return program.status();
  Result<uint64_t> snap = ResolveSnapshot(snapshot);
  if (!snap.ok()) return snap.status();
  std::shared_ptr<const ControlSet> set;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    set = set_owner_;  // keeps the index logs alive while we use them
  }
  QueryResult r;
  r.snapshot = *snap;
  if (t1_ns == t0_ns) return r;

  const Candidates plan = Plan(program->bound(), 0, *set, *snap);
  const uint64_t rs = data_->record_size();
  auto wanted = [&](const uint8_t* rec) {
    uint64_t ts;
    std::memcpy(&ts, rec, sizeof(ts));
    return ts >= t0_ns && ts < t1_ns && program->Matches(rec);
  };
  auto take = [&](uint64_t offset) {
    if (limit != 0 && r.offsets.size() == limit) {
      r.truncated = true;
      return false;
    }
    r.offsets.push_back(offset);
    return true;
  };
  // Scans [begin, end); retention may retire the front meanwhile: skip on.
  auto scan = [&](uint64_t begin, uint64_t end) {
    for (;;) {
      begin = std::max(begin, data_->head());
      if (begin >= end) return true;
      bool more = true;
      uint64_t next = begin;
      Status s =
          data_->ForEach(begin, end, [&](uint64_t off, const uint8_t* rec) {
            next = off + rs;
            if (wanted(rec)) more = take(off);
            return more;
          });
      if (!more) return false;
      if (s.ok()) return true;
      begin = next;  // kExpired: go on from the new head
    }
  };

  const uint64_t scan_end =
      plan.indexed ? std::min(plan.covers_from, *snap) : *snap;
  r.plan = plan.indexed
               ? plan.how + ": " + std::to_string(plan.offsets.size()) +
                     " candidates"
               : "scan";
  if (!scan(from_offset, scan_end)) return r;
  if (plan.indexed) {
    if (scan_end > data_->head()) {
      r.plan += "; scan below offset " + std::to_string(scan_end);
    }
    auto first =
        std::lower_bound(plan.offsets.begin(), plan.offsets.end(), from_offset);
    for (auto it = first; it != plan.offsets.end(); ++it) {
      const uint64_t off = *it;
      if (off >= *snap) break;
      if (off < data_->head()) continue;
      bool more = true;
      (void)data_->ForEach(off, off + rs, [&](uint64_t, const uint8_t* rec) {
        if (wanted(rec)) more = take(off);
        return true;
      });
      if (!more) break;
    }
  }
  return r;
}

}  // namespace loupe
