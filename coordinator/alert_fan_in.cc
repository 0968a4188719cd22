#include "coordinator/alert_fan_in.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "agent/client/agent_client.h"
#include "agent/log.h"
#include "multilog/atomic_file.h"
#include "multilog/expression.h"
#include "multilog/line_fields.h"

namespace loupe::coordinator {

using agent::Log;
using agent::LogLevel;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kCursorMagic = "loupe-alert-cursors 1";
constexpr size_t kMaxCursorFileBytes = 64u << 20;
// How often the watcher looks for silent streams.
constexpr auto kWatchSlice = std::chrono::milliseconds(100);
// How long a full sink queue is waited for between checks.
constexpr auto kPushBackSlice = std::chrono::milliseconds(5);

std::string CodeText(const grpc::Status& s) {
  return std::string(GrpcCodeName(s.error_code())) + ": " + s.error_message();
}

// Alert.op's text back to the value the sinks format ("==" ... ">=").
CompareOp OpNamed(std::string_view name) {
  for (CompareOp op : {CompareOp::kEq, CompareOp::kNe, CompareOp::kLt,
                       CompareOp::kLe, CompareOp::kGt, CompareOp::kGe}) {
    if (CompareOpName(op) == name) return op;
  }
  return CompareOp::kGt;
}

}  // namespace

// --- FanInSubscription -------------------------------------------------------

FanInSubscription::FanInSubscription(AlertFanIn* fan_in, FanInFilter filter,
                                     size_t capacity)
    : fan_in_(fan_in), filter_(std::move(filter)), capacity_(capacity) {}

FanInSubscription::~FanInSubscription() { fan_in_->Leave(this); }

bool FanInSubscription::Takes(const std::string& agent,
                              const v1::Alert& alert) const {
  if (!filter_.agents.empty() && !filter_.agents.contains(agent)) return false;
  if (!filter_.multilog.empty() && alert.multilog() != filter_.multilog) {
    return false;
  }
  return filter_.trigger.empty() || alert.trigger() == filter_.trigger;
}

void FanInSubscription::Push(const FannedAlert& alert) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= capacity_) {
      ++lost_;
      return;
    }
    queue_.push_back(alert);
  }
  cv_.notify_one();
}

void FanInSubscription::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool FanInSubscription::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

std::vector<FannedAlert> FanInSubscription::Take(
    std::chrono::milliseconds timeout, uint64_t* lost) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout,
               [&] { return closed_ || !queue_.empty() || lost_ > 0; });
  std::vector<FannedAlert> out(std::make_move_iterator(queue_.begin()),
                               std::make_move_iterator(queue_.end()));
  queue_.clear();
  *lost = lost_;
  lost_ = 0;
  return out;
}

// --- AlertFanIn --------------------------------------------------------------

struct AlertFanIn::Lane {
  std::string name;
  size_t agent = 0;  // the pool's index
  std::thread thread;
  // Guarded by the fan-in's mu_:
  grpc::ClientContext* context = nullptr;  // the open stream's
  Clock::time_point last_event;
  bool known = false;  // followed before: resume, and replay new multilogs
  std::map<std::string, v1::AlertCursor> cursors;
  FanInAgentStats stats;
};

AlertFanIn::AlertFanIn(const AgentPool* pool, FanInOptions options)
    : pool_(pool), options_(std::move(options)) {}

AlertFanIn::~AlertFanIn() { Stop(); }

