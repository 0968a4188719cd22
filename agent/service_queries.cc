// AgentService: queries (ExecuteFilter and QueryFilter, paged with page
// tokens) and aggregates (GetAggregate, GetAggregateSeries).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "agent/internal/page_token.h"
#include "agent/internal/row_text.h"
#include "agent/internal/service_internal.h"
#include "agent/internal/snapshot_resolve.h"
#include "agent/service.h"
#include "multilog/expression.h"
#include "multilog/histogram.h"

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
using service_internal::RequireField;

namespace {

// A query answer's chunks: at most this many records or about this many
// bytes each.
constexpr size_t kChunkRecords = 4096;
constexpr size_t kChunkBytes = 4u << 20;
constexpr size_t kSeriesChunkBuckets = 1024;

// A bucket's value the way GetAggregate computes a window's.
void FillSeriesValue(const AggregateSpec* spec, const AggregateValue& v,
                     v1::SeriesBucket* out) {
  const AggregateFunction f =
      spec != nullptr ? spec->function : AggregateFunction::kCount;
  const bool hist =
      f == AggregateFunction::kHist || f == AggregateFunction::kQuantile;
  const bool has_min = hist || f == AggregateFunction::kMin;
  const bool has_max = hist || f == AggregateFunction::kMax;
  out->set_count(v.count);
  out->set_sum(hist || f == AggregateFunction::kSum ? v.sum : 0);
  out->set_min(has_min && v.count != 0 ? v.min : 0);
  out->set_max(has_max && v.count != 0 ? v.max : 0);
  double value = std::numeric_limits<double>::quiet_NaN();
  bool has = v.count != 0;
  switch (f) {
    case AggregateFunction::kCount:
    case AggregateFunction::kHist:
      value = static_cast<double>(v.count);
      has = true;
      break;
    case AggregateFunction::kSum:
      value = v.sum;
      has = true;
      break;
    case AggregateFunction::kMin:
      if (has) value = v.min;
      break;
    case AggregateFunction::kMax:
      if (has) value = v.max;
      break;
    case AggregateFunction::kQuantile:
      if (has) value = v.Quantile(spec->quantile);
      has = has && !std::isnan(value);
      break;
  }
  out->set_value(value);
  out->set_has_value(has);
}

// Copies the record at `offset`; false if retention retired it meanwhile.
bool CopyRecord(const DataLog& data, uint64_t offset, uint8_t* out) {
  return data.Read(offset, out).ok();
}

}  // namespace

struct AgentService::QueryArgs {
  bool named = false;  // QueryFilter: `what` names a filter
  std::string_view rpc;
  const std::string* multilog = nullptr;
  const std::string* what = nullptr;
  uint64_t t0_ns = 0;
  uint64_t t1_ns = 0;
  uint32_t limit = 0;
  const std::string* page_token = nullptr;
  bool decode = false;
  bool offsets_only = false;
  uint64_t snapshot = 0;
  const std::string* snapshot_id = nullptr;
};

