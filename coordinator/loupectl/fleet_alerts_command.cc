#include "coordinator/loupectl/fleet_alerts_command.h"

#include <cstdint>
#include <memory>
#include <string>

#include "agent/json_writer.h"
#include "coordinator/loupectl/answer_format.h"
#include "coordinator/loupectl/interrupt.h"
#include "coordinator/loupectl/proto_json.h"
#include "coordinator/loupectl/table.h"

namespace loupe::ctl {
namespace {

// fleet alerts --follow: until Ctrl-C (exit 0), stdout closes (exit 0) or
// the coordinator ends the stream (exit 1).
int FleetAlertsFollow(Session& s) {
  const CommandArgs& a = s.args();
  v1::FleetSubscribeAlertsRequest r;
  r.set_selector(a.selector);
  if (a.multilog_given) r.set_multilog(s.multilog());
  r.set_trigger(a.trigger);
  CoordinatorClient& c = s.coordinator();
  // No deadline: the stream lasts until Ctrl-C, which cancels it.
  grpc::ClientContext context;
  grpc::ClientContext* raw = &context;
  interrupt::OnInterrupt([raw] { raw->TryCancel(); });
  auto reader = c.stub().SubscribeAlerts(raw, r);
  v1::FleetAlertEvent event;
  bool output_gone = false;
  while (reader->Read(&event)) {
    std::string line;
    if (s.json()) {
      if (event.heartbeat() && event.lost() == 0) continue;
      JsonWriter json;
      WriteProtoJson(json, event);
      line = json.str() + "\n";
    } else {
      if (event.lost() > 0) {
        line += "(" + std::to_string(event.lost()) +
                " alerts dropped by the coordinator before the next one: "
                "loupectl read too slowly)\n";
      }
      if (event.has_alert()) line += AlertLine(event.alert()) + "\n";
    }
    if (!line.empty() && !s.Print(line)) {
      output_gone = true;
      raw->TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  interrupt::OnInterrupt(nullptr);
  if (interrupt::Interrupted() || output_gone) return kExitOk;
  if (status.ok()) return s.Fail("the coordinator ended the alert stream");
  return s.Fail(c.Describe(status));
}

}  // namespace

int FleetAlerts(Session& s) {
  const CommandArgs& a = s.args();
  const auto since = s.Time("--since", a.since, 0);
  const auto to = s.Time("--to", a.to, 0);
  if (!since || !to) return kExitUsage;
  if (a.follow) {
    if (*since != 0) {
      return s.Usage(
          "--since does not apply with --follow: the coordinator streams "
          "live alerts; drop --follow to list stored ones");
    }
    return FleetAlertsFollow(s);
  }
  v1::FleetAlertsRequest r;
  r.set_selector(a.selector);
  if (a.multilog_given) r.set_multilog(s.multilog());
  r.set_trigger(a.trigger);
  r.set_t0_ns(*since);
  r.set_t1_ns(*to);
  r.set_limit(a.limit);
  r.set_allow_partial(a.allow_partial);
  v1::FleetAlertsResponse response;
  CoordinatorClient& c = s.coordinator();
  const grpc::Status status =
      c.stub().GetAlerts(c.Context().get(), r, &response);
  if (!status.ok()) return s.Fail(c.Describe(status));
  if (s.json()) return s.OutputProto(response);
  std::string out;
  if (response.partial()) {
    out += "partial";
    for (int i = 0; i < response.excluded_size(); ++i) {
      out += (i == 0 ? ": " : "; ") + response.excluded(i);
    }
    out += "\n";
  }
  Table table = AlertsTable();
  for (const v1::FleetAlert& f : response.alerts()) {
    v1::Alert alert = f.alert();
    if (alert.host().empty()) alert.set_host(f.agent());
    AddAlertRow(table, alert);
  }
  out += table.Render();
  out += "(" + std::to_string(response.alerts_size()) + " alerts from " +
         std::to_string(response.hosts_size()) + " agents" +
         (response.truncated() ? "; more matched: raise --limit or narrow "
                                 "--since/--to"
                               : "") +
         ")\n";
  return s.Output(out);
}

}  // namespace loupe::ctl