Result<std::unique_ptr<AlertFanIn>> AlertFanIn::Start(
    const AgentPool* pool, std::vector<std::unique_ptr<agent::AlertSink>> sinks,
    agent::DispatcherOptions dispatcher_options, FanInOptions options) {
  if (options.heartbeat_ms < 100 || options.heartbeat_ms > 60'000) {
    return Status::InvalidArgument(
        "alert fan-in: heartbeat_ms must be from 100 to 60000, got " +
        std::to_string(options.heartbeat_ms));
  }
  CursorState state;
  if (!options.cursor_file.empty()) {
    Result<std::string> text =
        ReadSmallFile(options.cursor_file, kMaxCursorFileBytes);
    if (text.ok()) {
      Result<CursorState> parsed = ParseCursors(*text);
      if (!parsed.ok()) {
        return Status::InvalidArgument(
            options.cursor_file + ": " + parsed.status().message() +
            " (it holds the alert fan-in's cursors; move it away to start "
            "from now, which skips what the agents raised meanwhile)");
      }
      state = std::move(*parsed);
    } else if (text.status().code() != Status::Code::kNotFound) {
      return text.status();
    }
  }
  std::unique_ptr<AlertFanIn> f(new AlertFanIn(pool, std::move(options)));
  f->dispatcher_ = std::make_unique<agent::AlertDispatcher>(
      std::move(sinks), std::move(dispatcher_options));
  const std::vector<AgentStatus> agents = pool->Snapshot();
  {
    std::lock_guard<std::mutex> lock(f->mu_);
    for (size_t i = 0; i < agents.size(); ++i) {
      Lane& lane = f->AddLaneLocked(i, agents[i].entry.name);
      lane.known = state.known.contains(lane.name);
      if (auto it = state.cursors.find(lane.name); it != state.cursors.end()) {
        lane.cursors = it->second;
        lane.known = true;
      }
    }
    for (const auto& [name, cursors] : state.cursors) {
      if (std::none_of(f->lanes_.begin(), f->lanes_.end(),
                       [&](const auto& l) { return l->name == name; })) {
        Log(LogLevel::kWarn, "alert fan-in: cursors of agent " + name +
                                 ", no longer configured, are forgotten");
      }
    }
    for (auto& lane : f->lanes_) {
      Lane* l = lane.get();
      l->thread = std::thread([f = f.get(), l] { f->Run(*l); });
    }
  }
  f->watcher_ = std::thread([f = f.get()] { f->Watch(); });
  return f;
}

AlertFanIn::Lane& AlertFanIn::AddLaneLocked(size_t agent,
                                            const std::string& name) {
  auto lane = std::make_unique<Lane>();
  lane->name = name;
  lane->agent = agent;
  lane->stats.agent = name;
  lanes_.push_back(std::move(lane));
  return *lanes_.back();
}

// Agents that registered since: a lane each, from now on (a first start
// for them: what they raised before they joined is not replayed).
void AlertFanIn::FollowNewAgents(std::unique_lock<std::mutex>& lock) {
  if (pool_->size() <= lanes_.size()) return;
  lock.unlock();
  const std::vector<AgentStatus> agents = pool_->Snapshot();
  lock.lock();
  for (size_t i = lanes_.size(); i < agents.size() && !stopping_; ++i) {
    Lane& lane = AddLaneLocked(i, agents[i].entry.name);
    lane.thread = std::thread([this, l = &lane] { Run(*l); });
    Log(LogLevel::kInfo,
        "alert fan-in: following agent " + lane.name + ", which registered");
  }
}

void AlertFanIn::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& lane : lanes_) {
      if (lane->context != nullptr) lane->context->TryCancel();
    }
  }
  stop_cv_.notify_all();
  // The watcher first: it adds lanes, and adds none once it stopped.
  if (watcher_.joinable()) watcher_.join();
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
  {
    std::lock_guard<std::mutex> lock(subscriptions_mu_);
    closed_ = true;
    for (FanInSubscription* s : subscriptions_) s->Close();
  }
  // What is queued reaches the sinks before the cursors move past it.
  if (dispatcher_ != nullptr) dispatcher_->Stop();
  if (Status s = Save(); !s.ok()) {
    Log(LogLevel::kError,
        "alert fan-in: cursors not saved at stop: " + s.message() +
            "; a restart re-sends what came since the "
            "last save");
  }
}

