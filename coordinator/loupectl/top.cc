#include "coordinator/loupectl/top.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/time_text.h"
#include "coordinator/loupectl/answer_format.h"
#include "coordinator/loupectl/record_text.h"
#include "multilog/value_text.h"

namespace loupe::ctl {
namespace {

// GetAlerts pages read per refresh, so that an alert storm cannot stall
// the view.
constexpr int kMaxAlertPages = 10;

double Rate(uint64_t now, uint64_t before, double seconds) {
  if (seconds <= 0 || now < before) return 0;  // counters reset: no rate
  return static_cast<double>(now - before) / seconds;
}

const v1::MultilogStats* FindMultilog(const v1::StatsResponse& stats,
                                      const std::string& name) {
  for (const v1::MultilogStats& m : stats.multilogs()) {
    if (m.name() == name) return &m;
  }
  return nullptr;
}

}  // namespace

TopSampler::TopSampler(AgentClient* client, TopOptions options)
    : client_(client), options_(std::move(options)) {}

Result<TopFrame> TopSampler::Next() {
  v1::StatsResponse stats;
  const grpc::Status status = client_->stub().Stats(client_->Context().get(),
                                                    v1::StatsRequest(), &stats);
  const auto now = std::chrono::steady_clock::now();
  if (!status.ok()) return Status::Unavailable(client_->Describe(status));

  TopFrame frame;
  frame.agent = client_->target();
  frame.host = stats.host();
  frame.multilog = options_.multilog;
  frame.time_ns = NowNs();
  frame.interval_ns = static_cast<uint64_t>(options_.interval.count());

  const double seconds =
      previous_ ? std::chrono::duration<double>(now - previous_time_).count()
                : 0;
  Recording(stats, frame);
  if (previous_) {
    frame.has_rates = seconds > 0;
    const v1::StatsResponse& before = *previous_;
    if (UsesDataplane(stats) && UsesDataplane(before)) {
      const v1::PortStats& a = stats.dataplane().total();
      const v1::PortStats& b = before.dataplane().total();
      frame.records_per_second = Rate(a.recorded(), b.recorded(), seconds);
      frame.bytes_per_second =
          Rate(a.recorded_bytes(), b.recorded_bytes(), seconds);
      frame.received_per_second = Rate(a.received(), b.received(), seconds);
      frame.dropped_per_second = Rate(a.dropped(), b.dropped(), seconds);
      std::map<std::string, uint64_t> earlier;
      for (const v1::DropCount& d : b.drops()) earlier[d.reason()] = d.count();
      for (TopDrop& d : frame.drops) {
        d.per_second = Rate(d.total, earlier[d.reason], seconds);
      }
    } else {
      const v1::MultilogStats* a = FindMultilog(stats, options_.multilog);
      const v1::MultilogStats* b = FindMultilog(before, options_.multilog);
      if (a != nullptr && b != nullptr && a->record_size() > 0) {
        frame.bytes_per_second = Rate(a->read_tail(), b->read_tail(), seconds);
        frame.records_per_second = frame.bytes_per_second / a->record_size();
      } else {
        frame.has_rates = false;
      }
    }
  }
  previous_ = stats;
  previous_time_ = now;

  Talkers(stats, frame);
  FilterRates(frame);
  Alerts(frame);
  return frame;
}

bool TopSampler::UsesDataplane(const v1::StatsResponse& stats) const {
  return stats.has_dataplane() &&
         (stats.dataplane().multilog().empty() ||
          stats.dataplane().multilog() == options_.multilog);
}

void TopSampler::Recording(const v1::StatsResponse& stats, TopFrame& frame) {
  if (UsesDataplane(stats)) {
    const v1::PortStats& total = stats.dataplane().total();
    frame.source = "dataplane";
    if (!stats.dataplane().multilog().empty()) {
      frame.source += " -> multilog " + stats.dataplane().multilog();
    }
    if (!stats.dataplane().running()) frame.source += " (stopped)";
    frame.records_total = total.recorded();
    frame.bytes_total = total.recorded_bytes();
    frame.has_received = true;
    frame.received_total = total.received();
    frame.dropped_total = total.dropped();
    for (const v1::DropCount& d : total.drops()) {
      frame.drops.push_back({d.reason(), d.count(), 0});
    }
    return;
  }
  frame.source = "multilog " + options_.multilog +
                 (stats.has_dataplane() ? " (RPC appends)" : " (no dataplane)");
  const v1::MultilogStats* m = FindMultilog(stats, options_.multilog);
  if (m == nullptr) {
    frame.errors.push_back("no multilog '" + options_.multilog + "'");
    return;
  }
  frame.bytes_total = m->read_tail();
  frame.records_total =
      m->record_size() ? m->read_tail() / m->record_size() : 0;
}

Status TopSampler::LoadSchema() {
  if (schema_ != nullptr) return Status::Ok();
  Result<AgentClient::MultilogDescription> d =
      client_->DescribeMultilog(options_.multilog);
  if (!d.ok()) return d.status();
  schema_ = std::move(d->schema);
  return Status::Ok();
}

Result<std::optional<uint64_t>> TopSampler::NewestTimestamp(
    const v1::MultilogStats& stats) {
  const uint64_t size = stats.record_size();
  if (size == 0 || stats.read_tail() < stats.head() + size) {
    return std::optional<uint64_t>();
  }
  v1::ReadRequest request;
  request.set_multilog(options_.multilog);
  request.set_offset(stats.read_tail() - size);
  request.set_count(1);
  request.set_snapshot(stats.read_tail());
  v1::ReadResponse response;
  const grpc::Status status =
      client_->stub().Read(client_->Context().get(), request, &response);
  if (!status.ok()) return Status::Unavailable(client_->Describe(status));
  if (response.records().size() < sizeof(uint64_t)) {
    return std::optional<uint64_t>();
  }
  uint64_t ts;
  std::memcpy(&ts, response.records().data(), sizeof(ts));
  return std::optional<uint64_t>(ts);
}

void TopSampler::Talkers(const v1::StatsResponse& stats, TopFrame& frame) {
  const v1::MultilogStats* m = FindMultilog(stats, options_.multilog);
  if (m == nullptr) {
    frame.talkers_note = "no multilog '" + options_.multilog + "'";
    return;
  }
  // A multilog dropped and created again may have a new schema.
  if (schema_ != nullptr && schema_->record_size() != m->record_size()) {
    schema_.reset();
  }
  if (Status s = LoadSchema(); !s.ok()) {
    frame.talkers_note = s.message();
    return;
  }
  const Column* src = schema_->Find(options_.src_column);
  const Column* dst = schema_->Find(options_.dst_column);
  if (src == nullptr || dst == nullptr) {
    frame.talkers_note =
        "multilog '" + options_.multilog + "' has no column '" +
        (src == nullptr ? options_.src_column : options_.dst_column) +
        "' (see --src-column, --dst-column)";
    return;
  }
  const Column* bytes = schema_->Find(options_.bytes_column);
  if (bytes != nullptr &&
      (bytes->type == ColumnType::kIpv4 || bytes->type == ColumnType::kIpv6 ||
       bytes->type == ColumnType::kMac || bytes->type == ColumnType::kString)) {
    bytes = nullptr;  // not a number: count records instead
  }
  frame.bytes_column = bytes != nullptr ? bytes->name : "";

  Result<std::optional<uint64_t>> newest = NewestTimestamp(*m);
  if (!newest.ok()) {
    frame.talkers_note = newest.status().message();
    return;
  }
  if (!newest->has_value()) {
    frame.talkers_note = "multilog '" + options_.multilog + "' is empty";
    return;
  }
  const uint64_t window = static_cast<uint64_t>(options_.window.count());
  frame.window_end_ns = **newest + 1;
  frame.window_start_ns =
      frame.window_end_ns > window ? frame.window_end_ns - window : 0;

  v1::ExecuteFilterRequest request;
  request.set_multilog(options_.multilog);
  request.set_expression("true");
  request.set_t0_ns(frame.window_start_ns);
  request.set_t1_ns(frame.window_end_ns);
  request.set_limit(options_.sample_limit);
  request.set_snapshot(m->read_tail());
  auto context = client_->Context();
  auto reader = client_->stub().ExecuteFilter(context.get(), request);
  TalkerCounter sources, destinations;
  v1::QueryResponse chunk;
  const size_t size = schema_->record_size();
  while (reader->Read(&chunk)) {
    const std::string& records = chunk.records();
    for (size_t at = 0; at + size <= records.size(); at += size) {
      const auto* record =
          reinterpret_cast<const uint8_t*>(records.data() + at);
      const uint64_t weight =
          bytes != nullptr ? static_cast<uint64_t>(ReadNumber(*bytes, record))
                           : 1;
      sources.Add(AddressText(record + src->offset, src->width), weight);
      destinations.Add(AddressText(record + dst->offset, dst->width), weight);
      ++frame.sampled_records;
    }
    if (chunk.has_summary()) frame.sampled = chunk.summary().truncated();
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    frame.talkers_note = client_->Describe(status);
    return;
  }
  frame.sources = sources.Top(options_.talkers);
  frame.destinations = destinations.Top(options_.talkers);
  frame.window_bytes = sources.total_bytes();
}

void TopSampler::FilterRates(TopFrame& frame) {
  // One ListControl answer: the filters, and the aggregates that count them.
  v1::ListControlRequest list_request;
  list_request.set_multilog(options_.multilog);
  v1::ListControlResponse objects;
  grpc::Status status = client_->stub().ListControl(client_->Context().get(),
                                                    list_request, &objects);
  if (!status.ok()) {
    if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
      frame.errors.push_back("filters: " + client_->Describe(status));
    }
    return;
  }
  std::vector<const v1::ControlStatement*> filters;
  std::map<std::string, std::string> aggregate_of;  // filter -> aggregate
  for (const v1::ControlObject& object : objects.objects()) {
    const v1::ControlStatement& s = object.statement();
    if (s.kind() == v1::CONTROL_KIND_FILTER) filters.push_back(&s);
    if (s.kind() == v1::CONTROL_KIND_AGGREGATE) {
      aggregate_of.emplace(s.filter(), s.name());
    }
  }

