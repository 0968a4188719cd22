#include "coordinator/network_triggers.h"

#include <algorithm>
#include <limits>
#include <set>
#include <tuple>
#include <utility>

#include "agent/client/agent_client.h"
#include "agent/log.h"
#include "agent/program_file.h"
#include "agent/time_text.h"
#include "multilog/atomic_file.h"
#include "multilog/expression.h"
#include "multilog/line_fields.h"

namespace loupe::coordinator {
namespace {

using agent::Log;
using agent::LogLevel;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kHeader = "loupe-network-triggers 1";
// A trigger's firings are logged at most this often.
constexpr auto kFiringLogEvery = std::chrono::seconds(1);

std::string Describe(const grpc::Status& s) {
  return std::string(GrpcCodeName(s.error_code())) + ": " + s.error_message();
}

}  // namespace

std::string NetworkTriggers::FormatState(const State& state) {
  std::string out(kHeader);
  out += "\nincarnation " + std::to_string(state.incarnation) + "\n";
  for (const auto& [multilog, n] : state.next_sequence) {
    out += "sequence " + multilog + " " + std::to_string(n) + "\n";
  }
  for (const auto& [key, end] : state.next_end) {
    out += "window " + key.first + " " + key.second + " " +
           std::to_string(end) + "\n";
  }
  return out;
}

Result<NetworkTriggers::State> NetworkTriggers::ParseState(
    std::string_view text) {
  State state;
  size_t line_no = 0;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("line " + std::to_string(line_no) + ": " +
                                   why);
  };
  bool header = false, incarnation = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    ++line_no;
    if (nl == std::string_view::npos) return bad("no newline (cut short?)");
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (!header) {
      if (line != kHeader)
        return bad("expected \"" + std::string(kHeader) + "\"");
      header = true;
      continue;
    }
    const std::vector<std::string_view> w = SplitWords(line);
    uint64_t n = 0;
    if (w.size() == 2 && w[0] == "incarnation" && ParseDecimal(w[1], &n)) {
      state.incarnation = n;
      incarnation = true;
    } else if (w.size() == 3 && w[0] == "sequence" &&
               agent::CheckName(w[1]).ok() && ParseDecimal(w[2], &n)) {
      state.next_sequence[std::string(w[1])] = n;
    } else if (w.size() == 4 && w[0] == "window" &&
               agent::CheckName(w[1]).ok() && agent::CheckName(w[2]).ok() &&
               ParseDecimal(w[3], &n)) {
      state.next_end[{std::string(w[1]), std::string(w[2])}] = n;
    } else {
      return bad(
          "expected \"incarnation N\", \"sequence MULTILOG N\" or "
          "\"window MULTILOG TRIGGER END_NS\"");
    }
  }
  if (!header || !incarnation) {
    return Status::InvalidArgument("no header and incarnation");
  }
  return state;
}

Result<std::unique_ptr<NetworkTriggers>> NetworkTriggers::Start(
    CoordinatorService* service, const ProgramStore* store, AlertFanIn* fan_in,
    NetworkTriggerOptions options) {
  State state;
  Result<std::string> text =
      options.state_file.empty()
          ? Result<std::string>(Status::NotFound("none"))
          : ReadSmallFile(options.state_file, kMaxNetworkStateBytes);
  if (text.ok()) {
    Result<State> parsed = ParseState(*text);
    if (!parsed.ok()) {
      return Status::InvalidArgument(
          options.state_file + ": " + parsed.status().message() +
          " (it holds where the network triggers are; move it away to start "
          "them from now, with a new incarnation)");
    }
    state = std::move(*parsed);
  } else if (text.status().code() != Status::Code::kNotFound) {
    return text.status();
  } else {
    state.incarnation = NowNs();
  }
  return std::unique_ptr<NetworkTriggers>(new NetworkTriggers(
      service, store, fan_in, std::move(options), std::move(state)));
}

NetworkTriggers::NetworkTriggers(CoordinatorService* service,
                                 const ProgramStore* store, AlertFanIn* fan_in,
                                 NetworkTriggerOptions options, State state)
    : service_(service),
      store_(store),
      fan_in_(fan_in),
      options_(std::move(options)),
      state_(std::move(state)) {
  thread_ = std::thread([this] { Run(); });
}

NetworkTriggers::~NetworkTriggers() { Stop(); }

void NetworkTriggers::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

NetworkTriggerStats NetworkTriggers::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void NetworkTriggers::Run() {
  for (;;) {
    // At least every second: a program applied meanwhile is taken in.
    const Clock::time_point wake =
        std::min(Round(), Clock::now() + std::chrono::seconds(1));
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_until(lock, wake, [this] { return stopping_; })) return;
  }
}

