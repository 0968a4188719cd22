#include "multilog/multilog.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "multilog/internal/control_set.h"
#include "multilog/internal/rcu.h"

namespace loupe {
namespace {

using internal::kArmed;
using internal::kNotArmed;

constexpr size_t kMaxAggregatesPerFilter = 64;
constexpr size_t kMaxWindowsPerEvaluation = 1000;

uint64_t NowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

uint64_t Timestamp(const uint8_t* record) {
  uint64_t ts;
  std::memcpy(&ts, record, sizeof(ts));
  return ts;
}

AggregateKind KindOf(const AggregateSpec& spec) {
  switch (spec.function) {
    case AggregateFunction::kCount:
      return AggregateKind::kCount;
    case AggregateFunction::kSum:
      return AggregateKind::kSum;
    case AggregateFunction::kMin:
      return AggregateKind::kMin;
    case AggregateFunction::kMax:
      return AggregateKind::kMax;
    case AggregateFunction::kHist:
    case AggregateFunction::kQuantile:
      return AggregateKind::kHist;
  }
  return AggregateKind::kCount;
}

Status CheckWindow(uint64_t t0_ns, uint64_t t1_ns) {
  if (t1_ns < t0_ns) {
    return Status::InvalidArgument("time range: end " + std::to_string(t1_ns) +
                                   " is before start " + std::to_string(t0_ns));
  }
  return Status::Ok();
}

template <typename Entries, typename Fn>
std::string Names(const Entries& entries, Fn name_of) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += ", ";
    out += name_of(e);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

Multilog::Multilog(std::string name, const MultilogOptions& options,
                   std::unique_ptr<DataLog> data,
                   std::unique_ptr<AlertLog> alerts)
    : name_(std::move(name)),
      options_(options),
      bucket_ns_(static_cast<uint64_t>(options.bucket.count())),
      data_(std::move(data)),
      alerts_(std::move(alerts)) {
  set_owner_ = std::make_shared<const ControlSet>();
  set_.store(set_owner_.get(), std::memory_order_release);
}

Result<std::unique_ptr<Multilog>> Multilog::Open(std::string name,
                                                 const Schema& schema,
                                                 const MultilogOptions& options,
                                                 OpenReport* report) {
  if (options.bucket.count() <= 0 || options.bucket > std::chrono::hours(24)) {
    return Status::InvalidArgument(
        "multilog '" + name + "': time bucket must be from 1 ns to 24 h, got " +
        std::to_string(options.bucket.count()) + " ns");
  }
  Result<std::unique_ptr<DataLog>> data =
      DataLog::Open(schema, options.data, report);
  if (!data.ok()) return data.status().Annotate("multilog '" + name + "'");
  AlertLogOptions alert_options = options.alerts;
  if (options.data.mode != StorageMode::kInMemory) {
    alert_options.directory = options.data.directory;
    alert_options.sync = options.data.mode == StorageMode::kDurable;
  } else {
    alert_options.directory.clear();
  }
  Result<std::unique_ptr<AlertLog>> alerts = AlertLog::Open(alert_options);
  if (!alerts.ok()) {
    return alerts.status().Annotate("multilog '" + name + "': alert log");
  }
  std::unique_ptr<Multilog> log(new Multilog(std::move(name), options,
                                             std::move(data).value(),
                                             std::move(alerts).value()));
  if (options.start_monitor) {
    log->monitor_ = std::thread([m = log.get()] { m->MonitorLoop(); });
  }
  return log;
}

Multilog::~Multilog() {
  {
    std::lock_guard<std::mutex> lock(monitor_mu_);
    monitor_stop_ = true;
  }
  monitor_cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  set_.store(nullptr, std::memory_order_release);
}

// --- Writing ----------------------------------------------------------------

Result<std::unique_ptr<Multilog::Writer>> Multilog::NewWriter() {
  Result<std::unique_ptr<DataLog::Writer>> w = data_->NewWriter();
  if (!w.ok()) return w.status();
  return std::unique_ptr<Writer>(new Writer(this, std::move(w).value()));
}

Result<uint64_t> Multilog::Writer::Append(const void* records, size_t bytes) {
  const auto* data = static_cast<const uint8_t*>(records);
  const uint32_t slot = writer_->slot();
  for (uint32_t round = 0;; ++round) {
    bool retry = false;
    {
      // The claim happens inside the read-side critical section: arming
      // relies on a grace period covering every batch that loaded an older
      // set.
      internal::RcuReadLock lock;
      // Acquire pairs with the release in Multilog::Publish.
      const ControlSet* set = log_->set_.load(std::memory_order_acquire);
      Result<uint64_t> r =
          set->empty()
              ? writer_->TryAppend(
                    records, bytes, [](uint64_t) {}, &retry)
              : writer_->TryAppend(
                    records, bytes,
                    [&](uint64_t offset) {
                      log_->BeforePublish(*set, slot, data, bytes, offset);
                    },
                    &retry);
      if (!retry) return r;
    }
    // The allocator is behind, and it may be waiting for a grace period
    // (recycling retired blocks): wait outside the read-side section.
    if (round < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

void Multilog::Writer::Adopt(const Reserver& reserver, uint64_t offset,
                             uint64_t bytes) {
  // The claim happened before this read-side critical section, so a batch
  // that loads an unarmed entry was claimed before it was armed
  // (invariant 4 holds as for Append).
  internal::RcuReadLock lock;
  const ControlSet* set = log_->set_.load(std::memory_order_acquire);
  if (set->empty()) return;
  const uint32_t slot = writer_->slot();
  reserver.Records(offset, bytes,
                   [&](uint64_t at, const uint8_t* records, uint64_t n) {
                     log_->BeforePublish(*set, slot, records, n, at);
                   });
}

uint64_t Multilog::Arm(std::atomic<uint64_t>& start) const {
  // seq_cst: ordered after this writer's claim (invariant 3).
  uint64_t s = start.load(std::memory_order_seq_cst);
  if (s == kArmed) [[unlikely]] {
    uint64_t tail = data_->write_tail_seq_cst();
    if (start.compare_exchange_strong(s, tail, std::memory_order_seq_cst)) {
      s = tail;
    }
  }
  return s;
}

void Multilog::BeforePublish(const ControlSet& set, uint32_t writer,
                             const uint8_t* records, size_t bytes,
                             uint64_t offset) {
  const size_t rs = data_->record_size();
  const size_t count = bytes / rs;
  const uint64_t end = offset + bytes;
  // Index of the first record at or past `start` in this batch.
  auto first_covered = [&](uint64_t start) -> size_t {
    if (start <= offset) return 0;
    if (start >= end) return count;
    return static_cast<size_t>((start - offset + rs - 1) / rs);
  };
  for (const auto& index : set.indexes) {
    const uint64_t start = Arm(index->start);
    if (start == kNotArmed) continue;
    const size_t i0 = first_covered(start);
    if (i0 < count) {
      index->log->InsertBatch(records + i0 * rs, count - i0, rs,
                              offset + i0 * rs);
    }
  }
  struct Armed {
    AggregateEntry* entry;
    uint64_t start;
  };
  Armed armed[kMaxAggregatesPerFilter];
  for (const auto& f : set.filters) {
    const uint64_t start = Arm(f.filter->start);
    if (start == kNotArmed) continue;
    size_t n_armed = 0;
    for (const auto& agg : f.aggregates) {
      const uint64_t s = Arm(agg->start);
      if (s != kNotArmed) armed[n_armed++] = {agg.get(), s};
    }
    const FilterProgram& program = f.filter->program;
    FilterLog& filter_log = *f.filter->log;
    const size_t i0 = first_covered(start);
    // 64 records at a time: the filter yields a bitmask, and only matching
    // records are visited.
    for (size_t chunk = i0 / 64 * 64; chunk < count; chunk += 64) {
      const size_t n = std::min<size_t>(64, count - chunk);
      uint64_t mask = program.MatchMask(records + chunk * rs, n, rs);
      if (chunk < i0) mask &= ~uint64_t{0} << (i0 - chunk);
      while (mask != 0) {
        const size_t i = chunk + static_cast<size_t>(std::countr_zero(mask));
        mask &= mask - 1;
        const uint8_t* rec = records + i * rs;
        const uint64_t off = offset + i * rs;
        const uint64_t ts = Timestamp(rec);
        filter_log.Append(writer, ts, off);
        for (size_t a = 0; a < n_armed; ++a) {
          if (off < armed[a].start) continue;
          AggregateEntry& agg = *armed[a].entry;
          if (agg.spec.column == nullptr) {
            agg.log->AddU64(writer, ts, 1);
          } else {
            agg.log->Add(writer, ts, ReadNumber(*agg.spec.column, rec));
          }
        }
      }
    }
    for (size_t a = 0; a < n_armed; ++a) {
      armed[a].entry->log->Publish(writer, end);
    }
  }
}

// --- Control ----------------------------------------------------------------

std::shared_ptr<const Multilog::ControlSet> Multilog::CurrentSet() const {
  return set_owner_;
}

void Multilog::Publish(std::shared_ptr<const ControlSet> next) {
  // Release pairs with the acquire in Writer::Append and the queries.
  set_.store(next.get(), std::memory_order_release);
  std::shared_ptr<const ControlSet> old = std::move(set_owner_);
  set_owner_ = std::move(next);
  // No writer or query can still be looking at `old` after this.
  internal::RcuSynchronize();
  old.reset();
}

void Multilog::ArmAfterGracePeriod(std::atomic<uint64_t>& start) {
  // Publish() has waited a grace period: no batch that loaded an older set
  // is in flight (invariant 2).
  start.store(kArmed, std::memory_order_seq_cst);
  uint64_t expected = kArmed;
  start.compare_exchange_strong(expected, data_->write_tail_seq_cst(),
                                std::memory_order_seq_cst);
}

Status Multilog::AddIndex(const IndexSpec& spec) {
  std::lock_guard<std::mutex> lock(control_mu_);
  auto set = CurrentSet();
  for (const auto& i : set->indexes) {
    if (i->spec.column == spec.column) {
      return Status::AlreadyExists("multilog '" + name_ +
                                   "' already has an index on '" + spec.column +
                                   "'");
    }
  }
  Result<std::unique_ptr<IndexLog>> log = IndexLog::Create(schema(), spec, 0);
  if (!log.ok()) return log.status();
  auto entry = std::make_shared<IndexEntry>();
  entry->spec = spec;
  entry->log = std::move(log).value();
  auto next = std::make_shared<ControlSet>(*set);
  next->indexes.push_back(entry);
  Publish(std::move(next));
  ArmAfterGracePeriod(entry->start);
  return Status::Ok();
}

Status Multilog::RemoveIndex(std::string_view column) {
  std::lock_guard<std::mutex> lock(control_mu_);
  auto set = CurrentSet();
  auto next = std::make_shared<ControlSet>(*set);
  const size_t before = next->indexes.size();
  std::erase_if(next->indexes,
                [&](const auto& i) { return i->spec.column == column; });
  if (next->indexes.size() == before) {
    return Status::NotFound(
        "multilog '" + name_ + "' has no index on '" + std::string(column) +
        "' (indexes: " +
        Names(set->indexes, [](const auto& i) { return i->spec.column; }) +
        ")");
  }
  Publish(std::move(next));
  return Status::Ok();
}

Status Multilog::AddFilter(std::string_view name, std::string_view expression) {
  if (name.empty()) return Status::InvalidArgument("filter name is empty");
  std::lock_guard<std::mutex> lock(control_mu_);
  auto set = CurrentSet();
  if (set->FindFilter(name) != nullptr) {
    return Status::AlreadyExists("multilog '" + name_ +
                                 "' already has a filter named '" +
                                 std::string(name) + "'");
  }
  Result<FilterProgram> program = FilterProgram::Compile(schema(), expression);
  if (!program.ok()) return program.status();
  auto entry = std::make_shared<FilterEntry>();
  entry->name = std::string(name);
  entry->expression = std::string(expression);
  entry->program = std::move(program).value();
  entry->log =
      std::make_unique<FilterLog>(bucket_ns_, data_->options().max_writers, 0);
  auto next = std::make_shared<ControlSet>(*set);
  next->filters.push_back({entry, {}});
  Publish(std::move(next));
  ArmAfterGracePeriod(entry->start);
  return Status::Ok();
}

Status Multilog::RemoveFilter(std::string_view name) {
  std::lock_guard<std::mutex> lock(control_mu_);
  auto set = CurrentSet();
  const ControlSet::Filter* f = set->FindFilter(name);
  if (f == nullptr) {
    return Status::NotFound(
        "multilog '" + name_ + "' has no filter named '" + std::string(name) +
        "' (filters: " +
        Names(set->filters, [](const auto& x) { return x.filter->name; }) +
        ")");
  }
  if (!f->aggregates.empty()) {
    return Status::FailedPrecondition(
        "filter '" + std::string(name) + "' is used by aggregate '" +
        f->aggregates.front()->name + "'; remove its aggregates first");
  }
  auto next = std::make_shared<ControlSet>(*set);
  std::erase_if(next->filters,
                [&](const auto& x) { return x.filter->name == name; });
  Publish(std::move(next));
  return Status::Ok();
}

Status Multilog::AddAggregate(std::string_view name, std::string_view filter,
                              std::string_view expression) {
  if (name.empty()) return Status::InvalidArgument("aggregate name is empty");
  std::lock_guard<std::mutex> lock(control_mu_);
  auto set = CurrentSet();
  if (set->FindAggregate(name) != nullptr) {
    return Status::AlreadyExists("multilog '" + name_ +
                                 "' already has an aggregate named '" +
                                 std::string(name) + "'");
  }
  const ControlSet::Filter* f = set->FindFilter(filter);
  if (f == nullptr) {
    return Status::NotFound(
        "aggregate '" + std::string(name) + "': no filter named '" +
        std::string(filter) + "' (filters: " +
        Names(set->filters, [](const auto& x) { return x.filter->name; }) +
        ")");
  }
  if (f->aggregates.size() >= kMaxAggregatesPerFilter) {
    return Status::ResourceExhausted(
        "filter '" + std::string(filter) + "' already has " +
        std::to_string(kMaxAggregatesPerFilter) + " aggregates");
  }
  Result<AggregateSpec> spec = ParseAggregate(schema(), expression);
  if (!spec.ok()) return spec.status();
  auto entry = std::make_shared<AggregateEntry>();
  entry->name = std::string(name);
  entry->filter = f->filter;
  entry->spec = std::move(spec).value();
  entry->log = std::make_unique<AggregateLog>(KindOf(entry->spec), bucket_ns_,
                                              data_->options().max_writers, 0);
  auto next = std::make_shared<ControlSet>(*set);
  for (auto& x : next->filters) {
    if (x.filter->name == filter) x.aggregates.push_back(entry);
  }
  Publish(std::move(next));
  ArmAfterGracePeriod(entry->start);
  return Status::Ok();
}

Status Multilog::RemoveAggregate(std::string_view name) {
  std::lock_guard<std::mutex> lock(control_mu_);
  auto set = CurrentSet();
  if (set->FindAggregate(name) == nullptr) {
    return Status::NotFound("multilog '" + name_ +
                            "' has no aggregate named '" + std::string(name) +
                            "'");
  }
  for (const auto& t : triggers_) {
    if (t->aggregate->name == name) {
      return Status::FailedPrecondition("aggregate '" + std::string(name) +
                                        "' is used by trigger '" + t->name +
                                        "'; remove the trigger first");
    }
  }
  auto next = std::make_shared<ControlSet>(*set);
  for (auto& x : next->filters) {
    std::erase_if(x.aggregates, [&](const auto& a) { return a->name == name; });
  }
  Publish(std::move(next));
  return Status::Ok();
}

Status Multilog::AddTrigger(std::string_view name, std::string_view condition,
                            const TriggerOptions& options) {
  if (name.empty()) return Status::InvalidArgument("trigger name is empty");
  if (options.period < std::chrono::milliseconds(1) ||
      options.period > std::chrono::hours(1)) {
    return Status::InvalidArgument("trigger '" + std::string(name) +
                                   "': period must be from 1 ms to 1 h, got " +
                                   std::to_string(options.period.count()) +
                                   " ns");
  }
  Result<TriggerSpec> spec = ParseTrigger(condition);
  if (!spec.ok()) return spec.status();
  std::lock_guard<std::mutex> lock(control_mu_);
  for (const auto& t : triggers_) {
    if (t->name == name) {
      return Status::AlreadyExists("multilog '" + name_ +
                                   "' already has a trigger named '" +
                                   std::string(name) + "'");
    }
  }
  auto set = CurrentSet();
  const AggregateEntry* agg = set->FindAggregate(spec->aggregate);
  if (agg == nullptr) {
    std::vector<std::string> names;
    for (const auto& f : set->filters) {
      for (const auto& a : f.aggregates) names.push_back(a->name);
    }
    return Status::NotFound(
        "trigger '" + std::string(name) + "': no aggregate named '" +
        spec->aggregate + "' (aggregates: " +
        Names(names, [](const auto& n) { return n; }) + ")");
  }
  auto entry = std::make_shared<TriggerEntry>();
  entry->name = std::string(name);
  entry->spec = std::move(spec).value();
  entry->period_ns = static_cast<uint64_t>(options.period.count());
  for (const auto& f : set->filters) {
    for (const auto& a : f.aggregates) {
      if (a->name == entry->spec.aggregate) entry->aggregate = a;
    }
  }
  triggers_.push_back(std::move(entry));
  KickMonitor();  // evaluates the new trigger now, then sleeps until it is due
  return Status::Ok();
}

Status Multilog::RemoveTrigger(std::string_view name) {
  std::lock_guard<std::mutex> lock(control_mu_);
  const size_t before = triggers_.size();
  std::erase_if(triggers_, [&](const auto& t) { return t->name == name; });
  if (triggers_.size() == before) {
    return Status::NotFound("multilog '" + name_ + "' has no trigger named '" +
                            std::string(name) + "'");
  }
  return Status::Ok();
}

std::vector<IndexInfo> Multilog::ListIndexes() const {
  std::lock_guard<std::mutex> lock(control_mu_);
  std::vector<IndexInfo> out;
  for (const auto& i : set_owner_->indexes) {
    out.push_back(
        {i->spec.column, i->spec.bucket, i->start.load(), i->log->entries()});
  }
  return out;
}

std::vector<FilterInfo> Multilog::ListFilters() const {
  std::lock_guard<std::mutex> lock(control_mu_);
  std::vector<FilterInfo> out;
  for (const auto& f : set_owner_->filters) {
    out.push_back(
        {f.filter->name, f.filter->expression, f.filter->start.load()});
  }
  return out;
}

std::vector<AggregateInfo> Multilog::ListAggregates() const {
  std::lock_guard<std::mutex> lock(control_mu_);
  std::vector<AggregateInfo> out;
  for (const auto& f : set_owner_->filters) {
    for (const auto& a : f.aggregates) {
      out.push_back({a->name, f.filter->name, a->spec.text, a->start.load()});
    }
  }
  return out;
}

std::vector<TriggerInfo> Multilog::ListTriggers() const {
  std::lock_guard<std::mutex> lock(control_mu_);
  std::vector<TriggerInfo> out;
  for (const auto& t : triggers_) {
    out.push_back(
        {t->name, t->spec.text, std::chrono::nanoseconds(t->period_ns)});
  }
  return out;
}

// --- Queries ----------------------------------------------------------------

Result<uint64_t> Multilog::ResolveSnapshot(uint64_t snapshot) const {
  const uint64_t tail = data_->read_tail();
  if (snapshot == 0) return tail;
  if (snapshot > tail || snapshot % data_->record_size() != 0) {
    return Status::InvalidArgument(
        "snapshot " + std::to_string(snapshot) +
        " is not a record boundary at or below the read tail " +
        std::to_string(tail));
  }
  return snapshot;
}

Result<std::shared_ptr<Multilog::AggregateEntry>> Multilog::FindAggregate(
    std::string_view name) const {
  std::lock_guard<std::mutex> lock(control_mu_);
  for (const auto& f : set_owner_->filters) {
    for (const auto& a : f.aggregates) {
      if (a->name == name) return a;
    }
  }
  return Status::NotFound("multilog '" + name_ + "' has no aggregate named '" +
                          std::string(name) + "'");
}

bool Multilog::WindowIsPartial(uint64_t t0_ns, uint64_t covers_from,
                               uint64_t snapshot) const {
  if (covers_from == 0 || covers_from < data_->head()) return false;
  if (covers_from >= snapshot) return true;  // nothing covered yet
  std::vector<uint8_t> record(data_->record_size());
  if (!data_->Read(covers_from, record.data()).ok()) return false;
  return t0_ns < Timestamp(record.data());
}

void Multilog::RecomputeBucket(const AggregateEntry& agg, uint64_t bucket,
                               uint64_t snapshot, AggregateValue* out) const {
  const uint64_t start = agg.start.load(std::memory_order_acquire);
  const uint64_t rs = data_->record_size();
  if (agg.spec.function == AggregateFunction::kHist ||
      agg.spec.function == AggregateFunction::kQuantile) {
    if (out->hist == nullptr) out->hist = std::make_unique<Histogram>();
  }
  agg.filter->log->ForEach(
      bucket * bucket_ns_, (bucket + 1) * bucket_ns_, snapshot,
      [&](uint64_t offset, uint64_t) {
        if (offset < start) return true;
        (void)data_->ForEach(
            offset, offset + rs, [&](uint64_t, const uint8_t* rec) {
              const double v = agg.spec.column == nullptr
                                   ? 1
                                   : ReadNumber(*agg.spec.column, rec);
              out->count += 1;
              out->sum += v;
              out->min = std::min(out->min, v);
              out->max = std::max(out->max, v);
              if (out->hist != nullptr) out->hist->Add(v);
              return true;
            });
        return true;
      });
}

void Multilog::Finish(const AggregateSpec& spec, AggregateResult* r) {
  r->function = spec.function;
  r->quantile = spec.quantile;
  const AggregateValue& v = r->detail;
  switch (spec.function) {
    case AggregateFunction::kCount:
    case AggregateFunction::kHist:
      r->value = static_cast<double>(v.count);
      r->has_value = true;
      break;
    case AggregateFunction::kSum:
      r->value = v.sum;
      r->has_value = true;
      break;
    case AggregateFunction::kMin:
      r->value = v.min;
      r->has_value = v.count != 0;
      break;
    case AggregateFunction::kMax:
      r->value = v.max;
      r->has_value = v.count != 0;
      break;
    case AggregateFunction::kQuantile:
      r->has_value = v.count != 0 && v.hist != nullptr;
      r->value = r->has_value ? v.hist->Quantile(spec.quantile) : 0;
      break;
  }
  if (!r->has_value) r->value = std::numeric_limits<double>::quiet_NaN();
}

Result<AggregateSeries> Multilog::GetAggregateSeries(std::string_view name,
                                                     uint64_t t0_ns,
                                                     uint64_t t1_ns,
                                                     uint64_t snapshot) const {
  Result<std::shared_ptr<AggregateEntry>> agg = FindAggregate(name);
  if (!agg.ok()) return agg.status();
  return SeriesOf(**agg, t0_ns, t1_ns, snapshot, snapshot == 0);
}

Result<AggregateSeries> Multilog::SeriesOf(const AggregateEntry& entry,
                                           uint64_t t0_ns, uint64_t t1_ns,
                                           uint64_t snapshot,
                                           bool at_read_tail) const {
  LOUPE_RETURN_IF_ERROR(CheckWindow(t0_ns, t1_ns));
  Result<uint64_t> snap = ResolveSnapshot(snapshot);
  if (!snap.ok()) return snap.status();
  AggregateSeries series;
  series.bucket_ns = bucket_ns_;
  series.snapshot = *snap;
  series.covers_from = entry.start.load(std::memory_order_acquire);
  series.partial = WindowIsPartial(t0_ns, series.covers_from, *snap);
  if (t1_ns == t0_ns) return series;
  std::vector<std::pair<uint64_t, uint32_t>> stale;
  entry.log->ForEachBucket(
      t0_ns, t1_ns, *snap,
      [&](uint64_t bucket, const AggregateValue& value) {
        BucketValue b;
        b.start_ns = bucket * bucket_ns_;
        b.value.Merge(value);
        series.buckets.push_back(std::move(b));
      },
      &stale);
  std::set<uint64_t> stale_buckets;
  for (const auto& [bucket, writer] : stale) stale_buckets.insert(bucket);
  if (!at_read_tail) {
    // A caller's snapshot may be any record boundary, and may split one
    // batch; the aggregate log answers for whole batches only (a cell is
    // versioned at its batch's end). Only the records of one batch can lie
    // below the snapshot uncounted, so the buckets of the last
    // max_batch_bytes below it are recomputed exactly from the filter log.
    // A value read_tail() had never splits a batch.
    const uint64_t span = data_->max_batch_bytes();
    const uint64_t first_bucket = t0_ns / bucket_ns_;
    const uint64_t last_bucket = (t1_ns - 1) / bucket_ns_;
    const uint64_t from = std::max(*snap > span ? *snap - span : 0,
                                   std::max(data_->head(), series.covers_from));
    if (from < *snap) {
      (void)data_->ForEach(from, *snap, [&](uint64_t, const uint8_t* rec) {
        const uint64_t bucket = Timestamp(rec) / bucket_ns_;
        if (bucket >= first_bucket && bucket <= last_bucket) {
          stale_buckets.insert(bucket);
        }
        return true;
      });
    }
  }
  for (uint64_t bucket : stale_buckets) {
    BucketValue fresh;
    fresh.start_ns = bucket * bucket_ns_;
    RecomputeBucket(entry, bucket, *snap, &fresh.value);
    auto it = std::find_if(
        series.buckets.begin(), series.buckets.end(),
        [&](const BucketValue& b) { return b.start_ns == fresh.start_ns; });
    if (it != series.buckets.end()) {
      *it = std::move(fresh);
    } else if (fresh.value.count != 0) {
      series.buckets.push_back(std::move(fresh));
    }
  }
  std::sort(series.buckets.begin(), series.buckets.end(),
            [](const BucketValue& a, const BucketValue& b) {
              return a.start_ns < b.start_ns;
            });
  return series;
}

Result<AggregateResult> Multilog::GetAggregate(std::string_view name,
                                               uint64_t t0_ns, uint64_t t1_ns,
                                               uint64_t snapshot) const {
  Result<std::shared_ptr<AggregateEntry>> agg = FindAggregate(name);
  if (!agg.ok()) return agg.status();
  // One lookup: the entry stays alive (shared_ptr) even if it is removed
  // meanwhile, and the answer is about the aggregate that was found.
  return AggregateOf(**agg, t0_ns, t1_ns, snapshot, snapshot == 0);
}

Result<AggregateResult> Multilog::AggregateOf(const AggregateEntry& entry,
                                              uint64_t t0_ns, uint64_t t1_ns,
                                              uint64_t snapshot,
                                              bool at_read_tail) const {
  Result<AggregateSeries> series =
      SeriesOf(entry, t0_ns, t1_ns, snapshot, at_read_tail);
  if (!series.ok()) return series.status();
  AggregateResult r;
  r.snapshot = series->snapshot;
  r.covers_from = series->covers_from;
  r.partial = series->partial;
  for (const BucketValue& b : series->buckets) r.detail.Merge(b.value);
  Finish(entry.spec, &r);
  return r;
}

Result<QueryResult> Multilog::QueryFilter(std::string_view name, uint64_t t0_ns,
                                          uint64_t t1_ns, size_t limit,
                                          uint64_t snapshot) const {
  LOUPE_RETURN_IF_ERROR(CheckWindow(t0_ns, t1_ns));
  std::shared_ptr<FilterEntry> filter;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    const ControlSet::Filter* f = set_owner_->FindFilter(name);
    if (f == nullptr) {
      return Status::NotFound("multilog '" + name_ + "' has no filter named '" +
                              std::string(name) + "'");
    }
    filter = f->filter;
  }
  Result<uint64_t> snap = ResolveSnapshot(snapshot);
  if (!snap.ok()) return snap.status();
  QueryResult r;
  r.snapshot = *snap;
  r.covers_from = filter->start.load(std::memory_order_acquire);
  r.partial = WindowIsPartial(t0_ns, r.covers_from, *snap);
  r.plan = "filter log '" + filter->name + "'";
  if (t1_ns == t0_ns) return r;
  const uint64_t first_bucket = t0_ns / bucket_ns_;
  const uint64_t last_bucket = (t1_ns - 1) / bucket_ns_;
  const uint64_t rs = data_->record_size();
  filter->log->ForEach(
      t0_ns, t1_ns, *snap, [&](uint64_t offset, uint64_t bucket) {
        if (offset < r.covers_from) return true;
        if (bucket == first_bucket || bucket == last_bucket) {
          // Only the edge buckets can hold records outside [t0, t1).
          bool inside = false;
          (void)data_->ForEach(offset, offset + rs,
                               [&](uint64_t, const uint8_t* rec) {
                                 const uint64_t ts = Timestamp(rec);
                                 inside = ts >= t0_ns && ts < t1_ns;
                                 return true;
                               });
          if (!inside) return true;
        }
        if (limit != 0 && r.offsets.size() == limit) {
          r.truncated = true;
          return false;
        }
        r.offsets.push_back(offset);
        return true;
      });
  std::sort(r.offsets.begin(), r.offsets.end());
  return r;
}

uint64_t Multilog::memory_bytes() const {
  uint64_t total = data_->stats().memory_bytes;
  std::lock_guard<std::mutex> lock(control_mu_);
  for (const auto& i : set_owner_->indexes) total += i->log->memory_bytes();
  for (const auto& f : set_owner_->filters) {
    total += f.filter->log->memory_bytes();
    for (const auto& a : f.aggregates) total += a->log->memory_bytes();
  }
  return total;
}

// --- Triggers ---------------------------------------------------------------

size_t Multilog::EvaluateTriggers(uint64_t now_ns) {
  return EvaluateDueTriggers(now_ns, nullptr);
}

size_t Multilog::EvaluateDueTriggers(uint64_t now_ns, uint64_t* next_due_ns) {
  std::vector<std::shared_ptr<TriggerEntry>> triggers;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    triggers = triggers_;
  }
  size_t fired = 0;
  uint64_t next_due = std::numeric_limits<uint64_t>::max();
  for (const auto& t : triggers) {
    std::lock_guard<std::mutex> lock(t->mu);
    const uint64_t last_end = now_ns / t->period_ns * t->period_ns;
    if (t->next_window_end == 0) {
      t->next_window_end = last_end;  // first call: the latest window only
    }
    const uint64_t snapshot = data_->read_tail();
    for (size_t n = 0;
         t->next_window_end <= last_end && n < kMaxWindowsPerEvaluation;
         ++n, t->next_window_end += t->period_ns) {
      const uint64_t end = t->next_window_end;
      const uint64_t begin = end >= t->period_ns ? end - t->period_ns : 0;
      Result<AggregateResult> r =
          AggregateOf(*t->aggregate, begin, end, snapshot, true);
      if (!r.ok() || !r->has_value) continue;
      if (!CompareHolds(r->value, t->spec.op, t->spec.threshold)) continue;
      Alert alert;
      alert.time_ns = end;
      alert.trigger = t->name;
      alert.aggregate = t->aggregate->name;
      alert.value = r->value;
      alert.op = t->spec.op;
      alert.threshold = t->spec.threshold;
      alert.window_start_ns = begin;
      alert.window_end_ns = end;
      alerts_->Append(std::move(alert));
      ++fired;
    }
    if (t->next_window_end <= last_end) {
      t->next_window_end = last_end + t->period_ns;  // skip a backlog
    }
    next_due = std::min(next_due, t->next_window_end);
  }
  if (next_due_ns != nullptr) *next_due_ns = next_due;
  return fired;
}

void Multilog::KickMonitor() {
  {
    std::lock_guard<std::mutex> lock(monitor_mu_);
    monitor_kicked_ = true;
  }
  monitor_cv_.notify_all();
}

void Multilog::MonitorLoop() {
  internal::RcuRegisterThisThread();
  // Sleeps until the earliest trigger window is due (plus the grace), so
  // that triggers cost nothing between windows; AddTrigger kicks it awake.
  // Sleeps are capped so that a wall-clock step is noticed within a second.
  constexpr uint64_t kMaxSleepNs = 1'000'000'000;
  constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  const uint64_t grace = static_cast<uint64_t>(options_.trigger_grace.count());
  std::unique_lock<std::mutex> lock(monitor_mu_);
  while (!monitor_stop_) {
    monitor_kicked_ = false;
    lock.unlock();
    monitor_wakeups_.fetch_add(1, std::memory_order_relaxed);
    const uint64_t now = NowNs();
    uint64_t next_due = 0;
    EvaluateDueTriggers(now > grace ? now - grace : 0, &next_due);
    // The window ending at next_due is evaluated once now - grace >= it.
    const uint64_t wake = next_due > kNever - grace ? kNever : next_due + grace;
    const uint64_t after = NowNs();
    const uint64_t sleep_ns =
        wake > after ? std::min(wake - after, kMaxSleepNs) : 0;
    lock.lock();
    if (sleep_ns != 0) {
      monitor_cv_.wait_for(lock, std::chrono::nanoseconds(sleep_ns),
                           [this] { return monitor_stop_ || monitor_kicked_; });
    }
  }
}

}  // namespace loupe
