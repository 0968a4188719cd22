#include "agent/service.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>

#include "multilog/expression.h"
#include "multilog/histogram.h"

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "unknown"
#endif

namespace loupe::agent {

enum AgentService::Method : size_t {
  kCreateMultilog,
  kDropMultilog,
  kListMultilogs,
  kAddIndex,
  kRemoveIndex,
  kListIndexes,
  kAddFilter,
  kRemoveFilter,
  kListFilters,
  kAddAggregate,
  kRemoveAggregate,
  kListAggregates,
  kAddTrigger,
  kRemoveTrigger,
  kListTriggers,
  kAppend,
  kAppendBatch,
  kAppendStream,
  kRead,
  kExecuteFilter,
  kQueryFilter,
  kGetAggregate,
  kGetAggregateSeries,
  kGetAlerts,
  kSubscribeAlerts,
  kStats,
  kHealth,
};

namespace {

constexpr std::array<std::string_view, 27> kMethodNames = {
    "CreateMultilog",
    "DropMultilog",
    "ListMultilogs",
    "AddIndex",
    "RemoveIndex",
    "ListIndexes",
    "AddFilter",
    "RemoveFilter",
    "ListFilters",
    "AddAggregate",
    "RemoveAggregate",
    "ListAggregates",
    "AddTrigger",
    "RemoveTrigger",
    "ListTriggers",
    "Append",
    "AppendBatch",
    "AppendStream",
    "Read",
    "ExecuteFilter",
    "QueryFilter",
    "GetAggregate",
    "GetAggregateSeries",
    "GetAlerts",
    "SubscribeAlerts",
    "Stats",
    "Health",
};

constexpr uint64_t kNoEnd = std::numeric_limits<uint64_t>::max();
// A query answer's chunks: at most this many records or about this many
// bytes each.
constexpr size_t kChunkRecords = 4096;
constexpr size_t kChunkBytes = 4u << 20;
constexpr size_t kSeriesChunkBuckets = 1024;
constexpr size_t kAlertChunk = 1000;
constexpr auto kSubscriptionSlice = std::chrono::milliseconds(100);
constexpr auto kSubscriptionRescan = std::chrono::milliseconds(500);

uint64_t WallNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

grpc::Status RequireField(std::string_view field, const std::string& value) {
  if (value.empty()) return Invalid(std::string(field) + " is empty");
  return grpc::Status::OK;
}

// [t0, t1) with t1 = 0 meaning "no end".
grpc::Status CheckWindow(uint64_t t0_ns, uint64_t t1_ns) {
  if (t1_ns != 0 && t1_ns < t0_ns) {
    return Invalid("time range: t1_ns " + std::to_string(t1_ns) +
                   " is before t0_ns " + std::to_string(t0_ns));
  }
  return grpc::Status::OK;
}

uint64_t EndOf(uint64_t t1_ns) { return t1_ns == 0 ? kNoEnd : t1_ns; }

uint64_t NsToMs(std::chrono::nanoseconds ns) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(ns).count());
}

// --- Records as text --------------------------------------------------------

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
std::string FloatText(T v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string StringLiteral(const uint8_t* p, uint32_t width) {
  uint32_t n = width;
  while (n > 0 && p[n - 1] == 0) --n;  // zero padding
  std::string out = "'";
  for (uint32_t i = 0; i < n; ++i) {
    const unsigned char c = p[i];
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "'";
  return out;
}

// A column's value written as the expression language writes literals.
std::string ValueText(const Column& column, const uint8_t* record) {
  const uint8_t* p = record + column.offset;
  switch (column.type) {
    case ColumnType::kBool:
      return p[0] != 0 ? "true" : "false";
    case ColumnType::kU8:
      return std::to_string(p[0]);
    case ColumnType::kU16:
      return std::to_string(Load<uint16_t>(p));
    case ColumnType::kU32:
      return std::to_string(Load<uint32_t>(p));
    case ColumnType::kU64:
      return std::to_string(Load<uint64_t>(p));
    case ColumnType::kI8:
      return std::to_string(Load<int8_t>(p));
    case ColumnType::kI16:
      return std::to_string(Load<int16_t>(p));
    case ColumnType::kI32:
      return std::to_string(Load<int32_t>(p));
    case ColumnType::kI64:
      return std::to_string(Load<int64_t>(p));
    case ColumnType::kF32:
      return FloatText(Load<float>(p));
    case ColumnType::kF64:
      return FloatText(Load<double>(p));
    case ColumnType::kIpv4: {
      char buf[INET_ADDRSTRLEN];
      return inet_ntop(AF_INET, p, buf, sizeof(buf)) ? buf : "?";
    }
    case ColumnType::kIpv6: {
      static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0,    0,
                                              0, 0, 0, 0, 0xff, 0xff};
      char buf[INET6_ADDRSTRLEN];
      if (std::memcmp(p, kMapped, sizeof(kMapped)) == 0) {
        return inet_ntop(AF_INET, p + 12, buf, sizeof(buf)) ? buf : "?";
      }
      return inet_ntop(AF_INET6, p, buf, sizeof(buf)) ? buf : "?";
    }
    case ColumnType::kMac: {
      char buf[18];
      std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", p[0],
                    p[1], p[2], p[3], p[4], p[5]);
      return buf;
    }
    case ColumnType::kString:
      return StringLiteral(p, column.width);
  }
  return "?";
}

void FillRow(const Schema& schema, uint64_t offset, const uint8_t* record,
             v1::Row* row) {
  row->set_offset(offset);
  auto* values = row->mutable_values();
  values->Reserve(static_cast<int>(schema.columns().size()));
  for (const Column& c : schema.columns()) values->Add(ValueText(c, record));
}

void FillColumns(const Schema& schema,
                 google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const Column& c : schema.columns()) out->Add(std::string(c.name));
}

