// AgentClient: a connection to one loupe-agent, for loupectl and
// loupe-coordinator -- the gRPC channel
// and stub of agent/proto/loupe.proto, a deadline for every call, and error
// text an operator can act on in one line:
//
//   INVALID_ARGUMENT: filter 1:12: expected ...
//   cannot reach the agent at 127.0.0.1:7070 (UNAVAILABLE: ... refused)
//
// The channel is insecure (the agent listens on loopback unless
// configured otherwise). Messages up to 64 MiB are accepted, as large as
// the agent sends. Thread-safe like the gRPC stub it wraps: contexts are
// per call.
#ifndef LOUPE_AGENT_CLIENT_AGENT_CLIENT_H_
#define LOUPE_AGENT_CLIENT_AGENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/proto/loupe.grpc.pb.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe {

// "INVALID_ARGUMENT", "NOT_FOUND", ...
std::string_view GrpcCodeName(grpc::StatusCode code);

// A failed call in one line, for any loupe daemon's client: "CODE:
// message", or, when `never_connected` and the call failed UNAVAILABLE or
// DEADLINE_EXCEEDED, "cannot reach <peer> at <target> (...)"; `peer` is
// "the agent", "the coordinator".
std::string DescribeCallError(const grpc::Status& status, bool never_connected,
                              std::string_view peer, const std::string& target,
                              std::chrono::nanoseconds timeout);

// The channel arguments of every loupe client: messages up to 64 MiB.
grpc::ChannelArguments LoupeChannelArguments();

class AgentClient {
 public:
  AgentClient(std::string target, std::chrono::nanoseconds timeout);
  // With channel arguments of the caller's (LoupeChannelArguments() and
  // more, e.g. a shorter reconnect backoff for a health poller).
  AgentClient(std::string target, std::chrono::nanoseconds timeout,
              const grpc::ChannelArguments& args);

  const std::string& target() const { return target_; }
  std::chrono::nanoseconds timeout() const { return timeout_; }
  v1::Agent::Stub& stub() { return *stub_; }

  // A context whose deadline is now + timeout; `deadline` false for
  // streams that run until cancelled (alert subscriptions).
  std::unique_ptr<grpc::ClientContext> Context(bool deadline = true) const;

  // "CODE: message" for a failed call, or, when the agent could not be
  // reached at all, "cannot reach the agent at HOST:PORT (...)". `reached`:
  // the call did get answers (a stream that ended later), so the agent was
  // there whatever state the channel is in now.
  std::string Describe(const grpc::Status& status, bool reached = false) const;

  // True while the channel is connected.
  bool Connected() const;

  // The multilog's description (one ListMultilogs call), with its schema
  // parsed. Errors are already described (Describe).
  struct MultilogDescription {
    v1::MultilogInfo info;
    std::unique_ptr<Schema> schema;
  };
  Result<MultilogDescription> DescribeMultilog(const std::string& name);

 private:
  std::string target_;
  std::chrono::nanoseconds timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

}  // namespace loupe

#endif  // LOUPE_AGENT_CLIENT_AGENT_CLIENT_H_
