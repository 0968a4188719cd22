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
// The agents are those of the configuration, then those that Register
// (agent/proto/registry.proto) -- appended, never removed, so an agent's
// index stays its own for the pool's life. A registered agent is also DOWN
// once down_after intervals passed without a Heartbeat, and is UP only
// while its heartbeats keep coming (and its Health answers). A registration
// that changes what is kept is written to `registrations_file`
// (coordinator/registrations.h) before Register answers.
//
// Threads: Snapshot(), stub(), Register() and Heartbeat() may be called
// from any thread, concurrently with the poller (one mutex guards the
// states and channels; it is held only to copy or update them, never
// during a call or a file write). Start and Stop (or the destructor) on one
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
#include <string_view>
#include <thread>
#include <vector>

#include "agent/proto/loupe.grpc.pb.h"
#include "coordinator/config.h"
#include "coordinator/registrations.h"
#include "multilog/status.h"

namespace loupe::coordinator {

enum class AgentState : uint8_t { kUnknown, kUp, kDown };

// "UNKNOWN", "UP", "DOWN".
const char* AgentStateName(AgentState state);

struct PoolOptions {
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  std::chrono::nanoseconds timeout = std::chrono::milliseconds(500);
  uint32_t down_after = 3;
  // Register: at most max_registered agents beyond the configured ones
  // (0: every Register is refused); kept in registrations_file ("": not
  // kept).
  uint32_t max_registered = 0;
  std::string registrations_file;
};

// What the pool knows of one agent.
struct AgentStatus {
  AgentEntry entry;                  // as configured, or as registered
  bool registered = false;           // joined with Register; else configured
  uint64_t registered_ns = 0;        // its last Register; 0: never
  uint64_t registered_start_ns = 0;  // the incarnation it registered
  uint64_t last_heartbeat_ns = 0;
  uint64_t heartbeats = 0;
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

// What Register did.
struct RegisterOutcome {
  bool configured = false;  // the name is a configured agent's
  bool added = false;       // a new agent
  bool changed = false;     // its address or labels changed
};

class AgentPool {
 public:
  // Makes the channels (they connect lazily) and starts the poller; the
  // first round starts at once. `restored`: the registrations a previous
  // run kept (coordinator/registrations.h), after the configured agents;
  // one whose name or address a configured agent has is left out, logged.
  AgentPool(std::vector<AgentEntry> agents, PoolOptions options,
            std::vector<Registration> restored = {});
  ~AgentPool();  // Stop()
  AgentPool(const AgentPool&) = delete;
  AgentPool& operator=(const AgentPool&) = delete;

  // Stops polling and cancels calls in flight; bounded (see above).
  // Idempotent.
  void Stop();

  // An agent joins, or an agent that joined before registers again (a new
  // incarnation, a new address or labels); `r` is already validated
  // (agent/fleet_identity.h, HOST:PORT). Errors: kAlreadyExists (the name
  // is configured with another address; the address is another agent's;
  // the name is registered at another address by an agent still UP),
  // kResourceExhausted (max_registered), kUnavailable (accepted, but the
  // registrations file could not be written: the next Register retries).
  Result<RegisterOutcome> Register(const Registration& r);
  // kNotFound when `name` has not registered `start_time_ns`.
  Status Heartbeat(std::string_view name, uint64_t start_time_ns);

  // Every agent's status: the configured ones in configuration order,
  // then the registered ones in the order they joined.
  std::vector<AgentStatus> Snapshot() const;
  size_t size() const;
  // The stub of agent `index` (Snapshot's order) for the caller's own
  // calls: stubs are thread-safe and live as long as the pool (a
  // registered agent that moved gets a new one; its old one stays valid).
  v1::Agent::Stub* stub(size_t index) const;
  const PoolOptions& options() const { return options_; }

 private:
  struct Shared;

  void Run();
  void Round();
  Status SaveRegistrations();

  const PoolOptions options_;
  std::shared_ptr<Shared> shared_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mutex_
  std::thread poller_;
  std::mutex save_mu_;  // one writer of the registrations file
};

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_AGENT_POOL_H_