// --- Page tokens ------------------------------------------------------------
//
// token := kind ':' hex(snapshot) ':' hex(a) ':' hex(b) ':' hex(c) ':'
//          hex(fingerprint) [':' hex-bytes(name)]
// kind 'e' (ExecuteFilter): a = next offset, b = records before it.
// kind 'q' (QueryFilter): a = last bucket, b = last offset, c = records of
//   that bucket up to it.
// kind 'a' (GetAlerts): a = last time_ns, b = last sequence, name = its
//   multilog.
// The fingerprint hashes the request's other arguments, so a token is
// refused with arguments it was not issued for.

struct PageToken {
  char kind = 0;
  uint64_t snapshot = 0;
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t c = 0;
  uint64_t fingerprint = 0;
  std::string name;
};

class Fingerprint {
 public:
  Fingerprint& Add(std::string_view s) {
    for (unsigned char ch : s) Mix(ch);
    Mix(0xff);
    return *this;
  }
  Fingerprint& Add(uint64_t v) {
    for (int i = 0; i < 8; ++i) Mix(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  uint64_t value() const { return h_; }

 private:
  void Mix(uint8_t byte) {  // FNV-1a
    h_ ^= byte;
    h_ *= 0x100000001b3ull;
  }
  uint64_t h_ = 0xcbf29ce484222325ull;
};

std::string Hex(uint64_t v) {
  char buf[17];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, 16);
  (void)ec;
  return std::string(buf, end);
}

std::string EncodeToken(const PageToken& t) {
  std::string out(1, t.kind);
  for (uint64_t v : {t.snapshot, t.a, t.b, t.c, t.fingerprint}) {
    out += ':';
    out += Hex(v);
  }
  if (!t.name.empty()) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += ':';
    for (unsigned char ch : t.name) {
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

// nullopt when `text` is not a token of `kind` issued for `fingerprint`.
std::optional<PageToken> DecodeToken(std::string_view text, char kind,
                                     uint64_t fingerprint) {
  if (text.size() < 2 || text[0] != kind || text[1] != ':') return {};
  PageToken t;
  t.kind = kind;
  std::string_view rest = text.substr(2);
  uint64_t* fields[] = {&t.snapshot, &t.a, &t.b, &t.c, &t.fingerprint};
  for (size_t i = 0; i < std::size(fields); ++i) {
    const size_t colon = rest.find(':');
    std::string_view part = rest.substr(0, colon);
    auto [end, ec] =
        std::from_chars(part.data(), part.data() + part.size(), *fields[i], 16);
    if (ec != std::errc() || end != part.data() + part.size() || part.empty()) {
      return {};
    }
    if (colon == std::string_view::npos) {
      if (i + 1 != std::size(fields)) return {};
      rest = {};
    } else {
      rest = rest.substr(colon + 1);
      if (i + 1 == std::size(fields) && rest.empty()) return {};
    }
  }
  if (rest.size() % 2 != 0) return {};
  for (size_t i = 0; i < rest.size(); i += 2) {
    uint8_t byte = 0;
    auto [end, ec] =
        std::from_chars(rest.data() + i, rest.data() + i + 2, byte, 16);
    if (ec != std::errc() || end != rest.data() + i + 2) return {};
    t.name += static_cast<char>(byte);
  }
  if (t.fingerprint != fingerprint) return {};
  return t;
}

grpc::Status BadToken(std::string_view rpc) {
  return Invalid(std::string(rpc) +
                 ": page_token was not issued for these arguments (or is "
                 "damaged); repeat the request that returned it with the "
                 "same multilog, expression or filter and time range");
}

// --- Aggregates -------------------------------------------------------------

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

v1::StorageMode ToProto(StorageMode mode) {
  switch (mode) {
    case StorageMode::kInMemory:
      return v1::STORAGE_MODE_MEMORY;
    case StorageMode::kDurableRelaxed:
      return v1::STORAGE_MODE_DURABLE_RELAXED;
    case StorageMode::kDurable:
      return v1::STORAGE_MODE_DURABLE;
  }
  return v1::STORAGE_MODE_UNSPECIFIED;
}

void FillInfo(Multilog& ml, bool pinned, v1::MultilogInfo* out) {
  const DataLog& data = ml.data_log();
  const DataLogOptions& o = data.options();
  const DataLogStats s = data.stats();
  const uint64_t rs = data.record_size();
  out->set_name(ml.name());
  out->set_schema(ml.schema().Serialize());
  FillColumns(ml.schema(), out->mutable_columns());
  out->set_record_size(static_cast<uint32_t>(rs));
  out->set_storage(ToProto(o.mode));
  out->set_directory(o.directory);
  out->set_bucket_ns(ml.bucket_ns());
  out->set_retention_max_bytes(o.retention.max_bytes);
  out->set_retention_max_age_ms(NsToMs(o.retention.max_age));
  out->set_capacity_bytes(o.capacity_bytes);
  out->set_max_batch_records(o.max_batch_records);
  const uint64_t retained = s.read_tail > s.head ? s.read_tail - s.head : 0;
  out->set_records(retained / rs);
  out->set_bytes(retained);
  out->set_head(s.head);
  out->set_read_tail(s.read_tail);
  out->set_write_tail(s.write_tail);
  out->set_indexes(static_cast<uint32_t>(ml.ListIndexes().size()));
  out->set_filters(static_cast<uint32_t>(ml.ListFilters().size()));
  out->set_aggregates(static_cast<uint32_t>(ml.ListAggregates().size()));
  out->set_triggers(static_cast<uint32_t>(ml.ListTriggers().size()));
  out->set_dataplane(pinned);
  out->set_memory_bytes(ml.memory_bytes());
  out->set_alerts(ml.alerts().size());
}

void FillPort(const dataplane::PortStats& p, v1::PortStats* out) {
  out->set_name(p.name);
  out->set_device(p.device);
  out->set_port_id(p.port_id);
  out->set_received(p.received);
  out->set_received_bytes(p.received_bytes);
  out->set_recorded(p.recorded);
  out->set_recorded_bytes(p.recorded_bytes);
  out->set_dropped(p.dropped());
  for (size_t r = 0; r < dataplane::kNumDropReasons; ++r) {
    v1::DropCount* d = out->add_drops();
    d->set_reason(dataplane::DropReasonName(r));
    d->set_count(p.drops[r]);
  }
}

// Copies the record at `offset`; false if retention retired it meanwhile.
bool CopyRecord(const DataLog& data, uint64_t offset, uint8_t* out) {
  return data.Read(offset, out).ok();
}

}  // namespace

grpc::Status ToGrpcStatus(const Status& status) {
  using C = grpc::StatusCode;
  C code = C::INTERNAL;
  switch (status.code()) {
    case Status::Code::kOk:
      return grpc::Status::OK;
    case Status::Code::kInvalidArgument:
      code = C::INVALID_ARGUMENT;
      break;
    case Status::Code::kNotFound:
      code = C::NOT_FOUND;
      break;
    case Status::Code::kAlreadyExists:
      code = C::ALREADY_EXISTS;
      break;
    case Status::Code::kFailedPrecondition:
      code = C::FAILED_PRECONDITION;
      break;
    case Status::Code::kResourceExhausted:
      code = C::RESOURCE_EXHAUSTED;
      break;
    case Status::Code::kOutOfRange:
    case Status::Code::kExpired:
      code = C::OUT_OF_RANGE;
      break;
    case Status::Code::kCorruption:
      code = C::DATA_LOSS;
      break;
    case Status::Code::kUnavailable:
      code = C::UNAVAILABLE;
      break;
    case Status::Code::kIoError:
    case Status::Code::kInternal:
      code = C::INTERNAL;
      break;
  }
  return grpc::Status(code, status.message());
}

// One SubscribeAlerts stream's queue, filled by AlertLog subscriber
// callbacks on the multilogs' monitor threads.
struct AgentService::Subscription {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::string, Alert>> queue;  // mu
  uint64_t lost = 0;                                // mu
  bool wake = false;                                // mu; Shutdown
};

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
};

AgentService::AgentService(MultilogRegistry* registry, std::string host,
                           PipelineStatsSource pipeline_stats)
    : registry_(registry),
      host_(std::move(host)),
      pipeline_stats_(std::move(pipeline_stats)),
      started_(std::chrono::steady_clock::now()),
      start_time_ns_(WallNs()) {}

AgentService::~AgentService() { Shutdown(); }

void AgentService::Shutdown() {
  shutting_down_.store(true, std::memory_order_release);
  std::lock_guard<std::mutex> lock(subscriptions_mu_);
  for (Subscription* s : subscriptions_) {
    {
      std::lock_guard<std::mutex> q(s->mu);
      s->wake = true;
    }
    s->cv.notify_all();
  }
}

std::vector<RpcMethodStats> AgentService::rpc_stats() const {
  static_assert(
      kMethodNames.size() == kNumMethods && kHealth + 1 == kNumMethods,
      "one name and one counter per method of the proto");
  std::vector<RpcMethodStats> out;
  out.reserve(kNumMethods);
  for (size_t m = 0; m < kNumMethods; ++m) {
    out.push_back(
        RpcMethodStats{std::string(kMethodNames[m]),
                       counters_[m].calls.load(std::memory_order_relaxed),
                       counters_[m].errors.load(std::memory_order_relaxed)});
  }
  return out;
}

grpc::Status AgentService::Finish(Method method, grpc::Status status) {
  counters_[method].calls.fetch_add(1, std::memory_order_relaxed);
  if (!status.ok()) {
    counters_[method].errors.fetch_add(1, std::memory_order_relaxed);
  }
  return status;
}

namespace {

grpc::Status Unavailable() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the agent is shutting down");
}

}  // namespace

