// Multilog: one named atomic multilog -- a DataLog plus the indexes,
// filters, aggregates and triggers that operators asked for, all kept up to
// date while data arrives.
//
// Writing: each appending thread owns a Writer. Append copies a batch into
// the data log and, before the batch becomes visible, indexes it, runs
// every filter over it (matches go to the filter's FilterLog) and updates
// the aggregates defined on matching filters (AggregateLog, per writer,
// versioned by offset). So a reader that loaded a snapshot (read_tail()) sees
// indexes, filter logs and aggregates that cover exactly the records below
// it. No lock, allocation or syscall per record.
//
// Control while writers run: the set of indexes and filters (with their
// aggregates) is an immutable ControlSet published with RCU; a change copies
// the set, publishes the copy and frees the old one after a grace period.
// Writers never block on control. Triggers live with the monitor, off the
// packet path entirely.
//
// Coverage: an index, filter or aggregate covers every record from the
// offset at which it was armed (its `covers_from`), and none before.
// Invariants of the arming protocol (entry.start):
//   1. A new entry is published unarmed (kNotArmed); writers skip it.
//   2. After one RCU grace period no batch that loaded an older set is in
//      flight; the control thread then stores kArmed (seq_cst).
//   3. Whoever first sees kArmed -- a writer after its claim, or the control
//      thread -- CASes it to S = writeTail loaded (seq_cst) after that load.
//   4. A batch whose writer saw kNotArmed claimed before the kArmed store, so
//      it ends at or below S: skipping it loses nothing at or above S. Every
//      other batch includes exactly its records at offsets >= S.
// Queries report covers_from, and whether their time window starts before
// the first covered record (`partial`), rather than silently mixing.
//
// Triggers: every period the monitor evaluates each trigger's aggregate
// over the last complete window and appends an Alert to the AlertLog when
// the condition holds. The monitor thread runs on wall-clock time and sleeps
// until the earliest window is due; tests and replays call
// EvaluateTriggers(now) with data time instead.
//
// Thread safety: Writer::Append on distinct Writers, the control calls
// (serialized internally), queries and EvaluateTriggers may all run
// concurrently. Writers must be destroyed before the Multilog.
#ifndef LOUPE_MULTILOG_MULTILOG_H_
#define LOUPE_MULTILOG_MULTILOG_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "multilog/aggregate_log.h"
#include "multilog/alert_log.h"
#include "multilog/data_log.h"
#include "multilog/expression.h"
#include "multilog/filter_log.h"
#include "multilog/filter_program.h"
#include "multilog/index_log.h"
#include "multilog/reserver.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe {

struct MultilogOptions {
  DataLogOptions data;
  // Width of the time buckets of filter and aggregate logs.
  std::chrono::nanoseconds bucket = std::chrono::milliseconds(1);
  // Run the monitor thread (triggers on wall-clock time).
  bool start_monitor = true;
  // The monitor evaluates a window once it ended this long ago, so that its
  // buckets are complete and visible.
  std::chrono::nanoseconds trigger_grace = std::chrono::milliseconds(20);
  // Bounds and the incarnation of the alert log. Its directory and sync
  // are taken from `data`: a durable multilog keeps its alert log in its
  // directory.
  AlertLogOptions alerts;
};

struct TriggerOptions {
  // 1 ms to 1 h; windows are aligned to multiples of the period.
  std::chrono::nanoseconds period = std::chrono::seconds(1);
};

// The value of an aggregate over a time window, at one snapshot.
struct AggregateResult {
  AggregateFunction function = AggregateFunction::kCount;
  double quantile = 0;     // kQuantile: which (P99 -> 0.99), to merge by
  double value = 0;        // COUNT/SUM/MIN/MAX, the quantile, or HIST's count
  bool has_value = false;  // false for MIN/MAX/quantiles of no records
  AggregateValue detail;   // count, sum, min, max (and the histogram)
  uint64_t snapshot = 0;
  uint64_t covers_from = 0;         // first offset the aggregate covers
  bool partial = false;             // the window starts before covers_from
  uint64_t recomputed_buckets = 0;  // answered from the filter log
};

// One bucket of a per-bucket series (heatmaps, rates).
struct BucketValue {
  uint64_t start_ns = 0;
  AggregateValue value;
};

struct AggregateSeries {
  uint64_t bucket_ns = 0;
  std::vector<BucketValue> buckets;  // non-empty buckets, in time order
  uint64_t snapshot = 0;
  uint64_t covers_from = 0;
  bool partial = false;
};

