// ToGrpcStatus: the one mapping of a loupe::Status onto a gRPC status at an
// RPC boundary, keeping the message. kExpired (retention retired the data)
// is OUT_OF_RANGE, like an offset past the read tail: the client asked
// outside the retained window. kCorruption is DATA_LOSS, kUnavailable
// UNAVAILABLE, kIoError and kInternal INTERNAL; the other codes map to their
// namesakes. A pure function (library loupe_rpc, no DPDK).
#ifndef LOUPE_AGENT_GRPC_STATUS_H_
#define LOUPE_AGENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "multilog/status.h"

namespace loupe::agent {

grpc::Status ToGrpcStatus(const Status& status);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_GRPC_STATUS_H_
