// AlertLog: the log of trigger firings of one multilog, and the subscribers
// that are handed each alert as it is appended (the agent's AlertDispatcher).
//
// Each alert gets a sequence (consecutive, from options.first_sequence) and
// the incarnation it was raised in (options.incarnation: the agent's start
// time). The log is bounded: appending retires the oldest alerts beyond
// max_alerts and those more than max_age older (in data time) than the
// newest, and counts them; the newest alert is never retired. Readers page
// through it with ReadAfter(sequence), which also says how many alerts
// after the cursor were retired, so a reader that falls behind learns the
// exact loss.
//
// Durable: Open with a directory keeps the log in one append-only file
// there (multilog/alert_log_format.h) and recovers it, truncating a torn
// tail; sequences then continue across reopens and every alert keeps the
// incarnation it was raised in. A log opened without a directory is in
// memory.
//
// Alerts are rare (at most one per trigger per period), so the log is a
// deque under a mutex; nothing here is on the packet path. Thread-safe.
// A subscriber callback runs on the appending thread (the multilog's
// monitor) with the log's mutex held: it must not block and may not call
// back into the log.
#ifndef LOUPE_MULTILOG_ALERT_LOG_H_
#define LOUPE_MULTILOG_ALERT_LOG_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "multilog/expression.h"
#include "multilog/status.h"

namespace loupe {

struct Alert {
  uint64_t sequence = 0;     // consecutive in append order, per multilog
  uint64_t incarnation = 0;  // the agent's start time (ns) when raised
  uint64_t time_ns = 0;      // when the window closed (data time)
  std::string trigger;
  std::string aggregate;
  double value = 0;  // the aggregate's value over the window
  CompareOp op = CompareOp::kGt;
  double threshold = 0;
  uint64_t window_start_ns = 0;  // [start, end) of the buckets evaluated
  uint64_t window_end_ns = 0;
};

struct AlertLogOptions {
  // A day of one alert per second per trigger, for a few triggers.
  size_t max_alerts = 100'000;                                // at least 1
  std::chrono::nanoseconds max_age = std::chrono::hours(24);  // 0: no limit
  // Stamped on every alert appended.
  uint64_t incarnation = 0;
  // The sequence of the first alert of a new (or empty) log; a recovered
  // log continues after its last alert or from here, whichever is later.
  uint64_t first_sequence = 1;
  // Empty: in memory. Otherwise the directory (which must exist) of the
  // durable file.
  std::string directory{};
  bool sync = false;  // fdatasync every append (kDurable)
};

// What Open found in a durable file.
struct AlertLogRecovery {
  uint64_t recovered = 0;   // alerts read back
  uint64_t torn_bytes = 0;  // truncated from the tail
  bool created = false;     // no file (or a torn header): a new one
};

// One page of ReadAfter.
struct AlertPage {
  std::vector<Alert> alerts;  // sequence order, all > the cursor
  // Alerts after the cursor, before alerts[0] (or before the log's first
  // retained alert), that retention retired.
  uint64_t lost = 0;
};

class AlertLog {
 public:
  using Subscriber = std::function<void(const Alert&)>;

  // An in-memory log.
  explicit AlertLog(AlertLogOptions options = {});
  ~AlertLog();
  AlertLog(const AlertLog&) = delete;
  AlertLog& operator=(const AlertLog&) = delete;

  // In memory if options.directory is empty, else the durable file there,
  // created or recovered. kCorruption: the file is not an alert log;
  // kIoError.
  static Result<std::unique_ptr<AlertLog>> Open(
      AlertLogOptions options, AlertLogRecovery* recovery = nullptr);

  // Appends `alert` (its sequence and incarnation are assigned), retires
  // what the bounds say, and hands it to every subscriber. Returns the
  // sequence. A durable log that cannot write keeps the alert in memory
  // and counts a write error.
  uint64_t Append(Alert alert);
  // Alerts with t0 <= time_ns < t1, of `trigger` if not empty, oldest first,
  // at most `limit` (0: all).
  std::vector<Alert> Get(uint64_t t0_ns, uint64_t t1_ns,
                         const std::string& trigger, size_t limit) const;
  // Up to `limit` (>= 1) alerts with sequence > `after`, oldest first.
  AlertPage ReadAfter(uint64_t after, size_t limit) const;

  uint64_t size() const;  // alerts retained
  // The sequence of the newest alert; first_sequence - 1 when empty.
  uint64_t last_sequence() const;
  // The sequence of the oldest alert retained (or of the next one).
  uint64_t first_sequence() const;
  // last_sequence() when the log was opened (what it recovered).
  uint64_t opened_sequence() const { return opened_sequence_; }
  // The incarnation the log was created in (the durable file's header).
  uint64_t origin() const { return origin_; }
  uint64_t retired() const;  // alerts retired since the log was opened
  uint64_t write_errors() const;
  const AlertLogOptions& options() const { return options_; }

  // Returns an id for Unsubscribe.
  uint64_t Subscribe(Subscriber fn);
  void Unsubscribe(uint64_t id);

 private:
  void Retire();                         // mu_ held
  void WriteRecord(const Alert& alert);  // mu_ held
  Status Compact();                      // mu_ held

  const AlertLogOptions options_;
  uint64_t origin_ = 0;
  uint64_t opened_sequence_ = 0;
  int fd_ = -1;  // the durable file, or -1

  mutable std::mutex mu_;
  std::deque<Alert> alerts_;  // alerts_[i].sequence == first_ + i
  uint64_t first_ = 1;        // sequence of alerts_.front() (or next)
  uint64_t retired_ = 0;
  uint64_t retired_on_disk_ = 0;  // retired but still in the file
  uint64_t write_errors_ = 0;
  std::vector<std::pair<uint64_t, Subscriber>> subscribers_;
  uint64_t next_subscriber_ = 1;
};

}  // namespace loupe

#endif  // LOUPE_MULTILOG_ALERT_LOG_H_