grpc::Status AgentService::RunQuery(
    grpc::ServerContext* context, const QueryArgs& args,
    grpc::ServerWriter<v1::QueryResponse>* writer) {
  grpc::Status s =
      RequireField(args.named ? "filter" : "expression", *args.what);
  if (!s.ok()) return s;
  s = CheckWindow(args.t0_ns, args.t1_ns);
  if (!s.ok()) return s;
  if (args.limit > kMaxQueryLimit) {
    return Invalid(std::string(args.rpc) + ": limit " +
                   std::to_string(args.limit) + " is over the maximum of " +
                   std::to_string(kMaxQueryLimit) + "; page with page_token");
  }
  const uint64_t limit = args.limit == 0 ? kDefaultQueryLimit : args.limit;
  LOUPE_LOOKUP(ml, *args.multilog);
  const DataLog& data = ml.data_log();
  const uint64_t rs = data.record_size();
  const uint64_t bucket_ns = ml.bucket_ns();
  const uint64_t t1 = EndOf(args.t1_ns);

  const char kind = args.named ? 'q' : 'e';
  const uint64_t fingerprint = Fingerprint()
                                   .Add(std::string_view(&kind, 1))
                                   .Add(*args.multilog)
                                   .Add(*args.what)
                                   .Add(args.t0_ns)
                                   .Add(t1)
                                   .value();
  const internal::SipKey key{page_key_[0], page_key_[1]};
  std::optional<PageToken> token;
  uint64_t snapshot = args.snapshot;
  if (!args.page_token->empty()) {
    token = DecodeToken(*args.page_token, kind, fingerprint, key);
    if (!token.has_value()) return BadToken(args.rpc);
    if (snapshot != 0 && snapshot != token->snapshot) {
      return Invalid(
          std::string(args.rpc) + ": snapshot " + std::to_string(snapshot) +
          " differs from the page_token's snapshot " +
          std::to_string(token->snapshot) + "; leave snapshot 0 when paging");
    }
    // Every field, although the mac vouches for them: a token names a
    // snapshot of this multilog (a record boundary, checked again by the
    // query), a position below it, and counts below the paging cap.
    const uint64_t tail = data.read_tail();
    bool valid = token->snapshot != 0 && token->snapshot % rs == 0 &&
                 token->snapshot <= tail;
    if (!args.named) {
      valid = valid && token->a % rs == 0 && token->a <= token->snapshot &&
              token->b <= token->a / rs && token->c == 0;
    } else {
      valid = valid && token->a >= args.t0_ns / bucket_ns &&
              token->a <= (t1 - 1) / bucket_ns && token->b % rs == 0 &&
              token->b < token->snapshot && token->c >= 1 &&
              token->c <= kMaxPagedRecords;
    }
    if (!valid) return BadToken(args.rpc);
    snapshot = token->snapshot;
  }
  s = internal::ResolveSnapshot(*snapshots_, ml, snapshot, *args.snapshot_id,
                                &snapshot);
  if (!s.ok()) return s;

  // The page: offsets in answer order, and where the next page starts.
  std::vector<uint64_t> page;
  bool more = false;
  PageToken next;
  next.kind = kind;
  next.fingerprint = fingerprint;
  v1::QuerySummary summary;

  if (!args.named) {
    // ExecuteFilter answers the lowest offsets first: a page resumes at the
    // token's offset, so paging through N records reads each once.
    const uint64_t from = token.has_value() ? token->a : 0;
    const uint64_t sent_before = token.has_value() ? token->b : 0;
    Result<QueryResult> r =
        ml.ExecuteFilter(*args.what, args.t0_ns, t1, limit + 1, snapshot, from);
    if (!r.ok()) return ToGrpcStatus(r.status());
    const size_t available = r->offsets.size();
    page.assign(r->offsets.begin(),
                r->offsets.begin() + std::min<size_t>(available, limit));
    more = available > limit || r->truncated;
    if (page.empty()) more = false;
    if (more) {
      next.snapshot = r->snapshot;
      next.a = page.back() + rs;
      next.b = sent_before + page.size();
    }
    summary.set_plan(r->plan);
    summary.set_covers_from(r->covers_from);
    summary.set_partial(r->partial);
    summary.set_snapshot(r->snapshot);
  } else {
    // QueryFilter answers in the filter log's order: time buckets in order,
    // offsets ascending within one. Page k starts at the bucket where page
    // k-1 ended and skips the records of it that were already sent.
    const uint64_t before = token.has_value() ? token->c : 0;
    const uint64_t t0 =
        token.has_value()
            ? std::max(args.t0_ns,
                       std::min(token->a, kNoEnd / bucket_ns) * bucket_ns)
            : args.t0_ns;
    Result<QueryResult> r = ml.QueryFilter(*args.what, t0, std::max(t0, t1),
                                           before + limit + 1, snapshot);
    if (!r.ok()) return ToGrpcStatus(r.status());
    std::vector<std::pair<uint64_t, uint64_t>> keyed;  // (bucket, offset)
    keyed.reserve(r->offsets.size());
    uint64_t expired = 0;
    for (uint64_t off : r->offsets) {
      uint64_t ts = 0;
      Status rs_status =
          data.ForEach(off, off + rs, [&](uint64_t, const uint8_t* rec) {
            std::memcpy(&ts, rec, sizeof(ts));
            return true;
          });
      if (!rs_status.ok()) {
        ++expired;
        continue;
      }
      keyed.emplace_back(ts / bucket_ns, off);
    }
    std::sort(keyed.begin(), keyed.end());
    auto first = keyed.begin();
    if (token.has_value()) {
      first = std::upper_bound(keyed.begin(), keyed.end(),
                               std::make_pair(token->a, token->b));
    }
    const size_t available = static_cast<size_t>(keyed.end() - first);
    const size_t take = std::min<size_t>(available, limit);
    for (size_t i = 0; i < take; ++i) page.push_back(first[i].second);
    more = (available > limit || r->truncated) && take != 0;
    if (more) {
      const auto& last = first[take - 1];
      next.snapshot = r->snapshot;
      next.a = last.first;
      next.b = last.second;
      // Records of the last bucket up to the last one sent, this page and
      // earlier ones.
      uint64_t in_bucket = 0;
      for (auto it = keyed.begin(); it != first + take; ++it) {
        if (it->first == last.first) ++in_bucket;
      }
      next.c = in_bucket;
      if (in_bucket > kMaxPagedRecords) {
        return grpc::Status(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            std::string(args.rpc) + ": one time bucket holds more than " +
                std::to_string(kMaxPagedRecords) +
                " records of the filter; page with ExecuteFilter instead");
      }
    }
    summary.set_plan(r->plan);
    summary.set_covers_from(r->covers_from);
    summary.set_partial(r->partial);
    summary.set_snapshot(r->snapshot);
    summary.set_expired(expired);
  }
  summary.set_truncated(more);
  if (more) summary.set_next_page_token(EncodeToken(next, key));

  // Stream the page in chunks; the last one carries the summary.
  const Schema& schema = ml.schema();
  const size_t chunk_records =
      std::max<size_t>(1, std::min<size_t>(kChunkRecords, kChunkBytes / rs));
  const bool with_records = !args.offsets_only;
  std::vector<uint8_t> record(rs);
  uint64_t sent = 0;
  uint64_t expired = summary.expired();
  v1::QueryResponse chunk;
  internal::FillColumns(schema, chunk.mutable_columns());
  chunk.set_record_size(static_cast<uint32_t>(rs));
  size_t in_chunk = 0;
  for (size_t i = 0; i < page.size(); ++i) {
    const uint64_t off = page[i];
    if (with_records) {
      if (!CopyRecord(data, off, record.data())) {
        ++expired;
        continue;
      }
      chunk.mutable_records()->append(
          reinterpret_cast<const char*>(record.data()), rs);
      if (args.decode)
        internal::FillRow(schema, off, record.data(), chunk.add_rows());
    }
    chunk.add_offsets(off);
    ++sent;
    if (++in_chunk == chunk_records && i + 1 < page.size()) {
      if (context->IsCancelled()) {
        return Cancelled();
      }
      if (!writer->Write(chunk)) {
        return ClientGone();
      }
      chunk.Clear();
      in_chunk = 0;
    }
  }
  summary.set_records(sent);
  summary.set_expired(expired);
  *chunk.mutable_summary() = std::move(summary);
  if (!writer->Write(chunk)) {
    return ClientGone();
  }
  return grpc::Status::OK;
}

