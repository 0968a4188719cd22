// Agents that join a coordinator: loupe.v1.Registry served by a real gRPC
// server over a real AgentPool, called by raw stubs (every refusal, and
// that it changes nothing) and by the agent's Registrar (registers,
// heartbeats, re-registers when the coordinator forgot it, stops in time).
// The registered agent is an in-process agent (tests/support/
// loopback_agent.h), so the pool's Health calls reach a real AgentService.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "agent/registrar.h"
#include "agent/rpc_server.h"
#include "coordinator/agent_pool.h"
#include "coordinator/registrations.h"
#include "coordinator/registry_service.h"
#include "multilog/atomic_file.h"
#include "tests/support/agent_process.h"
#include "tests/support/loopback_agent.h"
#include "tests/support/temp_dir.h"

namespace loupe::coordinator {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A coordinator's registration half: pool, Registry service, gRPC server.
class Registry {
 public:
  Registry(PoolOptions pool_options, bool accept,
           std::vector<AgentEntry> configured = {},
           const std::string& listen = "127.0.0.1:0")
      : pool_options_(pool_options) {
    std::vector<Registration> restored;
    if (!pool_options.registrations_file.empty()) {
      Result<std::vector<Registration>> r =
          LoadRegistrations(pool_options.registrations_file);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) restored = std::move(*r);
    }
    pool_ = std::make_unique<AgentPool>(std::move(configured), pool_options,
                                        std::move(restored));
    RegistryOptions options;
    options.coordinator_name = "c1";
    options.accept_registrations = accept;
    options.heartbeat_interval = pool_options.interval;
    options.down_after = pool_options.down_after;
    service_ = std::make_unique<RegistryService>(pool_.get(), options);
    std::string error;
    server_ = agent::StartServer(listen, service_.get(), &error, &port_);
    EXPECT_NE(server_, nullptr) << error;
    stub_ = v1::Registry::NewStub(
        grpc::CreateChannel(target(), grpc::InsecureChannelCredentials()));
  }
  ~Registry() {
    server_->Shutdown(std::chrono::system_clock::now() + 1s);
    pool_->Stop();
  }

  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  AgentPool& pool() { return *pool_; }
  RegistryService& service() { return *service_; }

  grpc::Status Register(const v1::RegisterRequest& request,
                        v1::RegisterResponse* response = nullptr) {
    v1::RegisterResponse ignored;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    return stub_->Register(&context, request,
                           response != nullptr ? response : &ignored);
  }
  grpc::Status Heartbeat(const std::string& name, uint64_t start) {
    v1::HeartbeatRequest request;
    request.set_name(name);
    request.set_start_time_ns(start);
    v1::HeartbeatResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    return stub_->Heartbeat(&context, request, &response);
  }

 private:
  PoolOptions pool_options_;
  std::unique_ptr<AgentPool> pool_;
  std::unique_ptr<RegistryService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Registry::Stub> stub_;
  int port_ = 0;
};

PoolOptions FastPool(uint32_t max_registered = 8) {
  PoolOptions o;
  o.interval = 100ms;
  o.timeout = 80ms;
  o.down_after = 3;
  o.max_registered = max_registered;
  return o;
}

v1::RegisterRequest Request(const std::string& name, const std::string& address,
                            uint64_t start = 1000) {
  v1::RegisterRequest r;
  r.set_name(name);
  r.set_address(address);
  (*r.mutable_labels())["rack"] = "r1";
  r.set_start_time_ns(start);
  r.set_version("0.1.0");
  return r;
}

bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

std::optional<AgentStatus> Find(const AgentPool& pool,
                                const std::string& name) {
  for (const AgentStatus& a : pool.Snapshot()) {
    if (a.entry.name == name) return a;
  }
  return std::nullopt;
}

