// What ProgramManager's files (program_manager.cc, program_reconciler.cc)
// say in messages: a failed call to an agent, and a program's name.
// Inline pure functions; thread-safe.
#ifndef LOUPE_COORDINATOR_PROGRAM_CALLS_H_
#define LOUPE_COORDINATOR_PROGRAM_CALLS_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "agent/client/agent_client.h"
#include "coordinator/config.h"
#include "multilog/ascii.h"

namespace loupe::coordinator::program_calls {

inline std::string CallError(const grpc::Status& s, const AgentEntry& agent,
                             std::chrono::nanoseconds timeout) {
  return DescribeCallError(s, false, "the agent", agent.address, timeout);
}

// "program \"web\" version 3".
inline std::string Program(const std::string& name, uint64_t version) {
  return "program " + Quoted(name) + " version " + std::to_string(version);
}

}  // namespace loupe::coordinator::program_calls

#endif  // LOUPE_COORDINATOR_PROGRAM_CALLS_H_