template <typename Fn>
grpc::Status AgentService::Serve(Method method, Fn&& body) {
  if (shutting_down()) return Finish(method, Unavailable());
  return Finish(method, body());
}

namespace {

// The multilog a request names.
Result<std::shared_ptr<Multilog>> Lookup(const MultilogRegistry& registry,
                                         const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("multilog is empty");
  return registry.Find(name);
}

}  // namespace

#define LOUPE_LOOKUP(var, name)                                             \
  Result<std::shared_ptr<Multilog>> var##_found = Lookup(*registry_, name); \
  if (!var##_found.ok()) return ToGrpcStatus(var##_found.status());         \
  Multilog& var = **var##_found

// --- Multilogs --------------------------------------------------------------

grpc::Status AgentService::CreateMultilog(
    grpc::ServerContext*, const v1::CreateMultilogRequest* request,
    v1::CreateMultilogResponse* response) {
  return Serve(kCreateMultilog, [&]() -> grpc::Status {
    MultilogSpec spec;
    spec.name = request->name();
    spec.schema = request->schema();
    switch (request->storage()) {
      case v1::STORAGE_MODE_UNSPECIFIED:
      case v1::STORAGE_MODE_MEMORY:
        spec.storage = StorageMode::kInMemory;
        break;
      case v1::STORAGE_MODE_DURABLE_RELAXED:
        spec.storage = StorageMode::kDurableRelaxed;
        break;
      case v1::STORAGE_MODE_DURABLE:
        spec.storage = StorageMode::kDurable;
        break;
      default:
        return Invalid("storage: unknown mode " +
                       std::to_string(request->storage()) +
                       "; use memory, durable-relaxed or durable");
    }
    spec.directory = request->directory();
    spec.retention.max_bytes = request->retention_max_bytes();
    constexpr uint64_t kMaxMs =
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 1'000'000;
    if (request->retention_max_age_ms() > kMaxMs) {
      return Invalid("retention_max_age_ms " +
                     std::to_string(request->retention_max_age_ms()) +
                     " is too large; at most " + std::to_string(kMaxMs));
    }
    spec.retention.max_age =
        std::chrono::milliseconds(request->retention_max_age_ms());
    if (request->bucket_ns() >
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Invalid("bucket_ns " + std::to_string(request->bucket_ns()) +
                     " is too large; at most 24 h");
    }
    spec.bucket = std::chrono::nanoseconds(request->bucket_ns());
    spec.capacity_bytes = request->capacity_bytes();
    spec.preallocate_bytes = request->preallocate_bytes();
    spec.block_records = request->block_records();
    OpenReport report;
    Result<std::shared_ptr<Multilog>> ml = registry_->Create(spec, &report);
    if (!ml.ok()) return ToGrpcStatus(ml.status());
    FillInfo(**ml, false, response->mutable_multilog());
    response->set_reopened(report.reopened);
    response->set_recovered_bytes(report.recovered_bytes);
    response->set_dropped_bytes(report.dropped_bytes);
    response->set_recovery_detail(report.detail);
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::DropMultilog(grpc::ServerContext*,
                                        const v1::DropMultilogRequest* request,
                                        v1::DropMultilogResponse*) {
  return Serve(kDropMultilog, [&]() -> grpc::Status {
    grpc::Status s = RequireField("name", request->name());
    if (!s.ok()) return s;
    return ToGrpcStatus(registry_->Drop(request->name()));
  });
}

grpc::Status AgentService::ListMultilogs(
    grpc::ServerContext*, const v1::ListMultilogsRequest* request,
    v1::ListMultilogsResponse* response) {
  return Serve(kListMultilogs, [&]() -> grpc::Status {
    if (!request->name().empty()) {
      LOUPE_LOOKUP(ml, request->name());
      FillInfo(ml, registry_->IsPinned(request->name()),
               response->add_multilogs());
      return grpc::Status::OK;
    }
    for (const HostedMultilog& h : registry_->List()) {
      FillInfo(*h.multilog, h.pinned, response->add_multilogs());
    }
    return grpc::Status::OK;
  });
}

// --- Indexes, filters, aggregates, triggers ---------------------------------

grpc::Status AgentService::AddIndex(grpc::ServerContext*,
                                    const v1::AddIndexRequest* request,
                                    v1::AddIndexResponse*) {
  return Serve(kAddIndex, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("column", request->column());
    if (!s.ok()) return s;
    IndexSpec spec;
    spec.column = request->column();
    spec.bucket = request->bucket();
    return ToGrpcStatus(ml.AddIndex(spec));
  });
}

grpc::Status AgentService::RemoveIndex(grpc::ServerContext*,
                                       const v1::RemoveIndexRequest* request,
                                       v1::RemoveIndexResponse*) {
  return Serve(kRemoveIndex, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("column", request->column());
    if (!s.ok()) return s;
    return ToGrpcStatus(ml.RemoveIndex(request->column()));
  });
}

grpc::Status AgentService::ListIndexes(grpc::ServerContext*,
                                       const v1::ListIndexesRequest* request,
                                       v1::ListIndexesResponse* response) {
  return Serve(kListIndexes, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    for (const IndexInfo& i : ml.ListIndexes()) {
      v1::IndexInfo* out = response->add_indexes();
      out->set_column(i.column);
      out->set_bucket(i.bucket);
      out->set_covers_from(i.covers_from);
      out->set_entries(i.entries);
    }
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::AddFilter(grpc::ServerContext*,
                                     const v1::AddFilterRequest* request,
                                     v1::AddFilterResponse*) {
  return Serve(kAddFilter, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("name", request->name());
    if (s.ok()) s = RequireField("expression", request->expression());
    if (!s.ok()) return s;
    return ToGrpcStatus(ml.AddFilter(request->name(), request->expression()));
  });
}

grpc::Status AgentService::RemoveFilter(grpc::ServerContext*,
                                        const v1::RemoveFilterRequest* request,
                                        v1::RemoveFilterResponse*) {
  return Serve(kRemoveFilter, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("name", request->name());
    if (!s.ok()) return s;
    return ToGrpcStatus(ml.RemoveFilter(request->name()));
  });
}

grpc::Status AgentService::ListFilters(grpc::ServerContext*,
                                       const v1::ListFiltersRequest* request,
                                       v1::ListFiltersResponse* response) {
  return Serve(kListFilters, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    for (const FilterInfo& f : ml.ListFilters()) {
      v1::FilterInfo* out = response->add_filters();
      out->set_name(f.name);
      out->set_expression(f.expression);
      out->set_covers_from(f.covers_from);
    }
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::AddAggregate(grpc::ServerContext*,
                                        const v1::AddAggregateRequest* request,
                                        v1::AddAggregateResponse*) {
  return Serve(kAddAggregate, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("name", request->name());
    if (s.ok()) s = RequireField("filter", request->filter());
    if (s.ok()) s = RequireField("expression", request->expression());
    if (!s.ok()) return s;
    return ToGrpcStatus(ml.AddAggregate(request->name(), request->filter(),
                                        request->expression()));
  });
}

grpc::Status AgentService::RemoveAggregate(
    grpc::ServerContext*, const v1::RemoveAggregateRequest* request,
    v1::RemoveAggregateResponse*) {
  return Serve(kRemoveAggregate, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("name", request->name());
    if (!s.ok()) return s;
    return ToGrpcStatus(ml.RemoveAggregate(request->name()));
  });
}

grpc::Status AgentService::ListAggregates(
    grpc::ServerContext*, const v1::ListAggregatesRequest* request,
    v1::ListAggregatesResponse* response) {
  return Serve(kListAggregates, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    for (const AggregateInfo& a : ml.ListAggregates()) {
      v1::AggregateInfo* out = response->add_aggregates();
      out->set_name(a.name);
      out->set_filter(a.filter);
      out->set_expression(a.expression);
      out->set_covers_from(a.covers_from);
    }
    return grpc::Status::OK;
  });
}

grpc::Status AgentService::AddTrigger(grpc::ServerContext*,
                                      const v1::AddTriggerRequest* request,
                                      v1::AddTriggerResponse*) {
  return Serve(kAddTrigger, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("name", request->name());
    if (s.ok()) s = RequireField("condition", request->condition());
    if (!s.ok()) return s;
    TriggerOptions options;
    if (request->period_ms() != 0) {
      if (request->period_ms() > 3'600'000) {
        return Invalid("trigger period " +
                       std::to_string(request->period_ms()) +
                       " ms is longer than 1 h");
      }
      options.period = std::chrono::milliseconds(request->period_ms());
    }
    return ToGrpcStatus(
        ml.AddTrigger(request->name(), request->condition(), options));
  });
}

