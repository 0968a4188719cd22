// ApplyProgram, RemoveProgram and ListPrograms over a real gRPC server on
// 127.0.0.1 and a real MultilogRegistry, as service_test.cc runs them: dry
// runs that name every problem and change nothing, applies that install
// every statement or none, new versions that keep unchanged objects (their
// covers_from), optimistic concurrency with if_version, ownership (Control
// cannot remove a program's object; removing a program removes exactly its
// objects) and the configuration's programs. The one fault injected is the
// ProgramRegistry's statement seam, to fail an apply on its last statement.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/multilog_registry.h"
#include "agent/program_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"
#include "multilog/control.h"

namespace loupe::agent {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000;
constexpr char kSchema[] = "bytes:u32, port:u16";
constexpr size_t kRecordSize = 14;

std::string Records(uint64_t ts, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    std::string r(kRecordSize, '\0');
    const uint64_t t = ts + static_cast<uint64_t>(i);
    const uint32_t bytes = static_cast<uint32_t>(i);
    const uint16_t port = i % 2 == 0 ? 80 : 443;
    std::memcpy(r.data(), &t, 8);
    std::memcpy(r.data() + 8, &bytes, 4);
    std::memcpy(r.data() + 12, &port, 2);
    out += r;
  }
  return out;
}

// Version 1 of the program "web" on multilog "flows".
constexpr char kWebV1[] = R"toml([[multilog]]
name = "flows"
indexes = ["port"]
filters = [
  { name = "http", expression = "port == 80" },
  { name = "tls", expression = "port == 443" },
]
aggregates = [
  { name = "http_count", filter = "http", expression = "COUNT()" },
  { name = "tls_bytes", filter = "tls", expression = "SUM(bytes)" },
]
triggers = [
  { name = "busy", condition = "http_count > 100", period = "1s" },
]
)toml";

// Version 2: http unchanged (and its aggregate, trigger); tls changed (so
// its aggregate is replaced too); a new filter.
constexpr char kWebV2[] = R"toml([[multilog]]
name = "flows"
indexes = ["port"]
filters = [
  { name = "http", expression = "port == 80" },
  { name = "tls", expression = "port == 443 && bytes > 10" },
  { name = "big", expression = "bytes > 1000" },
]
aggregates = [
  { name = "http_count", filter = "http", expression = "COUNT()" },
  { name = "tls_bytes", filter = "tls", expression = "SUM(bytes)" },
]
triggers = [
  { name = "busy", condition = "http_count > 100", period = "1s" },
]
)toml";

class ProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegistryOptions options;
    options.max_multilogs = 8;
    options.default_preallocate_bytes = 1 << 20;
    registry_ = std::make_unique<MultilogRegistry>(options);
    service_ = std::make_unique<AgentService>(registry_.get(), "test-host");
    std::string error;
    server_ = StartServer("127.0.0.1:0", service_.get(), &error, &port_);
    ASSERT_NE(server_, nullptr) << error;
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                            grpc::InsecureChannelCredentials()));
    v1::CreateMultilogRequest req;
    req.set_name("flows");
    req.set_schema(kSchema);
    req.set_block_records(1024);
    v1::CreateMultilogResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateMultilog(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void TearDown() override {
    service_->Shutdown();
    server_->Shutdown();
  }

  grpc::Status Apply(const std::string& name, uint64_t version,
                     const std::string& text, bool dry_run,
                     v1::ApplyProgramResponse* response,
                     std::optional<uint64_t> if_version = std::nullopt) {
    v1::ApplyProgramRequest req;
    req.set_name(name);
    req.set_version(version);
    req.set_program(text);
    req.set_dry_run(dry_run);
    req.set_source("web.toml");
    if (if_version.has_value()) req.set_if_version(*if_version);
    grpc::ClientContext ctx;
    return stub_->ApplyProgram(&ctx, req, response);
  }

  grpc::Status Apply(const std::string& name, uint64_t version,
                     const std::string& text,
                     std::optional<uint64_t> if_version = std::nullopt) {
    v1::ApplyProgramResponse resp;
    return Apply(name, version, text, false, &resp, if_version);
  }

  grpc::Status RemoveProgram(const std::string& name,
                             std::optional<uint64_t> if_version = {}) {
    v1::RemoveProgramRequest req;
    req.set_name(name);
    if (if_version.has_value()) req.set_if_version(*if_version);
    v1::RemoveProgramResponse resp;
    grpc::ClientContext ctx;
    return stub_->RemoveProgram(&ctx, req, &resp);
  }

  grpc::Status Control(v1::ControlVerb verb, v1::ControlKind kind,
                       const std::string& name,
                       const std::string& expression = "",
                       const std::string& filter = "") {
    v1::ControlRequest req;
    req.set_multilog("flows");
    v1::ControlStatement* st = req.mutable_statement();
    st->set_verb(verb);
    st->set_kind(kind);
    st->set_name(name);
    st->set_expression(expression);
    st->set_filter(filter);
    v1::ControlResponse resp;
    grpc::ClientContext ctx;
    return stub_->Control(&ctx, req, &resp);
  }

  std::vector<v1::ControlObject> Objects() {
    v1::ListControlRequest req;
    req.set_multilog("flows");
    v1::ListControlResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ListControl(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.objects().begin(), resp.objects().end()};
  }

  // "kind name owner=... covers_from=..." per object: what a comparison of
  // two listings looks at.
  std::vector<std::string> Listing() {
    std::vector<std::string> out;
    for (const v1::ControlObject& o : Objects()) {
      out.push_back(o.statement().ShortDebugString() + " owner=" + o.owner() +
                    " covers_from=" + std::to_string(o.covers_from()));
    }
    return out;
  }

  const v1::ControlObject* Find(const std::vector<v1::ControlObject>& objects,
                                v1::ControlKind kind, const std::string& name) {
    for (const v1::ControlObject& o : objects) {
      if (o.statement().kind() == kind && o.statement().name() == name) {
        return &o;
      }
    }
    return nullptr;
  }

  void Append(int n) {
    v1::AppendBatchRequest req;
    req.set_multilog("flows");
    req.set_records(Records(kBaseNs + appended_, n));
    appended_ += static_cast<uint64_t>(n);
    v1::AppendResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->AppendBatch(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::ListProgramsResponse ListPrograms() {
    v1::ListProgramsRequest req;
    v1::ListProgramsResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ListPrograms(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  uint64_t appended_ = 0;
  std::unique_ptr<MultilogRegistry> registry_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(ProgramTest, DryRunNamesEveryProblemAndChangesNothing) {
  ASSERT_TRUE(Control(v1::CONTROL_VERB_ADD, v1::CONTROL_KIND_FILTER, "taken",
                      "port == 1")
                  .ok());
  const std::vector<std::string> before = Listing();
  const std::string text = R"toml([[multilog]]
name = "flows"
filters = [
  { name = "taken", expression = "port == 2" },
  { name = "typo", expression = "prot == 2" },
]
aggregates = [
  { name = "n", filter = "nofilter", expression = "COUNT()" },
]
)toml";
  v1::ApplyProgramResponse resp;
  grpc::Status s = Apply("web", 1, text, /*dry_run=*/true, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.errors_size(), 3) << resp.DebugString();
  EXPECT_THAT(resp.errors(0), HasSubstr("web.toml:4: multilog[0].filters[0]"));
  EXPECT_THAT(resp.errors(0), HasSubstr("\"taken\" already exists"));
  EXPECT_THAT(resp.errors(0), HasSubstr("added one by one through Control"));
  EXPECT_THAT(resp.errors(1),
              HasSubstr("web.toml:5: multilog[0].filters[1].expression"));
  EXPECT_THAT(resp.errors(1), HasSubstr("prot"));
  EXPECT_THAT(resp.errors(2),
              HasSubstr("web.toml:8: multilog[0].aggregates[0].filter"));
  EXPECT_THAT(resp.errors(2), HasSubstr("no filter named \"nofilter\""));
  EXPECT_FALSE(resp.applied());
  EXPECT_EQ(Listing(), before);
  EXPECT_EQ(ListPrograms().programs_size(), 0);

  // The apply itself answers all three at once and changes nothing either.
  v1::ApplyProgramResponse applied;
  s = Apply("web", 1, text, /*dry_run=*/false, &applied);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("filters[0]"));
  EXPECT_THAT(s.error_message(), HasSubstr("filters[1].expression"));
  EXPECT_THAT(s.error_message(), HasSubstr("aggregates[0].filter"));
  EXPECT_EQ(Listing(), before);
}

TEST_F(ProgramTest, DryRunShowsThePlanAndChangesNothing) {
  ASSERT_TRUE(Apply("web", 1, kWebV1).ok());
  const std::vector<std::string> before = Listing();
  v1::ApplyProgramResponse resp;
  grpc::Status s = Apply("web", 2, kWebV2, /*dry_run=*/true, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.errors_size(), 0);
  EXPECT_FALSE(resp.applied());
  EXPECT_EQ(resp.previous_version(), 1u);
  std::map<std::string, v1::ProgramAction> action;
  for (const v1::ProgramChange& c : resp.changes()) {
    action[c.statement().name()] = c.action();
  }
  EXPECT_EQ(action["http"], v1::PROGRAM_ACTION_KEEP);
  EXPECT_EQ(action["http_count"], v1::PROGRAM_ACTION_KEEP);
  EXPECT_EQ(action["busy"], v1::PROGRAM_ACTION_KEEP);
  EXPECT_EQ(action["tls"], v1::PROGRAM_ACTION_REPLACE);
  EXPECT_EQ(action["tls_bytes"], v1::PROGRAM_ACTION_REPLACE);
  EXPECT_EQ(action["big"], v1::PROGRAM_ACTION_ADD);
  EXPECT_EQ(Listing(), before);
  EXPECT_EQ(ListPrograms().programs(0).version(), 1u);
}

TEST_F(ProgramTest, ApplyThatFailsOnItsLastStatementLeavesNoTrace) {
  ASSERT_TRUE(Control(v1::CONTROL_VERB_ADD, v1::CONTROL_KIND_FILTER, "mine",
                      "port == 9")
                  .ok());
  const std::vector<std::string> before = Listing();
  int applied = 0;
  service_->programs().SetApplierForTesting(
      [&](Multilog& ml, const std::string&, const ControlStatement& s) {
        if (s.kind == ControlKind::kTrigger && s.name == "busy") {
          return Status::ResourceExhausted("injected: no room for a trigger");
        }
        ++applied;
        return loupe::Apply(ml, s);
      });
  grpc::Status s = Apply("web", 1, kWebV1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("nothing was changed"));
  EXPECT_THAT(s.error_message(), HasSubstr("trigger busy"));
  EXPECT_EQ(applied, 5);  // index, 2 filters, 2 aggregates, then the trigger
  EXPECT_EQ(Listing(), before);
  EXPECT_EQ(ListPrograms().programs_size(), 0);
}

TEST_F(ProgramTest, FailedNewVersionRestoresTheOldOne) {
  ASSERT_TRUE(Apply("web", 1, kWebV1).ok());
  Append(100);
  const std::vector<v1::ControlObject> before = Objects();
  service_->programs().SetApplierForTesting(
      [&](Multilog& ml, const std::string&, const ControlStatement& s) {
        if (s.kind == ControlKind::kAggregate && s.verb == ControlVerb::kAdd) {
          return Status::ResourceExhausted("injected");
        }
        return loupe::Apply(ml, s);
      });
  grpc::Status s = Apply("web", 2, kWebV2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const std::vector<v1::ControlObject> after = Objects();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].statement().ShortDebugString(),
              before[i].statement().ShortDebugString());
    EXPECT_EQ(after[i].owner(), "web");
  }
  // What v2 did not touch kept its coverage.
  EXPECT_EQ(Find(after, v1::CONTROL_KIND_FILTER, "http")->covers_from(),
            Find(before, v1::CONTROL_KIND_FILTER, "http")->covers_from());
  EXPECT_EQ(ListPrograms().programs(0).version(), 1u);
}

TEST_F(ProgramTest, NewVersionKeepsUnchangedObjectsAndReplacesChangedOnes) {
  ASSERT_TRUE(Apply("web", 1, kWebV1).ok());
  Append(500);
  const std::vector<v1::ControlObject> v1_objects = Objects();
  const uint64_t http_from =
      Find(v1_objects, v1::CONTROL_KIND_FILTER, "http")->covers_from();
  const uint64_t tls_from =
      Find(v1_objects, v1::CONTROL_KIND_FILTER, "tls")->covers_from();
  const uint64_t count_from =
      Find(v1_objects, v1::CONTROL_KIND_AGGREGATE, "http_count")->covers_from();

  v1::ApplyProgramResponse resp;
  grpc::Status s = Apply("web", 2, kWebV2, false, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(resp.applied());
  const std::vector<v1::ControlObject> v2_objects = Objects();
  EXPECT_EQ(Find(v2_objects, v1::CONTROL_KIND_FILTER, "http")->covers_from(),
            http_from);
  EXPECT_EQ(
      Find(v2_objects, v1::CONTROL_KIND_AGGREGATE, "http_count")->covers_from(),
      count_from);
  const v1::ControlObject* tls =
      Find(v2_objects, v1::CONTROL_KIND_FILTER, "tls");
  ASSERT_NE(tls, nullptr);
  EXPECT_GT(tls->covers_from(), tls_from);
  EXPECT_EQ(tls->statement().expression(), "port == 443 && bytes > 10");
  ASSERT_NE(Find(v2_objects, v1::CONTROL_KIND_FILTER, "big"), nullptr);
  for (const v1::ControlObject& o : v2_objects) EXPECT_EQ(o.owner(), "web");
  EXPECT_EQ(ListPrograms().programs(0).version(), 2u);

  // Back to version 3 = the text of version 1: big goes, tls is replaced.
  ASSERT_TRUE(Apply("web", 3, kWebV1).ok());
  EXPECT_EQ(Find(Objects(), v1::CONTROL_KIND_FILTER, "big"), nullptr);
  EXPECT_EQ(Find(Objects(), v1::CONTROL_KIND_FILTER, "http")->covers_from(),
            http_from);
}

TEST_F(ProgramTest, VersionsAndIfVersion) {
  EXPECT_EQ(Apply("web", 1, kWebV1, /*if_version=*/1).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Apply("web", 1, kWebV1, /*if_version=*/0).ok());
  // Two operators: the second still thinks nothing is installed.
  grpc::Status s = Apply("web", 2, kWebV2, /*if_version=*/0);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("version 1"));
  // The same version again: idempotent; with other statements: refused.
  v1::ApplyProgramResponse same;
  ASSERT_TRUE(Apply("web", 1, kWebV1, false, &same).ok());
  EXPECT_FALSE(same.applied());
  EXPECT_EQ(Apply("web", 1, kWebV2).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Apply("web", 2, kWebV2, /*if_version=*/1).ok());
  EXPECT_EQ(Apply("web", 1, kWebV1).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // older
  EXPECT_EQ(Apply("web", 0, kWebV1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(RemoveProgram("web", /*if_version=*/1).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(RemoveProgram("web", /*if_version=*/2).ok());
  EXPECT_EQ(RemoveProgram("web").error_code(), grpc::StatusCode::NOT_FOUND);
}

// A coordinator undoing its apply (issue 14) goes back to the older
// version's statements, and only with the if_version it undoes.
TEST_F(ProgramTest, RollbackReturnsToAnOlderVersionOnlyWithIfVersion) {
  ASSERT_TRUE(Apply("web", 1, kWebV1).ok());
  const std::vector<std::string> v1_listing = Listing();
  ASSERT_TRUE(Apply("web", 2, kWebV2, /*if_version=*/1).ok());
  ASSERT_NE(Listing(), v1_listing);
  auto rollback = [&](std::optional<uint64_t> if_version) {
    v1::ApplyProgramRequest req;
    req.set_name("web");
    req.set_version(1);
    req.set_program(kWebV1);
    req.set_rollback(true);
    if (if_version.has_value()) req.set_if_version(*if_version);
    v1::ApplyProgramResponse resp;
    grpc::ClientContext ctx;
    return stub_->ApplyProgram(&ctx, req, &resp);
  };
  grpc::Status s = rollback(std::nullopt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("needs if_version"));
  EXPECT_EQ(rollback(1).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  s = rollback(2);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ListProgramsRequest list_req;
  list_req.set_name("web");
  v1::ListProgramsResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListPrograms(&ctx, list_req, &list).ok());
  ASSERT_EQ(list.programs_size(), 1);
  EXPECT_EQ(list.programs(0).version(), 1u);
  // tls is v1's again, big is gone.
  const std::vector<v1::ControlObject> objects = Objects();
  EXPECT_EQ(Find(objects, v1::CONTROL_KIND_FILTER, "big"), nullptr);
  const v1::ControlObject* tls = Find(objects, v1::CONTROL_KIND_FILTER, "tls");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->statement().expression(), "port == 443");
}

TEST_F(ProgramTest, OversizedProgramIsRefused) {
  std::string text = kWebV1;
  text += "# " + std::string(kMaxProgramTextBytes, 'x') + "\n";
  grpc::Status s = Apply("web", 1, text);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("at most"));
}

TEST_F(ProgramTest, RemovingAProgramRemovesExactlyItsObjects) {
  ASSERT_TRUE(Control(v1::CONTROL_VERB_ADD, v1::CONTROL_KIND_FILTER, "mine",
                      "port == 9")
                  .ok());
  const std::vector<std::string> before = Listing();
  ASSERT_TRUE(Apply("web", 1, kWebV1).ok());
  ASSERT_TRUE(Apply("other", 1, R"toml([[multilog]]
name = "flows"
filters = [{ name = "ssh", expression = "port == 22" }]
)toml")
                  .ok());
  EXPECT_EQ(Objects().size(), before.size() + 7);
  ASSERT_TRUE(RemoveProgram("web").ok());
  const std::vector<v1::ControlObject> left = Objects();
  ASSERT_EQ(left.size(), before.size() + 1);
  EXPECT_NE(Find(left, v1::CONTROL_KIND_FILTER, "mine"), nullptr);
  EXPECT_EQ(Find(left, v1::CONTROL_KIND_FILTER, "ssh")->owner(), "other");
  ASSERT_TRUE(RemoveProgram("other").ok());
  EXPECT_EQ(Listing(), before);
}

TEST_F(ProgramTest, OwnershipGuardsObjectsAndNames) {
  ASSERT_TRUE(Apply("web", 1, kWebV1).ok());
  grpc::Status s =
      Control(v1::CONTROL_VERB_REMOVE, v1::CONTROL_KIND_TRIGGER, "busy");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("program \"web\""));
  ASSERT_NE(Find(Objects(), v1::CONTROL_KIND_TRIGGER, "busy"), nullptr);

  // Another program may not take web's names.
  v1::ApplyProgramResponse resp;
  ASSERT_TRUE(Apply("other", 1, R"toml([[multilog]]
name = "flows"
filters = [{ name = "http", expression = "port == 8080" }]
)toml",
                    true, &resp)
                  .ok());
  ASSERT_EQ(resp.errors_size(), 1);
  EXPECT_THAT(resp.errors(0), HasSubstr("owned by program \"web\""));

  // A one-off aggregate on web's filter: web's new version cannot drop the
  // filter under it, and says so in a dry run.
  ASSERT_TRUE(Control(v1::CONTROL_VERB_ADD, v1::CONTROL_KIND_AGGREGATE, "extra",
                      "COUNT()", "tls")
                  .ok());
  const std::string without_tls = R"toml([[multilog]]
name = "flows"
filters = [{ name = "http", expression = "port == 80" }]
)toml";
  ASSERT_TRUE(Apply("web", 2, without_tls, true, &resp).ok());
  ASSERT_GE(resp.errors_size(), 1);
  EXPECT_THAT(resp.errors(0), HasSubstr("aggregate extra"));
  EXPECT_EQ(Apply("web", 2, without_tls).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(Find(Objects(), v1::CONTROL_KIND_FILTER, "tls"), nullptr);
}

TEST_F(ProgramTest, AConfiguredProgramIsNamedAfterItsMultilog) {
  // What agent.cc does at start-up: the section's statements are applied,
  // then registered under ConfiguredProgram.
  Result<std::shared_ptr<Multilog>> ml = registry_->Find("flows");
  ASSERT_TRUE(ml.ok());
  ProgramSection section;
  section.multilog = "flows";
  section.statements = {ControlStatement::AddFilter("http", "port == 80")};
  ASSERT_TRUE(loupe::Apply(**ml, section.statements[0]).ok());
  ASSERT_TRUE(service_->programs()
                  .RegisterInstalled(ConfiguredProgram("flows", section))
                  .ok());
  const v1::ListProgramsResponse list = ListPrograms();
  ASSERT_EQ(list.programs_size(), 1);
  EXPECT_EQ(list.programs(0).name(), "flows");
  EXPECT_EQ(list.programs(0).version(), 1u);
  EXPECT_TRUE(list.programs(0).configured());
  EXPECT_EQ(Find(Objects(), v1::CONTROL_KIND_FILTER, "http")->owner(), "flows");
  // Its version 2 applies over it, keeping the filter.
  const uint64_t from =
      Find(Objects(), v1::CONTROL_KIND_FILTER, "http")->covers_from();
  Append(10);
  ASSERT_TRUE(Apply("flows", 2, R"toml([[multilog]]
name = "flows"
filters = [{ name = "http", expression = "port == 80" },
           { name = "tls", expression = "port == 443" }]
)toml",
                    /*if_version=*/1)
                  .ok());
  EXPECT_EQ(Find(Objects(), v1::CONTROL_KIND_FILTER, "http")->covers_from(),
            from);
}

}  // namespace
}  // namespace loupe::agent
