#include "coordinator/loupectl/snapshot_command.h"

#include <string>
#include <vector>

#include "coordinator/loupectl/table.h"
#include "coordinator/loupectl/units.h"

namespace loupe::ctl {
namespace {

std::string TailsTable(
    const google::protobuf::RepeatedPtrField<v1::SnapshotTail>& tails) {
  Table table({"MULTILOG", "TAIL", "HEAD", "SETTLED NS"});
  table.SetAlign(1, Table::Align::kRight);
  table.SetAlign(2, Table::Align::kRight);
  table.SetAlign(3, Table::Align::kRight);
  for (const v1::SnapshotTail& t : tails) {
    table.AddRow({t.multilog(), std::to_string(t.tail()),
                  std::to_string(t.head()),
                  std::to_string(t.settled_ns()) +
                      (t.settled_exact() ? "" : " (approx.)")});
  }
  return table.Render();
}

const char* StateText(v1::SnapshotState state) {
  switch (state) {
    case v1::SNAPSHOT_STATE_PREPARED:
      return "prepared";
    case v1::SNAPSHOT_STATE_COMMITTED:
      return "committed";
    default:
      return "?";
  }
}

}  // namespace

Result<uint32_t> WholeUnits(const std::string& option, const std::string& text,
                            uint64_t unit_ns) {
  Result<uint64_t> ns = ParseDurationNs(text);
  if (!ns.ok())
    return Status::InvalidArgument(option + ": " + ns.status().message());
  if (*ns % unit_ns != 0 || *ns / unit_ns > UINT32_MAX) {
    return Status::InvalidArgument(
        option + ": " + text + " is not a whole number of " +
        (unit_ns == kNsPerMs ? "milliseconds" : "seconds"));
  }
  return static_cast<uint32_t>(*ns / unit_ns);
}

int SnapshotPrepare(Session& s) {
  const CommandArgs& a = s.args();
  Result<uint32_t> lease = WholeUnits("--lease", a.snapshot_lease, kNsPerMs);
  if (!lease.ok()) return s.Usage(lease.status().message());
  v1::PrepareSnapshotRequest request;
  request.set_id(a.name);
  for (const std::string& m : a.snapshot_multilogs) request.add_multilogs(m);
  request.set_lease_ms(*lease);
  v1::PrepareSnapshotResponse response;
  const grpc::Status status = s.client().stub().PrepareSnapshot(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  return s.Output(TailsTable(response.tails()) + "(snapshot " + a.name +
                  " prepared at agent time " +
                  std::to_string(response.agent_time_ns()) +
                  "; commit within " +
                  DurationText(response.lease_ms() * kNsPerMs) + ")\n");
}

int SnapshotCommit(Session& s) {
  const CommandArgs& a = s.args();
  Result<uint32_t> keep = WholeUnits("--keep", a.snapshot_keep, kNsPerS);
  if (!keep.ok()) return s.Usage(keep.status().message());
  v1::CommitSnapshotRequest request;
  request.set_id(a.name);
  request.set_keep_s(*keep);
  v1::CommitSnapshotResponse response;
  const grpc::Status status = s.client().stub().CommitSnapshot(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  return s.Output(TailsTable(response.snapshot().tails()) + "(snapshot " +
                  a.name + " committed; kept for " +
                  DurationText(response.snapshot().keep_s() * kNsPerS) +
                  "; query it with --snapshot-id " + a.name + ")\n");
}

int SnapshotAbort(Session& s) {
  v1::AbortSnapshotRequest request;
  request.set_id(s.args().name);
  v1::AbortSnapshotResponse response;
  const grpc::Status status = s.client().stub().AbortSnapshot(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  return s.Output("aborted snapshot " + s.args().name + "\n");
}

int SnapshotRelease(Session& s) {
  v1::ReleaseSnapshotRequest request;
  request.set_id(s.args().name);
  v1::ReleaseSnapshotResponse response;
  const grpc::Status status = s.client().stub().ReleaseSnapshot(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  return s.Output("released snapshot " + s.args().name + "\n");
}

int SnapshotList(Session& s) {
  v1::ListSnapshotsRequest request;
  v1::ListSnapshotsResponse response;
  const grpc::Status status = s.client().stub().ListSnapshots(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  Table table({"ID", "STATE", "MULTILOGS", "REMAINING"});
  for (const v1::SnapshotInfo& info : response.snapshots()) {
    std::string multilogs;
    for (const v1::SnapshotTail& t : info.tails()) {
      if (!multilogs.empty()) multilogs += ",";
      multilogs += t.multilog() + "@" + std::to_string(t.tail());
    }
    table.AddRow({info.id(), StateText(info.state()), multilogs,
                  DurationText(info.remaining_ms() * kNsPerMs)});
  }
  return s.Output(table.Render());
}

Result<uint64_t> SnapshotTailOf(Session& s, const std::string& id,
                                const std::string& multilog) {
  v1::ListSnapshotsRequest request;
  v1::ListSnapshotsResponse response;
  const grpc::Status status = s.client().stub().ListSnapshots(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return Status::Unavailable(status.error_message());
  for (const v1::SnapshotInfo& info : response.snapshots()) {
    if (info.id() != id) continue;
    for (const v1::SnapshotTail& t : info.tails()) {
      if (t.multilog() == multilog) return t.tail();
    }
    return Status::NotFound("snapshot '" + id + "' does not cover multilog '" +
                            multilog + "'");
  }
  return Status::NotFound("no open snapshot '" + id + "' on the agent");
}

}  // namespace loupe::ctl
