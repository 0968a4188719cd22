// FanOut: one unary call to each of N agents at once, through gRPC's
// callback API, gathered by one deadline. What every fleet-wide operation
// (snapshots, merged queries, program applies) is made of.
//
//   auto replies = FanOut<v1::HealthResponse>(
//       stubs.size(), deadline,
//       [&](size_t i, grpc::ClientContext* ctx, v1::HealthResponse* out,
//           std::function<void(grpc::Status)> done) {
//         stubs[i]->async()->Health(ctx, &request, out, std::move(done));
//       });
//
// Each call gets its own ClientContext with `deadline`; `start(i, ...)`
// issues call i (the request it passes must outlive FanOut's return; the
// context and response belong to FanOut). FanOut returns once every call
// has finished, or at `deadline` plus a grace of 100 ms, whichever comes
// first: calls still running then are cancelled and reported as
// DEADLINE_EXCEEDED, and their state (shared with the callbacks) outlives
// the return, so a late callback touches nothing of the caller's. It never
// waits without a bound. Each Reply says when its call was sent and
// answered (steady clock), for RTTs and clock offsets.
//
// Thread-safe in the sense that every call runs on gRPC's threads and the
// results are handed back to the caller's thread only.
#ifndef LOUPE_COORDINATOR_FLEET_FAN_OUT_H_
#define LOUPE_COORDINATOR_FLEET_FAN_OUT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace loupe::coordinator {

template <typename Response>
struct Reply {
  grpc::Status status;
  Response response;
  std::chrono::steady_clock::time_point sent;
  std::chrono::steady_clock::time_point received;  // sent if never answered
  bool answered = false;  // the call finished (OK or not) before the return
};

inline constexpr std::chrono::milliseconds kFanOutGrace{100};

template <typename Response, typename Start>
std::vector<Reply<Response>> FanOut(
    size_t n, std::chrono::system_clock::time_point deadline, Start&& start) {
  struct Call {
    grpc::ClientContext context;
    Response response;
    grpc::Status status;
    std::chrono::steady_clock::time_point sent, received;
    bool done = false;
  };
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    size_t remaining = 0;
    std::vector<std::unique_ptr<Call>> calls;
  };
  auto state = std::make_shared<State>();
  state->remaining = n;
  state->calls.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    state->calls.push_back(std::make_unique<Call>());
    state->calls.back()->context.set_deadline(deadline);
  }
  for (size_t i = 0; i < n; ++i) {
    Call* call = state->calls[i].get();
    call->sent = std::chrono::steady_clock::now();
    start(i, &call->context, &call->response,
          std::function<void(grpc::Status)>([state, call](grpc::Status status) {
            const auto now = std::chrono::steady_clock::now();
            std::lock_guard<std::mutex> lock(state->mu);
            call->status = std::move(status);
            call->received = now;
            call->done = true;
            if (--state->remaining == 0) state->cv.notify_all();
          }));
  }
  std::vector<Reply<Response>> replies(n);
  std::vector<grpc::ClientContext*> late;
  std::unique_lock<std::mutex> lock(state->mu);
  const auto until = std::chrono::steady_clock::now() +
                     (deadline - std::chrono::system_clock::now()) +
                     kFanOutGrace;
  state->cv.wait_until(lock, until, [&] { return state->remaining == 0; });
  for (size_t i = 0; i < n; ++i) {
    Call& call = *state->calls[i];
    Reply<Response>& r = replies[i];
    r.sent = call.sent;
    if (call.done) {
      r.status = call.status;
      r.response = call.response;
      r.received = call.received;
      r.answered = true;
    } else {
      late.push_back(&call.context);
      r.status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                              "no answer before the deadline");
      r.received = r.sent;
    }
  }
  lock.unlock();
  // Outside the lock: a cancelled call's callback takes it. The contexts
  // live in `state`, which the callbacks keep alive.
  for (grpc::ClientContext* context : late) context->TryCancel();
  return replies;
}

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_FLEET_FAN_OUT_H_
