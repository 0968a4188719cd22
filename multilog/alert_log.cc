#include "multilog/alert_log.h"

#include <algorithm>

namespace loupe {

uint64_t AlertLog::Append(Alert alert) {
  std::lock_guard<std::mutex> lock(mu_);
  alert.sequence = alerts_.size() + 1;
  alerts_.push_back(std::move(alert));
  for (const auto& [id, fn] : subscribers_) fn(alerts_.back());
  return alerts_.back().sequence;
}

std::vector<Alert> AlertLog::Get(uint64_t t0_ns, uint64_t t1_ns,
                                 const std::string& trigger,
                                 size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Alert> out;
  for (const Alert& a : alerts_) {
    if (a.time_ns < t0_ns || a.time_ns >= t1_ns) continue;
    if (!trigger.empty() && a.trigger != trigger) continue;
    out.push_back(a);
    if (limit != 0 && out.size() == limit) break;
  }
  return out;
}

uint64_t AlertLog::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return alerts_.size();
}

uint64_t AlertLog::Subscribe(Subscriber fn) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.emplace_back(next_subscriber_, std::move(fn));
  return next_subscriber_++;
}

void AlertLog::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(subscribers_, [id](const auto& s) { return s.first == id; });
}

}  // namespace loupe
