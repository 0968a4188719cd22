#include "coordinator/agent_pool.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

#include "agent/client/agent_client.h"
#include "agent/log.h"
#include "agent/time_text.h"
#include "multilog/atomic_file.h"
#include "multilog/units.h"

namespace loupe::coordinator {
namespace {

using Clock = std::chrono::steady_clock;

// A health poller wants to see an agent that came back within a couple of
// intervals, not after gRPC's default backoff of up to two minutes.
constexpr int kMaxReconnectBackoffMs = 1000;
// Stop and a round wait this long past the calls' deadline for their
// completions (which gRPC delivers by then; the margin is for a loaded
// machine).
constexpr auto kCompletionGrace = std::chrono::seconds(1);
// Channels of registered agents that moved, kept for the stubs callers may
// still hold; beyond this many moves, a move is refused.
constexpr size_t kMaxRetiredClients = 1024;

grpc::ChannelArguments PollerChannelArguments() {
  grpc::ChannelArguments args = LoupeChannelArguments();
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              kMaxReconnectBackoffMs / 4);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs / 4);
  return args;
}

}  // namespace

const char* AgentStateName(AgentState state) {
  switch (state) {
    case AgentState::kUnknown:
      return "UNKNOWN";
    case AgentState::kUp:
      return "UP";
    case AgentState::kDown:
      return "DOWN";
  }
  return "UNKNOWN";
}

// What the poller and the calls' completions share; kept alive by every
// call in flight, so that a completion after Stop finds it.
struct AgentPool::Shared {
  PoolOptions options;
  grpc::ChannelArguments channel_args;

  mutable std::mutex mutex;
  std::condition_variable done_cv;  // a call completed
  // Guarded by mutex; grown by Register, never shrunk.
  std::vector<std::unique_ptr<AgentClient>> clients;
  std::vector<std::unique_ptr<AgentClient>> retired;
  std::vector<AgentStatus> statuses;
  std::vector<bool> in_flight;
  size_t calls_in_flight = 0;
  size_t registered = 0;
  bool registrations_dirty = false;  // not yet in the file

  // The agent's index, or statuses.size(); mutex held.
  size_t Find(std::string_view name) const {
    size_t i = 0;
    while (i < statuses.size() && statuses[i].entry.name != name) ++i;
    return i;
  }
  size_t FindAddress(std::string_view address) const {
    size_t i = 0;
    while (i < statuses.size() && statuses[i].entry.address != address) ++i;
    return i;
  }
  // Appends one agent; mutex held (or not yet shared).
  void Add(AgentEntry entry, bool is_registered, uint64_t now) {
    clients.push_back(std::make_unique<AgentClient>(
        entry.address, options.timeout, channel_args));
    AgentStatus status;
    status.entry = std::move(entry);
    status.state_since_ns = now;
    status.registered = is_registered;
    statuses.push_back(std::move(status));
    in_flight.push_back(false);
    registered += is_registered;
  }
  // Whether a registered agent's heartbeats stopped; mutex held.
  bool HeartbeatsStale(const AgentStatus& a, uint64_t now) const {
    if (!a.registered) return false;
    const uint64_t last = LastSign(a);
    const uint64_t allowed =
        static_cast<uint64_t>(options.interval.count()) * options.down_after;
    return now > last && now - last > allowed;
  }
  // Its last heartbeat or registration.
  static uint64_t LastSign(const AgentStatus& a) {
    return std::max(a.last_heartbeat_ns, a.registered_ns);
  }
  static std::string Silence(const AgentStatus& a, uint64_t now) {
    return "no heartbeat for " +
           FormatDuration(std::chrono::nanoseconds(now - LastSign(a)));
  }

  // One Health call, alive until its completion ran.
  struct Call {
    size_t agent = 0;
    v1::Agent::Stub* stub = nullptr;
    grpc::ClientContext context;
    v1::HealthRequest request;
    v1::HealthResponse response;
    Clock::time_point sent;
  };

  void Complete(Call& call, const grpc::Status& status) {
    const auto rtt = Clock::now() - call.sent;
    const uint64_t now = NowNs();
    std::lock_guard<std::mutex> lock(mutex);
    AgentStatus& a = statuses[call.agent];
    ++a.checks;
    const bool stale = HeartbeatsStale(a, now);
    const bool serving =
        status.ok() && call.response.status() == v1::HealthResponse::SERVING &&
        !stale;
    if (status.ok()) {
      a.last_rtt_ns = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(rtt).count());
      const uint64_t start = call.response.start_time_ns();
      if (a.start_time_ns != 0 && start != 0 && start != a.start_time_ns) {
        ++a.restarts;
      }
      if (start != 0) a.start_time_ns = start;
      a.health = call.response;
    }
    AgentState next = a.state;
    if (serving) {
      a.consecutive_misses = 0;
      a.last_seen_ns = now;
      a.error.clear();
      next = AgentState::kUp;
    } else {
      ++a.consecutive_misses;
      if (!status.ok()) {
        a.error = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                      ? "no answer within " + FormatDuration(options.timeout)
                      : DescribeCallError(status, false, "the agent",
                                          a.entry.address, options.timeout);
      } else if (stale) {
        a.error = Silence(a, now);
      } else {
        a.error = "NOT_SERVING (starting or stopping)";
      }
      if (a.consecutive_misses >= options.down_after || stale) {
        next = AgentState::kDown;
      }
    }
    if (next != a.state) {
      a.state = next;
      a.state_since_ns = now;
    }
    in_flight[call.agent] = false;
    --calls_in_flight;
    done_cv.notify_all();
  }
};

