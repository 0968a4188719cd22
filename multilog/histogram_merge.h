// Merging histograms that arrive as bins (Histogram::ForEachBin), from
// several agents: what a coordinator does with GetAggregate's bins to
// answer a quantile over every host.
//
// Every Histogram has the layout Histogram::kLayout, so a bin means the
// same bucket everywhere and bins add exactly. The merge rebuilds one
// Histogram from the summed bins and the summed count, sum, min, max and
// integrality; its Quantile is the one a single host would answer had it
// seen every value, within Histogram::kMaxRelativeError of the exact
// nearest-rank quantile of the union (exact below 256 when every part is
// integral).
//
// Value types; not synchronized (one merger per thread).
#ifndef LOUPE_MULTILOG_HISTOGRAM_MERGE_H_
#define LOUPE_MULTILOG_HISTOGRAM_MERGE_H_

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "multilog/histogram.h"
#include "multilog/status.h"

namespace loupe {

// One host's histogram as it travels: the layout, non-empty bins and the
// exact totals.
struct HistogramBins {
  uint32_t layout = Histogram::kLayout;
  std::vector<std::pair<int64_t, uint64_t>> bins;  // (bin, count)
  uint64_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  bool integral = true;
};

// The bins of `h`.
HistogramBins BinsOf(const Histogram& h);

class HistogramMerger {
 public:
  // Adds one part. kInvalidArgument, adding nothing, for another layout, a
  // bin outside it, or counts that do not sum to `count`.
  Status Add(const HistogramBins& part);
  // The union of the parts added so far.
  const Histogram& merged() const { return merged_; }
  double Quantile(double q) const { return merged_.Quantile(q); }

 private:
  Histogram merged_;
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_HISTOGRAM_MERGE_H_
