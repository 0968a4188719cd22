// Filter and aggregate logs on the packet path and at query time. Run with
// `meson test -C build --benchmark` or directly.
//
// The record stream is the one a loupe host sees at 15 M records/s: record
// i has offset 64 i and timestamp T0 + 66.7 i ns (about 15,000 records per
// 1 ms bucket), and two writers take turns with batches of 32 records, so
// each writer's offsets skip the other's batches. Everything runs on one
// thread: these are per-call costs, not scaling.
//
//   filter_append/stride:S      FilterLog::Append for every S-th record
//                               (S = 1: a filter matching everything).
//                               bytes/entry = memory_bytes() / entries.
//   aggregate_add/<KIND>        AggregateLog::AddU64 per record (packet
//                               sizes), Publish per batch of 32.
//   packet_path/10_filters_10_aggregates
//                               per record: 10 FilterLog appends (all
//                               match: the worst case) and 10 aggregate
//                               adds (4 COUNT, 4 SUM, 2 HIST), Publish per
//                               batch; ns per record. 15 M records/s on one
//                               core leaves 66.7 ns per record.
//   aggregate_get_1s/<KIND>     Get over a 1 s window (1000 buckets of 1
//                               ms, 2 writers) of a 3 s log, at the final
//                               snapshot (nothing stale).
//   aggregate_series_1s/HIST    ForEachBucket over the same window: 1000
//                               per-bucket histograms (a heatmap column
//                               set).
//   filter_foreach_1s/stride:S  FilterLog::ForEach over 1 s of a 3 s log
//                               with every S-th record matching (S = 600:
//                               25,000 offsets per second).
//   filter_count_1s/stride:S    FilterLog::Count over the same window.
//
// Iteration counts are fixed, so a run is bounded (about a minute); each
// benchmark is repeated 3 times and reports mean, median and spread.
// Nothing here asserts a time.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "multilog/aggregate_log.h"
#include "multilog/filter_log.h"

