// loupe-coordinator as operators run it: four real loupe-agent processes
// (RPC only, no dataplane) and a real coordinator on free loopback ports,
// driven through its gRPC API, /metrics and loupectl. Suite "integration".
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "coordinator/proto/coordinator.grpc.pb.h"
#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/shell.h"

namespace loupe::coordinator {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test_support::AgentProcess;
using test_support::ChildProcess;
using test_support::Env;
using test_support::FreePort;
using test_support::Slurp;
using test_support::TempDir;

using test_support::CmdResult;
using test_support::Shell;

// A loupe-coordinator ($LOUPE_COORDINATOR_BIN) on free loopback ports with
// `agents` ([[agent]] sections) and `extra` [coordinator] keys.
class CoordinatorProcess {
 public:
  CoordinatorProcess(const fs::path& dir, const std::string& agents,
                     std::vector<std::string> extra_args = {})
      : port_(FreePort()), metrics_port_(FreePort()) {
    config_ = dir / "coordinator.toml";
    out_ = dir / "coordinator.out";
    err_ = dir / "coordinator.out";
    std::ofstream(config_) << "[coordinator]\nname = \"it\"\nlisten = "
                              "\"127.0.0.1:"
                           << port_ << "\"\nmetrics_listen = \"127.0.0.1:"
                           << metrics_port_ << "\"\nstate_directory = \""
                           << (dir / "state").string() << "\"\n\n"
                           << agents;
    std::vector<std::string> args = {Env("LOUPE_COORDINATOR_BIN"), "--config",
                                     config_.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ChildProcess>(args, out_, err_);
  }

  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  std::string err() const { return Slurp(err_); }
  ChildProcess& process() { return *process_; }

  std::unique_ptr<v1::Coordinator::Stub> Stub() const {
    return v1::Coordinator::NewStub(
        grpc::CreateChannel(target(), grpc::InsecureChannelCredentials()));
  }
  bool AwaitHealthy(std::chrono::seconds limit = 30s) {
    auto stub = Stub();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (process_->Exited()) return false;
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

 private:
  int port_;
  int metrics_port_;
  fs::path config_, out_, err_;
  std::unique_ptr<ChildProcess> process_;
};

v1::ListAgentsResponse List(v1::Coordinator::Stub& stub,
                            const std::string& selector = "") {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 2s);
  v1::ListAgentsRequest request;
  request.set_selector(selector);
  v1::ListAgentsResponse response;
  const grpc::Status s = stub.ListAgents(&ctx, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response;
}

const v1::AgentInfo* Find(const v1::ListAgentsResponse& r,
                          const std::string& name) {
  for (const v1::AgentInfo& a : r.agents()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

// Polls ListAgents until `done` holds or `limit` passes; the time it took.
template <typename Done>
std::chrono::milliseconds Await(v1::Coordinator::Stub& stub, Done done,
                                std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (done(List(stub))) break;
    std::this_thread::sleep_for(50ms);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
}

std::string AgentSection(const std::string& name, const std::string& target,
                         const std::string& labels) {
  return "[[agent]]\nname = \"" + name + "\"\naddress = \"" + target +
         "\"\nlabels = { " + labels + " }\n\n";
}

TEST(CoordinatorProcessTest, FourAgentsUpSelectedAndOneKilledGoesDown) {
  TempDir dir;
  const char* labels[] = {
      "rack = \"r1\", role = \"compute\"",
      "rack = \"r1\", role = \"compute\"",
      "rack = \"r2\", role = \"compute\"",
      "rack = \"r2\", role = \"storage\"",
  };
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string sections;
  for (int i = 0; i < 4; ++i) {
    agents.push_back(std::make_unique<AgentProcess>(dir.path(), ""));
    sections += AgentSection("hv" + std::to_string(i + 1), agents[i]->target(),
                             labels[i]);
  }
  for (auto& a : agents) ASSERT_TRUE(a->AwaitHealthy()) << a->err();

  CoordinatorProcess coordinator(dir.path(), sections);
  ASSERT_TRUE(coordinator.AwaitHealthy()) << coordinator.err();
  auto stub = coordinator.Stub();

  // All four UP, with their labels and incarnations.
  Await(
      *stub, [](const v1::ListAgentsResponse& r) { return r.up() == 4; }, 10s);
  v1::ListAgentsResponse all = List(*stub);
  ASSERT_EQ(all.agents_size(), 4) << coordinator.err();
  EXPECT_EQ(all.configured(), 4u);
  EXPECT_EQ(all.up(), 4u);
  for (int i = 0; i < 4; ++i) {
    const v1::AgentInfo& a = all.agents(i);
    EXPECT_EQ(a.name(), "hv" + std::to_string(i + 1));
    EXPECT_EQ(a.address(), agents[i]->target());
    EXPECT_EQ(a.state(), v1::AGENT_STATE_UP) << a.error();
    EXPECT_EQ(a.consecutive_misses(), 0u);
    EXPECT_GT(a.start_time_ns(), 0u);
    EXPECT_GT(a.last_seen_ns(), 0u);
    EXPECT_GT(a.last_rtt_ns(), 0u);
    EXPECT_EQ(a.health().status(), v1::HealthResponse::SERVING);
    ASSERT_EQ(a.labels_size(), 2);
    EXPECT_EQ(a.labels(0).key(), "rack");
    EXPECT_EQ(a.labels(0).value(), i < 2 ? "r1" : "r2");
    EXPECT_EQ(a.labels(1).key(), "role");
  }

  // Selectors, over gRPC and through loupectl.
  v1::ListAgentsResponse r2 = List(*stub, "rack=r2");
  ASSERT_EQ(r2.agents_size(), 2);
  EXPECT_EQ(r2.agents(0).name(), "hv3");
  EXPECT_EQ(r2.agents(1).name(), "hv4");
  EXPECT_EQ(List(*stub, "host=hv[2-4],role=comp*").agents_size(), 2);
  const std::string ctl =
      Env("LOUPECTL_BIN") + " --coordinator " + coordinator.target() + " ";
  CmdResult table = Shell(ctl + "agents --selector 'host=hv[1,3-4],rack=r2'");
  EXPECT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("hv3"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("hv4"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("hv1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2 of 4 agents: 2 up, 0 down, 0 unknown"),
            std::string::npos)
      << table.out;
  CmdResult json = Shell(ctl + "--json agents --hosts role=storage");
  EXPECT_EQ(json.code, 0) << json.out;
  EXPECT_NE(json.out.find("\"name\":\"hv4\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"state\":\"AGENT_STATE_UP\""), std::string::npos);
  EXPECT_EQ(json.out.find("\"name\":\"hv3\""), std::string::npos) << json.out;
  CmdResult bad = Shell(ctl + "agents --selector 'host=hv[1-'");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("INVALID_ARGUMENT: selector column 11: expected a "
                         "number after '-'"),
            std::string::npos)
      << bad.out;
  CmdResult typo = Shell(ctl + "agents --selector rak=r1");
  EXPECT_EQ(typo.code, 1);
  EXPECT_NE(typo.out.find("did you mean 'rack'?"), std::string::npos)
      << typo.out;

  // /metrics.
  httplib::Client http("127.0.0.1", coordinator.metrics_port());
  auto page = http.Get("/metrics");
  ASSERT_TRUE(page) << "no /metrics";
  EXPECT_NE(page->body.find("loupe_coordinator_agent_up{agent=\"hv2\"} 1"),
            std::string::npos)
      << page->body;
  EXPECT_NE(page->body.find("loupe_coordinator_agents{state=\"UP\"} 4"),
            std::string::npos);

  // hv2 killed: DOWN after three missed checks, one a second; the others
  // stay UP.
  const uint64_t hv2_start = Find(all, "hv2")->start_time_ns();
  const int hv2_port = agents[1]->port();
  agents[1]->Signal(SIGKILL);
  agents[1]->Wait();
  const auto took = Await(
      *stub,
      [](const v1::ListAgentsResponse& r) {
        const v1::AgentInfo* a = Find(r, "hv2");
        return a != nullptr && a->state() == v1::AGENT_STATE_DOWN;
      },
      10s);
  EXPECT_LE(took, 3500ms) << "hv2 went DOWN after " << took.count() << " ms";
  v1::ListAgentsResponse after = List(*stub);
  const v1::AgentInfo* hv2 = Find(after, "hv2");
  ASSERT_NE(hv2, nullptr);
  EXPECT_EQ(hv2->state(), v1::AGENT_STATE_DOWN);
  EXPECT_GE(hv2->consecutive_misses(), 3u);
  EXPECT_NE(hv2->error(), "");
  EXPECT_EQ(after.up(), 3u);
  EXPECT_EQ(after.down(), 1u);
  for (const char* name : {"hv1", "hv3", "hv4"}) {
    EXPECT_EQ(Find(after, name)->state(), v1::AGENT_STATE_UP) << name;
  }
  page = http.Get("/metrics");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("loupe_coordinator_agent_up{agent=\"hv2\"} 0"),
            std::string::npos)
      << page->body;
  CmdResult down = Shell(ctl + "agents --selector host=hv2");
  EXPECT_NE(down.out.find("DOWN"), std::string::npos) << down.out;

  // hv2 back on its port: UP again, a new incarnation.
  AgentProcess hv2_again(dir.path(), "",
                         {"--listen", "127.0.0.1:" + std::to_string(hv2_port)});
  const auto back = Await(
      *stub,
      [](const v1::ListAgentsResponse& r) {
        const v1::AgentInfo* a = Find(r, "hv2");
        return a != nullptr && a->state() == v1::AGENT_STATE_UP;
      },
      15s);
  EXPECT_LE(back, 6000ms) << hv2_again.err();
  hv2 = Find(List(*stub), "hv2");
  ASSERT_NE(hv2, nullptr);
  EXPECT_EQ(hv2->state(), v1::AGENT_STATE_UP);
  EXPECT_EQ(hv2->restarts(), 1u);
  EXPECT_NE(hv2->start_time_ns(), hv2_start);
  EXPECT_EQ(hv2->error(), "");

  // SIGTERM: a clean stop within a few seconds.
  const auto stop = std::chrono::steady_clock::now();
  coordinator.process().Signal(SIGTERM);
  EXPECT_EQ(coordinator.process().Wait(5s), 0) << coordinator.err();
  EXPECT_LT(std::chrono::steady_clock::now() - stop, 5s);
}

TEST(CoordinatorProcessTest, TakenPortFailsStartUpWithOneLine) {
  TempDir dir;
  CoordinatorProcess first(dir.path(), "");
  ASSERT_TRUE(first.AwaitHealthy()) << first.err();
  TempDir dir2;
  CoordinatorProcess second(
      dir2.path(), "", {"--listen", first.target(), "--metrics-listen", ""});
  EXPECT_EQ(second.process().Wait(10s), 1);
  EXPECT_NE(second.err().find("listen " + first.target() +
                              ": address already in use"),
            std::string::npos)
      << second.err();
}

TEST(CoordinatorProcessTest, CheckListsEveryErrorAndExits2) {
  TempDir dir;
  const fs::path config = fs::path(dir.path()) / "bad.toml";
  std::ofstream(config) << "[coordinator]\nlisten = \"0.0.0.0:7700\"\n"
                           "[[agent]]\nname = \"a b\"\naddress = \"x\"\n";
  CmdResult r = Shell(Env("LOUPE_COORDINATOR_BIN") + " --check --config " +
                      config.string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("bad.toml:2: coordinator.listen:"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("bad.toml:4: agent[0].name:"), std::string::npos);
  EXPECT_NE(r.out.find("bad.toml:5: agent[0].address:"), std::string::npos);
  r = Shell(Env("LOUPE_COORDINATOR_BIN") + " --config " + config.string() +
            " --check --listen 127.0.0.1:1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(r.out.find("coordinator.listen"), std::string::npos) << r.out;
  r = Shell(Env("LOUPE_COORDINATOR_BIN") + " --check");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--config is required"), std::string::npos) << r.out;
}

// The records of one host: ts, src:u16, bytes:u32 (14 bytes each).
std::string FlowRecords(int n, int host) {
  std::string out(14 * static_cast<size_t>(n), '\0');
  for (int i = 0; i < n; ++i) {
    const uint64_t ts = 1'000'000 + static_cast<uint64_t>(i);
    const uint16_t src = static_cast<uint16_t>((i * 5 + host) % 11);
    const uint32_t bytes = static_cast<uint32_t>(100 + i % 900);
    std::memcpy(out.data() + i * 14, &ts, 8);
    std::memcpy(out.data() + i * 14 + 8, &src, 2);
    std::memcpy(out.data() + i * 14 + 10, &bytes, 4);
  }
  return out;
}

void SetUpFlows(v1::Agent::Stub& stub, int records, int host) {
  {
    grpc::ClientContext ctx;
    v1::CreateMultilogRequest req;
    req.set_name("flows");
    req.set_schema("src:u16, bytes:u32");
    v1::CreateMultilogResponse resp;
    ASSERT_TRUE(stub.CreateMultilog(&ctx, req, &resp).ok());
  }
  for (const auto& [kind, name, expr, filter] : std::vector<
           std::tuple<v1::ControlKind, std::string, std::string, std::string>>{
           {v1::CONTROL_KIND_FILTER, "all", "bytes > 0", ""},
           {v1::CONTROL_KIND_AGGREGATE, "n", "COUNT()", "all"},
           {v1::CONTROL_KIND_AGGREGATE, "b", "SUM(bytes)", "all"}}) {
    grpc::ClientContext ctx;
    v1::ControlRequest req;
    req.set_multilog("flows");
    v1::ControlStatement* st = req.mutable_statement();
    st->set_verb(v1::CONTROL_VERB_ADD);
    st->set_kind(kind);
    st->set_name(name);
    st->set_expression(expr);
    st->set_filter(filter);
    v1::ControlResponse resp;
    grpc::Status s = stub.Control(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  grpc::ClientContext ctx;
  v1::AppendBatchRequest req;
  req.set_multilog("flows");
  req.set_records(FlowRecords(records, host));
  v1::AppendResponse resp;
  ASSERT_TRUE(stub.AppendBatch(&ctx, req, &resp).ok());
}

// Distributed snapshots and merged answers through loupectl, across a
// SIGKILL of the coordinator and of an agent.
TEST(CoordinatorProcessTest, SnapshotsThroughLoupectlSurviveACoordinatorKill) {
  TempDir dir;
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string sections;
  for (int i = 0; i < 4; ++i) {
    agents.push_back(std::make_unique<AgentProcess>(dir.path(), ""));
    sections += AgentSection("hv" + std::to_string(i + 1), agents[i]->target(),
                             i < 2 ? "rack = \"r1\"" : "rack = \"r2\"");
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(agents[i]->AwaitHealthy()) << agents[i]->err();
    SetUpFlows(*agents[i]->Stub(), 1000 * (i + 1), i);
  }
  auto coordinator = std::make_unique<CoordinatorProcess>(dir.path(), sections);
  ASSERT_TRUE(coordinator->AwaitHealthy()) << coordinator->err();
  auto stub = coordinator->Stub();
  Await(
      *stub, [](const v1::ListAgentsResponse& r) { return r.up() == 4; }, 10s);
  auto ctl = [&] {
    return Env("LOUPECTL_BIN") + " --coordinator " + coordinator->target() +
           " ";
  };

  CmdResult made = Shell(ctl() + "fleet snapshot create inc1 --keep 1h");
  ASSERT_EQ(made.code, 0) << made.out;
  EXPECT_NE(made.out.find("snapshot it:inc1: committed, 4 of 4 hosts"),
            std::string::npos)
      << made.out;
  CmdResult n = Shell(ctl() + "fleet aggregate n -m flows --snapshot-id inc1");
  ASSERT_EQ(n.code, 0) << n.out;
  EXPECT_NE(n.out.find("10000"), std::string::npos) << n.out;  // 1+2+3+4 k
  CmdResult top = Shell(ctl() + "--json fleet topk --by src -k 3 -m flows " +
                        "--selector rack=r2");
  ASSERT_EQ(top.code, 0) << top.out;
  EXPECT_NE(top.out.find("\"records\":7000"), std::string::npos) << top.out;

  CmdResult groups =
      Shell(ctl() + "fleet groupby --by src -m flows --snapshot-id inc1 " +
            "'SUM(bytes)' 'MAX(bytes)'");
  ASSERT_EQ(groups.code, 0) << groups.out;
  EXPECT_NE(groups.out.find("10000 records, 11 keys"), std::string::npos)
      << groups.out;
  CmdResult query = Shell(ctl() + "fleet query 'bytes > 990' -m flows " +
                          "--limit 7 --all --selector rack=r1");
  ASSERT_EQ(query.code, 0) << query.out;
  EXPECT_NE(query.out.find("27 records, merged by timestamp"),
            std::string::npos)
      << query.out;  // bytes 991..999: 9 of hv1 1000 records, 18 of hv2
  EXPECT_NE(query.out.find("hv2"), std::string::npos) << query.out;
  CmdResult stats = Shell(ctl() + "fleet stats");
  ASSERT_EQ(stats.code, 0) << stats.out;
  EXPECT_NE(stats.out.find("multilog flows: 10000 records kept"),
            std::string::npos)
      << stats.out;

  // A coordinator killed and started again on its state directory still
  // answers the snapshot, at the same tails though the agents moved on.
  coordinator.reset();  // SIGKILL
  for (int i = 0; i < 4; ++i) {
    grpc::ClientContext ctx;
    v1::AppendBatchRequest req;
    req.set_multilog("flows");
    req.set_records(FlowRecords(500, i));
    v1::AppendResponse resp;
    ASSERT_TRUE(agents[i]->Stub()->AppendBatch(&ctx, req, &resp).ok());
  }
  coordinator = std::make_unique<CoordinatorProcess>(dir.path(), sections);
  ASSERT_TRUE(coordinator->AwaitHealthy()) << coordinator->err();
  stub = coordinator->Stub();
  Await(
      *stub, [](const v1::ListAgentsResponse& r) { return r.up() == 4; }, 10s);
  CmdResult kept = Shell(ctl() + "fleet snapshot list");
  ASSERT_EQ(kept.code, 0) << kept.out;
  EXPECT_NE(kept.out.find("it:inc1"), std::string::npos) << kept.out;
  n = Shell(ctl() + "--json fleet aggregate n -m flows --snapshot-id inc1");
  ASSERT_EQ(n.code, 0) << n.out;
  EXPECT_NE(n.out.find("\"merged\":{\"function\":\"COUNT\",\"value\":10000,"),
            std::string::npos)
      << n.out;
  CmdResult now = Shell(ctl() + "--json fleet aggregate n -m flows");
  EXPECT_NE(now.out.find("\"merged\":{\"function\":\"COUNT\",\"value\":12000,"),
            std::string::npos)
      << now.out;

  // An agent gone: a snapshot fails and names it, or leaves it out.
  agents[3].reset();  // SIGKILL
  Await(
      *stub, [](const v1::ListAgentsResponse& r) { return r.down() == 1; },
      10s);
  CmdResult refused = Shell(ctl() + "fleet snapshot create inc2");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("hv4"), std::string::npos) << refused.out;
  CmdResult partial =
      Shell(ctl() + "fleet snapshot create inc2 --allow-partial");
  ASSERT_EQ(partial.code, 0) << partial.out;
  EXPECT_NE(partial.out.find("committed, partial, 3 of 4 hosts"),
            std::string::npos)
      << partial.out;
  EXPECT_NE(partial.out.find("left out"), std::string::npos) << partial.out;
  CmdResult released = Shell(ctl() + "fleet snapshot release inc1");
  EXPECT_EQ(released.code, 0) << released.out;
  CmdResult gone = Shell(ctl() + "fleet snapshot get inc1");
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.out.find("released"), std::string::npos) << gone.out;
}

// The systemd unit verifies with the binary in place, and a coordinator
// started with NOTIFY_SOCKET says READY=1 once serving and STOPPING=1 on
// SIGTERM (Type=notify).
TEST(CoordinatorProcessTest, SystemdUnitVerifiesAndTheCoordinatorNotifies) {
  TempDir dir;
  const std::string unit = Slurp(fs::path(Env("LOUPE_SOURCE_ROOT")) /
                                 "config/systemd/loupe-coordinator.service");
  ASSERT_NE(unit.find("Type=notify"), std::string::npos);
  std::string local = unit;
  for (size_t at;
       (at = local.find("/usr/bin/loupe-coordinator")) != std::string::npos;) {
    local.replace(at, std::strlen("/usr/bin/loupe-coordinator"),
                  fs::absolute(Env("LOUPE_COORDINATOR_BIN")).string());
  }
  const fs::path unit_path = fs::path(dir.path()) / "loupe-coordinator.service";
  std::ofstream(unit_path) << local;
  CmdResult verify = Shell("systemd-analyze verify " + unit_path.string());
  EXPECT_EQ(verify.code, 0) << verify.out;
  EXPECT_EQ(verify.out.find("loupe-coordinator.service:"), std::string::npos)
      << verify.out;

  const fs::path sock = fs::path(dir.path()) / "notify.sock";
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const timeval wait{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  setenv("NOTIFY_SOCKET", sock.c_str(), 1);
  CoordinatorProcess coordinator(dir.path(), "");
  unsetenv("NOTIFY_SOCKET");
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  ASSERT_GT(n, 0) << "no READY=1 within 10 s: " << coordinator.err();
  const std::string ready(buf, static_cast<size_t>(n));
  EXPECT_EQ(ready.rfind("READY=1\n", 0), 0u) << ready;
  EXPECT_NE(ready.find("STATUS=serving on 127.0.0.1:" +
                       std::to_string(coordinator.port())),
            std::string::npos)
      << ready;
  EXPECT_TRUE(coordinator.AwaitHealthy(5s)) << "READY=1 means serving";
  coordinator.process().Signal(SIGTERM);
  n = recv(fd, buf, sizeof(buf), 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "STOPPING=1");
  EXPECT_EQ(coordinator.process().Wait(5s), 0) << coordinator.err();
  close(fd);
}

// ---------------------------------------------------------------------------
// Alert fan-in (issue 14): real agents with durable alert logs, a real
// coordinator with a jsonl NOC sink, stopped cleanly (SIGTERM) and started
// again while the agents keep firing.

std::string FiringAgentConfig(const fs::path& dir, const std::string& host) {
  return "[agent]\nhost = \"" + host +
         "\"\n\n[[multilog]]\nname = \"flows\"\nschema = \"bytes:u32\"\n"
         "storage = \"durable\"\ndirectory = \"" +
         (dir / ("flows_" + host)).string() +
         "\"\nblock_records = 4096\npreallocate_bytes = \"4MiB\"\n"
         "filters = [{ name = \"every\", expression = \"bytes >= 0\" }]\n"
         "aggregates = [{ name = \"n\", filter = \"every\", expression = "
         "\"COUNT()\" }]\n"
         "triggers = [{ name = \"busy\", condition = \"n > 0\", period = "
         "\"50ms\" }]\n";
}

// Appends to every agent, stamped now, for `how_long`.
void FireFor(const std::vector<std::unique_ptr<AgentProcess>>& agents,
             std::chrono::milliseconds how_long) {
  std::vector<std::unique_ptr<v1::Agent::Stub>> stubs;
  for (const auto& a : agents) stubs.push_back(a->Stub());
  std::string records(12 * 20, '\0');
  const auto until = std::chrono::steady_clock::now() + how_long;
  while (std::chrono::steady_clock::now() < until) {
    for (auto& stub : stubs) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 5s);
      v1::AppendBatchRequest req;
      req.set_multilog("flows");
      req.set_records(records);
      req.set_timestamp_now(true);
      v1::AppendResponse resp;
      ASSERT_TRUE(stub->AppendBatch(&ctx, req, &resp).ok());
    }
    std::this_thread::sleep_for(5ms);
  }
}

// Alerts the agents hold: per host, the highest sequence (they start at 1
// and have no gaps in a durable log that retired nothing).
std::map<std::string, uint64_t> AgentsLastSequence(
    const std::vector<std::unique_ptr<AgentProcess>>& agents) {
  std::map<std::string, uint64_t> out;
  for (const auto& a : agents) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::GetAlertsRequest req;
    req.set_limit(100'000);
    auto reader = a->Stub()->GetAlerts(&ctx, req);
    v1::GetAlertsResponse chunk;
    while (reader->Read(&chunk)) {
      for (const v1::Alert& al : chunk.alerts()) {
        out[al.host()] = std::max(out[al.host()], al.sequence());
      }
    }
    EXPECT_TRUE(reader->Finish().ok());
  }
  return out;
}

// The sink's (host, sequence) pairs in file order.
std::vector<std::pair<std::string, uint64_t>> SinkLines(const fs::path& p) {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    const size_t h = line.find("\"host\":\"") + 8;
    const size_t s = line.find("\"sequence\":") + 11;
    out.emplace_back(line.substr(h, line.find('"', h) - h),
                     std::stoull(line.substr(s)));
  }
  return out;
}

TEST(CoordinatorProcessTest, AlertsReachTheNocSinkOnceAcrossACleanRestart) {
  TempDir dir;
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string sections;
  for (int i = 0; i < 2; ++i) {
    const std::string host = "hv" + std::to_string(i + 1);
    agents.push_back(std::make_unique<AgentProcess>(
        dir.path(), FiringAgentConfig(dir.path(), host)));
    sections += AgentSection(host, agents[i]->target(), "rack = \"r1\"");
  }
  const fs::path sink = fs::path(dir.path()) / "noc.jsonl";
  sections +=
      "[alerts]\nqueue = 256\n[[alerts.sink]]\ntype = \"jsonl\"\n"
      "path = \"" +
      sink.string() + "\"\n";
  for (auto& a : agents) ASSERT_TRUE(a->AwaitHealthy()) << a->err();
  auto coordinator = std::make_unique<CoordinatorProcess>(dir.path(), sections);
  ASSERT_TRUE(coordinator->AwaitHealthy()) << coordinator->err();
  auto ctl = [&] {
    return Env("LOUPECTL_BIN") + " --coordinator " + coordinator->target() +
           " ";
  };
  // Until the fan-in follows both (its streams are up).
  auto streams_up = [&] {
    httplib::Client http("127.0.0.1", coordinator->metrics_port());
    auto r = http.Get("/metrics");
    if (!r) return false;
    return r->body.find("loupe_coordinator_alert_stream_up{agent=\"hv1\"} 1") !=
               std::string::npos &&
           r->body.find("loupe_coordinator_alert_stream_up{agent=\"hv2\"} 1") !=
               std::string::npos;
  };
  for (int i = 0; i < 100 && !streams_up(); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(streams_up()) << coordinator->err();

  FireFor(agents, 400ms);
  std::this_thread::sleep_for(500ms);
  const size_t first_run = SinkLines(sink).size();
  ASSERT_GE(first_run, 4u) << coordinator->err();

  // Stopped cleanly; the agents keep firing; started again.
  coordinator->process().Signal(SIGTERM);
  ASSERT_EQ(coordinator->process().Wait(), 0) << coordinator->err();
  FireFor(agents, 400ms);
  coordinator = std::make_unique<CoordinatorProcess>(dir.path(), sections);
  ASSERT_TRUE(coordinator->AwaitHealthy()) << coordinator->err();
  FireFor(agents, 200ms);
  std::this_thread::sleep_for(300ms);
  const std::map<std::string, uint64_t> last = AgentsLastSequence(agents);
  ASSERT_EQ(last.size(), 2u);
  uint64_t raised = 0;
  for (const auto& [host, seq] : last) raised += seq;
  std::vector<std::pair<std::string, uint64_t>> lines;
  for (int i = 0; i < 100; ++i) {
    lines = SinkLines(sink);
    if (lines.size() >= raised) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GT(raised, first_run + 4) << "alerts fired while it was down";
  EXPECT_EQ(lines.size(), raised) << coordinator->err();
  std::map<std::string, uint64_t> seen;
  for (const auto& [host, seq] : lines) {
    EXPECT_EQ(seq, seen[host] + 1) << host << ": once each, in order";
    seen[host] = seq;
  }
  EXPECT_EQ(seen, last);

  // loupectl: the merged stored alerts, and /metrics' per-agent counters.
  CmdResult listed = Shell(ctl() + "fleet alerts --limit 100000");
  ASSERT_EQ(listed.code, 0) << listed.out;
  EXPECT_NE(
      listed.out.find("(" + std::to_string(raised) + " alerts from 2 agents)"),
      std::string::npos)
      << listed.out;
  CmdResult some = Shell(ctl() + "fleet alerts --selector host=hv2 --limit 3");
  ASSERT_EQ(some.code, 0) << some.out;
  EXPECT_NE(some.out.find("(3 alerts from 1 agents; more matched"),
            std::string::npos)
      << some.out;
  // --follow: live alerts through the coordinator until Ctrl-C (exit 0).
  std::thread firing([&] { FireFor(agents, 2500ms); });
  CmdResult followed = Shell("timeout --preserve-status -s INT 2 " + ctl() +
                             "fleet alerts --follow");
  firing.join();
  EXPECT_EQ(followed.code, 0) << followed.out;
  EXPECT_NE(followed.out.find("hv1/flows  busy: "), std::string::npos)
      << followed.out;
  EXPECT_NE(followed.out.find("hv2/flows  busy: "), std::string::npos)
      << followed.out;

  httplib::Client http("127.0.0.1", coordinator->metrics_port());
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("loupe_coordinator_alerts_received_total{"
                               "agent=\"hv1\"}"),
            std::string::npos);
  EXPECT_NE(metrics->body.find("loupe_alert_sink_sent_total{sink="),
            std::string::npos)
      << metrics->body;
}

}  // namespace
}  // namespace loupe::coordinator

namespace loupe::coordinator {
namespace {

std::string JoiningAgentConfig(const std::string& coordinator) {
  return "[agent]\nhost = \"hv9\"\ncoordinator = \"" + coordinator +
         "\"\nlabels = { rack = \"r9\" }\n";
}

// An agent that is in no coordinator file joins with Register, is UP while
// it heartbeats, DOWN within down_after seconds of a SIGKILL, and is still
// known to a restarted coordinator, to which it comes back by itself.
TEST(CoordinatorProcessTest,
     AnAgentRegistersHeartbeatsAndIsKeptAcrossRestarts) {
  TempDir dir;
  auto coordinator = std::make_unique<CoordinatorProcess>(
      dir.path(), "accept_registrations = true\n");
  ASSERT_TRUE(coordinator->AwaitHealthy()) << coordinator->err();
  auto stub = coordinator->Stub();
  auto agent = std::make_unique<AgentProcess>(
      dir.path(), JoiningAgentConfig(coordinator->target()));
  ASSERT_TRUE(agent->AwaitHealthy()) << agent->err();
  auto up = [](const v1::ListAgentsResponse& r) {
    const v1::AgentInfo* a = Find(r, "hv9");
    return a != nullptr && a->state() == v1::AGENT_STATE_UP;
  };
  EXPECT_LE(Await(*stub, up, 10s), 5000ms) << agent->err();
  v1::ListAgentsResponse all = List(*stub);
  const v1::AgentInfo* hv9 = Find(all, "hv9");
  ASSERT_NE(hv9, nullptr) << coordinator->err();
  EXPECT_TRUE(hv9->registered());
  EXPECT_EQ(hv9->address(), agent->target());
  ASSERT_EQ(hv9->labels_size(), 1);
  EXPECT_EQ(hv9->labels(0).value(), "r9");
  EXPECT_GT(hv9->heartbeats(), 0u);
  EXPECT_NE(agent->err().find("registered with coordinator it"),
            std::string::npos)
      << agent->err();
  const std::string ctl =
      Env("LOUPECTL_BIN") + " --coordinator " + coordinator->target() + " ";
  CmdResult table = Shell(ctl + "agents --selector rack=r9");
  EXPECT_NE(table.out.find("registered"), std::string::npos) << table.out;
  httplib::Client http("127.0.0.1", coordinator->metrics_port());
  auto page = http.Get("/metrics");
  ASSERT_TRUE(page);
  EXPECT_NE(
      page->body.find("loupe_coordinator_agent_registered{agent=\"hv9\"} 1"),
      std::string::npos)
      << page->body;
  EXPECT_NE(
      page->body.find(
          "loupe_coordinator_registrations_total{outcome=\"accepted\"} 1"),
      std::string::npos);
  // The whole page passes Prometheus' own parser.
  {
    const fs::path scraped = fs::path(dir.path()) / "metrics.txt";
    std::ofstream(scraped) << page->body;
    CmdResult check =
        Shell("/usr/bin/promtool check metrics < " + scraped.string());
    EXPECT_EQ(check.code, 0) << check.out;
  }
  // The gRPC server's own figures: ListAgents was answered above.
  EXPECT_NE(page->body.find("loupe_coordinator_rpc_requests_total{method=\"/"
                            "loupe.v1.Coordinator/ListAgents\",code=\"OK\"}"),
            std::string::npos);
  EXPECT_NE(page->body.find("loupe_coordinator_rpc_seconds_bucket{method=\"/"
                            "loupe.v1.Registry/Heartbeat\",le=\"+Inf\"}"),
            std::string::npos);

  // The agent's side, on its own /metrics.
  httplib::Client agent_http("127.0.0.1", agent->metrics_port());
  auto agent_page = agent_http.Get("/metrics");
  ASSERT_TRUE(agent_page);
  EXPECT_NE(agent_page->body.find("loupe_agent_coordinator_registered{"
                                  "coordinator=\"" +
                                  coordinator->target() + "\"} 1"),
            std::string::npos)
      << agent_page->body;

  // SIGKILL: heartbeats and health answers stop; DOWN within 3 intervals
  // of a second, plus one.
  agent->Signal(SIGKILL);
  agent->Wait();
  const auto took = Await(
      *stub,
      [](const v1::ListAgentsResponse& r) {
        const v1::AgentInfo* a = Find(r, "hv9");
        return a != nullptr && a->state() == v1::AGENT_STATE_DOWN;
      },
      10s);
  EXPECT_LE(took, 4000ms) << "hv9 went DOWN after " << took.count() << " ms";

  // A restarted coordinator knows hv9 from its state directory; the agent,
  // started again against it, is UP again without a configuration change.
  coordinator->process().Signal(SIGTERM);
  ASSERT_EQ(coordinator->process().Wait(5s), 0) << coordinator->err();
  coordinator = std::make_unique<CoordinatorProcess>(
      dir.path(), "accept_registrations = true\n");
  ASSERT_TRUE(coordinator->AwaitHealthy()) << coordinator->err();
  stub = coordinator->Stub();
  v1::ListAgentsResponse known = List(*stub);
  ASSERT_NE(Find(known, "hv9"), nullptr) << coordinator->err();
  EXPECT_TRUE(Find(known, "hv9")->registered());
  EXPECT_NE(Find(known, "hv9")->state(), v1::AGENT_STATE_UP);
  EXPECT_NE(coordinator->err().find("1 registered agents kept"),
            std::string::npos)
      << coordinator->err();
  agent = std::make_unique<AgentProcess>(
      dir.path(), JoiningAgentConfig(coordinator->target()));
  ASSERT_TRUE(agent->AwaitHealthy()) << agent->err();
  EXPECT_LE(Await(*stub, up, 10s), 5000ms) << agent->err();

  // The agent stops cleanly while registered.
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(10s), 0) << agent->err();
}

}  // namespace
}  // namespace loupe::coordinator
