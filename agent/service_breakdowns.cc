// AgentService: mergeable breakdowns (GetTopK, GetGroupBy), computed by
// multilog/breakdown.h over every record of the window; this file only
// checks the request's bounds and translates.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "agent/internal/service_internal.h"
#include "agent/internal/snapshot_resolve.h"
#include "agent/service.h"
#include "multilog/breakdown.h"

namespace loupe::agent {

using service_internal::CheckWindow;
using service_internal::EndOf;
using service_internal::Invalid;

namespace {

constexpr uint32_t kDefaultGroupByRows = 10'000;
constexpr uint32_t kMaxGroupByRows = 100'000;

template <typename Request>
Result<BreakdownWindow> WindowOf(const Request& request) {
  BreakdownWindow w;
  if (request.key_columns_size() == 0 ||
      static_cast<size_t>(request.key_columns_size()) >
          kMaxBreakdownKeyColumns) {
    return Status::InvalidArgument(
        "key_columns: " + std::to_string(request.key_columns_size()) +
        " given; name 1 to " + std::to_string(kMaxBreakdownKeyColumns));
  }
  w.key_columns.assign(request.key_columns().begin(),
                       request.key_columns().end());
  w.filter = request.filter();
  w.t0_ns = request.t0_ns();
  w.t1_ns = EndOf(request.t1_ns());
  w.snapshot = request.snapshot();
  if (request.max_keys() != 0) w.max_keys = request.max_keys();
  return w;
}

void FillKey(const std::vector<std::string>& text, v1::KeyText* out) {
  for (const std::string& t : text) out->add_values(t);
}

void FillEntry(const KeyValue& kv, v1::TopKEntry* out) {
  FillKey(kv.text, out->mutable_key());
  out->set_value(kv.value);
  out->set_count(kv.count);
  out->set_found(kv.found);
}

}  // namespace

grpc::Status AgentService::GetTopK(grpc::ServerContext*,
                                   const v1::GetTopKRequest* request,
                                   v1::GetTopKResponse* response) {
  return Serve(kGetTopK, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = CheckWindow(request->t0_ns(), request->t1_ns());
    if (!s.ok()) return s;
    if (request->k() == 0 || request->k() > kMaxTopK) {
      return Invalid("GetTopK: k " + std::to_string(request->k()) +
                     " is outside 1.." + std::to_string(kMaxTopK));
    }
    if (static_cast<size_t>(request->keys_size()) > kMaxWantedKeys) {
      return Invalid("GetTopK: " + std::to_string(request->keys_size()) +
                     " keys asked; at most " + std::to_string(kMaxWantedKeys) +
                     " per call");
    }
    Result<BreakdownWindow> w = WindowOf(*request);
    if (!w.ok()) return ToGrpcStatus(w.status());
    s = internal::ResolveSnapshot(*snapshots_, ml, request->snapshot(),
                                  request->snapshot_id(), &w->snapshot);
    if (!s.ok()) return s;
    TopKQuery q;
    q.window = std::move(w).value();
    q.value = request->value();
    q.k = request->k();
    if (request->has_min_value()) q.min_value = request->min_value();
    for (const v1::KeyText& key : request->keys()) {
      q.wanted.emplace_back(key.values().begin(), key.values().end());
    }
    Result<TopKResult> r = TopK(ml, q);
    if (!r.ok()) return ToGrpcStatus(r.status());
    for (const KeyValue& kv : r->top) FillEntry(kv, response->add_top());
    for (const KeyValue& kv : r->wanted) FillEntry(kv, response->add_keys());
    response->set_kth_value(r->kth_value);
    response->set_passing(r->passing);
    response->set_more(r->more);
    for (const std::string& c : q.window.key_columns) {
      response->add_key_columns(c);
    }
    response->set_distinct_keys(r->info.keys);
    response->set_records(r->info.records);
    response->set_snapshot(r->info.snapshot);
    response->set_covers_from(r->info.covers_from);
    response->set_partial(r->info.partial);
    response->set_plan(r->info.plan);
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::GetGroupBy(grpc::ServerContext*,
                                      const v1::GetGroupByRequest* request,
                                      v1::GetGroupByResponse* response) {
  return Serve(kGetGroupBy, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = CheckWindow(request->t0_ns(), request->t1_ns());
    if (!s.ok()) return s;
    if (request->limit() > kMaxGroupByRows) {
      return Invalid("GetGroupBy: limit " + std::to_string(request->limit()) +
                     " is over the maximum of " +
                     std::to_string(kMaxGroupByRows) +
                     "; narrow the window or the filter");
    }
    if (static_cast<size_t>(request->aggregates_size()) >
        kMaxGroupByAggregates) {
      return Invalid(
          "GetGroupBy: " + std::to_string(request->aggregates_size()) +
          " aggregates; at most " + std::to_string(kMaxGroupByAggregates));
    }
    Result<BreakdownWindow> w = WindowOf(*request);
    if (!w.ok()) return ToGrpcStatus(w.status());
    s = internal::ResolveSnapshot(*snapshots_, ml, request->snapshot(),
                                  request->snapshot_id(), &w->snapshot);
    if (!s.ok()) return s;
    GroupByQuery q;
    q.window = std::move(w).value();
    q.aggregates.assign(request->aggregates().begin(),
                        request->aggregates().end());
    q.bucket_ns = request->bucket_ns();
    q.limit = request->limit() == 0 ? kDefaultGroupByRows : request->limit();
    Result<GroupByResult> r = GroupBy(ml, q);
    if (!r.ok()) return ToGrpcStatus(r.status());
    for (const std::string& f : r->functions) response->add_aggregates(f);
    for (const std::string& c : q.window.key_columns) {
      response->add_key_columns(c);
    }
    for (const GroupRow& row : r->rows) {
      v1::GroupByRow* out = response->add_rows();
      FillKey(row.text, out->mutable_key());
      out->set_bucket_start_ns(row.bucket_start_ns);
      out->set_count(row.count);
      for (double v : row.values) out->add_values(v);
    }
    response->set_truncated(r->truncated);
    response->set_groups(r->info.keys);
    response->set_records(r->info.records);
    response->set_snapshot(r->info.snapshot);
    response->set_covers_from(r->info.covers_from);
    response->set_partial(r->info.partial);
    response->set_plan(r->info.plan);
    return grpc::Status::OK;
  });
}

}  // namespace loupe::agent
