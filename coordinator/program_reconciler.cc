// ProgramManager's reconciler (coordinator/program_manager.h): the thread
// that watches the pool for agents that came UP, restarted or changed
// labels, and the rounds that bring every UP agent to the desired
// versions.
#include <algorithm>
#include <utility>

#include "agent/log.h"
#include "agent/time_text.h"
#include "coordinator/fleet/fan_out.h"
#include "coordinator/installed_program_text.h"
#include "coordinator/program_calls.h"
#include "coordinator/program_manager.h"
#include "multilog/ascii.h"

namespace loupe::coordinator {
namespace {

using agent::Log;
using agent::LogLevel;
using SystemClock = std::chrono::system_clock;
using program_calls::CallError;
using program_calls::Program;

// How often the reconciler looks at the pool for agents that came UP or
// restarted.
constexpr auto kWatchInterval = std::chrono::milliseconds(250);

}  // namespace

void ProgramManager::ReconcileNow() {
  std::lock_guard<std::mutex> lock(op_mu_);
  SyncAgents();
  const auto start = std::chrono::steady_clock::now();
  Reconcile();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::lock_guard<std::mutex> stats(stats_mu_);
  ++stats_.reconcile_rounds;
  stats_.reconcile_seconds_sum += took;
}

void ProgramManager::Run() {
  std::vector<AgentStatus> last = pool_->Snapshot();
  auto next_round = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(stop_mu_);
      stop_cv_.wait_for(lock, kWatchInterval, [this] { return stopping_; });
      if (stopping_) return;
    }
    std::vector<AgentStatus> now = pool_->Snapshot();
    bool wake = false;
    for (size_t i = 0; i < now.size(); ++i) {
      if (now[i].state != AgentState::kUp) continue;
      if (i >= last.size() || last[i].state != AgentState::kUp) {
        Log(LogLevel::kInfo,
            "agent " + now[i].entry.name + " is UP: checking its programs");
        wake = true;
      } else if (now[i].start_time_ns != last[i].start_time_ns ||
                 now[i].entry.labels != last[i].entry.labels) {
        Log(LogLevel::kInfo,
            "agent " + now[i].entry.name + " restarted: checking its programs");
        wake = true;
      }
    }
    last = std::move(now);
    if (!wake && std::chrono::steady_clock::now() < next_round) continue;
    ReconcileNow();
    next_round = std::chrono::steady_clock::now() + options_.reconcile_interval;
  }
}

