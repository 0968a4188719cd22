#include "coordinator/fleet/merge_aggregate.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "multilog/histogram.h"

namespace loupe::coordinator {

HistogramBins BinsOf(const v1::MergeableHistogram& m) {
  HistogramBins part;
  part.layout = m.layout();
  const int n = std::min(m.bins_size(), m.counts_size());
  part.bins.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) part.bins.emplace_back(m.bins(i), m.counts(i));
  part.count = m.count();
  part.sum = m.sum();
  if (m.count() != 0) {
    part.min = m.min();
    part.max = m.max();
  }
  part.integral = m.integral();
  return part;
}

Status MergeAggregates(
    const std::vector<const v1::GetAggregateResponse*>& parts,
    v1::GetAggregateResponse* merged) {
  merged->Clear();
  if (parts.empty()) {
    return Status::FailedPrecondition("no answer to merge");
  }
  const std::string& function = parts.front()->function();
  const double quantile = parts.front()->quantile();
  const bool hist = function == "HIST" || function == "QUANTILE";
  HistogramMerger merger;
  uint64_t count = 0;
  double sum = 0;
  double min = INFINITY, max = -INFINITY;
  for (const v1::GetAggregateResponse* p : parts) {
    if (p->function() != function || p->quantile() != quantile) {
      return Status::FailedPrecondition(
          "the hosts' aggregates differ (" + function + " and " +
          p->function() + "); apply the same program everywhere to merge them");
    }
    if (hist) {
      if (!p->has_bins()) {
        return Status::FailedPrecondition(
            "a " + function +
            " answer without its bins cannot be merged; "
            "ask with with_bins");
      }
      if (p->bins().count() != p->count()) {
        return Status::InvalidArgument(
            "an answer's bins hold " + std::to_string(p->bins().count()) +
            " values but its count is " + std::to_string(p->count()));
      }
      Status s = merger.Add(BinsOf(p->bins()));
      if (!s.ok()) return s;
    }
    count += p->count();
    sum += p->sum();
    if (p->count() != 0) {
      min = std::min(min, p->min());
      max = std::max(max, p->max());
    }
    merged->set_covers_from(std::max(merged->covers_from(), p->covers_from()));
    merged->set_partial(merged->partial() || p->partial());
    merged->set_recomputed_buckets(merged->recomputed_buckets() +
                                   p->recomputed_buckets());
  }
  merged->set_function(function);
  merged->set_quantile(quantile);
  merged->set_count(count);
  merged->set_sum(sum);
  merged->set_min(count != 0 && function != "COUNT" && function != "SUM" ? min
                                                                         : 0);
  merged->set_max(count != 0 && function != "COUNT" && function != "SUM" ? max
                                                                         : 0);
  bool has_value = true;
  double value = 0;
  if (function == "COUNT" || function == "HIST") {
    value = static_cast<double>(count);
  } else if (function == "SUM") {
    value = sum;
  } else if (function == "MIN") {
    has_value = count != 0;
    value = has_value ? min : NAN;
  } else if (function == "MAX") {
    has_value = count != 0;
    value = has_value ? max : NAN;
  } else if (function == "QUANTILE") {
    has_value = count != 0;
    value = has_value ? merger.Quantile(quantile) : NAN;
  } else {
    return Status::FailedPrecondition("unknown aggregate function '" +
                                      function + "'");
  }
  merged->set_value(value);
  merged->set_has_value(has_value);
  if (hist) {
    v1::MergeableHistogram* bins = merged->mutable_bins();
    const Histogram& h = merger.merged();
    bins->set_layout(Histogram::kLayout);
    bins->set_sub_bucket_bits(Histogram::kSubBucketBits);
    bins->set_count(h.count());
    bins->set_sum(h.sum());
    bins->set_min(h.count() != 0 ? h.min() : 0);
    bins->set_max(h.count() != 0 ? h.max() : 0);
    bins->set_integral(h.integral());
    h.ForEachBin([&](int64_t bin, uint64_t n) {
      bins->add_bins(bin);
      bins->add_counts(n);
    });
  }
  return Status::Ok();
}

}  // namespace loupe::coordinator
