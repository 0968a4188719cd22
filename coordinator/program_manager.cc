#include "coordinator/program_manager.h"

#include <algorithm>
#include <utility>

#include "agent/client/agent_client.h"
#include "agent/log.h"
#include "agent/program_file.h"
#include "agent/time_text.h"
#include "coordinator/fleet/fan_out.h"
#include "coordinator/installed_program_text.h"
#include "coordinator/program_calls.h"
#include "coordinator/program_plan.h"
#include "coordinator/service.h"
#include "multilog/ascii.h"

namespace loupe::coordinator {
namespace {

using agent::Log;
using agent::LogLevel;
using SystemClock = std::chrono::system_clock;

// Whether a program has `on = "network"` sections: then it may select no
// agent (its triggers are the coordinator's own).
bool HasNetworkSections(const std::string& text, const std::string& source) {
  Result<ProgramPlan> plan = ParseProgramPlan(text, source);
  if (!plan.ok()) return false;
  return std::any_of(plan->sections.begin(), plan->sections.end(),
                     [](const PlanSection& s) { return s.network; });
}

std::vector<AgentEntry> EntriesOf(const AgentPool* pool) {
  std::vector<AgentEntry> out;
  for (const AgentStatus& a : pool->Snapshot()) out.push_back(a.entry);
  return out;
}

// An answer that was lost: the call may or may not have been carried out.
bool AnswerLost(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::CANCELLED;
}

using program_calls::CallError;
using program_calls::Program;

std::string NameList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void AddRemovals(const v1::ProgramInfo& listed,
                 google::protobuf::RepeatedPtrField<v1::ProgramChange>* out) {
  for (const v1::ProgramChange& c : listed.objects()) {
    v1::ProgramChange* r = out->Add();
    *r = c;
    r->set_action(v1::PROGRAM_ACTION_REMOVE);
  }
}

// The name, text and source of an apply or diff.
Status CheckProgramArguments(const std::string& name, const std::string& text,
                             const std::string& source) {
  if (Status s = agent::CheckName(name); !s.ok()) {
    return s.Annotate("program name");
  }
  if (text.empty()) {
    return Status::InvalidArgument(
        "program is empty; send the program file's TOML text");
  }
  if (text.size() > kMaxPlanTextBytes) {
    return Status::InvalidArgument("program is " + std::to_string(text.size()) +
                                   " bytes; at most " +
                                   std::to_string(kMaxPlanTextBytes));
  }
  if (source.size() > kMaxProgramSourceBytes ||
      source.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("source must be one line of at most " +
                                   std::to_string(kMaxProgramSourceBytes) +
                                   " bytes");
  }
  return Status::Ok();
}

// One agent's part in an operation.
struct Work {
  size_t agent = 0;
  v1::AgentProgramResult* result = nullptr;
  bool install = true;  // else: it loses the program
  std::string text;
  uint64_t version = 0;    // what it is sent
  uint64_t installed = 0;  // what it had (step 1)
  v1::ProgramInfo listed;  // what it had, when installed
  bool maybe = false;      // its apply's answer was lost
};

}  // namespace

ProgramManager::ProgramManager(const AgentPool* pool, ProgramStore* store,
                               ProgramManagerOptions options)
    : pool_(pool),
      store_(store),
      options_(options),
      agents_(std::make_shared<const std::vector<AgentEntry>>(EntriesOf(pool))),
      seen_(agents_->size()) {
  reconciler_ = std::thread([this] { Run(); });
}

ProgramManager::~ProgramManager() { Stop(); }

void ProgramManager::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (reconciler_.joinable()) reconciler_.join();
}

std::shared_ptr<const std::vector<AgentEntry>> ProgramManager::Agents() const {
  std::lock_guard<std::mutex> lock(seen_mu_);
  return agents_;
}

void ProgramManager::SyncAgents() {
  std::vector<AgentEntry> now = EntriesOf(pool_);
  std::lock_guard<std::mutex> lock(seen_mu_);
  const std::vector<AgentEntry>& was = *agents_;
  bool same = now.size() == was.size();
  for (size_t i = 0; same && i < now.size(); ++i) {
    same = now[i].address == was[i].address && now[i].labels == was[i].labels;
  }
  if (same) return;
  // Appended only: an index stays its agent's.
  agents_ = std::make_shared<const std::vector<AgentEntry>>(std::move(now));
  seen_.resize(agents_->size());
  desired_cache_.clear();
}

