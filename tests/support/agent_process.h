// Starting a real loupe-agent process in a test: AgentProcess (a
// ChildProcess of $LOUPE_AGENT_BIN on free loopback ports, its output in files,
// Health polled until SERVING), with the small helpers it needs (Env, FreePort,
// Slurp; TempDir is tests/support/temp_dir.h). For integration tests; one
// process per object, used from the test's thread.
#ifndef LOUPE_TESTS_SUPPORT_AGENT_PROCESS_H_
#define LOUPE_TESTS_SUPPORT_AGENT_PROCESS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/proto/loupe.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace loupe::test_support {

namespace fs = std::filesystem;
using namespace std::chrono_literals;  // NOLINT(build/namespaces)

inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A loupe-agent child process ($LOUPE_AGENT_BIN) on free loopback ports
// for gRPC and /metrics, with `config` written to a file in `dir`, DPDK's
// EAL in no-huge mode and `extra` arguments; stdout and stderr go to files
// in `dir`. Killed (SIGKILL) when destroyed unless it exited.
class AgentProcess {
 public:
  AgentProcess(const fs::path& dir, const std::string& config,
               std::vector<std::string> extra = {}) {
    static int n = 0;
    const std::string tag =
        std::to_string(getpid()) + "_" + std::to_string(n++);
    port_ = FreePort();
    metrics_port_ = FreePort();
    config_ = dir / ("agent_" + tag + ".toml");
    out_ = dir / ("agent_" + tag + ".out");
    err_ = dir / ("agent_" + tag + ".err");
    std::ofstream(config_) << config;
    std::vector<std::string> args = {
        Env("LOUPE_AGENT_BIN"),
        "--config",
        config_.string(),
        "--listen",
        "127.0.0.1:" + std::to_string(port_),
        "--metrics-listen",
        "127.0.0.1:" + std::to_string(metrics_port_),
        "--eal",
        "--no-huge -m 512 --no-pci --file-prefix=loupe_it_" + tag +
            " --lcores=0@(0-1),1@0,2@1 --log-level=*:warning"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ChildProcess>(std::move(args), out_, err_);
  }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  std::string err() const { return Slurp(err_); }
  std::string out() const { return Slurp(out_); }

  std::unique_ptr<v1::Agent::Stub> Stub() const {
    return v1::Agent::NewStub(
        grpc::CreateChannel(target(), grpc::InsecureChannelCredentials()));
  }
  // Waits until Health answers SERVING (true), or the process exits.
  bool AwaitHealthy(std::chrono::seconds limit = 60s) {
    auto stub = Stub();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Exited()) return false;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 1s);
      v1::HealthResponse r;
      if (stub->Health(&ctx, v1::HealthRequest(), &r).ok() &&
          r.status() == v1::HealthResponse::SERVING) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  bool Exited() { return process_->Exited(); }
  // Waits for the exit; returns the exit code (128 + signal if killed).
  int Wait(std::chrono::seconds limit = 30s) { return process_->Wait(limit); }
  void Signal(int sig) { process_->Signal(sig); }

 private:
  int port_ = 0;
  int metrics_port_ = 0;
  fs::path config_, out_, err_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_AGENT_PROCESS_H_
