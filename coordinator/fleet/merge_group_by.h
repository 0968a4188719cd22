// Merging GetGroupBy answers of several agents into the network-wide one:
// rows of the same key (and time bucket) are combined -- COUNT and SUM
// add, MIN and MAX are taken over the hosts that had the key -- and the
// merged rows are ordered by key (numbers by value, other text by bytes),
// then bucket, and cut at `limit`. Quantile aggregates (P50 ... QUANTILE)
// have no exact merge from per-host values and are kFailedPrecondition,
// naming GetAggregate with bins as the way to merge them. A host whose own
// answer was truncated (more groups than its limit) makes the merged
// answer truncated: keys it did not send may be missing or short.
//
// Pure functions over protos; no I/O.
#ifndef LOUPE_COORDINATOR_FLEET_MERGE_GROUP_BY_H_
#define LOUPE_COORDINATOR_FLEET_MERGE_GROUP_BY_H_

#include <cstddef>
#include <vector>

#include "agent/proto/loupe.pb.h"
#include "multilog/status.h"

namespace loupe::coordinator {

// kFailedPrecondition for parts with different aggregates or key columns,
// or for a quantile aggregate; kInvalidArgument for a row whose values do
// not match the aggregates. `merged` gets aggregates, key_columns, rows
// (at most `limit`), truncated, groups (merged, before the limit),
// records, covers_from (the latest), partial (any part's).
Status MergeGroupBy(const std::vector<const v1::GetGroupByResponse*>& parts,
                    size_t limit, v1::GetGroupByResponse* merged);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_FLEET_MERGE_GROUP_BY_H_