grpc::Status AgentService::RemoveTrigger(
    grpc::ServerContext*, const v1::RemoveTriggerRequest* request,
    v1::RemoveTriggerResponse*) {
  return Serve(kRemoveTrigger, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = RequireField("name", request->name());
    if (!s.ok()) return s;
    return ToGrpcStatus(ml.RemoveTrigger(request->name()));
  });
}

grpc::Status AgentService::ListTriggers(grpc::ServerContext*,
                                        const v1::ListTriggersRequest* request,
                                        v1::ListTriggersResponse* response) {
  return Serve(kListTriggers, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    for (const TriggerInfo& t : ml.ListTriggers()) {
      v1::TriggerInfo* out = response->add_triggers();
      out->set_name(t.name);
      out->set_condition(t.condition);
      out->set_period_ms(NsToMs(t.period));
    }
    return grpc::Status::OK;
  });
}

// --- Appends ----------------------------------------------------------------

namespace {

// Checks a batch against the multilog's record size and batch limit.
grpc::Status CheckBatch(std::string_view rpc, const Multilog& ml,
                        size_t bytes) {
  const DataLog& data = ml.data_log();
  const size_t rs = data.record_size();
  if (bytes == 0) {
    return Invalid(std::string(rpc) + ": no records (records is empty)");
  }
  if (bytes % rs != 0) {
    return Invalid(std::string(rpc) + ": " + std::to_string(bytes) +
                   " bytes is not a whole number of records; multilog '" +
                   ml.name() + "' has " + std::to_string(rs) +
                   "-byte records (" + ml.schema().Serialize() + ")");
  }
  const uint64_t n = bytes / rs;
  if (n > data.options().max_batch_records) {
    return Invalid(std::string(rpc) + ": " + std::to_string(n) +
                   " records in one batch; multilog '" + ml.name() +
                   "' takes at most " +
                   std::to_string(data.options().max_batch_records) +
                   " per batch; split it");
  }
  return grpc::Status::OK;
}

// Appends `bytes` through `lease`, stamping zero timestamps with the wall
// clock when asked (on a copy: the request is const).
grpc::Status AppendThrough(MultilogRegistry::WriterLease& lease,
                           const std::string& bytes, bool timestamp_now,
                           v1::AppendResponse* response) {
  const size_t rs = lease.multilog().data_log().record_size();
  const std::string* data = &bytes;
  std::string stamped;
  if (timestamp_now) {
    stamped = bytes;
    const uint64_t now = WallNs();
    for (size_t off = 0; off < stamped.size(); off += rs) {
      uint64_t ts;
      std::memcpy(&ts, stamped.data() + off, sizeof(ts));
      if (ts == 0) std::memcpy(stamped.data() + off, &now, sizeof(now));
    }
    data = &stamped;
  }
  Result<uint64_t> offset = lease.writer().Append(data->data(), data->size());
  if (!offset.ok()) return ToGrpcStatus(offset.status());
  response->set_first_offset(*offset);
  response->set_count(data->size() / rs);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status AgentService::Append(grpc::ServerContext*,
                                  const v1::AppendRequest* request,
                                  v1::AppendResponse* response) {
  return Serve(kAppend, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    const size_t rs = ml.data_log().record_size();
    if (request->record().size() != rs) {
      return Invalid(
          "Append: the record is " + std::to_string(request->record().size()) +
          " bytes; multilog '" + ml.name() + "' has " + std::to_string(rs) +
          "-byte records (" + ml.schema().Serialize() + ")");
    }
    Result<MultilogRegistry::WriterLease> lease =
        registry_->BorrowWriter(request->multilog());
    if (!lease.ok()) return ToGrpcStatus(lease.status());
    return AppendThrough(*lease, request->record(), request->timestamp_now(),
                         response);
  });
}

grpc::Status AgentService::AppendBatch(grpc::ServerContext*,
                                       const v1::AppendBatchRequest* request,
                                       v1::AppendResponse* response) {
  return Serve(kAppendBatch, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    grpc::Status s = CheckBatch("AppendBatch", ml, request->records().size());
    if (!s.ok()) return s;
    Result<MultilogRegistry::WriterLease> lease =
        registry_->BorrowWriter(request->multilog());
    if (!lease.ok()) return ToGrpcStatus(lease.status());
    return AppendThrough(*lease, request->records(), request->timestamp_now(),
                         response);
  });
}