// Offsets of the records a query selected, in ascending order, at one
// snapshot; read them with data_log().Read/ForEach.
struct QueryResult {
  std::vector<uint64_t> offsets;
  uint64_t snapshot = 0;
  uint64_t covers_from = 0;  // QueryFilter: the filter's coverage
  bool partial = false;
  bool truncated = false;  // stopped at the limit
  std::string plan;        // how ExecuteFilter answered ("index src_ip ...")
};

struct FilterInfo {
  std::string name;
  std::string expression;
  uint64_t covers_from;
};
struct AggregateInfo {
  std::string name;
  std::string filter;
  std::string expression;
  uint64_t covers_from;
};
struct IndexInfo {
  std::string column;
  uint64_t bucket;
  uint64_t covers_from;
  uint64_t entries;
};
struct TriggerInfo {
  std::string name;
  std::string condition;
  std::chrono::nanoseconds period;
};

class Multilog {
 public:
  class Writer;

  static Result<std::unique_ptr<Multilog>> Open(std::string name,
                                                const Schema& schema,
                                                const MultilogOptions& options,
                                                OpenReport* report = nullptr);
  ~Multilog();
  Multilog(const Multilog&) = delete;
  Multilog& operator=(const Multilog&) = delete;

  const std::string& name() const { return name_; }
  const Schema& schema() const { return data_->schema(); }
  DataLog& data_log() { return *data_; }
  const DataLog& data_log() const { return *data_; }
  uint64_t bucket_ns() const { return bucket_ns_; }

  Result<std::unique_ptr<Writer>> NewWriter();
  // For a spray stage: space is claimed by the Reserver on one thread and
  // each lane's batches are finished by a Writer with Writer::Adopt (see
  // reserver.h). Destroy it before the Multilog.
  Result<std::unique_ptr<Reserver>> NewReserver(uint32_t lanes,
                                                uint32_t lane_depth) {
    return Reserver::Create(data_.get(), lanes, lane_depth);
  }

  // --- Control. Each returns a clear Status and changes nothing on error.
  Status AddIndex(const IndexSpec& spec);
  Status RemoveIndex(std::string_view column);
  Status AddFilter(std::string_view name, std::string_view expression);
  // kFailedPrecondition while an aggregate uses the filter.
  Status RemoveFilter(std::string_view name);
  Status AddAggregate(std::string_view name, std::string_view filter,
                      std::string_view expression);
  // kFailedPrecondition while a trigger uses the aggregate.
  Status RemoveAggregate(std::string_view name);
  Status AddTrigger(std::string_view name, std::string_view condition,
                    const TriggerOptions& options = {});
  Status RemoveTrigger(std::string_view name);

  std::vector<IndexInfo> ListIndexes() const;
  std::vector<FilterInfo> ListFilters() const;
  std::vector<AggregateInfo> ListAggregates() const;
  std::vector<TriggerInfo> ListTriggers() const;

  // --- Queries. Each works on one snapshot: `snapshot` if non-zero (a
  // record boundary <= read_tail(), possibly inside a batch: answers cover
  // exactly the records below it), else read_tail() loaded once. Times are
  // ns since the epoch, [t0, t1); t1 < t0 is kInvalidArgument. Limit 0: no
  // limit.
  Result<AggregateResult> GetAggregate(std::string_view name, uint64_t t0_ns,
                                       uint64_t t1_ns,
                                       uint64_t snapshot = 0) const;
  Result<AggregateSeries> GetAggregateSeries(std::string_view name,
                                             uint64_t t0_ns, uint64_t t1_ns,
                                             uint64_t snapshot = 0) const;
  Result<QueryResult> QueryFilter(std::string_view name, uint64_t t0_ns,
                                  uint64_t t1_ns, size_t limit = 0,
                                  uint64_t snapshot = 0) const;
  // Ad hoc: uses indexes where the expression allows (intersection for &&,
  // union for ||) and scans the data log otherwise. Only records at
  // offsets >= from_offset are answered, and the scan starts there: how a
  // next page resumes without reading what earlier pages covered.
  Result<QueryResult> ExecuteFilter(std::string_view expression, uint64_t t0_ns,
                                    uint64_t t1_ns, size_t limit = 0,
                                    uint64_t snapshot = 0,
                                    uint64_t from_offset = 0) const;
  std::vector<Alert> GetAlerts(uint64_t t0_ns, uint64_t t1_ns,
                               const std::string& trigger = "",
                               size_t limit = 0) const {
    return alerts_->Get(t0_ns, t1_ns, trigger, limit);
  }
  AlertLog& alerts() { return *alerts_; }
  const AlertLog& alerts() const { return *alerts_; }

