// LoopbackAgent: one in-process loupe agent for tests -- a real
// MultilogRegistry and AgentService behind a real gRPC server on a free
// 127.0.0.1 port, and a stub to it -- with the few calls tests make
// (create a multilog, add a control object, append, read everything back).
// For tests that link agent_service (they are not DPDK-free); failures are
// gtest failures. One object per agent, used from the test's thread; the
// stub may be used from any thread.
#ifndef LOUPE_TESTS_SUPPORT_LOOPBACK_AGENT_H_
#define LOUPE_TESTS_SUPPORT_LOOPBACK_AGENT_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"
#include "multilog/schema.h"

namespace loupe::test_support {

class LoopbackAgent {
 public:
  // `listen`: a fixed address, for an agent that "restarts" on its
  // predecessor's port.
  explicit LoopbackAgent(const std::string& host = "host",
                         const std::string& listen = "127.0.0.1:0") {
    agent::RegistryOptions options;
    options.max_multilogs = 4;
    options.default_preallocate_bytes = 1 << 20;
    registry_ = std::make_unique<agent::MultilogRegistry>(options);
    service_ = std::make_unique<agent::AgentService>(
        registry_.get(), host,
        []() -> std::optional<dataplane::PipelineStats> { return {}; });
    std::string error;
    server_ = agent::StartServer(listen, service_.get(), &error, &port_);
    EXPECT_NE(server_, nullptr) << error;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    stub_ = v1::Agent::NewStub(grpc::CreateCustomChannel(
        target(), grpc::InsecureChannelCredentials(), args));
  }
  ~LoopbackAgent() { Stop(); }
  LoopbackAgent(const LoopbackAgent&) = delete;
  LoopbackAgent& operator=(const LoopbackAgent&) = delete;

  v1::Agent::Stub& stub() { return *stub_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  agent::MultilogRegistry& registry() { return *registry_; }

  // Stops serving (an agent that went away); idempotent.
  void Stop() {
    if (server_ == nullptr) return;
    service_->Shutdown();
    server_->Shutdown();
    server_.reset();
  }

  void Create(const std::string& name, const std::string& schema) {
    v1::CreateMultilogRequest req;
    req.set_name(name);
    req.set_schema(schema);
    req.set_block_records(4096);
    v1::CreateMultilogResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateMultilog(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    record_sizes_[name] = Schema::Parse(schema)->record_size();
  }
  void Add(const std::string& multilog, v1::ControlKind kind,
           const std::string& name, const std::string& expression,
           const std::string& filter = "", uint32_t period_ms = 0) {
    v1::ControlRequest req;
    req.set_multilog(multilog);
    v1::ControlStatement* st = req.mutable_statement();
    st->set_verb(v1::CONTROL_VERB_ADD);
    st->set_kind(kind);
    st->set_name(name);
    st->set_expression(expression);
    st->set_filter(filter);
    st->set_period_ms(period_ms);  // triggers; 0: the default
    v1::ControlResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->Control(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // Appends whole records, 4,096 per batch.
  void Append(const std::string& multilog, const std::string& records) {
    const size_t rs = record_sizes_.at(multilog);
    for (size_t at = 0; at < records.size(); at += 4096 * rs) {
      v1::AppendBatchRequest req;
      req.set_multilog(multilog);
      req.set_records(records.substr(at, 4096 * rs));
      v1::AppendResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = stub_->AppendBatch(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }
  // Every record, through Read.
  std::vector<std::string> ReadAll(const std::string& multilog) {
    std::vector<std::string> out;
    uint64_t offset = 0;
    for (;;) {
      v1::ReadRequest req;
      req.set_multilog(multilog);
      req.set_offset(offset);
      req.set_count(4096);
      v1::ReadResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = stub_->Read(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok() || resp.count() == 0) break;
      for (uint64_t i = 0; i < resp.count(); ++i) {
        out.push_back(
            resp.records().substr(i * resp.record_size(), resp.record_size()));
      }
      offset = resp.next_offset();
    }
    return out;
  }

 private:
  std::unique_ptr<agent::MultilogRegistry> registry_;
  std::unique_ptr<agent::AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  int port_ = 0;
  std::map<std::string, size_t> record_sizes_;
};

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_LOOPBACK_AGENT_H_
