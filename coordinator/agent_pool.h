// AgentPool: the coordinator's agents -- one gRPC channel each (an
// AgentClient) and a poller thread that asks every agent's Health each
// `interval`, all at once (asynchronous calls, each with a deadline of
// `timeout`), and keeps what it learns:
//
//   UNKNOWN --SERVING--> UP --down_after misses in a row--> DOWN
//      |                  ^                                   |
//      +--down_after------|-----------------------------------+
//         misses          +--------------SERVING--------------+
//
// A miss is a call that failed (unreachable, deadline, any error) or
// answered NOT_SERVING. An answer carries the agent's start time: a change
// is a restart (a new incarnation), counted.
//
// Threads: Snapshot() may be called from any thread, concurrently with the
// poller (one mutex guards the states; it is held only to copy or update
// them, never during a call). Start and Stop (or the destructor) on one
// thread. Stop waits at most about `timeout` + 1 s: it cancels calls in
// flight and joins the poller; a late completion touches only state the
// calls share by reference count, never the pool.
#ifndef LOUPE_COORDINATOR_AGENT_POOL_H_
#define LOUPE_COORDINATOR_AGENT_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/proto/loupe.grpc.pb.h"
#include "coordinator/config.h"

namespace loupe::coordinator {

enum class AgentState : uint8_t { kUnknown, kUp, kDown };

// "UNKNOWN", "UP", "DOWN".
const char* AgentStateName(AgentState state);

struct PoolOptions {
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  std::chrono::nanoseconds timeout = std::chrono::milliseconds(500);
  uint32_t down_after = 3;
};

// What the pool knows of one agent.
struct AgentStatus {
  AgentEntry entry;  // as configured
  AgentState state = AgentState::kUnknown;
  uint64_t state_since_ns = 0;  // wall clock
  uint64_t last_seen_ns = 0;    // last SERVING answer; 0: never
  uint32_t consecutive_misses = 0;
  uint64_t last_rtt_ns = 0;
  uint64_t start_time_ns = 0;  // the agent's, from its last answer
  uint64_t restarts = 0;
  uint64_t checks = 0;
  std::string error;          // of the last miss; "" after a success
  v1::HealthResponse health;  // the last answer
};

class AgentPool {
 public:
  // Makes the channels (they connect lazily) and starts the poller; the
  // first round starts at once.
  AgentPool(std::vector<AgentEntry> agents, PoolOptions options);
  ~AgentPool();  // Stop()
  AgentPool(const AgentPool&) = delete;
  AgentPool& operator=(const AgentPool&) = delete;

  // Stops polling and cancels calls in flight; bounded (see above).
  // Idempotent.
  void Stop();

  // Every agent's status, in configuration order.
  std::vector<AgentStatus> Snapshot() const;
  size_t size() const;
  // The stub of agent `index` (configuration order) for the caller's own
  // calls: stubs are thread-safe and live as long as the pool.
  v1::Agent::Stub* stub(size_t index) const;
  const PoolOptions& options() const { return options_; }

 private:
  struct Shared;

  void Run();
  void Round();

  const PoolOptions options_;
  std::shared_ptr<Shared> shared_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mutex_
  std::thread poller_;
};

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_AGENT_POOL_H_