  // The same data-time window as the talkers; without one (an empty
  // multilog), the last `window` of wall-clock time.
  uint64_t t1 = frame.window_end_ns;
  uint64_t t0 = frame.window_start_ns;
  const uint64_t window = static_cast<uint64_t>(options_.window.count());
  if (t1 == 0) {
    t1 = frame.time_ns;
    t0 = t1 - window;
  }
  const double seconds = static_cast<double>(t1 - t0) / 1e9;

  for (const v1::ControlStatement* f : filters) {
    TopFilterRate rate;
    rate.name = f->name();
    rate.expression = f->expression();
    auto it = aggregate_of.find(f->name());
    if (it != aggregate_of.end()) {
      v1::GetAggregateRequest request;
      request.set_multilog(options_.multilog);
      request.set_name(it->second);
      request.set_t0_ns(t0);
      request.set_t1_ns(t1);
      v1::GetAggregateResponse response;
      status = client_->stub().GetAggregate(client_->Context().get(), request,
                                            &response);
      if (status.ok()) rate.records = response.count();
    } else {
      v1::QueryFilterRequest request;
      request.set_multilog(options_.multilog);
      request.set_filter(f->name());
      request.set_t0_ns(t0);
      request.set_t1_ns(t1);
      request.set_limit(options_.sample_limit);
      request.set_offsets_only(true);
      auto context = client_->Context();
      auto reader = client_->stub().QueryFilter(context.get(), request);
      v1::QueryResponse chunk;
      while (reader->Read(&chunk)) {
        rate.records += static_cast<uint64_t>(chunk.offsets_size());
        if (chunk.has_summary()) rate.at_least = chunk.summary().truncated();
      }
      status = reader->Finish();
    }
    if (!status.ok()) {
      rate.error = client_->Describe(status);
    } else if (seconds > 0) {
      rate.per_second = static_cast<double>(rate.records) / seconds;
    }
    frame.filters.push_back(std::move(rate));
  }
}