grpc::Status AgentService::AppendStream(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::AppendBatchRequest>* reader,
    v1::AppendStreamResponse* response) {
  return Serve(kAppendStream, [&]() -> grpc::Status {
    v1::AppendBatchRequest request;
    while (reader->Read(&request)) {
      if (context->IsCancelled()) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
      if (shutting_down()) return Unavailable();
      LOUPE_LOOKUP(ml, request.multilog());
      grpc::Status s = CheckBatch("AppendStream", ml, request.records().size());
      if (!s.ok()) return s;
      // A Writer per batch, not per stream: open streams must not keep
      // the pool from unary appends.
      Result<MultilogRegistry::WriterLease> lease =
          registry_->BorrowWriter(request.multilog());
      if (!lease.ok()) return ToGrpcStatus(lease.status());
      v1::AppendResponse one;
      s = AppendThrough(*lease, request.records(), request.timestamp_now(),
                        &one);
      if (!s.ok()) return s;
      if (response->batches() == 0) {
        response->set_first_offset(one.first_offset());
      }
      response->set_last_offset(one.first_offset());
      response->set_batches(response->batches() + 1);
      response->set_records(response->records() + one.count());
    }
    return grpc::Status::OK;
  });
}

// --- Reads and queries ------------------------------------------------------

grpc::Status AgentService::Read(grpc::ServerContext*,
                                const v1::ReadRequest* request,
                                v1::ReadResponse* response) {
  return Serve(kRead, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    const DataLog& data = ml.data_log();
    const uint64_t rs = data.record_size();
    uint32_t count =
        request->count() == 0 ? kDefaultReadRecords : request->count();
    if (count > kMaxReadRecords) {
      return Invalid("Read: count " + std::to_string(count) +
                     " is over the limit of " +
                     std::to_string(kMaxReadRecords) + " records per call");
    }
    count = static_cast<uint32_t>(
        std::min<uint64_t>(count, std::max<uint64_t>(1, kMaxReadBytes / rs)));
    const uint64_t tail = data.read_tail();
    uint64_t snapshot = request->snapshot();
    if (snapshot == 0) {
      snapshot = tail;
    } else if (snapshot > tail || snapshot % rs != 0) {
      return Invalid("snapshot " + std::to_string(snapshot) +
                     " is not a record boundary at or below the read tail " +
                     std::to_string(tail));
    }
    const uint64_t offset = request->offset();
    if (offset % rs != 0) {
      return Invalid("Read: offset " + std::to_string(offset) +
                     " is not a record boundary (records are " +
                     std::to_string(rs) + " bytes)");
    }
    if (offset > snapshot) {
      return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                          "Read: offset " + std::to_string(offset) +
                              " is past the read tail " +
                              std::to_string(snapshot));
    }
    const uint64_t n = std::min<uint64_t>(count, (snapshot - offset) / rs);
    std::string* records = response->mutable_records();
    size_t got = 0;
    if (n != 0) {
      records->resize(n * rs);
      Status s = data.ReadBatch(offset, snapshot, n, records->data(), &got);
      if (!s.ok()) return ToGrpcStatus(s);
      records->resize(got * rs);
    }
    response->set_first_offset(offset);
    response->set_count(got);
    response->set_record_size(static_cast<uint32_t>(rs));
    response->set_next_offset(offset + got * rs);
    response->set_snapshot(snapshot);
    response->set_head(data.head());
    FillColumns(ml.schema(), response->mutable_columns());
    if (request->decode()) {
      const auto* p = reinterpret_cast<const uint8_t*>(records->data());
      for (size_t i = 0; i < got; ++i) {
        FillRow(ml.schema(), offset + i * rs, p + i * rs, response->add_rows());
      }
    }
    return grpc::Status::OK;
  });
}

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
  std::optional<PageToken> token;
  uint64_t snapshot = args.snapshot;
  if (!args.page_token->empty()) {
    token = DecodeToken(*args.page_token, kind, fingerprint);
    if (!token.has_value()) return BadToken(args.rpc);
    if (snapshot != 0 && snapshot != token->snapshot) {
      return Invalid(
          std::string(args.rpc) + ": snapshot " + std::to_string(snapshot) +
          " differs from the page_token's snapshot " +
          std::to_string(token->snapshot) + "; leave snapshot 0 when paging");
    }
    snapshot = token->snapshot;
  }

  // The page: offsets in answer order, and where the next page starts.
  std::vector<uint64_t> page;
  bool more = false;
  PageToken next;
  next.kind = kind;
  next.fingerprint = fingerprint;
  v1::QuerySummary summary;

  const uint64_t before =
      token.has_value() ? (args.named ? token->c : token->b) : 0;
  if (before + limit + 1 > kMaxPagedRecords + kMaxQueryLimit) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        std::string(args.rpc) + ": paged past " +
            std::to_string(kMaxPagedRecords) +
            " records; narrow the time window (t0_ns, t1_ns) instead");
  }
  if (!args.named) {
    // ExecuteFilter answers the lowest offsets first: page k re-runs the
    // query to its own end and skips what earlier pages sent.
    Result<QueryResult> r = ml.ExecuteFilter(*args.what, args.t0_ns, t1,
                                             before + limit + 1, snapshot);
    if (!r.ok()) return ToGrpcStatus(r.status());
    const uint64_t from = token.has_value() ? token->a : 0;
    auto first = std::lower_bound(r->offsets.begin(), r->offsets.end(), from);
    const size_t available = static_cast<size_t>(r->offsets.end() - first);
    page.assign(first, first + std::min<size_t>(available, limit));
    more = available > limit || r->truncated;
    if (page.empty()) more = false;
    if (more) {
      next.snapshot = r->snapshot;
      next.a = page.back() + rs;
      next.b = static_cast<uint64_t>(first - r->offsets.begin()) + page.size();
    }
    summary.set_plan(r->plan);
    summary.set_covers_from(r->covers_from);
    summary.set_partial(r->partial);
    summary.set_snapshot(r->snapshot);
  } else {
    // QueryFilter answers in the filter log's order: time buckets in order,
    // offsets ascending within one. Page k starts at the bucket where page
    // k-1 ended and skips the records of it that were already sent.
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
    }
    summary.set_plan(r->plan);
    summary.set_covers_from(r->covers_from);
    summary.set_partial(r->partial);
    summary.set_snapshot(r->snapshot);
    summary.set_expired(expired);
  }
  summary.set_truncated(more);
  if (more) summary.set_next_page_token(EncodeToken(next));

  // Stream the page in chunks; the last one carries the summary.
  const Schema& schema = ml.schema();
  const size_t chunk_records =
      std::max<size_t>(1, std::min<size_t>(kChunkRecords, kChunkBytes / rs));
  const bool with_records = !args.offsets_only;
  std::vector<uint8_t> record(rs);
  uint64_t sent = 0;
  uint64_t expired = summary.expired();
  v1::QueryResponse chunk;
  FillColumns(schema, chunk.mutable_columns());
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
      if (args.decode) FillRow(schema, off, record.data(), chunk.add_rows());
    }
    chunk.add_offsets(off);
    ++sent;
    if (++in_chunk == chunk_records && i + 1 < page.size()) {
      if (context->IsCancelled()) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
      if (!writer->Write(chunk)) {
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "the client went away");
      }
      chunk.Clear();
      in_chunk = 0;
    }
  }
  summary.set_records(sent);
  summary.set_expired(expired);
  *chunk.mutable_summary() = std::move(summary);
  if (!writer->Write(chunk)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
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
    if (!s.ok()) return s;
    Result<AggregateResult> r =
        ml.GetAggregate(request->name(), request->t0_ns(),
                        EndOf(request->t1_ns()), request->snapshot());
    if (!r.ok()) return ToGrpcStatus(r.status());
    response->set_function(std::string(AggregateFunctionName(r->function)));
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
    if (!s.ok()) return s;
    Result<AggregateSeries> series =
        ml.GetAggregateSeries(request->name(), request->t0_ns(),
                              EndOf(request->t1_ns()), request->snapshot());
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
          return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        }
        if (!writer->Write(chunk)) {
          return grpc::Status(grpc::StatusCode::CANCELLED,
                              "the client went away");
        }
        chunk.Clear();
        in_chunk = 0;
      }
    }
    chunk.set_done(true);
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    }
    return grpc::Status::OK;
  });
}

