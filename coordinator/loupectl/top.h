// TopSampler: the figures of `loupectl top`, fetched from one agent once
// per refresh (rendering is coordinator/loupectl/top_frame.h's job).
//
// Per refresh, with the client's deadline on every call:
//   Stats            rates are deltas against the previous refresh's
//                    counters: the dataplane's recorded/received/dropped
//                    (per reason) when it writes the multilog shown, else
//                    the multilog's read tail
//   ExecuteFilter    "true" over the last `window` of data time (ending at
//                    the newest record, so a replayed capture works as well
//                    as live traffic), at most `sample_limit` records: the
//                    top talkers are summed here, client-side (the API has
//                    no per-key aggregate); "sampled" when capped
//   ListFilters, ListAggregates, and per filter GetAggregate (the count
//                    of any aggregate on it) or else QueryFilter with
//                    offsets only (capped like above): records/s per filter
//   GetAlerts        new alerts since the previous refresh (the first
//                    looks back `alert_lookback`); the latest few are kept
// A failing part is reported in the frame (TopFrame::errors) and the rest
// still shown; an unreachable agent fails the whole refresh.
//
// Not thread-safe: one thread calls Next().
#ifndef LOUPE_COORDINATOR_LOUPECTL_TOP_H_
#define LOUPE_COORDINATOR_LOUPECTL_TOP_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "agent/client/agent_client.h"
#include "agent/proto/loupe.pb.h"
#include "coordinator/loupectl/top_frame.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe::ctl {

struct TopOptions {
  std::string multilog = "packets";
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  std::chrono::nanoseconds window = std::chrono::seconds(1);
  uint32_t sample_limit = 200'000;
  std::string src_column = "src_ip";
  std::string dst_column = "dst_ip";
  std::string bytes_column = "frame_len";  // counted as records if absent
  size_t talkers = 10;
  size_t alerts = 5;
  std::chrono::nanoseconds alert_lookback = std::chrono::minutes(10);
};

class TopSampler {
 public:
  TopSampler(AgentClient* client, TopOptions options);

  // One refresh. Fails (with the described error) only when Stats fails,
  // which means the agent is unreachable or broken.
  Result<TopFrame> Next();

 private:
  // The dataplane's counters describe the multilog shown.
  bool UsesDataplane(const v1::StatsResponse& stats) const;
  void Recording(const v1::StatsResponse& stats, TopFrame& frame);
  void Talkers(const v1::StatsResponse& stats, TopFrame& frame);
  void FilterRates(TopFrame& frame);
  void Alerts(TopFrame& frame);
  Status LoadSchema();
  // The newest record's timestamp, or nullopt when the multilog is empty.
  Result<std::optional<uint64_t>> NewestTimestamp(
      const v1::MultilogStats& stats);

  AgentClient* client_;
  TopOptions options_;
  std::unique_ptr<Schema> schema_;

  // The previous refresh's counters.
  std::optional<v1::StatsResponse> previous_;
  std::chrono::steady_clock::time_point previous_time_;

  // Alerts: the latest ones, and where the next GetAlerts starts.
  std::deque<TopAlert> alerts_;
  uint64_t alerts_seen_ = 0;
  uint64_t alert_cursor_ns_ = 0;
  std::set<std::pair<std::string, uint64_t>> seen_at_cursor_;
};

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_TOP_H_