std::vector<NetworkTriggerSpec> NetworkTriggers::Triggers() {
  std::map<std::string, std::pair<uint64_t, std::vector<NetworkTriggerSpec>>>
      now;
  for (const DesiredProgram& p : store_->List()) {
    auto it = parsed_.find(p.name);
    if (it != parsed_.end() && it->second.first == p.version) {
      now.emplace(p.name, std::move(it->second));
      continue;
    }
    std::vector<NetworkTriggerSpec> triggers;
    Result<ProgramPlan> plan =
        ParseProgramPlan(p.text, p.source.empty() ? p.name : p.source);
    if (plan.ok()) {
      for (PlanSection& s : plan->sections) {
        for (NetworkTriggerSpec& t : s.triggers) {
          triggers.push_back(std::move(t));
        }
      }
    }
    if (!triggers.empty()) {
      Log(LogLevel::kInfo, "network triggers: program " + p.name + " version " +
                               std::to_string(p.version) + " has " +
                               std::to_string(triggers.size()));
    }
    now.emplace(p.name, std::make_pair(p.version, std::move(triggers)));
  }
  parsed_ = std::move(now);
  std::vector<NetworkTriggerSpec> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& [program, entry] : parsed_) {
    for (const NetworkTriggerSpec& t : entry.second) {
      if (!seen.emplace(t.multilog, t.name).second) {
        Failed("program " + program,
               "network trigger " + t.multilog + "/" + t.name +
                   " is defined by another program too; the first is kept");
        continue;
      }
      out.push_back(t);
    }
  }
  return out;
}

void NetworkTriggers::Failed(const std::string& what,
                             const std::string& error) {
  auto [it, fresh] = failing_.emplace(what, error);
  if (fresh || it->second != error) {
    Log(LogLevel::kWarn, "network triggers: " + what + ": " + error);
    it->second = error;
  }
}

Clock::time_point NetworkTriggers::Round() {
  const std::vector<NetworkTriggerSpec> triggers = Triggers();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.triggers = triggers.size();
  }
  // Only the current triggers' windows are kept.
  std::map<std::pair<std::string, std::string>, uint64_t> kept;
  for (const NetworkTriggerSpec& t : triggers) {
    auto key = std::make_pair(t.multilog, t.name);
    auto it = state_.next_end.find(key);
    kept[key] = it == state_.next_end.end() ? 0 : it->second;
  }
  state_.next_end = std::move(kept);
  if (triggers.empty()) return Clock::now() + std::chrono::seconds(1);

  const uint64_t now_ns = NowNs();
  bool due = false;
  uint64_t next = std::numeric_limits<uint64_t>::max();
  for (const auto& [key, end] : state_.next_end) {
    due = due || end <= now_ns;
    next = std::min(next, end);
  }
  if (!due) return Clock::now() + std::chrono::nanoseconds(next - now_ns);

  // 1. The snapshot, and its settled time.
  v1::CreateSnapshotRequest create;
  create.set_allow_partial(true);
  create.set_keep_s(1);
  v1::CreateSnapshotResponse taken;
  const grpc::Status created =
      service_->CreateSnapshot(nullptr, &create, &taken);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.rounds;
    stats_.snapshot_failures += created.ok() ? 0 : 1;
  }
  if (!created.ok()) {
    Failed("snapshot", Describe(created) + "; trying again in 1s");
    return Clock::now() + std::chrono::seconds(1);
  }
  failing_.erase("snapshot");
  const uint64_t settled = taken.snapshot().settled_ns();
  const std::string id = taken.snapshot().id();

  // 2. The windows complete at H, in (end, multilog, trigger) order.
  struct Item {
    uint64_t end;
    const NetworkTriggerSpec* trigger;
  };
  std::vector<Item> items;
  uint64_t skipped = 0;
  for (const NetworkTriggerSpec& t : triggers) {
    const uint64_t period = static_cast<uint64_t>(t.period.count());
    uint64_t& end = state_.next_end[{t.multilog, t.name}];
    if (end == 0) end = settled / period * period;  // the latest only
    if (end == 0) continue;
    for (size_t n = 0; end <= settled && n < kMaxWindowsPerRound;
         ++n, end += period) {
      items.push_back(Item{end, &t});
    }
    if (end <= settled) {
      const uint64_t latest = settled / period * period;
      skipped += (latest - end) / period + 1;
      end = latest + period;
    }
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.end, a.trigger->multilog, a.trigger->name) <
           std::tie(b.end, b.trigger->multilog, b.trigger->name);
  });
  for (const Item& item : items) Evaluate(*item.trigger, item.end, id);

  // 3. Released; the state kept once the alerts are with the sinks.
  v1::ReleaseFleetSnapshotRequest release;
  release.set_id(id);
  v1::ReleaseFleetSnapshotResponse released;
  (void)service_->ReleaseSnapshot(nullptr, &release, &released);
  if (!options_.state_file.empty() && !items.empty()) {
    if (Status s = ReplaceFile(options_.state_file, FormatState(state_));
        !s.ok()) {
      Failed("state", s.message() +
                          " (a restart evaluates these windows "
                          "again)");
    } else {
      failing_.erase("state");
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.skipped += skipped;
    stats_.settled_ns = settled;
  }
  uint64_t soonest = std::numeric_limits<uint64_t>::max();
  for (const auto& [key, end] : state_.next_end)
    soonest = std::min(soonest, end);
  const uint64_t after = NowNs();
  if (soonest <= after) return Clock::now() + options_.retry;  // H lags
  return Clock::now() + std::chrono::nanoseconds(soonest - after);
}

