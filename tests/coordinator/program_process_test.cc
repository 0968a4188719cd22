// Programs across the fleet as operators run them: four real loupe-agent
// processes (RPC only) and a real loupe-coordinator on loopback, driven
// through the coordinator's gRPC API and loupectl, checked on each agent's
// own API. A program goes to the agents its `on` selectors pick; a dry run
// refused on two agents changes nothing anywhere and lists both; an agent
// killed before the apply makes it refused; an agent killed between the
// dry run and the apply makes the others roll back; agents restarted with
// no programs are reconciled to the desired version, which survives a
// coordinator restart; ListAgents shows them in sync. Suite "integration".
//
// The kill between the phases uses the coordinator's one test seam:
// LOUPE_COORDINATOR_TEST_PAUSE_BEFORE_APPLY_MS, a pause after the dry run
// that the coordinator logs, so the test kills the agent in it.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/proto/loupe.grpc.pb.h"
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
using test_support::CmdResult;
using test_support::Env;
using test_support::FreePort;
using test_support::Shell;
using test_support::Slurp;
using test_support::TempDir;

constexpr char kAgentConfig[] = R"toml([[multilog]]
name = "flows"
schema = "bytes:u32, port:u16"
block_records = 1024
preallocate_bytes = "1MiB"
)toml";

// Version 1: hv1-hv3 only.
constexpr char kWebV1[] = R"toml(# web traffic
[[multilog]]
name = "flows"
on = "host=hv[1-3]"
indexes = ["port"]
filters = [
  { name = "http", expression = "port == 80" },
]
aggregates = [
  { name = "http_count", filter = "http", expression = "COUNT()" },
]
)toml";

// Version 2: a filter more on hv1-hv3 (line 8), and hv4's own section.
constexpr char kWebV2[] = R"toml(# web traffic
[[multilog]]
name = "flows"
on = "host=hv[1-3]"
indexes = ["port"]
filters = [
  { name = "http", expression = "port == 80" },
  { name = "big", expression = "bytes > 1000" },
]
aggregates = [
  { name = "http_count", filter = "http", expression = "COUNT()" },
]

[[multilog]]
name = "flows"
on = "rack=r2,role=storage"
filters = [{ name = "dns", expression = "port == 53" }]
)toml";

// A loupe-coordinator ($LOUPE_COORDINATOR_BIN) on free loopback ports,
// polling every 200 ms, its state in `dir`/state.
class CoordinatorProcess {
 public:
  CoordinatorProcess(const fs::path& dir, const std::string& agents,
                     const std::string& tag)
      : port_(FreePort()), err_(dir / ("coordinator_" + tag + ".err")) {
    const fs::path config = dir / ("coordinator_" + tag + ".toml");
    std::ofstream(config) << "[coordinator]\nname = \"it\"\nlisten = "
                             "\"127.0.0.1:"
                          << port_
                          << "\"\nmetrics_listen = \"\"\n"
                             "health_interval = \"200ms\"\n"
                             "health_timeout = \"150ms\"\n"
                             "state_directory = \""
                          << (dir / "state").string() << "\"\n\n"
                          << agents;
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{Env("LOUPE_COORDINATOR_BIN"), "--config",
                                 config.string()},
        dir / ("coordinator_" + tag + ".out"), err_);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string err() const { return Slurp(err_); }
  ChildProcess& process() { return *process_; }
  std::unique_ptr<v1::Coordinator::Stub> Stub() const {
    return v1::Coordinator::NewStub(
        grpc::CreateChannel(target(), grpc::InsecureChannelCredentials()));
  }

 private:
  int port_;
  fs::path err_;
  std::unique_ptr<ChildProcess> process_;
};

std::unique_ptr<grpc::ClientContext> Ctx(std::chrono::seconds limit = 20s) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + limit);
  return ctx;
}

