// ProgramManager (coordinator/program_manager.h) against three in-process
// agents on loopback (tests/support/loopback_agent.h): the paths the
// process test does not take -- an agent that a new version no longer
// selects loses the program, and keeps it when the apply is rolled back; a
// diff against agents that have the version; a removal refused while an
// agent is away; the reconciler taking a diverged agent back down to the
// desired version; the bounds on names, texts and sources.
#include "coordinator/program_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/agent_pool.h"
#include "coordinator/program_store.h"
#include "tests/support/loopback_agent.h"
#include "tests/support/temp_dir.h"

namespace loupe::coordinator {
namespace {

using namespace std::chrono_literals;
using test_support::LoopbackAgent;
using test_support::TempDir;
using ::testing::HasSubstr;

constexpr char kV1[] = R"toml([[multilog]]
name = "flows"
filters = [{ name = "http", expression = "port == 80" }]
)toml";

// kV2 as one agent gets it (what someone might apply on an agent directly).
constexpr char kV2ForAnAgent[] = R"toml([[multilog]]
name = "flows"
filters = [
  { name = "http", expression = "port == 80" },
  { name = "big", expression = "bytes > 1000" },
]
)toml";

// hv3 is no longer selected.
constexpr char kV2[] = R"toml([[multilog]]
name = "flows"
on = "host=hv[1-2]"
filters = [
  { name = "http", expression = "port == 80" },
  { name = "big", expression = "bytes > 1000" },
]
)toml";

class ProgramManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<AgentEntry> entries;
    for (int i = 0; i < 3; ++i) {
      agents_.push_back(std::make_unique<LoopbackAgent>());
      agents_.back()->Create("flows", "bytes:u32, port:u16");
      AgentEntry e;
      e.name = "hv" + std::to_string(i + 1);
      e.address = agents_.back()->target();
      entries.push_back(e);
    }
    PoolOptions pool_options;
    pool_options.interval = 100ms;
    pool_options.timeout = 100ms;
    pool_options.max_registered = 4;
    pool_ = std::make_unique<AgentPool>(entries, pool_options);
    Result<std::unique_ptr<ProgramStore>> store =
        ProgramStore::Open(dir_.path() + "/state");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  void StartManager(std::chrono::milliseconds pause = 0ms) {
    ProgramManagerOptions options;
    options.call_timeout = 2s;
    options.reconcile_interval = 1h;  // rounds only when a test asks
    options.pause_before_apply = pause;
    manager_ =
        std::make_unique<ProgramManager>(pool_.get(), store_.get(), options);
  }

  void TearDown() override {
    if (manager_ != nullptr) manager_->Stop();
    pool_->Stop();
  }

  v1::FleetApplyProgramResponse Apply(uint64_t version, const char* text,
                                      bool dry_run = false) {
    v1::FleetApplyProgramRequest req;
    req.set_name("web");
    req.set_version(version);
    req.set_program(text);
    req.set_dry_run(dry_run);
    Result<v1::FleetApplyProgramResponse> r =
        manager_->Apply(req, std::chrono::system_clock::time_point::max());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : v1::FleetApplyProgramResponse();
  }

  // The version of "web" on agent i (0: none, -1: unreachable) and the
  // number of its objects.
  std::pair<int64_t, int> On(int i) {
    v1::ListProgramsRequest req;
    req.set_name("web");
    v1::ListProgramsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 2s);
    const grpc::Status s = agents_[i]->stub().ListPrograms(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return {0, 0};
    if (!s.ok() || resp.programs_size() != 1) return {-1, 0};
    return {static_cast<int64_t>(resp.programs(0).version()),
            resp.programs(0).objects_size()};
  }

  static const v1::AgentProgramResult& Of(
      const v1::FleetApplyProgramResponse& r, const std::string& agent) {
    for (const v1::AgentProgramResult& a : r.agents()) {
      if (a.agent() == agent) return a;
    }
    static const v1::AgentProgramResult kNone;
    ADD_FAILURE() << "no result for " << agent << ": " << r.ShortDebugString();
    return kNone;
  }

  void AwaitUp() {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until) {
      bool up = true;
      for (const AgentStatus& a : pool_->Snapshot()) {
        up = up && a.state == AgentState::kUp;
      }
      if (up) return;
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "agents not UP";
  }

  TempDir dir_;
  std::vector<std::unique_ptr<LoopbackAgent>> agents_;
  std::unique_ptr<AgentPool> pool_;
  std::unique_ptr<ProgramStore> store_;
  std::unique_ptr<ProgramManager> manager_;
};