// --- Alerts -----------------------------------------------------------------

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
      token = DecodeToken(request->page_token(), 'a', fingerprint);
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
          return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        }
        if (!writer->Write(chunk)) {
          return grpc::Status(grpc::StatusCode::CANCELLED,
                              "the client went away");
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
      chunk.set_next_page_token(EncodeToken(next));
    }
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
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
    auto sub = std::make_shared<Subscription>();
    {
      std::lock_guard<std::mutex> lock(subscriptions_mu_);
      if (shutting_down()) return Unavailable();
      subscriptions_.insert(sub.get());
    }
    struct Attached {
      std::weak_ptr<Multilog> multilog;
      uint64_t id = 0;
      uint64_t replayed = 0;  // highest sequence sent by the replay
    };
    std::map<std::string, Attached> attached;
    auto detach_all = [&] {
      for (auto& [name, a] : attached) {
        if (std::shared_ptr<Multilog> ml = a.multilog.lock()) {
          ml->alerts().Unsubscribe(a.id);
        }
      }
      attached.clear();
      std::lock_guard<std::mutex> lock(subscriptions_mu_);
      subscriptions_.erase(sub.get());
    };
    bool first_scan = true;
    // Subscribes to new multilogs and forgets dropped ones; returns what to
    // replay: alerts since since_ns, and every alert of a multilog that
    // appeared after the stream began (since since_ns, if given).
    auto rescan = [&]() -> std::vector<std::pair<std::string, Alert>> {
      std::vector<std::pair<std::string, Alert>> replay;
      std::vector<HostedMultilog> now;
      if (only.empty()) {
        now = registry_->List();
      } else if (Result<std::shared_ptr<Multilog>> ml = registry_->Find(only);
                 ml.ok()) {
        now.push_back(HostedMultilog{only, *ml, false});
      }
      for (auto it = attached.begin(); it != attached.end();) {
        auto found = std::find_if(now.begin(), now.end(), [&](const auto& h) {
          return h.name == it->first &&
                 h.multilog == it->second.multilog.lock();
        });
        if (found == now.end()) {
          if (std::shared_ptr<Multilog> ml = it->second.multilog.lock()) {
            ml->alerts().Unsubscribe(it->second.id);
          }
          it = attached.erase(it);
        } else {
          ++it;
        }
      }
      for (const HostedMultilog& h : now) {
        if (attached.count(h.name) != 0) continue;
        Attached a;
        a.multilog = h.multilog;
        a.id = h.multilog->alerts().Subscribe(
            [q = sub, name = h.name, trigger](const Alert& alert) {
              if (!trigger.empty() && alert.trigger != trigger) return;
              {
                std::lock_guard<std::mutex> lock(q->mu);
                if (q->queue.size() >= kMaxQueuedAlerts) {
                  ++q->lost;
                  return;
                }
                q->queue.emplace_back(name, alert);
              }
              q->cv.notify_one();
            });
        const bool replay_all = !first_scan;
        if (request->since_ns() != 0 || replay_all) {
          for (Alert& alert : h.multilog->GetAlerts(
                   replay_all ? 0 : request->since_ns(), kNoEnd, trigger, 0)) {
            if (replay_all && request->since_ns() != 0 &&
                alert.time_ns < request->since_ns()) {
              continue;
            }
            a.replayed = std::max(a.replayed, alert.sequence);
            replay.emplace_back(h.name, std::move(alert));
          }
        }
        attached.emplace(h.name, std::move(a));
      }
      first_scan = false;
      return replay;
    };

    auto send = [&](const std::string& name, const Alert& alert,
                    uint64_t lost) {
      v1::AlertEvent event;
      FillAlert(name, alert, event.mutable_alert());
      event.set_lost(lost);
      return writer->Write(event);
    };

    grpc::Status result = grpc::Status::OK;
    auto last_scan = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, Alert>> replay = rescan();
    std::sort(replay.begin(), replay.end(), [](const auto& x, const auto& y) {
      return std::tie(x.second.time_ns, x.first, x.second.sequence) <
             std::tie(y.second.time_ns, y.first, y.second.sequence);
    });
    for (const auto& [name, alert] : replay) {
      if (!send(name, alert, 0)) {
        detach_all();
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "the client went away");
      }
    }
    // Tells the client the stream is live (gRPC sends headers lazily, with
    // the first message).
    if (replay.empty()) writer->SendInitialMetadata();
    for (;;) {
      std::deque<std::pair<std::string, Alert>> batch;
      uint64_t lost = 0;
      {
        std::unique_lock<std::mutex> lock(sub->mu);
        sub->cv.wait_for(lock, kSubscriptionSlice,
                         [&] { return !sub->queue.empty() || sub->wake; });
        batch.swap(sub->queue);
        lost = sub->lost;
        sub->lost = 0;
      }
      if (shutting_down()) {
        result = Unavailable();
        break;
      }
      if (context->IsCancelled()) {
        result = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        break;
      }
      bool gone = false;
      for (const auto& [name, alert] : batch) {
        auto it = attached.find(name);
        if (it != attached.end() && alert.sequence <= it->second.replayed) {
          continue;  // already sent by the replay
        }
        if (!send(name, alert, lost)) {
          gone = true;
          break;
        }
        lost = 0;
      }
      if (gone) {
        result =
            grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
        break;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - last_scan >= kSubscriptionRescan) {
        last_scan = now;
        std::vector<std::pair<std::string, Alert>> late = rescan();
        if (!only.empty() && attached.empty()) {
          result = grpc::Status(grpc::StatusCode::NOT_FOUND,
                                "multilog '" + only + "' was dropped");
          break;
        }
        for (const auto& [name, alert] : late) {
          if (!send(name, alert, 0)) {
            gone = true;
            break;
          }
        }
        if (gone) {
          result =
              grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
          break;
        }
      }
    }
    detach_all();
    return result;
  });
}