void ProgramManager::Reconcile() {
  const std::shared_ptr<const std::vector<AgentEntry>> held = Agents();
  const std::vector<AgentEntry>& agents = *held;
  const std::vector<AgentStatus> status = pool_->Snapshot();
  // 1. Every UP agent's programs; the others are not known now.
  std::vector<size_t> up;
  for (size_t i = 0; i < status.size() && i < agents.size(); ++i) {
    if (status[i].state == AgentState::kUp) up.push_back(i);
  }
  const v1::ListProgramsRequest all;
  auto listed = FanOut<v1::ListProgramsResponse>(
      up.size(), Deadline(SystemClock::time_point::max()),
      [&](size_t k, grpc::ClientContext* ctx, v1::ListProgramsResponse* out,
          std::function<void(grpc::Status)> done) {
        pool_->stub(up[k])->async()->ListPrograms(ctx, &all, out,
                                                  std::move(done));
      });
  const uint64_t now = NowNs();
  std::vector<Seen> seen(agents.size());
  for (size_t i = 0; i < agents.size(); ++i) {
    seen[i].error = "agent is " + std::string(AgentStateName(status[i].state));
  }
  for (size_t k = 0; k < up.size(); ++k) {
    Seen& s = seen[up[k]];
    s.checked_ns = now;
    if (!listed[k].status.ok()) {
      s.error =
          CallError(listed[k].status, agents[up[k]], options_.call_timeout);
      continue;
    }
    s.known = true;
    s.error.clear();
    for (const v1::ProgramInfo& p : listed[k].response.programs()) {
      // An agent's configured programs are its own, never reconciled.
      if (!p.configured()) s.installed[p.name()] = p.version();
    }
  }

  // 2. Each desired program where it differs.
  for (const DesiredProgram& p : store_->List()) {
    Result<std::vector<Target>> targets = TargetsOf(p, agents);
    if (!targets.ok()) {
      Log(LogLevel::kWarn, "reconciling " + Program(p.name, p.version) + ": " +
                               targets.status().message());
      continue;
    }
    struct Fix {
      size_t agent = 0;
      uint64_t have = 0;
      uint64_t want = 0;
    };
    std::vector<Fix> fixes;
    for (size_t a = 0; a < agents.size(); ++a) {
      if (!seen[a].known) continue;
      auto it = seen[a].installed.find(p.name);
      const uint64_t have = it == seen[a].installed.end() ? 0 : it->second;
      const uint64_t want = (*targets)[a].version;
      if (have != want) fixes.push_back({a, have, want});
    }
    if (fixes.empty()) continue;
    std::vector<v1::ApplyProgramRequest> applies(fixes.size());
    std::vector<v1::RemoveProgramRequest> removes(fixes.size());
    for (size_t k = 0; k < fixes.size(); ++k) {
      const Fix& f = fixes[k];
      if (f.want == 0) {
        removes[k].set_name(p.name);
        removes[k].set_if_version(f.have);
        continue;
      }
      applies[k].set_name(p.name);
      applies[k].set_version(f.want);
      applies[k].set_if_version(f.have);
      applies[k].set_rollback(f.have > f.want);
      applies[k].set_program((*targets)[f.agent].text);
      applies[k].set_source(p.source.empty() ? p.name : p.source);
    }
    auto applied = FanOut<v1::ApplyProgramResponse>(
        fixes.size(), Deadline(SystemClock::time_point::max()),
        [&](size_t k, grpc::ClientContext* ctx, v1::ApplyProgramResponse* out,
            std::function<void(grpc::Status)> done) {
          if (fixes[k].want == 0) {
            done(grpc::Status::OK);
            return;
          }
          pool_->stub(fixes[k].agent)
              ->async()
              ->ApplyProgram(ctx, &applies[k], out, std::move(done));
        });
    auto removed = FanOut<v1::RemoveProgramResponse>(
        fixes.size(), Deadline(SystemClock::time_point::max()),
        [&](size_t k, grpc::ClientContext* ctx, v1::RemoveProgramResponse* out,
            std::function<void(grpc::Status)> done) {
          if (fixes[k].want != 0) {
            done(grpc::Status::OK);
            return;
          }
          pool_->stub(fixes[k].agent)
              ->async()
              ->RemoveProgram(ctx, &removes[k], out, std::move(done));
        });
    for (size_t k = 0; k < fixes.size(); ++k) {
      const Fix& f = fixes[k];
      const grpc::Status& s =
          f.want == 0 ? removed[k].status : applied[k].status;
      const std::string change =
          "agent " + agents[f.agent].name + ": program " + Quoted(p.name) +
          " version " + std::to_string(f.have) + " -> " +
          std::to_string(f.want) + (f.want == 0 ? " (removed)" : "");
      {
        std::lock_guard<std::mutex> stats(stats_mu_);
        ++(s.ok() ? stats_.reconcile_fixes : stats_.reconcile_failures);
      }
      if (s.ok()) {
        Log(LogLevel::kInfo, "reconciled " + change);
        if (f.want == 0) {
          seen[f.agent].installed.erase(p.name);
        } else {
          seen[f.agent].installed[p.name] = f.want;
        }
      } else {
        Log(LogLevel::kWarn,
            "reconciling " + change + " failed: " +
                CallError(s, agents[f.agent], options_.call_timeout));
      }
    }
  }
  std::lock_guard<std::mutex> lock(seen_mu_);
  for (size_t i = 0; i < agents.size(); ++i) {
    // An agent not asked this round keeps what was last seen of it, marked
    // as not known now.
    if (seen[i].checked_ns == 0) {
      seen_[i].known = false;
      seen_[i].error = seen[i].error;
      continue;
    }
    seen_[i] = std::move(seen[i]);
  }
}

}  // namespace loupe::coordinator