v1::FleetApplyProgramResponse Apply(v1::Coordinator::Stub& stub,
                                    uint64_t version, const std::string& text,
                                    bool dry_run = false) {
  v1::FleetApplyProgramRequest req;
  req.set_name("web");
  req.set_version(version);
  req.set_program(text);
  req.set_source("web.toml");
  req.set_dry_run(dry_run);
  v1::FleetApplyProgramResponse resp;
  const grpc::Status s = stub.ApplyProgram(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

const v1::AgentProgramResult* Result(const v1::FleetApplyProgramResponse& r,
                                     const std::string& agent) {
  for (const v1::AgentProgramResult& a : r.agents()) {
    if (a.agent() == agent) return &a;
  }
  return nullptr;
}

// The version of "web" the agent itself lists (0: none; -1: unreachable),
// and its filters' names.
struct Installed {
  int64_t version = -1;
  std::vector<std::string> filters;
};
Installed InstalledOn(const std::string& target) {
  auto stub = v1::Agent::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::ListProgramsRequest req;
  req.set_name("web");
  v1::ListProgramsResponse resp;
  const grpc::Status s = stub->ListPrograms(Ctx(5s).get(), req, &resp);
  Installed out;
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) out.version = 0;
  if (!s.ok() || resp.programs_size() != 1) return out;
  out.version = static_cast<int64_t>(resp.programs(0).version());
  for (const v1::ProgramChange& c : resp.programs(0).objects()) {
    if (c.statement().kind() == v1::CONTROL_KIND_FILTER) {
      out.filters.push_back(c.statement().name());
    }
  }
  return out;
}

grpc::Status ControlFilter(const std::string& target, v1::ControlVerb verb,
                           const std::string& name) {
  auto stub = v1::Agent::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::ControlRequest req;
  req.set_multilog("flows");
  req.mutable_statement()->set_verb(verb);
  req.mutable_statement()->set_kind(v1::CONTROL_KIND_FILTER);
  req.mutable_statement()->set_name(name);
  req.mutable_statement()->set_expression("bytes > 5");
  v1::ControlResponse resp;
  return stub->Control(Ctx(5s).get(), req, &resp);
}

const v1::AgentInfo* AgentInfo(const v1::ListAgentsResponse& r,
                               const std::string& name) {
  for (const v1::AgentInfo& a : r.agents()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

// Empty when the call fails (the coordinator still starting).
v1::ListAgentsResponse ListAgents(v1::Coordinator::Stub& stub) {
  v1::ListAgentsResponse resp;
  if (!stub.ListAgents(Ctx(5s).get(), v1::ListAgentsRequest(), &resp).ok()) {
    return v1::ListAgentsResponse();
  }
  return resp;
}

// Whether the agent at `target` answers SERVING within `limit`.
bool AwaitServing(const std::string& target, std::chrono::seconds limit) {
  auto stub = v1::Agent::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    v1::HealthResponse r;
    if (stub->Health(Ctx(1s).get(), v1::HealthRequest(), &r).ok() &&
        r.status() == v1::HealthResponse::SERVING) {
      return true;
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Polls `done` every 100 ms up to `limit`; whether it held.
bool Eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

// `agent` at `version` on its own API and in sync in ListAgents.
bool ReconciledTo(v1::Coordinator::Stub& stub, const std::string& name,
                  const std::string& target, int64_t version) {
  if (InstalledOn(target).version != version) return false;
  const v1::ListAgentsResponse r = ListAgents(stub);
  const v1::AgentInfo* a = AgentInfo(r, name);
  if (a == nullptr || !a->programs_in_sync() || a->programs_size() != 1) {
    return false;
  }
  return a->programs(0).installed_version() == static_cast<uint64_t>(version);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos;
       p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

TEST(ProgramProcessTest, AllOrNothingRollbackReconcileAndRestart) {
  TempDir dir;
  const fs::path d(dir.path());
  const char* labels[] = {
      "rack = \"r1\", role = \"compute\"",
      "rack = \"r1\", role = \"compute\"",
      "rack = \"r2\", role = \"compute\"",
      "rack = \"r2\", role = \"storage\"",
  };
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::vector<std::string> targets;
  std::string sections;
  for (int i = 0; i < 4; ++i) {
    agents.push_back(std::make_unique<AgentProcess>(d, kAgentConfig));
    targets.push_back(agents.back()->target());
    sections += "[[agent]]\nname = \"hv" + std::to_string(i + 1) +
                "\"\naddress = \"" + targets.back() + "\"\nlabels = { " +
                labels[i] + " }\n\n";
  }
  for (auto& a : agents) ASSERT_TRUE(a->AwaitHealthy()) << a->err();
  // Restarts an agent, killed, on its port: a new process, no programs.
  // (AwaitHealthy would ask the port AgentProcess picked, not this one.)
  auto restart = [&](int i) {
    agents[i] = std::make_unique<AgentProcess>(
        d, kAgentConfig, std::vector<std::string>{"--listen", targets[i]});
    ASSERT_TRUE(AwaitServing(targets[i], 60s)) << agents[i]->err();
  };

  setenv("LOUPE_COORDINATOR_TEST_PAUSE_BEFORE_APPLY_MS", "1000", 1);
  auto coordinator = std::make_unique<CoordinatorProcess>(d, sections, "1");
  auto stub = coordinator->Stub();
  ASSERT_TRUE(Eventually([&] { return ListAgents(*stub).up() == 4; }, 20s))
      << coordinator->err();

  // 1. Version 1 through loupectl: hv1-hv3, not hv4.
  const fs::path v1_file = d / "web.toml";
  std::ofstream(v1_file) << kWebV1;
  const std::string ctl =
      Env("LOUPECTL_BIN") + " --coordinator " + coordinator->target() + " ";
  CmdResult diff = Shell(ctl + "program diff " + v1_file.string() +
                         " --name web --version 1");
  EXPECT_EQ(diff.code, 0) << diff.out;
  EXPECT_NE(diff.out.find("CHECKED"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("+ filter http"), std::string::npos) << diff.out;
  for (const std::string& t : targets) EXPECT_EQ(InstalledOn(t).version, 0);
  CmdResult applied = Shell(ctl + "program apply " + v1_file.string() +
                            " --name web --version 1");
  EXPECT_EQ(applied.code, 0) << applied.out << coordinator->err();
  EXPECT_NE(applied.out.find("program web version 1: APPLIED: applied on 3 "
                             "agents (hv1, hv2, hv3)"),
            std::string::npos)
      << applied.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(InstalledOn(targets[i]).version, 1) << "hv" << i + 1;
  }
  EXPECT_EQ(InstalledOn(targets[3]).version, 0);
  CmdResult list = Shell(ctl + "program list");
  EXPECT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find("1 desired programs, 1 in sync"), std::string::npos)
      << list.out;

  // 2. A dry run that hv2 and hv3 refuse (a filter "big" added one by one
  // there) changes nothing anywhere and lists both agents' problems.
  ASSERT_TRUE(ControlFilter(targets[1], v1::CONTROL_VERB_ADD, "big").ok());
  ASSERT_TRUE(ControlFilter(targets[2], v1::CONTROL_VERB_ADD, "big").ok());
  v1::FleetApplyProgramResponse refused = Apply(*stub, 2, kWebV2);
  EXPECT_EQ(refused.outcome(), v1::FLEET_PROGRAM_REFUSED)
      << refused.ShortDebugString();
  for (const char* name : {"hv2", "hv3"}) {
    const v1::AgentProgramResult* r = Result(refused, name);
    ASSERT_NE(r, nullptr) << name;
    EXPECT_EQ(r->state(), v1::AGENT_PROGRAM_REFUSED) << name;
    ASSERT_EQ(r->errors_size(), 1) << r->ShortDebugString();
    EXPECT_NE(r->errors(0).find("web.toml:8: multilog[0].filters[1].name: "
                                "filter \"big\" already exists"),
              std::string::npos)
        << r->errors(0);
  }
  EXPECT_EQ(Result(refused, "hv1")->state(), v1::AGENT_PROGRAM_CHECKED);
  EXPECT_EQ(Result(refused, "hv4")->state(), v1::AGENT_PROGRAM_CHECKED);
  EXPECT_NE(refused.summary().find("hv2: 1 problem, hv3: 1 problem"),
            std::string::npos)
      << refused.summary();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(InstalledOn(targets[i]).version, 1) << "hv" << i + 1;
  }
  EXPECT_EQ(InstalledOn(targets[0]).filters, std::vector<std::string>{"http"});
  EXPECT_EQ(InstalledOn(targets[3]).version, 0);
  ASSERT_TRUE(ControlFilter(targets[1], v1::CONTROL_VERB_REMOVE, "big").ok());
  ASSERT_TRUE(ControlFilter(targets[2], v1::CONTROL_VERB_REMOVE, "big").ok());

  // 3. hv3 killed before the apply: refused, nothing changes.
  agents[2]->Signal(SIGKILL);
  agents[2]->Wait();
  v1::FleetApplyProgramResponse unreachable = Apply(*stub, 2, kWebV2);
  EXPECT_EQ(unreachable.outcome(), v1::FLEET_PROGRAM_REFUSED);
  EXPECT_EQ(Result(unreachable, "hv3")->state(), v1::AGENT_PROGRAM_UNREACHABLE);
  EXPECT_NE(Result(unreachable, "hv3")->errors(0).find(targets[2]),
            std::string::npos)
      << Result(unreachable, "hv3")->errors(0);
  EXPECT_EQ(InstalledOn(targets[0]).version, 1);
  EXPECT_EQ(InstalledOn(targets[1]).version, 1);
  EXPECT_EQ(InstalledOn(targets[3]).version, 0);

  // 4. hv3 back with no programs: the reconciler installs version 1.
  restart(2);
  EXPECT_TRUE(Eventually(
      [&] { return ReconciledTo(*stub, "hv3", targets[2], 1); }, 15s))
      << coordinator->err();

  // 5. hv2 killed between the dry run and the apply: hv1, hv3 and hv4
  // applied version 2 and are rolled back to what they had.
  const size_t pauses =
      Count(coordinator->err(), "before applying (test seam)");
  auto pending =
      std::async(std::launch::async, [&] { return Apply(*stub, 2, kWebV2); });
  ASSERT_TRUE(Eventually(
      [&] {
        return Count(coordinator->err(), "before applying (test seam)") >
               pauses;
      },
      10s))
      << coordinator->err();
  agents[1]->Signal(SIGKILL);
  agents[1]->Wait();
  v1::FleetApplyProgramResponse rolled = pending.get();
  EXPECT_EQ(rolled.outcome(), v1::FLEET_PROGRAM_ROLLED_BACK)
      << rolled.ShortDebugString();
  EXPECT_EQ(Result(rolled, "hv2")->state(), v1::AGENT_PROGRAM_FAILED);
  for (const char* name : {"hv1", "hv3", "hv4"}) {
    EXPECT_EQ(Result(rolled, name)->state(), v1::AGENT_PROGRAM_ROLLED_BACK)
        << name << ": " << rolled.ShortDebugString();
  }
  EXPECT_EQ(InstalledOn(targets[0]).version, 1);
  EXPECT_EQ(InstalledOn(targets[0]).filters, std::vector<std::string>{"http"});
  EXPECT_EQ(InstalledOn(targets[2]).version, 1);
  EXPECT_EQ(InstalledOn(targets[3]).version, 0);  // it had none
  restart(1);
  EXPECT_TRUE(Eventually(
      [&] { return ReconciledTo(*stub, "hv2", targets[1], 1); }, 15s))
      << coordinator->err();

  // 6. Version 2 applies everywhere: hv4 gets its own section only.
  v1::FleetApplyProgramResponse v2 = Apply(*stub, 2, kWebV2);
  EXPECT_EQ(v2.outcome(), v1::FLEET_PROGRAM_APPLIED) << v2.ShortDebugString();
  EXPECT_EQ(InstalledOn(targets[0]).filters,
            (std::vector<std::string>{"http", "big"}));
  EXPECT_EQ(InstalledOn(targets[3]).version, 2);
  EXPECT_EQ(InstalledOn(targets[3]).filters, std::vector<std::string>{"dns"});
  // An older version, or the same one with another text: refused.
  v1::FleetApplyProgramRequest old;
  old.set_name("web");
  old.set_version(1);
  old.set_program(kWebV1);
  v1::FleetApplyProgramResponse ignored;
  EXPECT_EQ(stub->ApplyProgram(Ctx().get(), old, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  old.set_version(2);
  EXPECT_EQ(stub->ApplyProgram(Ctx().get(), old, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // 7. The desired state survives a coordinator restart; hv1 restarted
  // while it is down comes back to version 2 from the new coordinator.
  coordinator->process().Signal(SIGTERM);
  ASSERT_EQ(coordinator->process().Wait(10s), 0) << coordinator->err();
  agents[0]->Signal(SIGKILL);
  agents[0]->Wait();
  restart(0);
  EXPECT_EQ(InstalledOn(targets[0]).version, 0);
  coordinator = std::make_unique<CoordinatorProcess>(d, sections, "2");
  stub = coordinator->Stub();
  EXPECT_TRUE(Eventually(
      [&] { return ReconciledTo(*stub, "hv1", targets[0], 2); }, 20s))
      << coordinator->err();
  EXPECT_NE(coordinator->err().find("desired state in " +
                                    (d / "state" / "programs").string() +
                                    ": 1 programs"),
            std::string::npos)
      << coordinator->err();
  EXPECT_NE(coordinator->err().find("reconciled agent hv1: program \"web\" "
                                    "version 0 -> 2"),
            std::string::npos)
      << coordinator->err();
  v1::FleetListProgramsRequest list_req;
  v1::FleetListProgramsResponse listed;
  ASSERT_TRUE(stub->ListPrograms(Ctx().get(), list_req, &listed).ok());
  ASSERT_EQ(listed.programs_size(), 1);
  EXPECT_EQ(listed.programs(0).version(), 2u);
  EXPECT_TRUE(listed.programs(0).in_sync()) << listed.ShortDebugString();
  const v1::ListAgentsResponse all = ListAgents(*stub);
  for (const v1::AgentInfo& a : all.agents()) {
    EXPECT_TRUE(a.programs_in_sync()) << a.ShortDebugString();
    ASSERT_EQ(a.programs_size(), 1) << a.name();
    EXPECT_EQ(a.programs(0).desired_version(), 2u);
  }

  // 8. Removed from every agent, and from the desired state.
  CmdResult removed =
      Shell(Env("LOUPECTL_BIN") + " --coordinator " + coordinator->target() +
            " program remove web --if-version 2");
  EXPECT_EQ(removed.code, 0) << removed.out << coordinator->err();
  for (const std::string& t : targets) EXPECT_EQ(InstalledOn(t).version, 0);
  EXPECT_FALSE(fs::exists(d / "state" / "programs" / "web.program"));
  unsetenv("LOUPE_COORDINATOR_TEST_PAUSE_BEFORE_APPLY_MS");
}

TEST(ProgramProcessTest, AStateDirectoryThatCannotBeMadeStopsTheStart) {
  TempDir dir;
  const fs::path d(dir.path());
  std::ofstream(d / "state") << "a file where the directory should be";
  CoordinatorProcess coordinator(d, "", "1");
  EXPECT_EQ(coordinator.process().Wait(10s), 1);
  EXPECT_NE(coordinator.err().find("state directory " + (d / "state").string() +
                                   " exists and is not a directory"),
            std::string::npos)
      << coordinator.err();
}

}  // namespace
}  // namespace loupe::coordinator
