// loupectl's network-wide commands of the coordinator (issue 14), over
// --coordinator: `fleet snapshot create|list|get|release` (distributed
// atomic snapshots: CreateSnapshot, ListSnapshots, GetSnapshot,
// ReleaseSnapshot) and `fleet aggregate NAME` / `fleet topk` (GetAggregate
// and GetTopK merged from the agents a --selector picks, at --snapshot-id
// if given; `fleet groupby`, `fleet stats` and `fleet query` likewise), shown
// as tables with one row per host or, with --json, the answer itself.
// --allow-partial leaves out hosts that are down or fail instead of failing the
// command. Single-threaded, like every command
// (coordinator/loupectl/loupectl_commands.h).
#ifndef LOUPE_COORDINATOR_LOUPECTL_FLEET_COMMAND_H_
#define LOUPE_COORDINATOR_LOUPECTL_FLEET_COMMAND_H_

#include <string>

#include "coordinator/loupectl/loupectl_commands.h"
#include "coordinator/proto/coordinator.pb.h"

namespace loupe::ctl {

int FleetSnapshotCreate(Session& s);
int FleetSnapshotList(Session& s);
int FleetSnapshotGet(Session& s);
int FleetSnapshotRelease(Session& s);
int FleetAggregate(Session& s);
int FleetTopK(Session& s);
int FleetGroupBy(Session& s);
int FleetStats(Session& s);
int FleetQuery(Session& s);

// A snapshot as text: one line on it, then a table of its hosts:
//   snapshot coord:q1: committed, 3 hosts, settled ..., expires in 10m
//   AGENT  STATE      TAILS          CLOCK OFFSET  RTT    ERROR
std::string FleetSnapshotText(const v1::FleetSnapshot& snapshot);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_FLEET_COMMAND_H_
