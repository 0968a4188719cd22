// The Prometheus families of alert sinks' counters (AlertDispatcher
// SinkStats), one sample per sink labelled {sink, type}: the same names on
// the agent's /metrics and the coordinator's. A pure function; thread-safe.
//
//   loupe_alert_sink_submitted_total, _sent_total, _failed_total,
//   _dropped_total, _delivery_errors_total   counters
//   loupe_alert_sink_queued_alerts, _in_flight_alerts   gauges
#ifndef LOUPE_AGENT_ALERT_SINK_METRICS_H_
#define LOUPE_AGENT_ALERT_SINK_METRICS_H_

#include <vector>

#include "agent/alert_dispatcher.h"
#include "agent/prometheus_text.h"

namespace loupe::agent {

void RenderAlertSinkMetrics(PrometheusTextWriter& w,
                            const std::vector<SinkStats>& sinks);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_ALERT_SINK_METRICS_H_
