// AgentService: multilogs (create, drop, list) and control (Control and
// ListControl over loupe::ControlStatement).
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include "agent/control_proto.h"
#include "agent/internal/row_text.h"
#include "agent/internal/service_internal.h"
#include "agent/internal/snapshot_resolve.h"
#include "agent/service.h"
#include "multilog/control.h"

namespace loupe::agent {

using service_internal::Invalid;
using service_internal::NsToMs;
using service_internal::RequireField;

namespace {

v1::StorageMode StorageModeToProto(StorageMode mode) {
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
  internal::FillColumns(ml.schema(), out->mutable_columns());
  out->set_record_size(static_cast<uint32_t>(rs));
  out->set_storage(StorageModeToProto(o.mode));
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

// Where an object's coverage starts and, for indexes, how many keys it
// holds, by (kind, name): the fields a statement does not carry.
struct Coverage {
  uint64_t covers_from = 0;
  uint64_t entries = 0;
};
using CoverageMap = std::map<std::pair<ControlKind, std::string>, Coverage>;

CoverageMap CoverageOf(const Multilog& ml) {
  CoverageMap out;
  for (const IndexInfo& i : ml.ListIndexes()) {
    out[{ControlKind::kIndex, i.column}] = {i.covers_from, i.entries};
  }
  for (const FilterInfo& f : ml.ListFilters()) {
    out[{ControlKind::kFilter, f.name}] = {f.covers_from, 0};
  }
  for (const AggregateInfo& a : ml.ListAggregates()) {
    out[{ControlKind::kAggregate, a.name}] = {a.covers_from, 0};
  }
  return out;
}

}  // namespace

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

// While a snapshot is prepared, the read tail (and what is counted below
// it) stops at the snapshot's tail (agent/internal/snapshot_resolve.h).
void AgentService::CapShownTail(const Multilog& ml,
                                v1::MultilogInfo* out) const {
  const uint64_t shown =
      internal::ShownReadTail(*snapshots_, ml, out->read_tail());
  if (shown == out->read_tail()) return;
  const uint64_t retained = shown > out->head() ? shown - out->head() : 0;
  out->set_read_tail(shown);
  out->set_records(retained / ml.data_log().record_size());
  out->set_bytes(retained);
}

grpc::Status AgentService::ListMultilogs(
    grpc::ServerContext*, const v1::ListMultilogsRequest* request,
    v1::ListMultilogsResponse* response) {
  return Serve(kListMultilogs, [&]() -> grpc::Status {
    if (!request->name().empty()) {
      LOUPE_LOOKUP(ml, request->name());
      FillInfo(ml, registry_->IsPinned(request->name()),
               response->add_multilogs());
      CapShownTail(ml, response->mutable_multilogs(0));
      return grpc::Status::OK;
    }
    for (const HostedMultilog& h : registry_->List()) {
      FillInfo(*h.multilog, h.pinned, response->add_multilogs());
      CapShownTail(*h.multilog,
                   response->mutable_multilogs(response->multilogs_size() - 1));
    }
    return grpc::Status::OK;
  });
}

// --- Control ----------------------------------------------------------------

grpc::Status AgentService::Control(grpc::ServerContext*,
                                   const v1::ControlRequest* request,
                                   v1::ControlResponse*) {
  return Serve(kControl, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    Result<ControlStatement> statement = FromProto(request->statement());
    if (!statement.ok()) return ToGrpcStatus(statement.status());
    // Through the program registry: serialized with program applies, and
    // an object a program owns is not removed behind its back.
    return ToGrpcStatus(programs_.Control(ml, *statement));
  });
}

grpc::Status AgentService::ListControl(grpc::ServerContext*,
                                       const v1::ListControlRequest* request,
                                       v1::ListControlResponse* response) {
  return Serve(kListControl, [&]() -> grpc::Status {
    LOUPE_LOOKUP(ml, request->multilog());
    Result<std::optional<ControlKind>> only = KindFromProto(request->kind());
    if (!only.ok()) return ToGrpcStatus(only.status());
    const CoverageMap coverage = CoverageOf(ml);
    const std::map<ObjectKey, std::string> owners =
        programs_.OwnersIn(ml.name());
    for (const ControlStatement& s : CurrentStatements(ml)) {
      if (only->has_value() && s.kind != **only) continue;
      v1::ControlObject* out = response->add_objects();
      *out->mutable_statement() = ToProto(s);
      auto it = coverage.find({s.kind, s.name});
      if (it != coverage.end()) {
        out->set_covers_from(it->second.covers_from);
        out->set_entries(it->second.entries);
      }
      auto owner = owners.find(ObjectKey{ml.name(), s.kind, s.name});
      if (owner != owners.end()) out->set_owner(owner->second);
    }
    return grpc::Status::OK;
  });
}

}  // namespace loupe::agent
