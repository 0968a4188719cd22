// CoordinatorClient: a connection to one loupe-coordinator, for loupectl
// -- the gRPC channel and stub of coordinator/proto/coordinator.proto, a
// deadline for every call, and error text in one line (the agent client's,
// agent/client/agent_client.h):
//
//   INVALID_ARGUMENT: selector column 8: expected a number after '[', ...
//   cannot reach the coordinator at 127.0.0.1:7700 (UNAVAILABLE: ...)
//
// Insecure channel (the coordinator listens on loopback until TLS).
// Thread-safe like the stub it wraps.
#ifndef LOUPE_COORDINATOR_CLIENT_COORDINATOR_CLIENT_H_
#define LOUPE_COORDINATOR_CLIENT_COORDINATOR_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "coordinator/proto/coordinator.grpc.pb.h"

namespace loupe {

class CoordinatorClient {
 public:
  CoordinatorClient(std::string target, std::chrono::nanoseconds timeout);

  const std::string& target() const { return target_; }
  v1::Coordinator::Stub& stub() { return *stub_; }

  // A context whose deadline is now + timeout.
  std::unique_ptr<grpc::ClientContext> Context() const;

  // "CODE: message", or "cannot reach the coordinator at HOST:PORT (...)".
  std::string Describe(const grpc::Status& status) const;

 private:
  std::string target_;
  std::chrono::nanoseconds timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

}  // namespace loupe

#endif  // LOUPE_COORDINATOR_CLIENT_COORDINATOR_CLIENT_H_