void AlertFanIn::Run(Lane& lane) {
  auto backoff = options_.first_backoff;
  bool first = true;
  for (;;) {
    grpc::ClientContext context;
    v1::SubscribeAlertsRequest request;
    request.set_heartbeat_ms(options_.heartbeat_ms);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      for (const auto& [multilog, cursor] : lane.cursors) {
        (*request.mutable_after())[multilog] = cursor;
      }
      // Known: multilogs without a cursor replay every stored alert.
      if (lane.known) request.set_since_ns(1);
      lane.context = &context;
      lane.last_event = Clock::now();
      if (!first) ++lane.stats.reconnects;
      first = false;
    }
    std::unique_ptr<grpc::ClientReader<v1::AlertEvent>> reader =
        pool_->stub(lane.agent)->SubscribeAlerts(&context, request);
    v1::AlertEvent event;
    while (reader->Read(&event)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        lane.last_event = Clock::now();
        lane.stats.connected = true;
        if (event.synced()) {
          lane.stats.synced = true;
          if (!lane.known) dirty_ = true;
          lane.known = true;
          backoff = options_.first_backoff;
        }
      }
      if (event.has_alert()) Deliver(lane, event);
    }
    const grpc::Status status = reader->Finish();
    {
      std::unique_lock<std::mutex> lock(mu_);
      lane.context = nullptr;
      lane.stats.connected = false;
      lane.stats.synced = false;
      if (stopping_) return;
      lane.stats.last_error = CodeText(status);
      Log(LogLevel::kWarn, "alert fan-in: agent " + lane.name +
                               ": stream ended (" + lane.stats.last_error +
                               "); again in " +
                               std::to_string(backoff.count()) + "ms");
      stop_cv_.wait_for(lock, backoff, [&] { return stopping_; });
      if (stopping_) return;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

bool AlertFanIn::SinkFull() const {
  const size_t capacity = dispatcher_->options().queue_capacity;
  for (const agent::SinkStats& s : dispatcher_->stats()) {
    if (s.queued >= capacity) return true;
  }
  return false;
}

void AlertFanIn::Deliver(Lane& lane, const v1::AlertEvent& event) {
  const v1::Alert& a = event.alert();
  {
    std::lock_guard<std::mutex> lock(mu_);
    lane.stats.lost += event.lost();
    lane.stats.resets += event.cursor_reset() ? 1 : 0;
    if (auto it = lane.cursors.find(a.multilog()); it != lane.cursors.end()) {
      const v1::AlertCursor& c = it->second;
      if (a.incarnation() < c.incarnation() ||
          (a.incarnation() == c.incarnation() &&
           a.sequence() <= c.sequence())) {
        ++lane.stats.duplicates;
        return;
      }
    }
  }
  agent::AlertEvent e;
  e.host = a.host().empty() ? lane.name : a.host();
  e.multilog = a.multilog();
  e.incarnation = a.incarnation();
  e.alert.sequence = a.sequence();
  e.alert.time_ns = a.time_ns();
  e.alert.trigger = a.trigger();
  e.alert.aggregate = a.aggregate();
  e.alert.value = a.value();
  e.alert.op = OpNamed(a.op());
  e.alert.threshold = a.threshold();
  e.alert.window_start_ns = a.window_start_ns();
  e.alert.window_end_ns = a.window_end_ns();
  e.period = std::chrono::nanoseconds(a.window_end_ns() - a.window_start_ns());
  Submit(e);
  {
    std::lock_guard<std::mutex> lock(mu_);
    v1::AlertCursor& c = lane.cursors[a.multilog()];
    c.set_incarnation(a.incarnation());
    c.set_sequence(a.sequence());
    ++lane.stats.received;
    dirty_ = true;
  }
  FannedAlert fanned{lane.name, a};
  if (fanned.alert.host().empty()) fanned.alert.set_host(lane.name);
  Publish(fanned);
}

// To the sinks, waiting (pushing back) while one is full, until Stop.
void AlertFanIn::Submit(const agent::AlertEvent& e) {
  std::unique_lock<std::mutex> submit(submit_mu_);
  while (SinkFull()) {
    pushing_back_.store(true, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;  // Stop drains or drops it, counted
    }
    std::this_thread::sleep_for(kPushBackSlice);
  }
  pushing_back_.store(false, std::memory_order_relaxed);
  dispatcher_->Submit(e);
}

void AlertFanIn::Publish(const FannedAlert& fanned) {
  std::lock_guard<std::mutex> lock(subscriptions_mu_);
  for (FanInSubscription* s : subscriptions_) {
    if (s->Takes(fanned.agent, fanned.alert)) s->Push(fanned);
  }
}

void AlertFanIn::Raise(const agent::AlertEvent& e, const v1::Alert& alert) {
  Submit(e);
  Publish(FannedAlert{e.host, alert});
  std::lock_guard<std::mutex> lock(mu_);
  ++raised_;
}

void AlertFanIn::Watch() {
  const auto silence = std::chrono::milliseconds(options_.heartbeat_ms) *
                       options_.silent_heartbeats;
  auto last_save = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, kWatchSlice, [&] { return stopping_; });
    if (stopping_) break;
    FollowNewAgents(lock);
    if (stopping_) break;
    const auto now = Clock::now();
    for (auto& lane : lanes_) {
      if (lane->context == nullptr) continue;
      // While the fan-in pushes back, no stream is read: not silence.
      if (pushing_back_.load(std::memory_order_relaxed)) {
        lane->last_event = now;
      } else if (now - lane->last_event > silence) {
        lane->context->TryCancel();
        lane->last_event = now;  // once per silence
        Log(LogLevel::kWarn, "alert fan-in: agent " + lane->name +
                                 ": nothing for " +
                                 std::to_string(options_.silent_heartbeats) +
                                 " heartbeats; reconnecting");
      }
    }
    if (dirty_ && now - last_save >= options_.save_every) {
      last_save = now;
      lock.unlock();
      if (Status s = Save(); !s.ok()) {
        Log(LogLevel::kError,
            "alert fan-in: cursors not saved: " + s.message() +
                "; retrying in " + std::to_string(options_.save_every.count()) +
                "ms");
      }
      lock.lock();
    }
  }
}