// --- Operations -------------------------------------------------------------

grpc::Status AgentService::Stats(grpc::ServerContext*, const v1::StatsRequest*,
                                 v1::StatsResponse* response) {
  return Finish(kStats, [&]() -> grpc::Status {
    response->set_host(host_);
    response->set_uptime_ns(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - started_)
            .count()));
    if (pipeline_stats_) {
      if (std::optional<dataplane::PipelineStats> p = pipeline_stats_()) {
        v1::DataplaneStats* out = response->mutable_dataplane();
        out->set_running(p->running);
        out->set_multilog(p->multilog);
        for (const dataplane::PortStats& port : p->ports) {
          FillPort(port, out->add_ports());
        }
        for (const dataplane::WriterStats& w : p->writers) {
          v1::WriterStats* ws = out->add_writers();
          ws->set_lcore(w.lcore);
          ws->set_batches(w.batches);
          ws->set_records(w.records);
          ws->set_ring_used(w.ring_used);
        }
        FillPort(p->total, out->mutable_total());
      }
    }
    for (const HostedMultilog& h : registry_->List()) {
      const DataLog& data = h.multilog->data_log();
      const DataLogStats s = data.stats();
      v1::MultilogStats* out = response->add_multilogs();
      out->set_name(h.name);
      out->set_record_size(static_cast<uint32_t>(data.record_size()));
      out->set_write_tail(s.write_tail);
      out->set_read_tail(s.read_tail);
      out->set_head(s.head);
      out->set_durable_tail(s.durable_tail);
      out->set_blocks_live(s.blocks_live);
      out->set_blocks_allocated(s.blocks_allocated);
      out->set_blocks_recycled(s.blocks_recycled);
      out->set_blocks_retired(s.blocks_retired);
      out->set_alloc_stalls(s.alloc_stalls);
      out->set_commits(s.commits);
      out->set_data_memory_bytes(s.memory_bytes);
      out->set_memory_bytes(h.multilog->memory_bytes());
      out->set_alerts(h.multilog->alerts().size());
      out->set_records((s.read_tail > s.head ? s.read_tail - s.head : 0) /
                       data.record_size());
    }
    for (const RpcMethodStats& m : rpc_stats()) {
      v1::RpcMethodStats* out = response->add_rpc();
      out->set_method(m.method);
      out->set_calls(m.calls);
      out->set_errors(m.errors);
    }
    return grpc::Status::OK;
  }());
}

