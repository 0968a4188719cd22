// AgentService: alerts (GetAlerts, paged, and SubscribeAlerts, a bounded
// consumer of the registry's AlertDispatcher).
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "agent/internal/page_token.h"
#include "agent/internal/service_internal.h"
#include "agent/service.h"

namespace loupe::agent {

using internal::BadToken;
using internal::DecodeToken;
using internal::EncodeToken;
using internal::Fingerprint;
using internal::PageToken;
using service_internal::Cancelled;
using service_internal::CheckWindow;
using service_internal::ClientGone;
using service_internal::EndOf;
using service_internal::Invalid;
using service_internal::kNoEnd;
using service_internal::Unavailable;

namespace {

constexpr size_t kAlertChunk = 1000;
// How long a subscription waits for alerts before it checks for
// cancellation and shutdown.
constexpr auto kSubscriptionSlice = std::chrono::milliseconds(100);
// How often a subscription to one multilog checks that it still exists.
constexpr auto kSubscriptionRecheck = std::chrono::milliseconds(500);

}  // namespace

void AgentService::FillAlert(const std::string& multilog, const Alert& alert,
                             v1::Alert* out) const {
  out->set_host(host_);
  out->set_multilog(multilog);
  out->set_sequence(alert.sequence);
  out->set_time_ns(alert.time_ns);
  out->set_trigger(alert.trigger);
  out->set_aggregate(alert.aggregate);
  out->set_value(alert.value);
  out->set_op(std::string(CompareOpName(alert.op)));
  out->set_threshold(alert.threshold);
  out->set_window_start_ns(alert.window_start_ns);
  out->set_window_end_ns(alert.window_end_ns);
}

grpc::Status AgentService::GetAlerts(
    grpc::ServerContext* context, const v1::GetAlertsRequest* request,
    grpc::ServerWriter<v1::GetAlertsResponse>* writer) {
  return Serve(kGetAlerts, [&]() -> grpc::Status {
    grpc::Status s = CheckWindow(request->t0_ns(), request->t1_ns());
    if (!s.ok()) return s;
    if (request->limit() > kMaxAlertLimit) {
      return Invalid("GetAlerts: limit " + std::to_string(request->limit()) +
                     " is over the maximum of " +
                     std::to_string(kMaxAlertLimit) + "; page with page_token");
    }
    const size_t limit =
        request->limit() == 0 ? kDefaultAlertLimit : request->limit();
    const uint64_t t1 = EndOf(request->t1_ns());
    const uint64_t fingerprint = Fingerprint()
                                     .Add("a")
                                     .Add(request->multilog())
                                     .Add(request->trigger())
                                     .Add(request->t0_ns())
                                     .Add(t1)
                                     .value();
    std::optional<PageToken> token;
    if (!request->page_token().empty()) {
      token = DecodeToken(request->page_token(), 'a', fingerprint,
                          {page_key_[0], page_key_[1]});
      if (!token.has_value()) return BadToken("GetAlerts");
    }
    std::vector<std::pair<std::string, std::shared_ptr<Multilog>>> logs;
    if (!request->multilog().empty()) {
      Result<std::shared_ptr<Multilog>> ml =
          registry_->Find(request->multilog());
      if (!ml.ok()) return ToGrpcStatus(ml.status());
      logs.emplace_back(request->multilog(), *ml);
    } else {
      for (HostedMultilog& h : registry_->List()) {
        logs.emplace_back(h.name, std::move(h.multilog));
      }
    }
    // Every alert of the window from the page's start, in answer order.
    using Key = std::tuple<uint64_t, std::string_view, uint64_t>;
    std::vector<std::pair<const std::string*, Alert>> all;
    const uint64_t t0 = token.has_value() ? std::max(request->t0_ns(), token->a)
                                          : request->t0_ns();
    for (const auto& [name, ml] : logs) {
      for (Alert& a : ml->GetAlerts(t0, t1, request->trigger(), 0)) {
        all.emplace_back(&name, std::move(a));
      }
    }
    auto key = [](const std::pair<const std::string*, Alert>& e) {
      return Key(e.second.time_ns, *e.first, e.second.sequence);
    };
    std::sort(all.begin(), all.end(),
              [&](const auto& x, const auto& y) { return key(x) < key(y); });
    auto first = all.begin();
    if (token.has_value()) {
      const Key after(token->a, token->name, token->b);
      first = std::upper_bound(
          all.begin(), all.end(), after,
          [&](const Key& k, const auto& e) { return k < key(e); });
    }
    const size_t available = static_cast<size_t>(all.end() - first);
    const size_t take = std::min(available, limit);
    v1::GetAlertsResponse chunk;
    for (size_t i = 0; i < take; ++i) {
      FillAlert(*first[i].first, first[i].second, chunk.add_alerts());
      if (chunk.alerts_size() == static_cast<int>(kAlertChunk) &&
          i + 1 < take) {
        if (context->IsCancelled()) {
          return Cancelled();
        }
        if (!writer->Write(chunk)) {
          return ClientGone();
        }
        chunk.Clear();
      }
    }
    chunk.set_done(true);
    if (available > limit) {
      const auto& last = first[take - 1];
      PageToken next;
      next.kind = 'a';
      next.a = last.second.time_ns;
      next.b = last.second.sequence;
      next.fingerprint = fingerprint;
      next.name = *last.first;
      chunk.set_truncated(true);
      chunk.set_next_page_token(
          EncodeToken(next, {page_key_[0], page_key_[1]}));
    }
    if (!writer->Write(chunk)) {
      return ClientGone();
    }
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::SubscribeAlerts(
    grpc::ServerContext* context, const v1::SubscribeAlertsRequest* request,
    grpc::ServerWriter<v1::AlertEvent>* writer) {
  return Serve(kSubscribeAlerts, [&]() -> grpc::Status {
    const std::string& only = request->multilog();
    const std::string& trigger = request->trigger();
    if (!only.empty()) {
      Result<std::shared_ptr<Multilog>> ml = registry_->Find(only);
      if (!ml.ok()) return ToGrpcStatus(ml.status());
    }
    // Live alerts queue from here on; the replay below is told apart from
    // them by (multilog, incarnation, sequence).
    std::unique_ptr<AlertSubscription> sub =
        registry_->alerts().Subscribe(SubscriptionFilter{only, trigger});
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

    auto send = [&](const std::string& name, const Alert& alert,
                    uint64_t lost) {
      v1::AlertEvent event;
      FillAlert(name, alert, event.mutable_alert());
      event.set_lost(lost);
      return writer->Write(event);
    };

    // The replay: alerts since since_ns, in answer order.
    std::map<std::pair<std::string, uint64_t>, uint64_t> replayed;  // max seq
    std::vector<std::pair<std::string, Alert>> replay;
    if (request->since_ns() != 0) {
      for (const HostedMultilog& h : registry_->List()) {
        if (!only.empty() && h.name != only) continue;
        for (Alert& alert :
             h.multilog->GetAlerts(request->since_ns(), kNoEnd, trigger, 0)) {
          uint64_t& max = replayed[{h.name, h.incarnation}];
          max = std::max(max, alert.sequence);
          replay.emplace_back(h.name, std::move(alert));
        }
      }
    }
    std::sort(replay.begin(), replay.end(), [](const auto& x, const auto& y) {
      return std::tie(x.second.time_ns, x.first, x.second.sequence) <
             std::tie(y.second.time_ns, y.first, y.second.sequence);
    });
    for (const auto& [name, alert] : replay) {
      if (!send(name, alert, 0)) return ClientGone();
    }
    // Tells the client the stream is live (gRPC sends headers lazily, with
    // the first message).
    if (replay.empty()) writer->SendInitialMetadata();

    auto last_check = std::chrono::steady_clock::now();
    uint64_t lost = 0;  // dropped for this stream, not yet reported
    std::vector<AlertEvent> batch;
    for (;;) {
      batch.clear();
      lost += sub->Wait(kSubscriptionSlice, &batch);
      if (shutting_down() || sub->closed()) return Unavailable();
      if (context->IsCancelled()) return Cancelled();
      for (const AlertEvent& e : batch) {
        auto it = replayed.find({e.multilog, e.incarnation});
        if (it != replayed.end() && e.alert.sequence <= it->second) {
          continue;  // already sent by the replay
        }
        if (!send(e.multilog, e.alert, lost)) return ClientGone();
        lost = 0;
      }
      const auto now = std::chrono::steady_clock::now();
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
