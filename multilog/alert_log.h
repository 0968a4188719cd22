// AlertLog: the append-only log of trigger firings of one multilog, and the
// subscribers that are handed each alert as it is appended (the agent turns
// them into gRPC streams and NOC feeds).
//
// Alerts are rare (at most one per trigger per period), so the log is a
// vector under a mutex; nothing here is on the packet path. Thread-safe.
// A subscriber callback runs on the appending thread (the multilog's
// monitor) and must not block; it may not call Subscribe/Unsubscribe.
#ifndef LOUPE_MULTILOG_ALERT_LOG_H_
#define LOUPE_MULTILOG_ALERT_LOG_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "multilog/expression.h"

namespace loupe {

struct Alert {
  uint64_t sequence = 0;  // 1, 2, ... in append order
  uint64_t time_ns = 0;   // when the window closed (data time)
  std::string trigger;
  std::string aggregate;
  double value = 0;  // the aggregate's value over the window
  CompareOp op = CompareOp::kGt;
  double threshold = 0;
  uint64_t window_start_ns = 0;  // [start, end) of the buckets evaluated
  uint64_t window_end_ns = 0;
};

class AlertLog {
 public:
  using Subscriber = std::function<void(const Alert&)>;

  // Appends `alert` (its sequence is assigned) and hands it to every
  // subscriber. Returns the sequence.
  uint64_t Append(Alert alert);
  // Alerts with t0 <= time_ns < t1, of `trigger` if not empty, oldest first,
  // at most `limit` (0: all).
  std::vector<Alert> Get(uint64_t t0_ns, uint64_t t1_ns,
                         const std::string& trigger, size_t limit) const;
  uint64_t size() const;

  // Returns an id for Unsubscribe.
  uint64_t Subscribe(Subscriber fn);
  void Unsubscribe(uint64_t id);

 private:
  mutable std::mutex mu_;
  std::vector<Alert> alerts_;
  std::vector<std::pair<uint64_t, Subscriber>> subscribers_;
  uint64_t next_subscriber_ = 1;
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_ALERT_LOG_H_