SystemClock::time_point ProgramManager::Deadline(
    SystemClock::time_point limit) const {
  const auto own = SystemClock::now() + options_.call_timeout;
  return std::min(own, limit);
}

Result<std::vector<ProgramManager::Target>> ProgramManager::TargetsOf(
    const DesiredProgram& program,
    const std::vector<AgentEntry>& agents) const {
  Result<ProgramPlan> plan = ParseProgramPlan(
      program.text, program.source.empty() ? program.name : program.source);
  if (!plan.ok()) return plan.status();
  Result<std::vector<AgentProgram>> assigned = AssignPlan(*plan, agents);
  if (!assigned.ok()) return assigned.status();
  std::vector<Target> out(agents.size());
  for (AgentProgram& a : *assigned) {
    out[a.agent].version = program.version;
    out[a.agent].text = std::move(a.text);
    for (size_t s : a.sections) {
      out[a.agent].sections.push_back(static_cast<uint32_t>(s));
    }
  }
  return out;
}

// --- Apply, dry run, diff, remove -------------------------------------------

Result<v1::FleetApplyProgramResponse> ProgramManager::Apply(
    const v1::FleetApplyProgramRequest& request,
    SystemClock::time_point deadline) {
  if (Status s = CheckProgramArguments(request.name(), request.program(),
                                       request.source());
      !s.ok()) {
    return s;
  }
  if (request.version() == 0) {
    return Status::InvalidArgument("version is 0; versions start at 1");
  }
  std::lock_guard<std::mutex> lock(op_mu_);
  SyncAgents();
  const std::optional<DesiredProgram> desired = store_->Find(request.name());
  const uint64_t current = desired.has_value() ? desired->version : 0;
  if (request.has_if_version() && request.if_version() != current) {
    return Status::FailedPrecondition(
        "program " + Quoted(request.name()) +
        (current == 0 ? " is not desired"
                      : " is desired at version " + std::to_string(current)) +
        ", not if_version " + std::to_string(request.if_version()) +
        "; someone else changed it: list it and retry");
  }
  if (request.version() < current) {
    return Status::FailedPrecondition(
        Program(request.name(), request.version()) +
        " is older than the desired version " + std::to_string(current) +
        "; a new version must be greater");
  }
  if (!desired.has_value() && store_->List().size() >= kMaxDesiredPrograms) {
    return Status::ResourceExhausted(
        "the coordinator has " + std::to_string(kMaxDesiredPrograms) +
        " desired programs, the most it keeps; remove one first");
  }
  if (desired.has_value() && request.version() == current &&
      request.program() != desired->text) {
    return Status::FailedPrecondition(
        Program(request.name(), request.version()) +
        " is already desired with another text; give the new text a "
        "greater version");
  }
  const auto start = std::chrono::steady_clock::now();
  Result<v1::FleetApplyProgramResponse> r = ApplyLocked(
      request.name(), request.version(), request.program(), request.source(),
      request.dry_run(), /*diff=*/false, deadline);
  Count(r, start);
  return r;
}