AgentPool::AgentPool(std::vector<AgentEntry> agents, PoolOptions options,
                     std::vector<Registration> restored)
    : options_(options), shared_(std::make_shared<Shared>()) {
  shared_->options = options;
  shared_->channel_args = PollerChannelArguments();
  const uint64_t now = NowNs();
  for (AgentEntry& entry : agents) {
    shared_->Add(std::move(entry), false, now);
  }
  for (Registration& r : restored) {
    const size_t by_name = shared_->Find(r.entry.name);
    const size_t by_address = shared_->FindAddress(r.entry.address);
    if (by_name < shared_->statuses.size() ||
        by_address < shared_->statuses.size()) {
      agent::Log(agent::LogLevel::kWarn,
                 "registered agent " + r.entry.name + " at " + r.entry.address +
                     " is left out: a configured agent has its " +
                     (by_name < shared_->statuses.size() ? "name" : "address"));
      shared_->registrations_dirty = true;
      continue;
    }
    if (shared_->registered >= options.max_registered) {
      agent::Log(agent::LogLevel::kWarn,
                 "registered agent " + r.entry.name +
                     " is left out: beyond max_registered_agents (" +
                     std::to_string(options.max_registered) + ")");
      shared_->registrations_dirty = true;
      continue;
    }
    const uint64_t start = r.start_time_ns;
    shared_->Add(std::move(r.entry), true, now);
    // Its heartbeats get down_after intervals from now to come back.
    shared_->statuses.back().registered_ns = now;
    shared_->statuses.back().registered_start_ns = start;
  }
  poller_ = std::thread([this] { Run(); });
}

Result<RegisterOutcome> AgentPool::Register(const Registration& r) {
  RegisterOutcome out;
  const uint64_t now = NowNs();
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    Shared& sh = *shared_;
    const size_t i = sh.Find(r.entry.name);
    const size_t holder = sh.FindAddress(r.entry.address);
    if (holder < sh.statuses.size() && holder != i) {
      return Status::AlreadyExists(
          "address " + r.entry.address + " is agent " +
          sh.statuses[holder].entry.name +
          "'s; every agent needs an address of its own");
    }
    if (i < sh.statuses.size() && !sh.statuses[i].registered) {
      AgentStatus& a = sh.statuses[i];
      if (a.entry.address != r.entry.address) {
        return Status::AlreadyExists(
            "agent " + r.entry.name +
            " is configured in the coordinator's file at " + a.entry.address +
            ", not " + r.entry.address +
            " (two agents with one name? or fix the file)");
      }
      a.registered_ns = now;
      a.registered_start_ns = r.start_time_ns;
      a.last_heartbeat_ns = now;
      out.configured = true;
      return out;
    }
    if (i == sh.statuses.size()) {
      if (sh.registered >= options_.max_registered) {
        return Status::ResourceExhausted(
            "the coordinator has " + std::to_string(sh.registered) +
            " registered agents, its limit "
            "(coordinator.max_registered_agents = " +
            std::to_string(options_.max_registered) + ")");
      }
      sh.Add(r.entry, true, now);
      out.added = true;
    } else {
      AgentStatus& a = sh.statuses[i];
      if (a.entry.address != r.entry.address) {
        if (a.state == AgentState::kUp && !sh.HeartbeatsStale(a, now)) {
          return Status::AlreadyExists("agent " + r.entry.name +
                                       " is registered at " + a.entry.address +
                                       " and UP (two agents with one name?); " +
                                       "it may move once that one is DOWN");
        }
        if (sh.retired.size() >= kMaxRetiredClients) {
          return Status::ResourceExhausted(
              "registered agents moved " + std::to_string(kMaxRetiredClients) +
              " times in this coordinator's life; restart it to move more");
        }
        sh.retired.push_back(std::move(sh.clients[i]));
        sh.clients[i] = std::make_unique<AgentClient>(
            r.entry.address, options_.timeout, sh.channel_args);
        a.entry.address = r.entry.address;
        a.state = AgentState::kUnknown;
        a.state_since_ns = now;
        a.consecutive_misses = 0;
        out.changed = true;
      }
      if (a.entry.labels != r.entry.labels) {
        a.entry.labels = r.entry.labels;
        out.changed = true;
      }
    }
    AgentStatus& a = sh.statuses[sh.Find(r.entry.name)];
    if (out.added || a.registered_start_ns != r.start_time_ns)
      out.changed = true;
    a.registered_ns = now;
    a.registered_start_ns = r.start_time_ns;
    a.last_heartbeat_ns = now;
    if (out.added || out.changed) sh.registrations_dirty = true;
    if (!sh.registrations_dirty) return out;
  }
  if (Status s = SaveRegistrations(); !s.ok()) {
    return Status::Unavailable(
        "registered for this run, but not kept: " + s.message() +
        " (register again; a restarted coordinator would not know this "
        "agent)");
  }
  return out;
}

