#include "agent/rpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace loupe::agent {

std::string ListenError(const std::string& address) {
  const std::string prefix = "listen " + address + ": ";
  if (address.rfind("unix:", 0) == 0) {
    return prefix +
           "cannot bind the socket (does the directory exist, and "
           "is the path free and writable?)";
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return prefix + "expected HOST:PORT";
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                             port.c_str(), &hints, &result);
  if (rc != 0) return prefix + gai_strerror(rc);
  std::string why = "gRPC could not listen there";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      why = std::strerror(errno);
      if (!why.empty()) why[0] = static_cast<char>(std::tolower(why[0]));
      close(fd);
      break;
    }
    close(fd);
  }
  freeaddrinfo(result);
  return prefix + why;
}

std::unique_ptr<grpc::Server> StartServer(const std::string& address,
                                          grpc::Service* service,
                                          std::string* error, int* bound_port) {
  return StartServer(address, std::vector<grpc::Service*>{service}, error,
                     bound_port);
}

std::unique_ptr<grpc::Server> StartServer(
    const std::string& address, const std::vector<grpc::Service*>& services,
    std::string* error, int* bound_port,
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
        interceptor) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (interceptor != nullptr) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        creators;
    creators.push_back(std::move(interceptor));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || (port == 0 && address.rfind("unix:", 0) != 0)) {
    if (server != nullptr) server->Shutdown();
    if (error != nullptr) *error = ListenError(address);
    return nullptr;
  }
  if (bound_port != nullptr) *bound_port = port;
  return server;
}

}  // namespace loupe::agent
