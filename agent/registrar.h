// Registrar: the agent's side of loupe.v1.Registry
// (agent/proto/registry.proto) -- one thread that registers the agent with
// its coordinator ([agent] coordinator) and then heartbeats every interval
// the coordinator asked for.
//
//   REGISTER --OK--> HEARTBEAT --OK, every interval--> HEARTBEAT
//      ^  |                |
//      |  +--error: wait backoff (250 ms doubling to 5 s), again
//      +--------NOT_FOUND--+   (the coordinator forgot this incarnation)
//   HEARTBEAT --other error--> HEARTBEAT after an interval (the
//                              coordinator may be restarting)
//
// Every call has a deadline (min(interval, 1 s)); nothing waits without
// one. Errors are logged when a streak of them starts or its message
// changes, and when it ends -- not on every retry. Stop cancels the call in
// flight and returns within about a second.
//
// Threads: Start and Stop on one thread; stats() from any.
#ifndef LOUPE_AGENT_REGISTRAR_H_
#define LOUPE_AGENT_REGISTRAR_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/fleet_identity.h"
#include "agent/proto/registry.grpc.pb.h"

namespace loupe::agent {

struct RegistrarOptions {
  std::string coordinator;  // HOST:PORT
  std::string name;         // [agent] host
  std::string address;      // what the coordinator calls
  Labels labels;
  uint64_t start_time_ns = 0;  // the incarnation, as Health answers
  std::string version;
  // Retries of Register: first_backoff, doubling up to max_backoff.
  std::chrono::milliseconds first_backoff{250};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds max_call_timeout{1000};
};

struct RegistrarStats {
  bool registered = false;  // the last call succeeded
  uint64_t registrations = 0;
  uint64_t heartbeats = 0;
  uint64_t failures = 0;  // calls that failed
  std::string error;      // of the last failure; "" after a success
};

class Registrar {
 public:
  // Starts the thread; the first Register is sent at once.
  explicit Registrar(RegistrarOptions options);
  ~Registrar();  // Stop()
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  void Stop();  // idempotent; bounded (see above)
  RegistrarStats stats() const;

 private:
  void Run();
  // One call with a deadline, cancellable by Stop; false once stopping.
  bool Call(const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
            grpc::Status* status);
  // Waits `d` or until Stop; false once stopping.
  bool Wait(std::chrono::nanoseconds d);
  void Failed(const char* what, const grpc::Status& status);
  void Succeeded();

  const RegistrarOptions options_;
  std::unique_ptr<v1::Registry::Stub> stub_;
  std::chrono::nanoseconds interval_{std::chrono::seconds(1)};  // Run's

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                // mu_
  grpc::ClientContext* call_ = nullptr;  // mu_: the call in flight
  RegistrarStats stats_;                 // mu_
  bool failing_ = false;                 // mu_: in a streak of errors
  std::thread thread_;
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_REGISTRAR_H_