grpc::Status AgentService::Health(grpc::ServerContext*,
                                  const v1::HealthRequest*,
                                  v1::HealthResponse* response) {
  const bool serving =
      !shutting_down() && ready_.load(std::memory_order_acquire);
  response->set_status(serving ? v1::HealthResponse::SERVING
                               : v1::HealthResponse::NOT_SERVING);
  response->set_version(LOUPE_VERSION);
  response->set_host(host_);
  response->set_uptime_ns(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - started_)
          .count()));
  response->set_start_time_ns(start_time_ns_);
  return Finish(kHealth, grpc::Status::OK);
}

#undef LOUPE_LOOKUP

// --- Server -----------------------------------------------------------------

namespace {

// Why `address` cannot be listened on, found by binding it ourselves (gRPC
// only says that it failed).
std::string ListenError(const std::string& address) {
  const std::string prefix = "listen " + address + ": ";
  if (address.rfind("unix:", 0) == 0) {
    return prefix +
           "cannot bind the socket (does the directory exist, and "
           "is the path free and writable?)";
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return prefix + "expected HOST:PORT";
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                             port.c_str(), &hints, &result);
  if (rc != 0) return prefix + gai_strerror(rc);
  std::string why = "gRPC could not listen there";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      why = std::strerror(errno);
      if (!why.empty()) why[0] = static_cast<char>(std::tolower(why[0]));
      close(fd);
      break;
    }
    close(fd);
  }
  freeaddrinfo(result);
  return prefix + why;
}

}  // namespace

std::unique_ptr<grpc::Server> StartServer(const std::string& address,
                                          AgentService* service,
                                          std::string* error, int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || (port == 0 && address.rfind("unix:", 0) != 0)) {
    if (server != nullptr) server->Shutdown();
    if (error != nullptr) *error = ListenError(address);
    return nullptr;
  }
  if (bound_port != nullptr) *bound_port = port;
  return server;
}

}  // namespace loupe::agent
