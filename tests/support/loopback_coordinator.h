// The in-process coordinator the coordinator tests start over their
// in-process agents (tests/support/loopback_agent.h): "coord" on a free
// loopback port, /metrics off, health every 100 ms and DOWN after 2
// misses, the agents named hv0, hv1, ... at their addresses, hv0 in rack
// r1 and the others in r2. For tests that link coordinator_lib.
#ifndef LOUPE_TESTS_SUPPORT_LOOPBACK_COORDINATOR_H_
#define LOUPE_TESTS_SUPPORT_LOOPBACK_COORDINATOR_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/config.h"
#include "coordinator/coordinator.h"
#include "coordinator/proto/coordinator.grpc.pb.h"
#include "tests/support/loopback_agent.h"

namespace loupe::test_support {

inline coordinator::CoordinatorConfig LoopbackCoordinatorConfig(
    const std::string& state_directory,
    const std::vector<std::unique_ptr<LoopbackAgent>>& agents) {
  coordinator::CoordinatorConfig config;
  config.name = "coord";
  config.listen = "127.0.0.1:0";
  config.metrics_listen = "";
  config.state_directory = state_directory;
  config.health_interval = std::chrono::milliseconds(100);
  config.health_timeout = std::chrono::milliseconds(100);
  config.down_after = 2;
  for (size_t i = 0; i < agents.size(); ++i) {
    coordinator::AgentEntry e;
    e.name = "hv" + std::to_string(i);
    e.address = agents[i]->target();
    e.labels["rack"] = i == 0 ? "r1" : "r2";
    config.agents.push_back(e);
  }
  return config;
}

// A stub to `c`'s gRPC port, without a receive limit.
inline std::unique_ptr<v1::Coordinator::Stub> CoordinatorStub(
    const coordinator::Coordinator& c) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return v1::Coordinator::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(c.grpc_port()),
                                grpc::InsecureChannelCredentials(), args));
}

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_LOOPBACK_COORDINATOR_H_
