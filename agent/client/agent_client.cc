#include "agent/client/agent_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "multilog/units.h"

namespace loupe {
namespace {

constexpr int kMaxMessageBytes = 64 << 20;

}  // namespace

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return "UNKNOWN";
  }
}

grpc::ChannelArguments LoupeChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  return args;
}

AgentClient::AgentClient(std::string target, std::chrono::nanoseconds timeout)
    : AgentClient(std::move(target), timeout, LoupeChannelArguments()) {}

AgentClient::AgentClient(std::string target, std::chrono::nanoseconds timeout,
                         const grpc::ChannelArguments& args)
    : target_(std::move(target)), timeout_(timeout) {
  channel_ = grpc::CreateCustomChannel(
      target_, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::Agent::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> AgentClient::Context(bool deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (deadline) {
    context->set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            timeout_));
  }
  return context;
}

std::string DescribeCallError(const grpc::Status& status, bool never_connected,
                              std::string_view peer, const std::string& target,
                              std::chrono::nanoseconds timeout) {
  const std::string code(GrpcCodeName(status.error_code()));
  std::string message = status.error_message();
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  // Never connected: the peer is down, the address is wrong, or a
  // firewall swallows the packets.
  if (never_connected &&
      (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
       status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
    std::string out = "cannot reach " + std::string(peer) + " at " + target;
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      out += " within " + FormatDuration(timeout) +
             " (DEADLINE_EXCEEDED; see --timeout)";
    } else {
      out += " (" + code + ": " + message + ")";
    }
    return out;
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return code + ": no answer from " + target + " within " +
           FormatDuration(timeout) + " (see --timeout)";
  }
  return message.empty() ? code : code + ": " + message;
}

std::string AgentClient::Describe(const grpc::Status& status,
                                  bool reached) const {
  return DescribeCallError(status, !reached && !Connected(), "the agent",
                           target_, timeout_);
}

bool AgentClient::Connected() const {
  return channel_->GetState(false) == GRPC_CHANNEL_READY;
}

Result<AgentClient::MultilogDescription> AgentClient::DescribeMultilog(
    const std::string& name) {
  v1::ListMultilogsRequest request;
  request.set_name(name);
  v1::ListMultilogsResponse response;
  const grpc::Status status =
      stub_->ListMultilogs(Context().get(), request, &response);
  if (!status.ok()) return Status::Unavailable(Describe(status));
  if (response.multilogs_size() != 1) {
    return Status::NotFound("NOT_FOUND: no multilog '" + name + "'");
  }
  MultilogDescription out;
  out.info = response.multilogs(0);
  Result<Schema> schema = Schema::Parse(out.info.schema());
  if (!schema.ok()) {
    return Status::Internal("the agent sent a schema that cannot be read: " +
                            schema.status().message());
  }
  out.schema = std::make_unique<Schema>(std::move(schema).value());
  return out;
}

}  // namespace loupe