grpc::Status AgentService::ExecuteFilter(
    grpc::ServerContext* context, const v1::ExecuteFilterRequest* request,
    grpc::ServerWriter<v1::QueryResponse>* writer) {
  return Serve(kExecuteFilter, [&]() -> grpc::Status {
    QueryArgs args;
    args.rpc = "ExecuteFilter";
    args.multilog = &request->multilog();
    args.what = &request->expression();
    args.t0_ns = request->t0_ns();
    args.t1_ns = request->t1_ns();
    args.limit = request->limit();
    args.page_token = &request->page_token();
    args.decode = request->decode();
    args.offsets_only = request->offsets_only();
    args.snapshot = request->snapshot();
    args.snapshot_id = &request->snapshot_id();
    return RunQuery(context, args, writer);
  });
}

grpc::Status AgentService::QueryFilter(
    grpc::ServerContext* context, const v1::QueryFilterRequest* request,
    grpc::ServerWriter<v1::QueryResponse>* writer) {
  return Serve(kQueryFilter, [&]() -> grpc::Status {
    QueryArgs args;
    args.named = true;
    args.rpc = "QueryFilter";
    args.multilog = &request->multilog();
    args.what = &request->filter();
    args.t0_ns = request->t0_ns();
    args.t1_ns = request->t1_ns();
    args.limit = request->limit();
    args.page_token = &request->page_token();
    args.decode = request->decode();
    args.offsets_only = request->offsets_only();
    args.snapshot = request->snapshot();
    args.snapshot_id = &request->snapshot_id();
    return RunQuery(context, args, writer);
  });
}