TEST_F(ProgramManagerTest, AnAgentNoLongerSelectedLosesTheProgram) {
  StartManager();
  ASSERT_EQ(Apply(1, kV1).outcome(), v1::FLEET_PROGRAM_APPLIED);
  EXPECT_EQ(On(2).first, 1);
  v1::FleetApplyProgramResponse r = Apply(2, kV2);
  ASSERT_EQ(r.outcome(), v1::FLEET_PROGRAM_APPLIED) << r.ShortDebugString();
  EXPECT_EQ(Of(r, "hv3").action(), v1::AGENT_PROGRAM_ACTION_REMOVE);
  EXPECT_EQ(Of(r, "hv3").state(), v1::AGENT_PROGRAM_APPLIED);
  EXPECT_EQ(Of(r, "hv3").version_after(), 0u);
  EXPECT_EQ(On(0), std::make_pair(int64_t{2}, 2));
  EXPECT_EQ(On(2).first, 0);
  EXPECT_EQ(store_->Find("web")->version, 2u);
}

TEST_F(ProgramManagerTest, ARolledBackApplyLeavesTheDeselectedAgentItsProgram) {
  StartManager(/*pause=*/300ms);
  ASSERT_EQ(Apply(1, kV1).outcome(), v1::FLEET_PROGRAM_APPLIED);
  // hv2 goes away during the pause after the dry run.
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    agents_[1]->Stop();
  });
  v1::FleetApplyProgramResponse r = Apply(2, kV2);
  stopper.join();
  EXPECT_EQ(r.outcome(), v1::FLEET_PROGRAM_ROLLED_BACK) << r.ShortDebugString();
  EXPECT_EQ(Of(r, "hv1").state(), v1::AGENT_PROGRAM_ROLLED_BACK);
  EXPECT_EQ(Of(r, "hv1").version_after(), 1u);
  EXPECT_EQ(Of(r, "hv2").state(), v1::AGENT_PROGRAM_FAILED);
  EXPECT_EQ(Of(r, "hv3").state(), v1::AGENT_PROGRAM_NOT_APPLIED);
  EXPECT_EQ(On(0), std::make_pair(int64_t{1}, 1));
  EXPECT_EQ(On(2), std::make_pair(int64_t{1}, 1));
  EXPECT_EQ(store_->Find("web")->version, 1u);
  EXPECT_THAT(r.summary(), HasSubstr("failed on hv2"));
  EXPECT_THAT(r.summary(), HasSubstr("rolled back hv1"));
}

TEST_F(ProgramManagerTest, DiffShowsWhatTheTextChangesWhereItIsInstalled) {
  StartManager();
  ASSERT_EQ(Apply(1, kV1).outcome(), v1::FLEET_PROGRAM_APPLIED);
  v1::FleetDiffProgramRequest req;
  req.set_name("web");
  req.set_program(kV2);
  Result<v1::FleetApplyProgramResponse> r =
      manager_->Diff(req, std::chrono::system_clock::time_point::max());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome(), v1::FLEET_PROGRAM_CHECKED) << r->ShortDebugString();
  EXPECT_EQ(r->version(), 2u);  // the desired version + 1
  int added = 0, kept = 0;
  for (const v1::ProgramChange& c : Of(*r, "hv1").changes()) {
    added += c.action() == v1::PROGRAM_ACTION_ADD;
    kept += c.action() == v1::PROGRAM_ACTION_KEEP;
  }
  EXPECT_EQ(added, 1);
  EXPECT_EQ(kept, 1);
  EXPECT_EQ(Of(*r, "hv3").changes_size(), 1);
  EXPECT_EQ(Of(*r, "hv3").changes(0).action(), v1::PROGRAM_ACTION_REMOVE);
  EXPECT_EQ(On(0).first, 1);  // nothing changed
  EXPECT_EQ(On(2).first, 1);
}

TEST_F(ProgramManagerTest, RemovalIsRefusedWhileAnAgentIsAway) {
  StartManager();
  ASSERT_EQ(Apply(1, kV1).outcome(), v1::FLEET_PROGRAM_APPLIED);
  agents_[2]->Stop();
  v1::FleetRemoveProgramRequest req;
  req.set_name("web");
  Result<v1::FleetApplyProgramResponse> r =
      manager_->Remove(req, std::chrono::system_clock::time_point::max());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome(), v1::FLEET_PROGRAM_REFUSED);
  EXPECT_EQ(Of(*r, "hv3").state(), v1::AGENT_PROGRAM_UNREACHABLE);
  EXPECT_EQ(On(0).first, 1);
  EXPECT_TRUE(store_->Find("web").has_value());
  // A stale if_version, an unknown name.
  req.set_if_version(7);
  EXPECT_EQ(manager_->Remove(req, std::chrono::system_clock::time_point::max())
                .status()
                .code(),
            Status::Code::kFailedPrecondition);
  req.clear_if_version();
  req.set_name("nope");
  EXPECT_THAT(
      manager_->Remove(req, std::chrono::system_clock::time_point::max())
          .status()
          .message(),
      HasSubstr("no desired program named \"nope\" (desired: web)"));
  // /metrics' counts: calls refused on their arguments are not operations.
  const ProgramStats stats = manager_->stats();
  EXPECT_EQ(stats.outcomes.at("APPLIED"), 1u);
  EXPECT_EQ(stats.outcomes.at("REFUSED"), 1u);
  EXPECT_EQ(stats.operations, 2u);
  EXPECT_GT(stats.operation_seconds_sum, 0.0);
}

