// AgentService: alerts (GetAlerts, paged; SubscribeAlerts is in
// service_alert_stream.cc).
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

namespace {

constexpr size_t kAlertChunk = 1000;

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
  out->set_incarnation(alert.incarnation);
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

}  // namespace loupe::agent
