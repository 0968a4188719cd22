#include "coordinator/client/coordinator_client.h"

#include <utility>

#include "agent/client/agent_client.h"

namespace loupe {

CoordinatorClient::CoordinatorClient(std::string target,
                                     std::chrono::nanoseconds timeout)
    : target_(std::move(target)), timeout_(timeout) {
  channel_ = grpc::CreateCustomChannel(
      target_, grpc::InsecureChannelCredentials(), LoupeChannelArguments());
  stub_ = v1::Coordinator::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> CoordinatorClient::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          timeout_));
  return context;
}

std::string CoordinatorClient::Describe(const grpc::Status& status) const {
  const bool connected = channel_->GetState(false) == GRPC_CHANNEL_READY;
  return DescribeCallError(status, !connected, "the coordinator", target_,
                           timeout_);
}

}  // namespace loupe