bool NetworkTriggers::Evaluate(const NetworkTriggerSpec& t, uint64_t end,
                               const std::string& snapshot_id) {
  const uint64_t period = static_cast<uint64_t>(t.period.count());
  v1::FleetAggregateRequest request;
  request.mutable_fleet()->set_snapshot_id(snapshot_id);
  request.mutable_fleet()->set_allow_partial(true);
  request.mutable_fleet()->set_timeout_ms(
      static_cast<uint32_t>(options_.query_timeout.count()));
  request.mutable_request()->set_multilog(t.multilog);
  request.mutable_request()->set_name(t.spec.aggregate);
  request.mutable_request()->set_t0_ns(end - period);
  request.mutable_request()->set_t1_ns(end);
  v1::FleetAggregateResponse response;
  const grpc::Status s = service_->GetAggregate(nullptr, &request, &response);
  const std::string what = "trigger " + t.multilog + "/" + t.name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.windows;
    stats_.errors += s.ok() ? 0 : 1;
  }
  if (!s.ok()) {
    Failed(what, Describe(s) + " (its windows are skipped until it answers)");
    return false;
  }
  if (failing_.erase(what) > 0) {
    Log(LogLevel::kInfo, "network triggers: " + what + " evaluates again");
  }
  const v1::GetAggregateResponse& m = response.merged();
  if (!m.has_value() || !CompareHolds(m.value(), t.spec.op, t.spec.threshold)) {
    return false;
  }
  uint64_t& sequence = state_.next_sequence[t.multilog];
  if (sequence == 0) sequence = 1;
  agent::AlertEvent e;
  e.host = options_.coordinator_name;
  e.multilog = t.multilog;
  e.incarnation = state_.incarnation;
  e.period = t.period;
  e.alert.sequence = sequence++;
  e.alert.incarnation = state_.incarnation;
  e.alert.time_ns = end;
  e.alert.trigger = t.name;
  e.alert.aggregate = t.spec.aggregate;
  e.alert.value = m.value();
  e.alert.op = t.spec.op;
  e.alert.threshold = t.spec.threshold;
  e.alert.window_start_ns = end - period;
  e.alert.window_end_ns = end;
  v1::Alert a;
  a.set_host(e.host);
  a.set_multilog(e.multilog);
  a.set_sequence(e.alert.sequence);
  a.set_time_ns(end);
  a.set_trigger(t.name);
  a.set_aggregate(t.spec.aggregate);
  a.set_value(m.value());
  a.set_op(std::string(CompareOpName(t.spec.op)));
  a.set_threshold(t.spec.threshold);
  a.set_window_start_ns(end - period);
  a.set_window_end_ns(end);
  a.set_incarnation(state_.incarnation);
  fan_in_->Raise(e, a);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.alerts;
  }
  Clock::time_point& last = last_logged_[what];
  if (Clock::now() - last >= kFiringLogEvery) {
    last = Clock::now();
    Log(LogLevel::kInfo, "network " + what + " fired: " + t.spec.aggregate +
                             " = " + std::to_string(m.value()) + " " +
                             std::string(CompareOpName(t.spec.op)) + " " +
                             std::to_string(t.spec.threshold) +
                             " over the fleet (" +
                             std::to_string(response.hosts_size()) + " hosts" +
                             (response.partial() ? ", partial" : "") + ")");
  }
  return true;
}

}  // namespace loupe::coordinator
