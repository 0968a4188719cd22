// Merging GetAggregate answers of several agents into the network-wide
// answer: COUNT and SUM add; MIN and MAX are taken over the hosts that had
// records (with their count); HIST and quantiles rebuild one histogram from
// the hosts' bins (multilog/histogram_merge.h), so a merged quantile has
// the error bound of one host. Every part must be of the same function
// (and quantile); a quantile's parts must carry their bins (asked with
// with_bins). covers_from is the latest of the parts' (the merged answer
// covers what every host covers); partial if any part is.
//
// Pure functions over protos; no I/O.
#ifndef LOUPE_COORDINATOR_FLEET_MERGE_AGGREGATE_H_
#define LOUPE_COORDINATOR_FLEET_MERGE_AGGREGATE_H_

#include <vector>

#include "agent/proto/loupe.pb.h"
#include "multilog/histogram_merge.h"
#include "multilog/status.h"

namespace loupe::coordinator {

// The bins of one answer as HistogramMerger takes them.
HistogramBins BinsOf(const v1::MergeableHistogram& m);

// kFailedPrecondition for parts of different functions or quantiles, or a
// histogram part without bins; kInvalidArgument for malformed bins (from
// HistogramMerger). `merged` holds the network-wide answer: function,
// value, has_value, count, sum, min, max, covers_from, partial, and for
// histograms the merged bins.
Status MergeAggregates(
    const std::vector<const v1::GetAggregateResponse*>& parts,
    v1::GetAggregateResponse* merged);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_FLEET_MERGE_AGGREGATE_H_
