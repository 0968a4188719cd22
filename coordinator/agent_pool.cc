#include "coordinator/agent_pool.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "agent/client/agent_client.h"
#include "agent/time_text.h"
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
  std::vector<std::unique_ptr<AgentClient>> clients;  // immutable after start

  mutable std::mutex mutex;
  std::condition_variable done_cv;    // a call completed
  std::vector<AgentStatus> statuses;  // guarded by mutex
  std::vector<bool> in_flight;        // guarded by mutex
  size_t calls_in_flight = 0;         // guarded by mutex

  // One Health call, alive until its completion ran.
  struct Call {
    size_t agent = 0;
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
    const bool serving =
        status.ok() && call.response.status() == v1::HealthResponse::SERVING;
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
      } else {
        a.error = "NOT_SERVING (starting or stopping)";
      }
      if (a.consecutive_misses >= options.down_after) next = AgentState::kDown;
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

AgentPool::AgentPool(std::vector<AgentEntry> agents, PoolOptions options)
    : options_(options), shared_(std::make_shared<Shared>()) {
  shared_->options = options;
  const uint64_t now = NowNs();
  const grpc::ChannelArguments args = PollerChannelArguments();
  for (AgentEntry& entry : agents) {
    shared_->clients.push_back(
        std::make_unique<AgentClient>(entry.address, options.timeout, args));
    AgentStatus status;
    status.entry = std::move(entry);
    status.state_since_ns = now;
    shared_->statuses.push_back(std::move(status));
  }
  shared_->in_flight.assign(shared_->statuses.size(), false);
  poller_ = std::thread([this] { Run(); });
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

size_t AgentPool::size() const { return shared_->clients.size(); }

v1::Agent::Stub* AgentPool::stub(size_t index) const {
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
    for (size_t i = 0; i < shared->clients.size(); ++i) {
      if (shared->in_flight[i]) continue;
      shared->in_flight[i] = true;
      ++shared->calls_in_flight;
      auto call = std::make_shared<Shared::Call>();
      call->agent = i;
      call->context.set_deadline(wall_deadline);
      calls.push_back(std::move(call));
    }
  }
  for (const std::shared_ptr<Shared::Call>& call : calls) {
    call->sent = Clock::now();
    // The completion holds the call and the shared state alive.
    shared->clients[call->agent]->stub().async()->Health(
        &call->context, &call->request, &call->response,
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