grpc::Status AgentService::GetAggregate(grpc::ServerContext*,
                                        const v1::GetAggregateRequest* request,
                                        v1::GetAggregateResponse* response) {
  return Serve(kGetAggregate, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("name", request->name());
    if (s.ok()) s = CheckWindow(request->t0_ns(), request->t1_ns());
    uint64_t snapshot = 0;
    if (s.ok()) {
      s = internal::ResolveSnapshot(*snapshots_, ml, request->snapshot(),
                                    request->snapshot_id(), &snapshot);
    }
    if (!s.ok()) return s;
    Result<AggregateResult> r = ml.GetAggregate(
        request->name(), request->t0_ns(), EndOf(request->t1_ns()), snapshot);
    if (!r.ok()) return ToGrpcStatus(r.status());
    response->set_function(std::string(AggregateFunctionName(r->function)));
    response->set_quantile(r->quantile);
    response->set_value(r->value);
    response->set_has_value(r->has_value);
    const AggregateValue& d = r->detail;
    const bool hist = r->function == AggregateFunction::kHist ||
                      r->function == AggregateFunction::kQuantile;
    const bool has_sum = hist || r->function == AggregateFunction::kSum;
    const bool has_min = hist || r->function == AggregateFunction::kMin;
    const bool has_max = hist || r->function == AggregateFunction::kMax;
    response->set_count(d.count);
    response->set_sum(has_sum ? d.sum : 0);
    response->set_min(has_min && d.count != 0 ? d.min : 0);
    response->set_max(has_max && d.count != 0 ? d.max : 0);
    response->set_covers_from(r->covers_from);
    response->set_partial(r->partial);
    response->set_recomputed_buckets(r->recomputed_buckets);
    response->set_snapshot(r->snapshot);
    if (request->with_bins() && hist) {
      v1::MergeableHistogram* bins = response->mutable_bins();
      bins->set_layout(Histogram::kLayout);
      bins->set_sub_bucket_bits(Histogram::kSubBucketBits);
      bins->set_count(d.count);
      bins->set_sum(d.sum);
      bins->set_min(d.count != 0 ? d.min : 0);
      bins->set_max(d.count != 0 ? d.max : 0);
      bins->set_integral(true);
      if (d.hist != nullptr) {
        bins->set_integral(d.hist->integral());
        d.hist->ForEachBin([&](int64_t bin, uint64_t count) {
          bins->add_bins(bin);
          bins->add_counts(count);
        });
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::GetAggregateSeries(
    grpc::ServerContext* context, const v1::GetAggregateSeriesRequest* request,
    grpc::ServerWriter<v1::GetAggregateSeriesResponse>* writer) {
  return Serve(kGetAggregateSeries, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("name", request->name());
    if (s.ok()) s = CheckWindow(request->t0_ns(), request->t1_ns());
    uint64_t snapshot = 0;
    if (s.ok()) {
      s = internal::ResolveSnapshot(*snapshots_, ml, request->snapshot(),
                                    request->snapshot_id(), &snapshot);
    }
    if (!s.ok()) return s;
    Result<AggregateSeries> series = ml.GetAggregateSeries(
        request->name(), request->t0_ns(), EndOf(request->t1_ns()), snapshot);
    if (!series.ok()) return ToGrpcStatus(series.status());
    // The function, to compute each bucket's value as GetAggregate would.
    std::optional<AggregateSpec> spec;
    for (const AggregateInfo& a : ml.ListAggregates()) {
      if (a.name != request->name()) continue;
      Result<AggregateSpec> parsed = ParseAggregate(ml.schema(), a.expression);
      if (parsed.ok()) spec = std::move(parsed).value();
    }
    v1::GetAggregateSeriesResponse chunk;
    chunk.set_function(spec ? std::string(AggregateFunctionName(spec->function))
                            : "");
    chunk.set_bucket_ns(series->bucket_ns);
    chunk.set_covers_from(series->covers_from);
    chunk.set_partial(series->partial);
    chunk.set_snapshot(series->snapshot);
    size_t in_chunk = 0;
    for (const BucketValue& b : series->buckets) {
      v1::SeriesBucket* out = chunk.add_buckets();
      out->set_start_ns(b.start_ns);
      FillSeriesValue(spec ? &*spec : nullptr, b.value, out);
      if (request->histograms() && b.value.hist != nullptr) {
        b.value.hist->ForEachBucket(
            [&](double lower, double upper, uint64_t count) {
              v1::HistogramBin* bin = out->add_bins();
              bin->set_lower(lower);
              bin->set_upper(upper);
              bin->set_count(count);
            });
      }
      if (++in_chunk == kSeriesChunkBuckets) {
        if (context->IsCancelled()) {
          return Cancelled();
        }
        if (!writer->Write(chunk)) {
          return ClientGone();
        }
        chunk.Clear();
        in_chunk = 0;
      }
    }
    chunk.set_done(true);
    if (!writer->Write(chunk)) {
      return ClientGone();
    }
    return grpc::Status::OK;
  });
}

}  // namespace loupe::agent
