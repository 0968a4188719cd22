// The network-wide sums of agents' Stats: the dataplanes' totals
// (received, recorded, dropped, each drop reason) and, per multilog name,
// the retained records, memory, alerts and allocation stalls. Rates and
// tails are per host and are not summed (a sum of tails means nothing).
//
// A pure function over protos; no I/O.
#ifndef LOUPE_COORDINATOR_FLEET_SUM_STATS_H_
#define LOUPE_COORDINATOR_FLEET_SUM_STATS_H_

#include <google/protobuf/repeated_field.h>

#include <vector>

#include "agent/proto/loupe.pb.h"

namespace loupe::coordinator {

// `total` gets the summed PortStats (name "total"; drops by reason, in
// the order first seen); `multilogs` one MultilogStats per name, sorted.
void SumStats(const std::vector<const v1::StatsResponse*>& parts,
              v1::PortStats* total,
              google::protobuf::RepeatedPtrField<v1::MultilogStats>* multilogs);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_FLEET_SUM_STATS_H_