Status AgentPool::Heartbeat(std::string_view name, uint64_t start_time_ns) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  const size_t i = shared_->Find(name);
  if (i == shared_->statuses.size()) {
    return Status::NotFound("agent " + std::string(name) +
                            " has not registered; register first");
  }
  AgentStatus& a = shared_->statuses[i];
  if (a.registered_ns == 0 || a.registered_start_ns != start_time_ns) {
    return Status::NotFound("agent " + std::string(name) +
                            " registered incarnation " +
                            std::to_string(a.registered_start_ns) + ", not " +
                            std::to_string(start_time_ns) + "; register again");
  }
  a.last_heartbeat_ns = NowNs();
  ++a.heartbeats;
  return Status::Ok();
}

Status AgentPool::SaveRegistrations() {
  if (options_.registrations_file.empty()) return Status::Ok();
  std::lock_guard<std::mutex> save(save_mu_);
  std::vector<Registration> kept;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (!shared_->registrations_dirty) return Status::Ok();
    shared_->registrations_dirty = false;
    for (const AgentStatus& a : shared_->statuses) {
      if (!a.registered) continue;
      Registration r;
      r.entry = a.entry;
      r.start_time_ns = a.registered_start_ns;
      kept.push_back(std::move(r));
    }
  }
  Status s =
      ReplaceFile(options_.registrations_file, FormatRegistrations(kept));
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->registrations_dirty = true;
  }
  return s;
}

AgentPool::~AgentPool() { Stop(); }

void AgentPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (stopping_ && !poller_.joinable()) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

std::vector<AgentStatus> AgentPool::Snapshot() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->statuses;
}

size_t AgentPool::size() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->clients.size();
}

v1::Agent::Stub* AgentPool::stub(size_t index) const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return &shared_->clients.at(index)->stub();
}

void AgentPool::Run() {
  auto next = Clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(stop_mutex_);
      if (stop_cv_.wait_until(lock, next, [this] { return stopping_; })) {
        break;
      }
    }
    next += options_.interval;
    // A round that overran (a loaded machine) does not make a burst of
    // catch-up rounds.
    if (next < Clock::now()) next = Clock::now() + options_.interval;
    Round();
  }
}

// Sends every agent not still in flight a Health call, then waits for the
// completions until the deadline passed (plus a grace), or Stop. Calls
// left then are cancelled; their completions arrive later, on their own.
void AgentPool::Round() {
  std::shared_ptr<Shared> shared = shared_;
  const auto deadline = Clock::now() + options_.timeout;
  const auto wall_deadline =
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          options_.timeout);
  std::vector<std::shared_ptr<Shared::Call>> calls;
  {
    std::lock_guard<std::mutex> lock(shared->mutex);
    const uint64_t now = NowNs();
    for (size_t i = 0; i < shared->clients.size(); ++i) {
      AgentStatus& a = shared->statuses[i];
      // Heartbeats that stopped make a registered agent DOWN at once,
      // without waiting for its Health calls to time out.
      if (shared->HeartbeatsStale(a, now) && a.state != AgentState::kDown) {
        a.state = AgentState::kDown;
        a.state_since_ns = now;
        a.error = Shared::Silence(a, now);
      }
      if (shared->in_flight[i]) continue;
      shared->in_flight[i] = true;
      ++shared->calls_in_flight;
      auto call = std::make_shared<Shared::Call>();
      call->agent = i;
      call->stub = &shared->clients[i]->stub();
      call->context.set_deadline(wall_deadline);
      calls.push_back(std::move(call));
    }
  }
  for (const std::shared_ptr<Shared::Call>& call : calls) {
    call->sent = Clock::now();
    // The completion holds the call and the shared state alive.
    call->stub->async()->Health(&call->context, &call->request, &call->response,
                                [shared, call](grpc::Status status) {
                                  shared->Complete(*call, status);
                                });
  }
  auto stop_requested = [this] {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    return stopping_;
  };
  std::unique_lock<std::mutex> lock(shared->mutex);
  const auto give_up = deadline + kCompletionGrace;
  while (shared->calls_in_flight > 0 && Clock::now() < give_up) {
    shared->done_cv.wait_for(lock, std::chrono::milliseconds(50));
    if (shared->calls_in_flight > 0 && stop_requested()) break;
  }
  lock.unlock();
  if (stop_requested()) {
    for (const std::shared_ptr<Shared::Call>& call : calls) {
      call->context.TryCancel();
    }
  }
}

}  // namespace loupe::coordinator
