// AgentService::SubscribeAlerts (issue 13, section 4: alert cursors): a
// reader with one cursor per multilog over the alert logs themselves,
// woken by the registry's AlertDispatcher. It replays what follows each
// cursor, sends `synced`, then follows the logs; a client that reads
// slowly only falls behind in the logs (gRPC flow control holds the
// writer), and loses only alerts retention retired before it read them,
// which it is told (AlertEvent.lost).
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "agent/internal/service_internal.h"
#include "agent/service.h"

namespace loupe::agent {

using service_internal::Cancelled;
using service_internal::ClientGone;
using service_internal::Invalid;
using service_internal::Unavailable;

namespace {

constexpr size_t kMaxCursors = 1024;
constexpr uint32_t kMinHeartbeatMs = 100;
constexpr uint32_t kMaxHeartbeatMs = 60'000;
// Alerts read from one log at a time.
constexpr size_t kReadChunk = 256;
// How long a subscription waits for a wake-up before it checks for
// cancellation, shutdown and heartbeats.
constexpr auto kSubscriptionSlice = std::chrono::milliseconds(100);
// How often a subscription to one multilog checks that it still exists.
constexpr auto kSubscriptionRecheck = std::chrono::milliseconds(500);

// Where one multilog's stream stands.
struct Position {
  // Seen in the registry (a re-created multilog continues the sequences
  // of the dropped one, so the position holds across lives).
  bool seen = false;
  uint64_t after = 0;                     // the last sequence read
  std::optional<v1::AlertCursor> cursor;  // from the request, until seen
  uint64_t lost = 0;                      // to report with the next alert
  bool reset = false;                     // to report with the next alert
};

}  // namespace

grpc::Status AgentService::SubscribeAlerts(
    grpc::ServerContext* context, const v1::SubscribeAlertsRequest* request,
    grpc::ServerWriter<v1::AlertEvent>* writer) {
  return Serve(kSubscribeAlerts, [&]() -> grpc::Status {
    const std::string& only = request->multilog();
    const std::string& trigger = request->trigger();
    const uint64_t since_ns = request->since_ns();
    const uint32_t heartbeat_ms = request->heartbeat_ms();
    if (heartbeat_ms != 0 &&
        (heartbeat_ms < kMinHeartbeatMs || heartbeat_ms > kMaxHeartbeatMs)) {
      return Invalid("SubscribeAlerts: heartbeat_ms " +
                     std::to_string(heartbeat_ms) + " is out of range; use 0 " +
                     "(none) or " + std::to_string(kMinHeartbeatMs) + " to " +
                     std::to_string(kMaxHeartbeatMs));
    }
    if (request->after_size() > static_cast<int>(kMaxCursors)) {
      return Invalid("SubscribeAlerts: after has " +
                     std::to_string(request->after_size()) +
                     " cursors, more than the maximum of " +
                     std::to_string(kMaxCursors));
    }
    std::map<std::string, Position> positions;
    for (const auto& [name, cursor] : request->after()) {
      Status valid = ValidateMultilogName(name);
      if (!valid.ok()) {
        return Invalid("SubscribeAlerts: after: " + valid.message());
      }
      if (!only.empty() && name != only) {
        return Invalid("SubscribeAlerts: after names multilog '" + name +
                       "', but the subscription is to '" + only + "' only");
      }
      positions[name].cursor = cursor;
    }
    if (!only.empty()) {
      Result<std::shared_ptr<Multilog>> ml = registry_->Find(only);
      if (!ml.ok()) return ToGrpcStatus(ml.status());
    }
    // Wake-ups from here on: nothing appended after the first read below
    // goes unnoticed.
    Result<std::unique_ptr<AlertSubscription>> subscribed =
        registry_->alerts().Subscribe(SubscriptionFilter{only, trigger});
    if (!subscribed.ok()) return ToGrpcStatus(subscribed.status());
    std::unique_ptr<AlertSubscription> sub = std::move(subscribed).value();
    {
      std::lock_guard<std::mutex> lock(subscriptions_mu_);
      if (shutting_down()) return Unavailable();
      subscriptions_.insert(sub.get());
    }
    struct Leave {
      AgentService* service;
      AlertSubscription* sub;
      ~Leave() {
        std::lock_guard<std::mutex> lock(service->subscriptions_mu_);
        service->subscriptions_.erase(sub);
      }
    } leave{this, sub.get()};

    using Clock = std::chrono::steady_clock;
    auto last_sent = Clock::now();
    auto write = [&](const v1::AlertEvent& event) {
      last_sent = Clock::now();
      return writer->Write(event);
    };

    // Where a multilog's stream starts, the first time it is seen.
    auto start = [&](Position& p, const AlertLog& log, bool initial) {
      if (p.cursor.has_value()) {
        if (p.cursor->incarnation() < log.origin()) {
          p.after = 0;  // an earlier life of the log: from its start
          p.reset = true;
        } else {
          // A cursor past the end (a torn tail was truncated): from the end.
          p.after = std::min(p.cursor->sequence(), log.last_sequence());
        }
        p.cursor.reset();
      } else if (since_ns != 0) {
        p.after = log.first_sequence() - 1;
      } else {
        p.after = initial ? log.last_sequence() : log.opened_sequence();
      }
    };

    // Sends everything new in every log; false when the client is gone.
    bool client_gone = false;
    auto read_logs = [&](bool initial) {
      for (const HostedMultilog& h : registry_->List()) {
        if (!only.empty() && h.name != only) continue;
        Position& p = positions[h.name];
        if (!p.seen) {
          start(p, h.multilog->alerts(), initial);
          p.seen = true;
        }
        for (;;) {
          AlertPage page = h.multilog->alerts().ReadAfter(p.after, kReadChunk);
          p.lost += page.lost;
          if (page.alerts.empty()) break;
          for (const Alert& alert : page.alerts) {
            p.after = alert.sequence;
            if (!trigger.empty() && alert.trigger != trigger) continue;
            if (since_ns != 0 && alert.time_ns < since_ns) continue;
            v1::AlertEvent event;
            FillAlert(h.name, alert, event.mutable_alert());
            event.set_lost(p.lost);
            event.set_cursor_reset(p.reset);
            if (!write(event)) {
              client_gone = true;
              return false;
            }
            sub->Count(1, p.lost);
            p.lost = 0;
            p.reset = false;
          }
          if (context->IsCancelled()) return false;
        }
      }
      return true;
    };

    if (!read_logs(/*initial=*/true)) {
      return client_gone ? ClientGone() : Cancelled();
    }
    v1::AlertEvent synced;
    synced.set_synced(true);
    if (!write(synced)) return ClientGone();

    const auto heartbeat = std::chrono::milliseconds(heartbeat_ms);
    auto last_check = Clock::now();
    for (;;) {
      auto slice = kSubscriptionSlice;
      if (heartbeat_ms != 0) {
        const auto due = last_sent + heartbeat - Clock::now();
        slice = std::clamp(
            std::chrono::duration_cast<std::chrono::milliseconds>(due),
            std::chrono::milliseconds(0), kSubscriptionSlice);
      }
      sub->Wait(slice);
      if (shutting_down() || sub->closed()) return Unavailable();
      if (context->IsCancelled()) return Cancelled();
      if (!read_logs(/*initial=*/false)) {
        return client_gone ? ClientGone() : Cancelled();
      }
      const auto now = Clock::now();
      if (heartbeat_ms != 0 && now - last_sent >= heartbeat) {
        v1::AlertEvent beat;
        beat.set_heartbeat(true);
        if (!write(beat)) return ClientGone();
      }
      if (!only.empty() && now - last_check >= kSubscriptionRecheck) {
        last_check = now;
        if (!registry_->Find(only).ok()) {
          return grpc::Status(grpc::StatusCode::NOT_FOUND,
                              "multilog '" + only + "' was dropped");
        }
      }
    }
  });
}

}  // namespace loupe::agent
