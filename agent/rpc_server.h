// StartServer: how a loupe daemon serves gRPC -- one listening address,
// server reflection and the standard health service, messages up to
// kMaxMessageBytes, and no SO_REUSEPORT, so that a port another process
// holds is an error instead of a silently shared port. ListenError says why
// an address cannot be listened on, for the one line an operator reads.
//
// Library loupe_rpc (gRPC only; no DPDK). StartServer may be called from
// any thread; the returned server is the caller's, and every service
// registered on it must outlive it.
#ifndef LOUPE_AGENT_RPC_SERVER_H_
#define LOUPE_AGENT_RPC_SERVER_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

namespace loupe::agent {

inline constexpr int kMaxMessageBytes = 64 << 20;

// Builds and starts a server for `service` on `address` ("127.0.0.1:7070",
// "[::1]:0", "unix:/run/loupe.sock"; port 0 picks a free port, returned in
// *bound_port). On failure returns null and sets *error to ListenError's
// text, e.g. "listen 127.0.0.1:7070: address already in use".
std::unique_ptr<grpc::Server> StartServer(const std::string& address,
                                          grpc::Service* service,
                                          std::string* error,
                                          int* bound_port = nullptr);
// The same with several services on one port, and an interceptor (such as
// agent/rpc_metrics.h's) on every call.
std::unique_ptr<grpc::Server> StartServer(
    const std::string& address, const std::vector<grpc::Service*>& services,
    std::string* error, int* bound_port = nullptr,
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
        interceptor = nullptr);

// Why `address` cannot be listened on, found by binding it ourselves (gRPC
// only says that it failed): "listen HOST:PORT: <reason>".
std::string ListenError(const std::string& address);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_RPC_SERVER_H_