Status AlertFanIn::Save() {
  if (options_.cursor_file.empty()) return Status::Ok();
  std::lock_guard<std::mutex> save(save_mu_);
  CursorState state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dirty_) return Status::Ok();
    dirty_ = false;
    for (const auto& lane : lanes_) {
      if (lane->known) state.known.insert(lane->name);
      if (!lane->cursors.empty()) state.cursors[lane->name] = lane->cursors;
    }
  }
  Status s = ReplaceFile(options_.cursor_file, FormatCursors(state));
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_ = true;
  }
  return s;
}

std::vector<FanInAgentStats> AlertFanIn::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FanInAgentStats> out;
  for (const auto& lane : lanes_) out.push_back(lane->stats);
  return out;
}

std::vector<agent::SinkStats> AlertFanIn::sink_stats() const {
  return dispatcher_->stats();
}

std::map<std::string, std::map<std::string, v1::AlertCursor>>
AlertFanIn::cursors() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::map<std::string, v1::AlertCursor>> out;
  for (const auto& lane : lanes_) out[lane->name] = lane->cursors;
  return out;
}

Result<std::unique_ptr<FanInSubscription>> AlertFanIn::Subscribe(
    FanInFilter filter) {
  std::lock_guard<std::mutex> lock(subscriptions_mu_);
  if (closed_) {
    return Status::Unavailable("the coordinator is shutting down");
  }
  if (subscriptions_.size() >= options_.max_subscribers) {
    return Status::ResourceExhausted(
        std::to_string(subscriptions_.size()) +
        " alert subscriptions are open, the maximum; end one first");
  }
  std::unique_ptr<FanInSubscription> s(new FanInSubscription(
      this, std::move(filter), options_.subscriber_queue));
  subscriptions_.insert(s.get());
  return s;
}

void AlertFanIn::Leave(FanInSubscription* subscription) {
  std::lock_guard<std::mutex> lock(subscriptions_mu_);
  subscriptions_.erase(subscription);
}

std::string AlertFanIn::FormatCursors(const CursorState& state) {
  std::string out(kCursorMagic);
  out += "\n";
  for (const std::string& name : state.known) out += "agent " + name + "\n";
  for (const auto& [name, cursors] : state.cursors) {
    for (const auto& [multilog, c] : cursors) {
      out += "cursor " + name + " " + multilog + " " +
             std::to_string(c.incarnation()) + " " +
             std::to_string(c.sequence()) + "\n";
    }
  }
  return out;
}

Result<AlertFanIn::CursorState> AlertFanIn::ParseCursors(
    std::string_view text) {
  CursorState state;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = "line " + std::to_string(number) + ": ";
    if (number == 1) {
      if (line != kCursorMagic) {
        return Status::InvalidArgument(where + "expected \"" +
                                       std::string(kCursorMagic) + "\"");
      }
      continue;
    }
    std::istringstream words(line);
    std::string kind, name, multilog, incarnation, sequence, extra;
    words >> kind >> name;
    if (kind == "agent" && !name.empty() && !(words >> extra)) {
      state.known.insert(name);
      continue;
    }
    uint64_t inc = 0, seq = 0;
    if (kind == "cursor" && (words >> multilog >> incarnation >> sequence) &&
        !(words >> extra) && ParseDecimal(incarnation, &inc) &&
        ParseDecimal(sequence, &seq)) {
      v1::AlertCursor& c = state.cursors[name][multilog];
      c.set_incarnation(inc);
      c.set_sequence(seq);
      continue;
    }
    return Status::InvalidArgument(
        where +
        "expected \"agent NAME\" or \"cursor NAME MULTILOG "
        "INCARNATION SEQUENCE\", got \"" +
        line + "\"");
  }
  if (number == 0) {
    return Status::InvalidArgument("empty; expected \"" +
                                   std::string(kCursorMagic) + "\" first");
  }
  return state;
}

}  // namespace loupe::coordinator
