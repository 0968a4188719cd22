// A distributed atomic snapshot over the agents a selector chose (issue
// 14): PrepareSnapshot on every agent at once, then CommitSnapshot on every
// one if all answered in time, else AbortSnapshot on every one.
//
// T0 is the wall-clock time the first PrepareSnapshot is sent. If every
// agent has answered before T0 + 3/4 of the lease, all are committed (T*
// is when the first commit is sent); otherwise all are aborted -- or, with
// allow_partial, the ones that answered are committed and the others
// listed. Because each agent caps what its API shows at its tail from its
// prepare until the commit, and acknowledges appends only once visible:
//
//   1. on each host, answers at the snapshot cover exactly the records
//      below that host's tail;
//   2. every record visible through any agent's API before T0 is in the
//      snapshot; none first visible after T* is;
//   3. at T* every agent's API showed exactly the snapshot, so anything
//      causally ordered through the API ("append x to A, acknowledged,
//      then y to B") is cut consistently.
//   4. settled_ns (H) is the minimum settled time over hosts and
//      multilogs: windows ending at or before H are complete and final.
//      Each host's clock offset theta = agent_time - (sent + received) / 2
//      is known to +/- RTT/2 and kept with the host.
//
// Failures: an agent that does not answer its prepare in time (dead,
// partitioned, slow) makes the snapshot abort; if the coordinator dies in
// between, every agent's cap lifts by itself when the lease ends. A commit
// that fails on some host (its lease ran out on the way) fails the
// snapshot unless allow_partial: the hosts that committed are released.
//
// Take() blocks the calling thread for at most the lease plus a grace; it
// is thread-safe (nothing shared but the stubs, which gRPC makes so).
#ifndef LOUPE_COORDINATOR_FLEET_FLEET_SNAPSHOT_H_
#define LOUPE_COORDINATOR_FLEET_FLEET_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "agent/proto/loupe.grpc.pb.h"
#include "multilog/status.h"

namespace loupe::coordinator {

// One agent to include: its name (for reports) and its stub.
struct FleetAgent {
  std::string name;
  v1::Agent::Stub* stub = nullptr;
};

struct FleetSnapshotOptions {
  std::string id;                      // unique per coordinator
  std::vector<std::string> multilogs;  // empty: every multilog of each host
  uint32_t lease_ms = 250;             // 10-10000, as the agents take it
  uint32_t keep_s = 600;               // 1-86400
  bool allow_partial = false;
};

enum class HostSnapshotState {
  kCommitted,  // in the snapshot
  kAborted,    // prepared, then aborted (another host failed)
  kFailed,     // refused or failed its prepare or commit
  kNoAnswer,   // no answer before the prepare deadline
};
const char* HostSnapshotStateName(HostSnapshotState s);

struct HostSnapshot {
  std::string agent;
  HostSnapshotState state = HostSnapshotState::kNoAnswer;
  std::string error;  // "CODE: message" when not committed
  std::vector<v1::SnapshotTail> tails;
  uint64_t agent_time_ns = 0;
  uint64_t start_time_ns = 0;   // the agent's incarnation
  int64_t clock_offset_ns = 0;  // agent - coordinator, +/- rtt_ns / 2
  uint64_t rtt_ns = 0;          // of the prepare
  uint64_t settled_ns = 0;      // the minimum over its tails
};

struct FleetSnapshot {
  std::string id;
  bool committed = false;   // some hosts hold it (all of them unless partial)
  bool partial = false;     // committed without every host
  uint64_t t0_ns = 0;       // wall clock: first prepare sent
  uint64_t commit_ns = 0;   // wall clock: first commit sent (T*)
  uint64_t settled_ns = 0;  // H: minimum settled_ns of the committed hosts
  uint32_t lease_ms = 0;
  uint32_t keep_s = 0;
  std::vector<HostSnapshot> hosts;  // in the order of the agents given
  // Why it was not committed (or why partial), naming each host.
  std::string problem;
};

// kInvalidArgument for no agents, an empty id or bounds out of range;
// otherwise a FleetSnapshot, committed or not (see `problem`).
Result<FleetSnapshot> TakeFleetSnapshot(const std::vector<FleetAgent>& agents,
                                        const FleetSnapshotOptions& options);

// Releases `id` on every agent (best effort, one deadline); the hosts that
// failed, as "name: CODE: message".
std::vector<std::string> ReleaseFleetSnapshot(
    const std::vector<FleetAgent>& agents, const std::string& id,
    std::chrono::milliseconds timeout);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_FLEET_FLEET_SNAPSHOT_H_
