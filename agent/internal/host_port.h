// Forwarding header: HOST:PORT parsing moved to agent/host_port.h
// (namespace loupe). Kept only until agent/metrics.cc and
// agent/alert_sinks.cc include that header; then deleted.
#ifndef LOUPE_AGENT_INTERNAL_HOST_PORT_H_
#define LOUPE_AGENT_INTERNAL_HOST_PORT_H_

#include "agent/host_port.h"

namespace loupe::agent::internal {

using ::loupe::ParsePort;
using ::loupe::SplitHostPort;

}  // namespace loupe::agent::internal

#endif  // LOUPE_AGENT_INTERNAL_HOST_PORT_H_