namespace loupe {
namespace {

using benchmark::Counter;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;
constexpr uint64_t kBucketNs = 1'000'000;  // 1 ms
constexpr uint64_t kRecord = 64;
constexpr uint64_t kRecordsPerSecond = 15'000'000;
constexpr uint32_t kWriters = 2;
constexpr uint64_t kBatch = 32;

uint64_t TimestampOf(uint64_t i) { return kT0 + i * 200 / 3; }  // 66.7 ns
uint32_t WriterOf(uint64_t i) {
  return static_cast<uint32_t>(i / kBatch % kWriters);
}

// Frame sizes: ACKs, full MTU, a spread between.
std::vector<uint64_t> PacketSizes() {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> sizes(4096);
  for (uint64_t& s : sizes) {
    const uint64_t r = rng() % 100;
    s = r < 45 ? 64 + rng() % 4 : r < 90 ? 1514 : 64 + rng() % 1455;
  }
  return sizes;
}

void FilterAppend(benchmark::State& state) {
  const uint64_t stride = static_cast<uint64_t>(state.range(0));
  FilterLog log(kBucketNs, kWriters, 0);
  uint64_t i = 0;
  for (auto _ : state) {
    log.Append(WriterOf(i), TimestampOf(i), i * kRecord);
    i += stride;
  }
  const double entries = static_cast<double>(state.iterations());
  state.counters["appends/s"] = Counter(entries, Counter::kIsRate);
  state.counters["bytes/entry"] =
      static_cast<double>(log.memory_bytes()) / entries;
}

void AggregateAdd(benchmark::State& state) {
  const auto kind = static_cast<AggregateKind>(state.range(0));
  state.SetLabel(std::string(AggregateKindName(kind)));
  const std::vector<uint64_t> sizes = PacketSizes();
  AggregateLog log(kind, kBucketNs, kWriters, 0);
  uint64_t i = 0;
  for (auto _ : state) {
    const uint32_t w = WriterOf(i);
    log.AddU64(w, TimestampOf(i), sizes[i & 4095]);
    ++i;
    if (i % kBatch == 0) log.Publish(w, i * kRecord);
  }
  const double adds = static_cast<double>(state.iterations());
  state.counters["adds/s"] = Counter(adds, Counter::kIsRate);
  state.counters["bytes/record"] =
      static_cast<double>(log.memory_bytes()) / adds;
}

void PacketPath(benchmark::State& state) {
  const std::vector<uint64_t> sizes = PacketSizes();
  std::vector<std::unique_ptr<FilterLog>> filters;
  std::vector<std::unique_ptr<AggregateLog>> aggregates;
  for (int f = 0; f < 10; ++f) {
    filters.push_back(std::make_unique<FilterLog>(kBucketNs, kWriters, 0));
  }
  for (AggregateKind kind :
       {AggregateKind::kCount, AggregateKind::kCount, AggregateKind::kCount,
        AggregateKind::kCount, AggregateKind::kSum, AggregateKind::kSum,
        AggregateKind::kSum, AggregateKind::kSum, AggregateKind::kHist,
        AggregateKind::kHist}) {
    aggregates.push_back(
        std::make_unique<AggregateLog>(kind, kBucketNs, kWriters, 0));
  }
  uint64_t i = 0;
  for (auto _ : state) {
    const uint32_t w = WriterOf(i);
    const uint64_t ts = TimestampOf(i);
    const uint64_t size = sizes[i & 4095];
    for (auto& f : filters) f->Append(w, ts, i * kRecord);
    for (auto& a : aggregates) a->AddU64(w, ts, size);
    ++i;
    if (i % kBatch == 0) {
      for (auto& a : aggregates) a->Publish(w, i * kRecord);
    }
  }
  const double records = static_cast<double>(state.iterations());
  state.counters["records/s"] = Counter(records, Counter::kIsRate);
  uint64_t bytes = 0;
  for (auto& f : filters) bytes += f->memory_bytes();
  for (auto& a : aggregates) bytes += a->memory_bytes();
  state.counters["bytes/record"] = static_cast<double>(bytes) / records;
}

// A 3 s log of `kind` (or of a filter) at 15 M records/s.
constexpr uint64_t kLogRecords = 3 * kRecordsPerSecond;
constexpr uint64_t kWindowT0 = kT0 + 1'000'000'000;  // the middle second
constexpr uint64_t kWindowT1 = kT0 + 2'000'000'000;

std::unique_ptr<AggregateLog> FilledAggregate(AggregateKind kind) {
  const std::vector<uint64_t> sizes = PacketSizes();
  auto log = std::make_unique<AggregateLog>(kind, kBucketNs, kWriters, 0);
  for (uint64_t i = 0; i < kLogRecords;) {
    const uint32_t w = WriterOf(i);
    log->AddU64(w, TimestampOf(i), sizes[i & 4095]);
    ++i;
    if (i % kBatch == 0) log->Publish(w, i * kRecord);
  }
  return log;
}

void AggregateGet1s(benchmark::State& state) {
  const auto kind = static_cast<AggregateKind>(state.range(0));
  state.SetLabel(std::string(AggregateKindName(kind)));
  const std::unique_ptr<AggregateLog> log = FilledAggregate(kind);
  const uint64_t snapshot = kLogRecords * kRecord;
  std::vector<StaleCell> stale;
  uint64_t count = 0;
  for (auto _ : state) {
    stale.clear();
    AggregateValue v = log->Get(kWindowT0, kWindowT1, snapshot, &stale);
    count = v.count;
    benchmark::DoNotOptimize(v);
  }
  state.counters["records"] = static_cast<double>(count);
  state.counters["stale"] = static_cast<double>(stale.size());
}

void AggregateSeries1s(benchmark::State& state) {
  const std::unique_ptr<AggregateLog> log =
      FilledAggregate(AggregateKind::kHist);
  const uint64_t snapshot = kLogRecords * kRecord;
  std::vector<StaleCell> stale;
  uint64_t buckets = 0;
  for (auto _ : state) {
    stale.clear();
    buckets = 0;
    log->ForEachBucket(
        kWindowT0, kWindowT1, snapshot,
        [&](uint64_t, const AggregateValue& v) {
          buckets += v.count != 0;
          benchmark::DoNotOptimize(v.hist->Quantile(0.99));
        },
        &stale);
  }
  state.counters["buckets"] = static_cast<double>(buckets);
  state.counters["stale"] = static_cast<double>(stale.size());
}

std::unique_ptr<FilterLog> FilledFilter(uint64_t stride) {
  auto log = std::make_unique<FilterLog>(kBucketNs, kWriters, 0);
  for (uint64_t i = 0; i < kLogRecords; i += stride) {
    log->Append(WriterOf(i), TimestampOf(i), i * kRecord);
  }
  return log;
}

void FilterForEach1s(benchmark::State& state) {
  const uint64_t stride = static_cast<uint64_t>(state.range(0));
  const std::unique_ptr<FilterLog> log = FilledFilter(stride);
  const uint64_t snapshot = kLogRecords * kRecord;
  uint64_t offsets = 0;
  for (auto _ : state) {
    uint64_t n = 0, sum = 0;
    log->ForEach(kWindowT0, kWindowT1, snapshot,
                 [&](uint64_t offset, uint64_t) {
                   ++n;
                   sum += offset;
                 });
    benchmark::DoNotOptimize(sum);
    offsets = n;
  }
  state.counters["offsets"] = static_cast<double>(offsets);
  state.counters["offsets/s"] = Counter(
      static_cast<double>(offsets * state.iterations()), Counter::kIsRate);
  state.counters["bytes/entry"] =
      static_cast<double>(log->memory_bytes()) /
      static_cast<double>(log->Count(0, ~0ull, snapshot));
}

void FilterCount1s(benchmark::State& state) {
  const uint64_t stride = static_cast<uint64_t>(state.range(0));
  const std::unique_ptr<FilterLog> log = FilledFilter(stride);
  const uint64_t snapshot = kLogRecords * kRecord;
  uint64_t n = 0;
  for (auto _ : state) {
    n = log->Count(kWindowT0, kWindowT1, snapshot);
    benchmark::DoNotOptimize(n);
  }
  state.counters["offsets"] = static_cast<double>(n);
}

constexpr int64_t kKinds[] = {static_cast<int64_t>(AggregateKind::kCount),
                              static_cast<int64_t>(AggregateKind::kSum),
                              static_cast<int64_t>(AggregateKind::kMax),
                              static_cast<int64_t>(AggregateKind::kHist)};

void Register() {
  for (int64_t stride : {1, 10, 600}) {
    benchmark::RegisterBenchmark("filter_append", FilterAppend)
        ->ArgName("stride")
        ->Arg(stride)
        ->Iterations(stride == 1 ? 30'000'000 : 5'000'000)
        ->Repetitions(3)
        ->DisplayAggregatesOnly(true);
  }
  for (int64_t kind : kKinds) {
    benchmark::RegisterBenchmark("aggregate_add", AggregateAdd)
        ->ArgName("kind")
        ->Arg(kind)
        ->Iterations(30'000'000)
        ->Repetitions(3)
        ->DisplayAggregatesOnly(true);
  }
  benchmark::RegisterBenchmark("packet_path/10_filters_10_aggregates",
                               PacketPath)
      ->Iterations(5'000'000)
      ->Repetitions(3)
      ->DisplayAggregatesOnly(true);
  for (int64_t kind : kKinds) {
    benchmark::RegisterBenchmark("aggregate_get_1s", AggregateGet1s)
        ->ArgName("kind")
        ->Arg(kind)
        ->Iterations(kind == static_cast<int64_t>(AggregateKind::kHist) ? 200
                                                                        : 2000)
        ->Repetitions(3)
        ->DisplayAggregatesOnly(true)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("aggregate_series_1s/HIST", AggregateSeries1s)
      ->Iterations(50)
      ->Repetitions(3)
      ->DisplayAggregatesOnly(true)
      ->Unit(benchmark::kMicrosecond);
  for (int64_t stride : {600, 1}) {
    benchmark::RegisterBenchmark("filter_foreach_1s", FilterForEach1s)
        ->ArgName("stride")
        ->Arg(stride)
        ->Iterations(stride == 1 ? 5 : 2000)
        ->Repetitions(3)
        ->DisplayAggregatesOnly(true)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("filter_count_1s", FilterCount1s)
        ->ArgName("stride")
        ->Arg(stride)
        ->Iterations(stride == 1 ? 5 : 2000)
        ->Repetitions(3)
        ->DisplayAggregatesOnly(true)
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace loupe

int main(int argc, char** argv) {
  loupe::Register();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