void TopSampler::Alerts(TopFrame& frame) {
  if (alert_cursor_ns_ == 0) {
    const uint64_t lookback =
        static_cast<uint64_t>(options_.alert_lookback.count());
    alert_cursor_ns_ = frame.time_ns > lookback ? frame.time_ns - lookback : 1;
  }
  // Pages continue a query only with the same arguments: t0 stays put.
  const uint64_t t0 = alert_cursor_ns_;
  std::string page_token;
  for (int page = 0; page < kMaxAlertPages; ++page) {
    v1::GetAlertsRequest request;
    request.set_t0_ns(t0);
    request.set_page_token(page_token);
    auto context = client_->Context();
    auto reader = client_->stub().GetAlerts(context.get(), request);
    v1::GetAlertsResponse chunk;
    page_token.clear();
    while (reader->Read(&chunk)) {
      for (const v1::Alert& a : chunk.alerts()) {
        const std::pair<std::string, uint64_t> key(a.multilog(), a.sequence());
        if (a.time_ns() < alert_cursor_ns_ ||
            (a.time_ns() == alert_cursor_ns_ &&
             seen_at_cursor_.count(key) > 0)) {
          continue;
        }
        if (a.time_ns() > alert_cursor_ns_) {
          alert_cursor_ns_ = a.time_ns();
          seen_at_cursor_.clear();
        }
        seen_at_cursor_.insert(key);
        ++alerts_seen_;
        alerts_.push_back(
            {a.time_ns(), a.multilog(), a.trigger(), AlertCondition(a)});
        while (alerts_.size() > options_.alerts) alerts_.pop_front();
      }
      if (chunk.done() && chunk.truncated()) {
        page_token = chunk.next_page_token();
      }
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) {
      frame.errors.push_back("alerts: " + client_->Describe(status));
      break;
    }
    if (page_token.empty()) break;
  }
  frame.alerts.assign(alerts_.begin(), alerts_.end());
  frame.alerts_seen = alerts_seen_;
}

}  // namespace loupe::ctl
