// AgentService: appends (Append, AppendBatch, AppendStream) and reads.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <string_view>
#include <thread>
#include <utility>

#include "agent/internal/row_text.h"
#include "agent/internal/service_internal.h"
#include "agent/internal/snapshot_resolve.h"
#include "agent/service.h"

namespace loupe::agent {

using service_internal::Cancelled;
using service_internal::Invalid;
using service_internal::Unavailable;
using service_internal::WallNs;

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

// How long an append waits for its records to become visible: they are
// once every earlier batch of another writer is copied, which takes
// microseconds unless that writer stalls.
constexpr auto kVisibleWait = std::chrono::seconds(1);

// Waits until read_tail() covers `end`; false after kVisibleWait.
bool AwaitVisible(const DataLog& data, uint64_t end) {
  if (data.read_tail() >= end) return true;
  const auto deadline = std::chrono::steady_clock::now() + kVisibleWait;
  for (int spins = 0; data.read_tail() < end; ++spins) {
    if (spins < 64) {
      std::this_thread::yield();
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

// How long an append waits, once visible below the read tail, for the
// snapshots prepared before that to lift their cap: each does within its
// lease, and every snapshot prepared later has a tail at or above the
// batch's end.
constexpr auto kUncappedWait =
    std::chrono::milliseconds(kMaxLeaseMs) + std::chrono::seconds(1);

// Appends `bytes` through `lease`, stamping zero timestamps with the wall
// clock when asked (on a copy: the request is const). Answers only once
// the records are visible through the API: below the read tail and below
// the cap of every prepared snapshot. Then an append acknowledged here is
// in every snapshot prepared afterwards, on this agent or any other. The
// batch is in `snapshots.appends` with its oldest timestamp until it is
// below the read tail. The Writer goes back to the pool before the wait
// for the cap; the caller keeps `lease.multilog()` alive.
grpc::Status AppendThrough(MultilogRegistry::WriterLease lease,
                           internal::SnapshotContext& snapshots,
                           const std::string& bytes, bool timestamp_now,
                           v1::AppendResponse* response) {
  const Multilog& ml = lease.multilog();
  const DataLog& log = ml.data_log();
  const size_t rs = log.record_size();
  uint64_t first = 0;
  uint64_t end = 0;
  {
    // In flight before the timestamps are taken: a snapshot prepared
    // before Enter sees a settled time at or below every stamp taken
    // after it.
    uint64_t oldest = WallNs();
    for (size_t off = 0; off + sizeof(uint64_t) <= bytes.size(); off += rs) {
      uint64_t ts;
      std::memcpy(&ts, bytes.data() + off, sizeof(ts));
      if (ts != 0 || !timestamp_now) oldest = std::min(oldest, ts);
    }
    internal::AppendsInFlight::Scope scope =
        snapshots.appends.Enter(&ml, oldest);
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
    first = *offset;
    end = first + data->size();
    if (!AwaitVisible(log, end)) {
      return grpc::Status(
          grpc::StatusCode::DEADLINE_EXCEEDED,
          "the batch at offset " + std::to_string(first) +
              " is written but not visible after 1 s: an earlier batch of "
              "another writer is still being copied; it becomes visible "
              "with it (do not resend: read from offset " +
              std::to_string(first) + " to check)");
    }
    MultilogRegistry::WriterLease returned = std::move(lease);
  }
  if (!snapshots.registry.AwaitUncapped(ml.name(), &ml, end, kUncappedWait)) {
    return grpc::Status(
        grpc::StatusCode::DEADLINE_EXCEEDED,
        "the batch at offset " + std::to_string(first) +
            " is written but a prepared snapshot still hides it after " +
            std::to_string(kUncappedWait.count()) +
            " ms (do not resend: read from offset " + std::to_string(first) +
            " to check)");
  }
  response->set_first_offset(first);
  response->set_count((end - first) / rs);
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
    return AppendThrough(std::move(*lease), *snapshots_, request->record(),
                         request->timestamp_now(), response);
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
    return AppendThrough(std::move(*lease), *snapshots_, request->records(),
                         request->timestamp_now(), response);
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
        return Cancelled();
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
      s = AppendThrough(std::move(*lease), *snapshots_, request.records(),
                        request.timestamp_now(), &one);
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
    uint64_t snapshot = 0;
    grpc::Status resolved =
        internal::ResolveSnapshot(*snapshots_, ml, request->snapshot(),
                                  request->snapshot_id(), &snapshot);
    if (!resolved.ok()) return resolved;
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
    internal::FillColumns(ml.schema(), response->mutable_columns());
    if (request->decode()) {
      const auto* p = reinterpret_cast<const uint8_t*>(records->data());
      for (size_t i = 0; i < got; ++i) {
        internal::FillRow(ml.schema(), offset + i * rs, p + i * rs,
                          response->add_rows());
      }
    }
    return grpc::Status::OK;
  });
}

}  // namespace loupe::agent