TEST(RegistryTest, MalformedRequestsAreRefusedAndChangeNothing) {
  Registry c(FastPool(), true);
  struct Case {
    std::function<void(v1::RegisterRequest*)> mutate;
    const char* says;
  };
  const Case cases[] = {
      {[](auto* r) { r->set_name("hv 1"); }, "name: names are 1 to 64"},
      {[](auto* r) { r->set_name("hv1\nWARN forged"); }, "name:"},
      {[](auto* r) { r->set_name(std::string(100'000, 'a')); },
       "(100000 bytes)"},
      {[](auto* r) { r->set_name(""); }, "name:"},
      {[](auto* r) { r->set_address("hv1"); }, "address:"},
      {[](auto* r) { r->set_address("0.0.0.0:7070"); }, "is a wildcard"},
      {[](auto* r) { (*r->mutable_labels())["host"] = "x"; }, "is reserved"},
      {[](auto* r) { (*r->mutable_labels())["rack"] = "r 1"; },
       "label values are"},
      {[](auto* r) { (*r->mutable_labels())["1rack"] = "r1"; },
       "label names are"},
      {[](auto* r) {
         for (int i = 0; i < 40; ++i) {
           (*r->mutable_labels())["k" + std::to_string(i)] = "v";
         }
       },
       "at most 32"},
      {[](auto* r) { r->set_start_time_ns(0); }, "start_time_ns: missing"},
      {[](auto* r) { r->set_version("1.0\nx"); }, "version:"},
  };
  for (const Case& k : cases) {
    v1::RegisterRequest r = Request("hv1", "127.0.0.1:7071");
    k.mutate(&r);
    const grpc::Status s = c.Register(r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << k.says;
    EXPECT_THAT(s.error_message(), HasSubstr(k.says));
  }
  EXPECT_EQ(c.pool().size(), 0u);
  EXPECT_EQ(c.service().stats().refused, std::size(cases));
  EXPECT_EQ(c.service().stats().registrations, 0u);
}

TEST(RegistryTest, RegistrationsOffAreRefusedSayingSo) {
  Registry c(FastPool(), false);
  const grpc::Status s = c.Register(Request("hv1", "127.0.0.1:7071"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("accept_registrations = false"));
  EXPECT_EQ(c.pool().size(), 0u);
}

TEST(RegistryTest, ConflictsAndTheCapAreRefused) {
  AgentEntry configured;
  configured.name = "hv-static";
  configured.address = "127.0.0.1:7100";
  Registry c(FastPool(2), true, {configured});
  // A configured name at another address.
  grpc::Status s = c.Register(Request("hv-static", "127.0.0.1:7101"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("configured in the coordinator's"));
  // At its own address: taken, but it stays a configured agent.
  v1::RegisterResponse response;
  ASSERT_TRUE(
      c.Register(Request("hv-static", "127.0.0.1:7100"), &response).ok());
  EXPECT_TRUE(response.configured());
  // Another agent's address.
  s = c.Register(Request("hv1", "127.0.0.1:7100"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("is agent hv-static's"));
  // The cap.
  ASSERT_TRUE(c.Register(Request("hv1", "127.0.0.1:7102")).ok());
  ASSERT_TRUE(c.Register(Request("hv2", "127.0.0.1:7103")).ok());
  s = c.Register(Request("hv3", "127.0.0.1:7104"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("max_registered_agents = 2"));
  // Registering again is not a new agent.
  ASSERT_TRUE(c.Register(Request("hv1", "127.0.0.1:7102", 2000)).ok());
  EXPECT_EQ(c.pool().size(), 3u);
  const std::optional<AgentStatus> hv1 = Find(c.pool(), "hv1");
  ASSERT_TRUE(hv1.has_value());
  EXPECT_TRUE(hv1->registered);
  EXPECT_EQ(hv1->registered_start_ns, 2000u);
  EXPECT_EQ(hv1->entry.labels.at("rack"), "r1");
  EXPECT_FALSE(Find(c.pool(), "hv-static")->registered);
}

TEST(RegistryTest, HeartbeatsOfUnknownIncarnationsAreNotFound) {
  Registry c(FastPool(), true);
  EXPECT_EQ(c.Heartbeat("hv1", 1000).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(c.Register(Request("hv1", "127.0.0.1:7102", 1000)).ok());
  EXPECT_TRUE(c.Heartbeat("hv1", 1000).ok());
  const grpc::Status s = c.Heartbeat("hv1", 999);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("register again"));
  EXPECT_EQ(c.Heartbeat("hv 1", 1000).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Find(c.pool(), "hv1")->heartbeats, 1u);
  EXPECT_EQ(c.service().stats().heartbeats, 1u);
  EXPECT_EQ(c.service().stats().heartbeats_unknown, 2u);
}

TEST(RegistryTest, RegistrationsAreKeptAndRestoredAcrossARestart) {
  test_support::TempDir dir("loupe-registry");
  PoolOptions options = FastPool();
  options.registrations_file = dir.path() + "/registered";
  {
    Registry c(options, true);
    ASSERT_TRUE(c.Register(Request("hv1", "127.0.0.1:7102", 11)).ok());
    v1::RegisterRequest moved = Request("hv2", "[::1]:7103", 12);
    (*moved.mutable_labels())["role"] = "edge";
    ASSERT_TRUE(c.Register(moved).ok());
  }
  Result<std::string> text =
      ReadSmallFile(options.registrations_file, kMaxRegistrationsFileBytes);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "loupe-registered-agents 1\n"
            "agent hv1 127.0.0.1:7102 11 rack=r1\n"
            "agent hv2 [::1]:7103 12 rack=r1 role=edge\n");
  Registry again(options, true);
  ASSERT_EQ(again.pool().size(), 2u);
  const std::optional<AgentStatus> hv2 = Find(again.pool(), "hv2");
  ASSERT_TRUE(hv2.has_value());
  EXPECT_TRUE(hv2->registered);
  EXPECT_EQ(hv2->entry.address, "[::1]:7103");
  EXPECT_EQ(hv2->entry.labels.at("role"), "edge");
  // The same incarnation heartbeats on without registering again.
  EXPECT_TRUE(again.Heartbeat("hv2", 12).ok());
}

TEST(RegistryTest, AMalformedRegistrationsFileIsAnErrorNamingIt) {
  EXPECT_THAT(ParseRegistrations("loupe-registered-agents 1\nagent hv1\n")
                  .status()
                  .message(),
              HasSubstr("line 2: expected"));
  EXPECT_THAT(ParseRegistrations("loupe-registered-agents 1\n"
                                 "agent hv1 127.0.0.1:1 5 rack=r\x01\n")
                  .status()
                  .message(),
              HasSubstr("label values are"));
  EXPECT_THAT(ParseRegistrations("loupe-registered-agents 1\n"
                                 "agent hv1 127.0.0.1:1 5\n"
                                 "agent hv1 127.0.0.1:2 5\n")
                  .status()
                  .message(),
              HasSubstr("line 3: agent hv1 is there twice"));
  EXPECT_THAT(ParseRegistrations("loupe-registered-agents 1\n"
                                 "agent hv1 127.0.0.1:1 5")
                  .status()
                  .message(),
              HasSubstr("no newline"));
  test_support::TempDir dir("loupe-registry");
  ASSERT_TRUE(ReplaceFile(dir.path() + "/registered", "garbage\n").ok());
  const Status s = LoadRegistrations(dir.path() + "/registered").status();
  EXPECT_THAT(s.message(), HasSubstr(dir.path() + "/registered: line 1"));
}

// The agent side: a Registrar keeps a real in-process agent UP; when it
// stops, the agent is DOWN from missed heartbeats alone (its Health still
// answers SERVING).
TEST(RegistryTest, RegistrarKeepsTheAgentUpAndItsSilenceMakesItDown) {
  Registry c(FastPool(), true);
  test_support::LoopbackAgent agent("hv1");
  agent::RegistrarOptions r;
  r.coordinator = c.target();
  r.name = "hv1";
  r.address = agent.target();
  r.labels = {{"rack", "r2"}};
  r.start_time_ns = agent.registry().incarnation();
  r.version = "test";
  auto registrar = std::make_unique<agent::Registrar>(r);
  ASSERT_TRUE(WaitFor([&] {
    std::optional<AgentStatus> a = Find(c.pool(), "hv1");
    return a.has_value() && a->state == AgentState::kUp;
  }));
  ASSERT_TRUE(WaitFor([&] { return registrar->stats().heartbeats >= 3; }));
  EXPECT_TRUE(registrar->stats().registered);
  EXPECT_EQ(registrar->stats().registrations, 1u);
  EXPECT_EQ(Find(c.pool(), "hv1")->entry.labels.at("rack"), "r2");

  const auto stop = std::chrono::steady_clock::now();
  registrar->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop, 1s);
  const auto silent = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor(
      [&] { return Find(c.pool(), "hv1")->state == AgentState::kDown; }));
  // down_after (3) x 100 ms, plus up to a round.
  EXPECT_LT(std::chrono::steady_clock::now() - silent, 1s);
  EXPECT_THAT(Find(c.pool(), "hv1")->error, HasSubstr("no heartbeat for"));
}

// A coordinator that forgot the agent (restarted without its state):
// heartbeats answer NOT_FOUND and the registrar registers again.
TEST(RegistryTest, RegistrarRegistersAgainWithACoordinatorThatForgotIt) {
  auto first = std::make_unique<Registry>(FastPool(), true);
  const std::string listen = first->target();
  test_support::LoopbackAgent agent("hv1");
  agent::RegistrarOptions r;
  r.coordinator = listen;
  r.name = "hv1";
  r.address = agent.target();
  r.start_time_ns = agent.registry().incarnation();
  agent::Registrar registrar(r);
  ASSERT_TRUE(WaitFor([&] { return first->pool().size() == 1; }));
  first.reset();
  Registry second(FastPool(), true, {}, listen);
  ASSERT_TRUE(WaitFor([&] {
    std::optional<AgentStatus> a = Find(second.pool(), "hv1");
    return a.has_value() && a->state == AgentState::kUp;
  }));
  EXPECT_GE(registrar.stats().registrations, 2u);
  EXPECT_GE(second.service().stats().heartbeats_unknown, 1u);
}

TEST(RegistryTest, RegistrarStopsInTimeWhenTheCoordinatorNeverAnswers) {
  agent::RegistrarOptions r;
  r.coordinator = "127.0.0.1:" + std::to_string(test_support::FreePort());
  r.name = "hv1";
  r.address = "127.0.0.1:7070";
  r.start_time_ns = 1;
  agent::Registrar registrar(r);
  ASSERT_TRUE(WaitFor([&] { return registrar.stats().failures >= 2; }));
  EXPECT_FALSE(registrar.stats().registered);
  EXPECT_THAT(registrar.stats().error,
              HasSubstr("registration at coordinator"));
  const auto stop = std::chrono::steady_clock::now();
  registrar.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop, 1s);
}

}  // namespace
}  // namespace loupe::coordinator