// An agent that registers after the apply: the reconciler sees it come UP
// and installs what its labels select.
TEST_F(ProgramManagerTest, AnAgentThatRegistersLaterGetsItsPrograms) {
  StartManager();
  AwaitUp();
  ASSERT_EQ(Apply(1, kV1).outcome(), v1::FLEET_PROGRAM_APPLIED);
  agents_.push_back(std::make_unique<LoopbackAgent>("hv4"));
  agents_.back()->Create("flows", "bytes:u32, port:u16");
  Registration r;
  r.entry.name = "hv4";
  r.entry.address = agents_.back()->target();
  r.start_time_ns = 42;
  Result<RegisterOutcome> joined = pool_->Register(r);
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_TRUE(joined->added);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (On(3).first != 1 && std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(pool_->Heartbeat("hv4", 42).ok());
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(On(3), std::make_pair(int64_t{1}, 1));
  EXPECT_GE(manager_->stats().reconcile_fixes, 1u);
  v1::AgentInfo info;
  manager_->FillAgentInfo("hv4", &info);
  ASSERT_EQ(info.programs_size(), 1) << info.ShortDebugString();
  EXPECT_EQ(info.programs(0).desired_version(), 1u);
}

TEST_F(ProgramManagerTest, TheReconcilerTakesADivergedAgentBackToTheDesired) {
  StartManager();
  AwaitUp();
  ASSERT_EQ(Apply(1, kV1).outcome(), v1::FLEET_PROGRAM_APPLIED);
  // Someone applies version 5 on hv1 directly, and removes it on hv2.
  v1::ApplyProgramRequest direct;
  direct.set_name("web");
  direct.set_version(5);
  direct.set_program(kV2ForAnAgent);
  v1::ApplyProgramResponse ignored;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(agents_[0]->stub().ApplyProgram(&ctx, direct, &ignored).ok());
  }
  {
    v1::RemoveProgramRequest remove;
    remove.set_name("web");
    v1::RemoveProgramResponse removed;
    grpc::ClientContext ctx;
    ASSERT_TRUE(agents_[1]->stub().RemoveProgram(&ctx, remove, &removed).ok());
  }
  ASSERT_EQ(On(0), std::make_pair(int64_t{5}, 2));
  manager_->ReconcileNow();
  EXPECT_EQ(On(0), std::make_pair(int64_t{1}, 1));
  EXPECT_EQ(On(1), std::make_pair(int64_t{1}, 1));
  v1::AgentInfo info;
  manager_->FillAgentInfo("hv1", &info);
  EXPECT_TRUE(info.programs_in_sync()) << info.ShortDebugString();
  ASSERT_EQ(info.programs_size(), 1);
  EXPECT_EQ(info.programs(0).installed_version(), 1u);
  EXPECT_GT(info.programs_checked_ns(), 0u);
  EXPECT_EQ(manager_->stats().reconcile_fixes, 2u);
  EXPECT_GE(manager_->stats().reconcile_rounds, 1u);
}

TEST_F(ProgramManagerTest, BadArgumentsAreRefusedBeforeAnyAgentIsAsked) {
  StartManager();
  auto code = [&](const std::string& name, uint64_t version,
                  const std::string& text, const std::string& source = "") {
    v1::FleetApplyProgramRequest req;
    req.set_name(name);
    req.set_version(version);
    req.set_program(text);
    req.set_source(source);
    return manager_->Apply(req, std::chrono::system_clock::time_point::max())
        .status();
  };
  EXPECT_THAT(code("a.b", 1, kV1).message(), HasSubstr("program name"));
  EXPECT_EQ(code("web", 0, kV1).code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(code("web", 1, "").message(), HasSubstr("program is empty"));
  EXPECT_THAT(code("web", 1, std::string((1 << 20) + 1, '#')).message(),
              HasSubstr("at most 1048576"));
  EXPECT_THAT(code("web", 1, kV1, "two\nlines").message(),
              HasSubstr("source must be one line"));
  const Status typo = code(
      "web", 1, "[[multilog]]\nname = \"flows\"\non = \"rak=1\"\n", "web.toml");
  EXPECT_EQ(typo.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(typo.message(), HasSubstr("web.toml:3: multilog[0].on: no agent "
                                        "has a label \"rak\""));
  EXPECT_EQ(On(0).first, 0);
}

}  // namespace
}  // namespace loupe::coordinator
