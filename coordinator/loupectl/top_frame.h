// TopFrame: one refresh of `loupectl top`, as figures, and its two
// renderings -- a plain text block (what the terminal shows, redrawn in
// place, or what a pipe receives, one block per refresh) and a JSON line.
// TalkerCounter ranks addresses by bytes from sampled records.
//
// The figures come from the agent (coordinator/loupectl/top.h fetches them);
// this file only counts and renders, so it is tested without an agent. Value
// types; not synchronized.
#ifndef LOUPE_COORDINATOR_LOUPECTL_TOP_FRAME_H_
#define LOUPE_COORDINATOR_LOUPECTL_TOP_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/json_writer.h"

namespace loupe::ctl {

struct TopTalker {
  std::string address;
  uint64_t bytes = 0;
  uint64_t records = 0;
};

// Sums bytes and records per key (an address's text).
class TalkerCounter {
 public:
  void Add(const std::string& key, uint64_t bytes);
  // The `n` keys with the most bytes, most first; ties by key.
  std::vector<TopTalker> Top(size_t n) const;
  uint64_t total_bytes() const { return total_bytes_; }

 private:
  std::unordered_map<std::string, TopTalker> talkers_;
  uint64_t total_bytes_ = 0;
};

struct TopDrop {
  std::string reason;
  uint64_t total = 0;
  double per_second = 0;
};

struct TopFilterRate {
  std::string name;
  std::string expression;
  uint64_t records = 0;   // in the window
  bool at_least = false;  // counting stopped at the sample limit
  double per_second = 0;
  std::string error;  // this filter's query failed
};

struct TopAlert {
  uint64_t time_ns = 0;
  std::string multilog;
  std::string trigger;
  std::string condition;  // "syn_rate 1.2e+06 > 1e+06"
};

struct TopFrame {
  std::string agent;  // HOST:PORT
  std::string host;   // the agent's host name
  std::string multilog;
  uint64_t time_ns = 0;  // wall clock of the refresh
  uint64_t interval_ns = 0;

  // Recording: from the dataplane's counters, or, without a dataplane, from
  // the multilog's tails.
  std::string source;      // "dataplane" or "multilog <name>"
  bool has_rates = false;  // false until two samples exist
  double records_per_second = 0;
  double bytes_per_second = 0;
  uint64_t records_total = 0;
  uint64_t bytes_total = 0;
  bool has_received = false;  // the dataplane's RX counters
  double received_per_second = 0;
  uint64_t received_total = 0;
  uint64_t dropped_total = 0;
  double dropped_per_second = 0;
  std::vector<TopDrop> drops;  // every reason the agent reports

  // Top talkers over [window_start_ns, window_end_ns) of data time.
  uint64_t window_start_ns = 0;
  uint64_t window_end_ns = 0;
  std::string bytes_column;  // what "bytes" sums; empty: records counted
  uint64_t sampled_records = 0;
  bool sampled = false;      // stopped at the sample limit
  std::string talkers_note;  // why there are no talkers, if so
  std::vector<TopTalker> sources;
  std::vector<TopTalker> destinations;
  uint64_t window_bytes = 0;  // of the sampled records, for shares

  std::vector<TopFilterRate> filters;
  std::vector<TopAlert> alerts;  // latest last
  uint64_t alerts_seen = 0;      // since top started (and its lookback)

  std::vector<std::string> errors;  // parts that failed this refresh
};

// The frame as text lines, each ending in '\n', at most `width` columns
// wide where the content allows (long expressions are cut with "...").
std::string RenderTopFrame(const TopFrame& frame, size_t width = 100);
// The frame as one JSON object.
void WriteTopFrameJson(JsonWriter& json, const TopFrame& frame);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_TOP_FRAME_H_
