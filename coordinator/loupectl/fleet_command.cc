#include "coordinator/loupectl/fleet_command.h"

#include <cstdint>
#include <string>
#include <vector>

#include "agent/time_text.h"
#include "coordinator/loupectl/answer_format.h"
#include "coordinator/loupectl/breakdown_command.h"
#include "coordinator/loupectl/interrupt.h"
#include "coordinator/loupectl/snapshot_command.h"
#include "coordinator/loupectl/table.h"
#include "coordinator/loupectl/units.h"

namespace loupe::ctl {
namespace {

const char* HostStateText(v1::FleetHostState state) {
  switch (state) {
    case v1::FLEET_HOST_STATE_COMMITTED:
      return "committed";
    case v1::FLEET_HOST_STATE_ABORTED:
      return "aborted";
    case v1::FLEET_HOST_STATE_FAILED:
      return "failed";
    case v1::FLEET_HOST_STATE_NO_ANSWER:
      return "no answer";
    case v1::FLEET_HOST_STATE_EXCLUDED:
      return "left out";
    default:
      return "?";
  }
}

std::string SignedDuration(int64_t ns) {
  return ns < 0 ? "-" + DurationText(static_cast<uint64_t>(-ns))
                : "+" + DurationText(static_cast<uint64_t>(ns));
}

v1::FleetQuery QueryOf(const CommandArgs& a) {
  v1::FleetQuery q;
  q.set_selector(a.selector);
  q.set_snapshot_id(a.snapshot_id);
  q.set_allow_partial(a.allow_partial);
  return q;
}

// "partial: hv3: UNAVAILABLE: ...; ..." or "".
std::string PartialLine(
    bool partial,
    const google::protobuf::RepeatedPtrField<std::string>& excluded) {
  if (!partial) return "";
  std::string out = "partial";
  for (int i = 0; i < excluded.size(); ++i) {
    out += (i == 0 ? ": " : "; ") + excluded[i];
  }
  return out + "\n";
}

}  // namespace

std::string FleetSnapshotText(const v1::FleetSnapshot& snap) {
  size_t committed = 0;
  for (const v1::FleetSnapshotHost& h : snap.hosts()) {
    committed += h.state() == v1::FLEET_HOST_STATE_COMMITTED;
  }
  std::string out =
      "snapshot " + snap.id() + ": " +
      (snap.committed() ? (snap.partial() ? "committed, partial" : "committed")
                        : "not committed") +
      ", " + std::to_string(committed) + " of " +
      std::to_string(snap.hosts_size()) + " hosts; complete up to " +
      (snap.settled_ns() == 0 ? std::string("-")
                              : FormatLocalTime(snap.settled_ns())) +
      "; kept until " +
      (snap.expires_ns() == 0 ? std::string("-")
                              : FormatLocalTime(snap.expires_ns())) +
      "\n";
  Table table(
      {"AGENT", "STATE", "TAILS", "CLOCK OFFSET", "RTT", "SETTLED", "ERROR"});
  for (const v1::FleetSnapshotHost& h : snap.hosts()) {
    std::string tails;
    for (const v1::SnapshotTail& t : h.tails()) {
      tails += (tails.empty() ? "" : ",") + t.multilog() + "@" +
               std::to_string(t.tail());
    }
    const bool in = h.state() == v1::FLEET_HOST_STATE_COMMITTED;
    table.AddRow({h.agent(), HostStateText(h.state()), tails,
                  in ? SignedDuration(h.clock_offset_ns()) + " ±" +
                           DurationText(h.rtt_ns() / 2)
                     : "-",
                  in ? DurationText(h.rtt_ns()) : "-",
                  h.settled_ns() == 0 ? "-" : FormatLocalTime(h.settled_ns()),
                  h.error()});
  }
  out += table.Render();
  if (!snap.problem().empty()) out += snap.problem() + "\n";
  return out;
}

int FleetSnapshotCreate(Session& s) {
  const CommandArgs& a = s.args();
  Result<uint32_t> lease = WholeUnits("--lease", a.snapshot_lease, kNsPerMs);
  if (!lease.ok()) return s.Usage(lease.status().message());
  Result<uint32_t> keep = WholeUnits("--keep", a.snapshot_keep, kNsPerS);
  if (!keep.ok()) return s.Usage(keep.status().message());
  v1::CreateSnapshotRequest request;
  request.set_id(a.name);
  request.set_selector(a.selector);
  for (const std::string& m : a.snapshot_multilogs) request.add_multilogs(m);
  request.set_lease_ms(*lease);
  request.set_keep_s(*keep);
  request.set_allow_partial(a.allow_partial);
  v1::CreateSnapshotResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().CreateSnapshot(c.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  return s.Output(FleetSnapshotText(response.snapshot()));
}

int FleetSnapshotList(Session& s) {
  v1::ListFleetSnapshotsRequest request;
  v1::ListFleetSnapshotsResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().ListSnapshots(c.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  Table table(
      {"ID", "STATE", "HOSTS", "SELECTOR", "COMPLETE UP TO", "KEPT UNTIL"});
  for (const v1::FleetSnapshot& snap : response.snapshots()) {
    size_t committed = 0;
    for (const v1::FleetSnapshotHost& h : snap.hosts()) {
      committed += h.state() == v1::FLEET_HOST_STATE_COMMITTED;
    }
    table.AddRow(
        {snap.id(), snap.partial() ? "partial" : "committed",
         std::to_string(committed) + "/" + std::to_string(snap.hosts_size()),
         snap.selector().empty() ? "(all)" : snap.selector(),
         FormatLocalTime(snap.settled_ns()),
         FormatLocalTime(snap.expires_ns())});
  }
  return s.Output(table.Render() + std::to_string(response.snapshots_size()) +
                  " open\n");
}

int FleetSnapshotGet(Session& s) {
  v1::GetSnapshotRequest request;
  request.set_id(s.args().name);
  v1::GetSnapshotResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().GetSnapshot(c.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  return s.Output(FleetSnapshotText(response.snapshot()));
}

int FleetSnapshotRelease(Session& s) {
  v1::ReleaseFleetSnapshotRequest request;
  request.set_id(s.args().name);
  v1::ReleaseFleetSnapshotResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().ReleaseSnapshot(c.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  std::string out = "released " + s.args().name + "\n";
  for (const std::string& f : response.failed()) {
    out += "not released on " + f + "\n";
  }
  return s.Output(out);
}

int FleetAggregate(Session& s) {
  const CommandArgs& a = s.args();
  const auto t0 = s.Time("--from", a.from, 0);
  const auto t1 = s.Time("--to", a.to, 0);
  if (!t0 || !t1) return kExitUsage;
  v1::FleetAggregateRequest request;
  *request.mutable_fleet() = QueryOf(a);
  v1::GetAggregateRequest* one = request.mutable_request();
  one->set_multilog(s.multilog());
  one->set_name(a.name);
  one->set_t0_ns(*t0);
  one->set_t1_ns(*t1);
  v1::FleetAggregateResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().GetAggregate(c.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  std::string out = AggregateText(a.name, response.merged());
  Table table({"AGENT", "VALUE", "COUNT", "CLOCK OFFSET", "ERROR"});
  table.SetAlign(1, Table::Align::kRight);
  table.SetAlign(2, Table::Align::kRight);
  for (const v1::FleetHostAnswer& h : response.hosts()) {
    const bool answered = h.error().empty();
    table.AddRow({h.agent(),
                  answered && h.aggregate().has_value()
                      ? NumberText(h.aggregate().value())
                      : "-",
                  answered ? std::to_string(h.aggregate().count()) : "-",
                  response.snapshot_id().empty()
                      ? "-"
                      : SignedDuration(h.clock_offset_ns()),
                  h.error()});
  }
  out += table.Render();
  if (!response.snapshot_id().empty()) {
    out += "at snapshot " + response.snapshot_id() + ", complete up to " +
           FormatLocalTime(response.settled_ns()) + "\n";
  }
  return s.Output(out + PartialLine(response.partial(), response.excluded()));
}

int FleetTopK(Session& s) {
  const CommandArgs& a = s.args();
  const auto t0 = s.Time("--from", a.from, 0);
  const auto t1 = s.Time("--to", a.to, 0);
  if (!t0 || !t1) return kExitUsage;
  const std::vector<std::string> by = SplitList(a.by);
  if (by.empty()) return s.Usage("--by: name 1 to 4 key columns");
  v1::FleetTopKRequest request;
  *request.mutable_fleet() = QueryOf(a);
  v1::GetTopKRequest* one = request.mutable_request();
  one->set_multilog(s.multilog());
  for (const std::string& col : by) one->add_key_columns(col);
  one->set_filter(a.filter);
  one->set_t0_ns(*t0);
  one->set_t1_ns(*t1);
  one->set_value(a.sum);
  one->set_k(a.k);
  v1::FleetTopKResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().GetTopK(c.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  std::vector<std::string> headers = by;
  headers.push_back("VALUE");
  headers.push_back("RECORDS");
  Table table(headers);
  table.SetAlign(by.size(), Table::Align::kRight);
  table.SetAlign(by.size() + 1, Table::Align::kRight);
  for (const v1::TopKEntry& e : response.top()) {
    std::vector<std::string> cells(e.key().values().begin(),
                                   e.key().values().end());
    cells.push_back(NumberText(e.value()));
    cells.push_back(std::to_string(e.count()));
    table.AddRow(std::move(cells));
  }
  std::string out =
      table.Render() + "k-th value " + NumberText(response.kth_value()) + ", " +
      std::to_string(response.records()) + " records on every host, " +
      std::to_string(response.rounds()) + " rounds (" +
      std::to_string(response.candidates()) +
      " keys asked in round 3), at snapshot " + response.snapshot_id() + "\n";
  return s.Output(out + PartialLine(response.partial(), response.excluded()));
}

}  // namespace loupe::ctl

namespace loupe::ctl {

int FleetGroupBy(Session& s) {
  const CommandArgs& a = s.args();
  const auto t0 = s.Time("--from", a.from, 0);
  const auto t1 = s.Time("--to", a.to, 0);
  if (!t0 || !t1) return kExitUsage;
  const std::vector<std::string> by = SplitList(a.by);
  if (by.empty()) return s.Usage("--by: name 1 to 4 key columns");
  Result<uint64_t> bucket = ParseDurationNs(a.breakdown_bucket);
  if (!bucket.ok()) return s.Usage("--bucket: " + bucket.status().message());
  v1::FleetGroupByRequest request;
  *request.mutable_fleet() = QueryOf(a);
  v1::GetGroupByRequest* one = request.mutable_request();
  one->set_multilog(s.multilog());
  for (const std::string& col : by) one->add_key_columns(col);
  if (a.aggregates.empty()) one->add_aggregates("COUNT()");
  for (const std::string& agg : a.aggregates) one->add_aggregates(agg);
  one->set_filter(a.filter);
  one->set_t0_ns(*t0);
  one->set_t1_ns(*t1);
  one->set_bucket_ns(*bucket);
  one->set_limit(a.limit);
  v1::FleetGroupByResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().GetGroupBy(c.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  std::string out = GroupByTable(response.merged(), *bucket != 0);
  for (const v1::FleetGroupByHost& h : response.hosts()) {
    if (h.truncated()) {
      out += h.agent() +
             " had more groups than it answers (100000); rows "
             "may be short\n";
    }
  }
  return s.Output(out + PartialLine(response.partial(), response.excluded()));
}

int FleetStats(Session& s) {
  v1::FleetStatsRequest request;
  *request.mutable_fleet() = QueryOf(s.args());
  v1::FleetStatsResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().Stats(c.Context().get(), request, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  Table table({"AGENT", "RECEIVED", "RECORDED", "DROPPED", "RECORDS KEPT",
               "MEMORY", "ERROR"});
  for (size_t col = 1; col <= 5; ++col) {
    table.SetAlign(col, Table::Align::kRight);
  }
  for (const v1::FleetHostStats& h : response.hosts()) {
    if (!h.error().empty()) {
      table.AddRow({h.agent(), "-", "-", "-", "-", "-", h.error()});
      continue;
    }
    const v1::PortStats& t = h.stats().dataplane().total();
    uint64_t records = 0, memory = 0;
    for (const v1::MultilogStats& m : h.stats().multilogs()) {
      records += m.records();
      memory += m.memory_bytes();
    }
    const bool dp = h.stats().has_dataplane();
    table.AddRow({h.agent(), dp ? std::to_string(t.received()) : "-",
                  dp ? std::to_string(t.recorded()) : "-",
                  dp ? std::to_string(t.dropped()) : "-",
                  std::to_string(records),
                  FormatBytes(static_cast<double>(memory)), ""});
  }
  const v1::PortStats& t = response.dataplane_total();
  std::string out = table.Render() + "total: " + std::to_string(t.received()) +
                    " received, " + std::to_string(t.recorded()) +
                    " recorded, " + std::to_string(t.dropped()) + " dropped";
  for (const v1::DropCount& d : t.drops()) {
    if (d.count() != 0) {
      out += ", " + d.reason() + " " + std::to_string(d.count());
    }
  }
  out += "\n";
  for (const v1::MultilogStats& m : response.multilogs()) {
    out += "multilog " + m.name() + ": " + std::to_string(m.records()) +
           " records kept, " +
           FormatBytes(static_cast<double>(m.memory_bytes())) + "\n";
  }
  return s.Output(out + PartialLine(response.partial(), response.excluded()));
}

}  // namespace loupe::ctl

namespace loupe::ctl {

int FleetQuery(Session& s) {
  const CommandArgs& a = s.args();
  const auto t0 = s.Time("--from", a.from, 0);
  const auto t1 = s.Time("--to", a.to, 0);
  if (!t0 || !t1) return kExitUsage;
  const std::string expression = Joined(a.expression_words);
  if (expression.empty() == a.filter.empty()) {
    return s.Usage("give an EXPRESSION or --filter NAME (one of them)");
  }
  v1::FleetFilterRequest request;
  *request.mutable_fleet() = QueryOf(a);
  request.set_multilog(s.multilog());
  request.set_filter(expression.empty() ? a.filter : expression);
  request.set_t0_ns(*t0);
  request.set_t1_ns(*t1);
  request.set_limit(a.limit);
  request.set_page_token(a.page_token);
  request.set_decode(true);
  CoordinatorClient& c = s.coordinator();
  Table table({"AGENT", "OFFSET", "VALUES"});
  uint64_t records = 0;
  std::string token, notes;
  do {
    v1::FleetFilterResponse response;
    const grpc::Status status =
        expression.empty()
            ? c.stub().QueryFilter(c.Context().get(), request, &response)
            : c.stub().ExecuteFilter(c.Context().get(), request, &response);
    if (!status.ok()) return s.Fail(c.Describe(status));
    if (s.json()) {
      if (s.OutputProto(response) != kExitOk) return kExitFailed;
    } else {
      for (const v1::FleetRecord& r : response.records()) {
        std::string values;
        for (int i = 0; i < r.row().values_size(); ++i) {
          values += (i == 0 ? "" : " ") + response.columns(i) + "=" +
                    r.row().values(i);
        }
        table.AddRow({r.agent(), std::to_string(r.offset()), values});
      }
    }
    records += static_cast<uint64_t>(response.records_size());
    token = response.next_page_token();
    notes = PartialLine(response.partial(), response.excluded());
    request.set_page_token(token);
  } while (a.all && !token.empty() && !interrupt::Interrupted());
  if (s.json()) return kExitOk;
  std::string out = table.Render() + std::to_string(records) +
                    " records, merged by timestamp";
  if (!token.empty()) out += "; more: --page-token " + token;
  return s.Output(out + "\n" + notes);
}

}  // namespace loupe::ctl