  // Evaluates every trigger on the windows that ended at or before `now_ns`
  // and were not evaluated yet (at most 1000 per trigger per call); returns
  // the number of alerts appended.
  size_t EvaluateTriggers(uint64_t now_ns);

  // How many times the monitor thread has evaluated the triggers. It sleeps
  // until the earliest window is due, so this grows with the windows, not
  // with time.
  uint64_t monitor_wakeups() const {
    return monitor_wakeups_.load(std::memory_order_relaxed);
  }

  uint64_t memory_bytes() const;

 private:
  struct IndexEntry;
  struct FilterEntry;
  struct AggregateEntry;
  struct TriggerEntry;
  struct ControlSet;

  Multilog(std::string name, const MultilogOptions& options,
           std::unique_ptr<DataLog> data, std::unique_ptr<AlertLog> alerts);

  // Writer side.
  uint64_t Arm(std::atomic<uint64_t>& start) const;
  void BeforePublish(const ControlSet& set, uint32_t writer,
                     const uint8_t* records, size_t bytes, uint64_t offset);

  // Control side (control_mu_ held).
  void Publish(std::shared_ptr<const ControlSet> next);
  void ArmAfterGracePeriod(std::atomic<uint64_t>& start);
  std::shared_ptr<const ControlSet> CurrentSet() const;

  Result<uint64_t> ResolveSnapshot(uint64_t snapshot) const;
  Result<std::shared_ptr<AggregateEntry>> FindAggregate(
      std::string_view name) const;
  bool WindowIsPartial(uint64_t t0_ns, uint64_t covers_from,
                       uint64_t snapshot) const;
  // at_read_tail: `snapshot` is 0 or a value read_tail() had, which never
  // splits a batch; otherwise the batch it may split is recomputed.
  Result<AggregateSeries> SeriesOf(const AggregateEntry& entry, uint64_t t0_ns,
                                   uint64_t t1_ns, uint64_t snapshot,
                                   bool at_read_tail) const;
  Result<AggregateResult> AggregateOf(const AggregateEntry& entry,
                                      uint64_t t0_ns, uint64_t t1_ns,
                                      uint64_t snapshot,
                                      bool at_read_tail) const;
  void RecomputeBucket(const AggregateEntry& agg, uint64_t bucket,
                       uint64_t snapshot, AggregateValue* out) const;
  static void Finish(const AggregateSpec& spec, AggregateResult* r);

  // EvaluateTriggers, also giving the earliest end of a window not yet
  // evaluated (UINT64_MAX with no triggers).
  size_t EvaluateDueTriggers(uint64_t now_ns, uint64_t* next_due_ns);
  void KickMonitor();
  void MonitorLoop();

  const std::string name_;
  const MultilogOptions options_;
  const uint64_t bucket_ns_;
  std::unique_ptr<DataLog> data_;

  // The published ControlSet; RCU-protected (read inside RcuReadLock,
  // replaced by Publish, freed after a grace period).
  std::atomic<const ControlSet*> set_{nullptr};
  std::shared_ptr<const ControlSet> set_owner_;  // control_mu_

  mutable std::mutex control_mu_;
  std::vector<std::shared_ptr<TriggerEntry>> triggers_;  // control_mu_

  std::unique_ptr<AlertLog> alerts_;

  std::mutex monitor_mu_;
  std::condition_variable monitor_cv_;
  bool monitor_stop_ = false;    // monitor_mu_
  bool monitor_kicked_ = false;  // monitor_mu_
  std::atomic<uint64_t> monitor_wakeups_{0};
  std::thread monitor_;
};

class Multilog::Writer {
 public:
  // Appends whole records as one batch (see DataLog::Writer::Append) and
  // updates every index, filter and aggregate before it becomes visible.
  Result<uint64_t> Append(const void* records, size_t bytes);
  // Indexes, filters and aggregates a batch that `reserver` claimed and
  // wrote, in place, before its lane completes it (the caller then calls
  // reserver.Complete(lane)). Batches of one Writer must come in offset
  // order, as a lane's do.
  void Adopt(const Reserver& reserver, uint64_t offset, uint64_t bytes);

 private:
  friend class Multilog;
  Writer(Multilog* log, std::unique_ptr<DataLog::Writer> writer)
      : log_(log), writer_(std::move(writer)) {}

  Multilog* const log_;
  std::unique_ptr<DataLog::Writer> writer_;
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_MULTILOG_H_