Result<v1::FleetApplyProgramResponse> ProgramManager::Diff(
    const v1::FleetDiffProgramRequest& request,
    SystemClock::time_point deadline) {
  if (Status s = CheckProgramArguments(request.name(), request.program(),
                                       request.source());
      !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(op_mu_);
  SyncAgents();
  uint64_t version = request.version();
  if (version == 0) {
    const std::optional<DesiredProgram> desired = store_->Find(request.name());
    version = desired.has_value() ? desired->version + 1 : 1;
  }
  const auto start = std::chrono::steady_clock::now();
  Result<v1::FleetApplyProgramResponse> r =
      ApplyLocked(request.name(), version, request.program(), request.source(),
                  /*dry_run=*/true, /*diff=*/true, deadline);
  Count(r, start);
  return r;
}

Result<v1::FleetApplyProgramResponse> ProgramManager::Remove(
    const v1::FleetRemoveProgramRequest& request,
    SystemClock::time_point deadline) {
  if (Status s = agent::CheckName(request.name()); !s.ok()) {
    return s.Annotate("program name");
  }
  std::lock_guard<std::mutex> lock(op_mu_);
  SyncAgents();
  const std::optional<DesiredProgram> desired = store_->Find(request.name());
  if (!desired.has_value()) {
    std::vector<std::string> names;
    for (const DesiredProgram& p : store_->List()) names.push_back(p.name);
    return Status::NotFound(
        "no desired program named " + Quoted(request.name()) +
        " (desired: " + (names.empty() ? "none" : NameList(names)) + ")");
  }
  if (request.has_if_version() && request.if_version() != desired->version) {
    return Status::FailedPrecondition(
        "program " + Quoted(request.name()) + " is desired at version " +
        std::to_string(desired->version) + ", not if_version " +
        std::to_string(request.if_version()) +
        "; someone else changed it: list it and retry");
  }
  // An empty text: no agent is selected, every agent that had it loses it.
  const auto start = std::chrono::steady_clock::now();
  Result<v1::FleetApplyProgramResponse> r =
      ApplyLocked(request.name(), desired->version, "", "",
                  /*dry_run=*/false, /*diff=*/false, deadline);
  Count(r, start);
  return r;
}

Result<v1::FleetApplyProgramResponse> ProgramManager::ApplyLocked(
    const std::string& name, uint64_t version, const std::string& text,
    const std::string& source, bool dry_run, bool diff,
    SystemClock::time_point limit) {
  const std::shared_ptr<const std::vector<AgentEntry>> held = Agents();
  const std::vector<AgentEntry>& agents = *held;
  const bool removing = text.empty();
  const std::string what = Program(name, version);
  std::vector<Target> targets(agents.size());
  if (!removing) {
    DesiredProgram next{name, version, source, text, 0};
    Result<std::vector<Target>> t = TargetsOf(next, agents);
    if (!t.ok()) return t.status();
    targets = std::move(*t);
  }
  std::vector<Target> before(agents.size());
  const std::optional<DesiredProgram> desired = store_->Find(name);
  if (desired.has_value()) {
    Result<std::vector<Target>> t = TargetsOf(*desired, agents);
    if (t.ok()) {
      before = std::move(*t);
    } else {
      Log(LogLevel::kWarn, "desired " + Program(name, desired->version) +
                               " no longer resolves over the agents (" +
                               t.status().message() +
                               "); its agents are not changed by this call");
    }
  }

  v1::FleetApplyProgramResponse response;
  response.set_name(name);
  response.set_version(version);
  response.set_desired_version_before(desired.has_value() ? desired->version
                                                          : 0);
  std::vector<Work> work;
  for (size_t a = 0; a < agents.size(); ++a) {
    const bool install = targets[a].version != 0;
    if (!install && before[a].version == 0) continue;
    Work w;
    w.agent = a;
    w.install = install;
    w.text = targets[a].text;
    w.version = version;
    work.push_back(std::move(w));
  }
  for (Work& w : work) {
    w.result = response.add_agents();
    w.result->set_agent(agents[w.agent].name);
    w.result->set_address(agents[w.agent].address);
    w.result->set_action(w.install ? v1::AGENT_PROGRAM_ACTION_INSTALL
                                   : v1::AGENT_PROGRAM_ACTION_REMOVE);
    for (uint32_t s : targets[w.agent].sections) w.result->add_sections(s);
  }
  const auto timeout = options_.call_timeout;

  // 1. What each agent has now.
  v1::ListProgramsRequest list_request;
  list_request.set_name(name);
  auto listed = FanOut<v1::ListProgramsResponse>(
      work.size(), Deadline(limit),
      [&](size_t i, grpc::ClientContext* ctx, v1::ListProgramsResponse* out,
          std::function<void(grpc::Status)> done) {
        pool_->stub(work[i].agent)
            ->async()
            ->ListPrograms(ctx, &list_request, out, std::move(done));
      });
  std::vector<std::string> problems;  // "hv3: 2 problems"
  for (size_t i = 0; i < work.size(); ++i) {
    Work& w = work[i];
    const grpc::Status& s = listed[i].status;
    if (s.ok() && listed[i].response.programs_size() == 1) {
      w.listed = listed[i].response.programs(0);
      w.installed = w.listed.version();
    } else if (s.error_code() != grpc::StatusCode::NOT_FOUND) {
      w.result->set_state(v1::AGENT_PROGRAM_UNREACHABLE);
      w.result->add_errors(s.ok() ? "ListPrograms answered no program"
                                  : CallError(s, agents[w.agent], timeout));
      problems.push_back(agents[w.agent].name + ": unreachable");
    }
    w.result->set_installed_version(w.installed);
    w.result->set_version_after(w.installed);
    // A diff shows an agent that already has this version (or a newer
    // one) what the text would change: it asks with the next version.
    if (diff && w.installed >= w.version) w.version = w.installed + 1;
  }

  // 2. The dry runs; agents that lose the program only need to be there.
  std::vector<size_t> checks;
  for (size_t i = 0; i < work.size(); ++i) {
    if (work[i].result->state() == v1::AGENT_PROGRAM_UNREACHABLE) continue;
    if (!work[i].install) {
      if (work[i].installed == 0) {
        work[i].result->set_state(v1::AGENT_PROGRAM_UNCHANGED);
      } else {
        work[i].result->set_state(v1::AGENT_PROGRAM_CHECKED);
        AddRemovals(work[i].listed, work[i].result->mutable_changes());
      }
      continue;
    }
    checks.push_back(i);
  }
  std::vector<v1::ApplyProgramRequest> dry(checks.size());
  for (size_t k = 0; k < checks.size(); ++k) {
    const Work& w = work[checks[k]];
    dry[k].set_name(name);
    dry[k].set_version(w.version);
    dry[k].set_if_version(w.installed);
    dry[k].set_program(w.text);
    dry[k].set_dry_run(true);
    dry[k].set_source(source.empty() ? name : source);
  }
  auto checked = FanOut<v1::ApplyProgramResponse>(
      checks.size(), Deadline(limit),
      [&](size_t k, grpc::ClientContext* ctx, v1::ApplyProgramResponse* out,
          std::function<void(grpc::Status)> done) {
        pool_->stub(work[checks[k]].agent)
            ->async()
            ->ApplyProgram(ctx, &dry[k], out, std::move(done));
      });
  for (size_t k = 0; k < checks.size(); ++k) {
    Work& w = work[checks[k]];
    const grpc::Status& s = checked[k].status;
    const v1::ApplyProgramResponse& r = checked[k].response;
    if (s.ok() && r.errors_size() == 0) {
      w.result->set_state(v1::AGENT_PROGRAM_CHECKED);
      *w.result->mutable_changes() = r.changes();
    } else if (s.ok()) {
      w.result->set_state(v1::AGENT_PROGRAM_REFUSED);
      *w.result->mutable_errors() = r.errors();
      problems.push_back(agents[w.agent].name + ": " +
                         std::to_string(r.errors_size()) +
                         (r.errors_size() == 1 ? " problem" : " problems"));
    } else if (AnswerLost(s)) {
      w.result->set_state(v1::AGENT_PROGRAM_UNREACHABLE);
      w.result->add_errors(CallError(s, agents[w.agent], timeout));
      problems.push_back(agents[w.agent].name + ": unreachable");
    } else {
      w.result->set_state(v1::AGENT_PROGRAM_REFUSED);
      w.result->add_errors(CallError(s, agents[w.agent], timeout));
      problems.push_back(agents[w.agent].name + ": refused");
    }
  }
  if (work.empty() && !removing && !HasNetworkSections(text, source)) {
    return Status::InvalidArgument(what + " selects no agent");
  }
  if (!problems.empty()) {
    response.set_outcome(v1::FLEET_PROGRAM_REFUSED);
    response.set_summary(
        (dry_run ? "would be refused" : "refused, nothing changed") +
        std::string(": ") + NameList(problems));
    if (!dry_run) Log(LogLevel::kWarn, what + " " + response.summary());
    return response;
  }
  if (dry_run) {
    response.set_outcome(v1::FLEET_PROGRAM_CHECKED);
    response.set_summary("every agent would apply it (" +
                         std::to_string(work.size()) + " agents)");
    return response;
  }

  // 3. Apply everywhere; removals once every apply went through. From
  // here on the calls have their own deadlines, whatever the caller's:
  // an apply is finished or undone, never left half done.
  if (SystemClock::now() >= limit) {
    response.set_outcome(v1::FLEET_PROGRAM_REFUSED);
    response.set_summary(
        "the call's deadline passed after the dry run; nothing changed");
    return response;
  }
  Log(LogLevel::kInfo, what + (removing ? " removal" : "") + ": checked on " +
                           std::to_string(work.size()) + " agents; applying");
  if (options_.pause_before_apply.count() > 0) {
    Log(LogLevel::kInfo,
        "pausing " + std::to_string(options_.pause_before_apply.count()) +
            "ms before applying (test seam)");
    std::this_thread::sleep_for(options_.pause_before_apply);
  }
  std::vector<size_t> installs, removals;
  for (size_t i = 0; i < work.size(); ++i) {
    if (work[i].result->state() != v1::AGENT_PROGRAM_CHECKED) continue;
    (work[i].install ? installs : removals).push_back(i);
  }
  std::vector<v1::ApplyProgramRequest> applies(installs.size());
  for (size_t k = 0; k < installs.size(); ++k) {
    applies[k] = dry[std::find(checks.begin(), checks.end(), installs[k]) -
                     checks.begin()];
    applies[k].set_dry_run(false);
  }
  bool failed = false;
  std::vector<std::string> failures;  // "hv3 (why)"
  // The version each agent is known to have after the call.
  auto work_versions = [&] {
    std::vector<std::pair<size_t, uint64_t>> out;
    for (const Work& w : work) {
      const v1::AgentProgramState st = w.result->state();
      if (st == v1::AGENT_PROGRAM_APPLIED ||
          st == v1::AGENT_PROGRAM_UNCHANGED ||
          st == v1::AGENT_PROGRAM_ROLLED_BACK ||
          st == v1::AGENT_PROGRAM_NOT_APPLIED) {
        out.emplace_back(w.agent, w.result->version_after());
      }
    }
    return out;
  };
  const auto own = SystemClock::time_point::max();
  auto applied = FanOut<v1::ApplyProgramResponse>(
      installs.size(), Deadline(own),
      [&](size_t k, grpc::ClientContext* ctx, v1::ApplyProgramResponse* out,
          std::function<void(grpc::Status)> done) {
        pool_->stub(work[installs[k]].agent)
            ->async()
            ->ApplyProgram(ctx, &applies[k], out, std::move(done));
      });
  for (size_t k = 0; k < installs.size(); ++k) {
    Work& w = work[installs[k]];
    const grpc::Status& s = applied[k].status;
    w.result->clear_changes();
    if (s.ok()) {
      w.result->set_state(applied[k].response.applied()
                              ? v1::AGENT_PROGRAM_APPLIED
                              : v1::AGENT_PROGRAM_UNCHANGED);
      w.result->set_version_after(version);
      *w.result->mutable_changes() = applied[k].response.changes();
    } else {
      failed = true;
      w.maybe = AnswerLost(s);
      w.result->set_state(v1::AGENT_PROGRAM_FAILED);
      const std::string error = CallError(s, agents[w.agent], timeout);
      w.result->add_errors(error);
      failures.push_back(agents[w.agent].name + " (" + error + ")");
    }
  }
  std::vector<v1::RemoveProgramRequest> removes(removals.size());
  for (size_t k = 0; k < removals.size(); ++k) {
    removes[k].set_name(name);
    removes[k].set_if_version(work[removals[k]].installed);
  }
  if (failed) {
    for (size_t i : removals) {
      work[i].result->set_state(v1::AGENT_PROGRAM_NOT_APPLIED);
    }
  } else {
    auto removed = FanOut<v1::RemoveProgramResponse>(
        removals.size(), Deadline(own),
        [&](size_t k, grpc::ClientContext* ctx, v1::RemoveProgramResponse* out,
            std::function<void(grpc::Status)> done) {
          pool_->stub(work[removals[k]].agent)
              ->async()
              ->RemoveProgram(ctx, &removes[k], out, std::move(done));
        });
    for (size_t k = 0; k < removals.size(); ++k) {
      Work& w = work[removals[k]];
      const grpc::Status& s = removed[k].status;
      if (s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) {
        w.result->set_state(v1::AGENT_PROGRAM_APPLIED);
        w.result->set_version_after(0);
      } else {
        failed = true;
        w.maybe = AnswerLost(s);
        w.result->set_state(v1::AGENT_PROGRAM_FAILED);
        const std::string error = CallError(s, agents[w.agent], timeout);
        w.result->add_errors(error);
        failures.push_back(agents[w.agent].name + " (" + error + ")");
      }
    }
  }
  if (!failed) {
    const Status saved =
        removing ? store_->Erase(name)
                 : store_->Put({name, version, source, text, NowNs()});
    if (saved.ok()) {
      std::vector<std::string> names;
      for (const Work& w : work) names.push_back(agents[w.agent].name);
      RecordVersions(name, work_versions());
      response.set_outcome(v1::FLEET_PROGRAM_APPLIED);
      response.set_summary(
          std::string(removing ? "removed from " : "applied on ") +
          std::to_string(work.size()) + " agents (" + NameList(names) + ")");
      Log(LogLevel::kInfo, what + " " + response.summary());
      return response;
    }
    failed = true;
    failures.push_back("the desired state could not be saved (" +
                       saved.message() + ")");
    Log(LogLevel::kError, what + ": " + saved.message() + "; rolling back");
  }

  // 4. Put back every agent that applied, or may have.
  struct Undo {
    size_t work = 0;
    bool remove = false;  // RemoveProgram; else ApplyProgram of `listed`
  };
  std::vector<Undo> undos;
  for (size_t i = 0; i < work.size(); ++i) {
    const Work& w = work[i];
    const v1::AgentProgramState st = w.result->state();
    const bool changed = st == v1::AGENT_PROGRAM_APPLIED || w.maybe;
    if (st == v1::AGENT_PROGRAM_CHECKED) {
      work[i].result->set_state(v1::AGENT_PROGRAM_NOT_APPLIED);
    }
    if (!changed) continue;
    undos.push_back({i, w.install && w.installed == 0});
  }
  std::vector<v1::ApplyProgramRequest> reapply(undos.size());
  std::vector<v1::RemoveProgramRequest> unremove(undos.size());
  for (size_t k = 0; k < undos.size(); ++k) {
    const Work& w = work[undos[k].work];
    if (undos[k].remove) {
      unremove[k].set_name(name);
      unremove[k].set_if_version(version);
    } else {
      reapply[k].set_name(name);
      reapply[k].set_version(w.installed);
      reapply[k].set_program(InstalledProgramText(w.listed));
      reapply[k].set_source("rollback of " + name);
      if (w.install) {
        reapply[k].set_if_version(version);
        reapply[k].set_rollback(true);
      } else {
        reapply[k].set_if_version(0);
      }
    }
  }
  auto reapplied = FanOut<v1::ApplyProgramResponse>(
      undos.size(), Deadline(own),
      [&](size_t k, grpc::ClientContext* ctx, v1::ApplyProgramResponse* out,
          std::function<void(grpc::Status)> done) {
        if (undos[k].remove) {
          done(grpc::Status::OK);  // the second round does it
          return;
        }
        pool_->stub(work[undos[k].work].agent)
            ->async()
            ->ApplyProgram(ctx, &reapply[k], out, std::move(done));
      });
  auto unremoved = FanOut<v1::RemoveProgramResponse>(
      undos.size(), Deadline(own),
      [&](size_t k, grpc::ClientContext* ctx, v1::RemoveProgramResponse* out,
          std::function<void(grpc::Status)> done) {
        if (!undos[k].remove) {
          done(grpc::Status::OK);
          return;
        }
        pool_->stub(work[undos[k].work].agent)
            ->async()
            ->RemoveProgram(ctx, &unremove[k], out, std::move(done));
      });
  bool rollback_failed = false;
  std::vector<std::string> rolled_back;
  for (size_t k = 0; k < undos.size(); ++k) {
    Work& w = work[undos[k].work];
    const grpc::Status& s =
        undos[k].remove ? unremoved[k].status : reapplied[k].status;
    if (s.ok()) {
      w.result->set_state(v1::AGENT_PROGRAM_ROLLED_BACK);
      w.result->set_version_after(w.installed);
      rolled_back.push_back(agents[w.agent].name);
      continue;
    }
    const std::string error = CallError(s, agents[w.agent], timeout);
    if (w.maybe && (AnswerLost(s) ||
                    s.error_code() == grpc::StatusCode::FAILED_PRECONDITION)) {
      // It did not take the new version (or is gone, having lost it with
      // its state): nothing to undo; the reconciler checks it again.
      w.result->add_errors("not rolled back: " + error);
      continue;
    }
    rollback_failed = true;
    w.result->set_state(v1::AGENT_PROGRAM_ROLLBACK_FAILED);
    w.result->add_errors("rolling back: " + error);
  }
  RecordVersions(name, work_versions());
  response.set_outcome(rollback_failed ? v1::FLEET_PROGRAM_ROLLBACK_FAILED
                                       : v1::FLEET_PROGRAM_ROLLED_BACK);
  response.set_summary(
      "failed on " + NameList(failures) + "; " +
      (rolled_back.empty() ? std::string("no agent had applied it")
                           : "rolled back " + NameList(rolled_back)) +
      (rollback_failed ? "; some rollbacks failed (the reconciler retries)"
                       : ""));
  Log(LogLevel::kWarn, what + " " + response.summary());
  return response;
}

void ProgramManager::RecordVersions(
    const std::string& program,
    const std::vector<std::pair<size_t, uint64_t>>& versions) {
  std::lock_guard<std::mutex> lock(seen_mu_);
  for (const auto& [agent, version] : versions) {
    if (version == 0) {
      seen_[agent].installed.erase(program);
    } else {
      seen_[agent].installed[program] = version;
    }
  }
}

std::vector<uint64_t> ProgramManager::DesiredVersions(
    const DesiredProgram& program) const {
  const std::shared_ptr<const std::vector<AgentEntry>> held = Agents();
  const std::vector<AgentEntry>& agents = *held;
  {
    std::lock_guard<std::mutex> lock(seen_mu_);
    auto it = desired_cache_.find(program.name);
    if (it != desired_cache_.end() && it->second.version == program.version &&
        it->second.agents == held) {
      return it->second.versions;
    }
  }
  std::vector<uint64_t> out(agents.size(), program.version);
  if (Result<std::vector<Target>> targets = TargetsOf(program, agents);
      targets.ok()) {
    for (size_t a = 0; a < agents.size(); ++a) {
      out[a] = (*targets)[a].version;
    }
  }
  std::lock_guard<std::mutex> lock(seen_mu_);
  // Computed for an older set of agents: not kept.
  if (held == agents_) {
    desired_cache_[program.name] =
        DesiredCacheEntry{program.version, held, out};
  }
  return out;
}

// --- Listing -----------------------------------------------------------------

Result<v1::FleetListProgramsResponse> ProgramManager::List(
    const v1::FleetListProgramsRequest& request,
    SystemClock::time_point deadline) {
  const std::shared_ptr<const std::vector<AgentEntry>> held = Agents();
  const std::vector<AgentEntry>& agents = *held;
  Result<std::vector<AgentStatus>> selected =
      SelectAgents(pool_->Snapshot(), request.selector());
  if (!selected.ok()) return selected.status();
  std::vector<size_t> index;
  for (const AgentStatus& a : *selected) {
    for (size_t i = 0; i < agents.size(); ++i) {
      if (agents[i].name == a.entry.name) index.push_back(i);
    }
  }
  std::vector<DesiredProgram> programs = store_->List();
  if (!request.name().empty()) {
    std::erase_if(programs, [&](const DesiredProgram& p) {
      return p.name != request.name();
    });
    if (programs.empty()) {
      return Status::NotFound("no desired program named " +
                              Quoted(request.name()));
    }
  }
  const v1::ListProgramsRequest all;
  auto listed = FanOut<v1::ListProgramsResponse>(
      index.size(), Deadline(deadline),
      [&](size_t i, grpc::ClientContext* ctx, v1::ListProgramsResponse* out,
          std::function<void(grpc::Status)> done) {
        pool_->stub(index[i])->async()->ListPrograms(ctx, &all, out,
                                                     std::move(done));
      });
  v1::FleetListProgramsResponse response;
  for (const DesiredProgram& p : programs) {
    v1::FleetProgramInfo* info = response.add_programs();
    info->set_name(p.name);
    info->set_version(p.version);
    info->set_source(p.source);
    info->set_updated_time_ns(p.updated_ns);
    if (request.with_text()) info->set_program(p.text);
    Result<std::vector<Target>> targets = TargetsOf(p, agents);
    if (Result<ProgramPlan> plan = ParseProgramPlan(p.text, p.name);
        plan.ok()) {
      info->set_sections(static_cast<uint32_t>(plan->sections.size()));
    }
    bool all_in_sync = true;
    for (size_t i = 0; i < index.size(); ++i) {
      v1::AgentProgramVersion* v = info->add_agents();
      v->set_agent(agents[index[i]].name);
      v->set_program(p.name);
      const uint64_t want =
          targets.ok() ? (*targets)[index[i]].version : p.version;
      v->set_desired_version(want);
      if (!targets.ok()) v->set_error(targets.status().message());
      if (!listed[i].status.ok()) {
        v->set_error(CallError(listed[i].status, agents[index[i]],
                               options_.call_timeout));
        all_in_sync = false;
        continue;
      }
      for (const v1::ProgramInfo& installed : listed[i].response.programs()) {
        if (installed.name() == p.name) {
          v->set_installed_version(installed.version());
        }
      }
      v->set_in_sync(targets.ok() && v->installed_version() == want);
      all_in_sync = all_in_sync && v->in_sync();
    }
    info->set_in_sync(all_in_sync);
  }
  return response;
}

void ProgramManager::FillAgentInfo(const std::string& name,
                                   v1::AgentInfo* info) const {
  const std::shared_ptr<const std::vector<AgentEntry>> held = Agents();
  const std::vector<AgentEntry>& agents = *held;
  size_t a = 0;
  while (a < agents.size() && agents[a].name != name) ++a;
  if (a == agents.size()) return;
  Seen seen;
  {
    std::lock_guard<std::mutex> lock(seen_mu_);
    seen = seen_[a];
  }
  info->set_programs_checked_ns(seen.checked_ns);
  bool in_sync = seen.known && seen.error.empty();
  for (const DesiredProgram& p : store_->List()) {
    const uint64_t want = DesiredVersions(p)[a];
    auto it = seen.installed.find(p.name);
    const uint64_t have = it == seen.installed.end() ? 0 : it->second;
    if (want == 0 && have == 0) continue;
    v1::AgentProgramVersion* v = info->add_programs();
    v->set_agent(name);
    v->set_program(p.name);
    v->set_desired_version(want);
    v->set_installed_version(have);
    v->set_in_sync(seen.known && want == have);
    if (!seen.error.empty()) v->set_error(seen.error);
    in_sync = in_sync && v->in_sync();
  }
  info->set_programs_in_sync(in_sync);
}

// --- Counters ----------------------------------------------------------------

void ProgramManager::Count(const Result<v1::FleetApplyProgramResponse>& r,
                           std::chrono::steady_clock::time_point start) {
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::string outcome = "ERROR";  // refused before any agent was asked
  if (r.ok()) {
    outcome = v1::FleetProgramOutcome_Name(r->outcome());
    constexpr std::string_view kPrefix = "FLEET_PROGRAM_";
    if (outcome.starts_with(kPrefix)) outcome.erase(0, kPrefix.size());
  }
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.outcomes[outcome];
  ++stats_.operations;
  stats_.operation_seconds_sum += took;
  stats_.last_operation_seconds = took;
}

ProgramStats ProgramManager::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace loupe::coordinator
