#include "agent/alert_sink_metrics.h"

namespace loupe::agent {

void RenderAlertSinkMetrics(PrometheusTextWriter& w,
                            const std::vector<SinkStats>& sinks) {
  struct Field {
    const char* name;
    const char* help;
    MetricType type;
    uint64_t SinkStats::*field;
  };
  static constexpr Field kFields[] = {
      {"loupe_alert_sink_submitted_total", "Alerts handed to the sink.",
       MetricType::kCounter, &SinkStats::submitted},
      {"loupe_alert_sink_sent_total", "Alerts the sink delivered.",
       MetricType::kCounter, &SinkStats::sent},
      {"loupe_alert_sink_failed_total",
       "Alerts abandoned after every delivery attempt failed.",
       MetricType::kCounter, &SinkStats::failed},
      {"loupe_alert_sink_dropped_total",
       "Alerts dropped because the sink's queue was full or it was "
       "stopping.",
       MetricType::kCounter, &SinkStats::dropped},
      {"loupe_alert_sink_delivery_errors_total",
       "Failed delivery attempts, retries included.", MetricType::kCounter,
       &SinkStats::errors},
      {"loupe_alert_sink_queued_alerts", "Alerts waiting in the sink's queue.",
       MetricType::kGauge, &SinkStats::queued},
      {"loupe_alert_sink_in_flight_alerts",
       "Alerts being delivered or retried now.", MetricType::kGauge,
       &SinkStats::in_flight},
  };
  for (const Field& f : kFields) {
    w.Family(f.name, f.help, f.type);
    for (const auto& s : sinks) {
      w.Sample({{"sink", s.name}, {"type", s.type}}, s.*f.field);
    }
  }
}

}  // namespace loupe::agent
