// The exact network-wide top k of a sum over keys (GetTopK across agents)
// in three rounds, the TPUT algorithm (Cao and Wang, "Efficient top-K
// query calculation in distributed networks", PODC 2004):
//
//   1. every host sends its local top k; the k-th largest of the partial
//      sums so far, tau1, bounds the answer's k-th value from below;
//   2. every host sends every key of local value >= T = tau1 / m (m hosts);
//      a key's partial sum is a lower bound of its total, and its partial
//      sum plus T for each host that did not send it an upper bound; tau2 is
//      the k-th largest lower bound, and only keys whose upper bound reaches
//      tau2 can be in the answer;
//   3. the hosts that did not send a candidate are asked its exact value
//      (GetTopK's `keys`), and the candidates' exact totals give the top k.
//
// Round 3 is skipped when every candidate is known everywhere, and rounds
// 2 and 3 when no host has more than k keys. A host whose round-2 list was
// cut at GetTopK's k limit (`more`) bounds the keys it did not send by its
// k-th value instead of T, which keeps the bounds true (and when they no
// longer decide, kFailedPrecondition says so). TPUT's bounds need values
// >= 0: counts and sums of unsigned columns (the hosts' schemas say which).
// A sum of a signed or float column is answered in one round of every key
// of every host, exact when no host has more than GetTopK's k limit of
// keys, kFailedPrecondition otherwise.
//
// All rounds are asked at the request's snapshot_id (or raw snapshot):
// without one the hosts' data moves between rounds and the answer is not
// exact; the coordinator takes a snapshot for the query when none is given.
// Blocking, bounded by `timeout` per round; thread-safe.
#ifndef LOUPE_COORDINATOR_FLEET_DISTRIBUTED_TOPK_H_
#define LOUPE_COORDINATOR_FLEET_DISTRIBUTED_TOPK_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/proto/loupe.pb.h"
#include "coordinator/fleet/fleet_snapshot.h"
#include "multilog/status.h"

namespace loupe::coordinator {

struct DistributedTopK {
  std::vector<v1::TopKEntry> top;  // exact totals, decreasing, ties by key
  double kth_value = 0;            // 0 when fewer than k keys
  uint64_t records = 0;            // records in the window, every host
  uint32_t rounds = 0;             // 1 to 3, see above
  uint64_t candidates = 0;         // keys asked in round 3
  // Hosts left out (allow_partial), "name: CODE: message".
  std::vector<std::string> excluded;
  bool partial = false;  // some host excluded, or some host's answer partial
};

// `request` is one host's GetTopK (k, key columns, value, filter, window,
// snapshot); its min_value, keys and max_keys are the algorithm's. An
// error of any host fails the query unless allow_partial, which leaves the
// host out (and marks the answer partial).
Result<DistributedTopK> TopKAcross(const std::vector<FleetAgent>& agents,
                                   const v1::GetTopKRequest& request,
                                   bool allow_partial,
                                   std::chrono::milliseconds timeout);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_FLEET_DISTRIBUTED_TOPK_H_
