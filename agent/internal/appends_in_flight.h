// AppendsInFlight: the RPC appends between their start and the moment
// their records are visible, per multilog, with each batch's oldest
// timestamp, so that PrepareSnapshot can say up to when a multilog is
// settled (SnapshotTail::settled_ns). Enter before the batch claims its
// offsets; the Scope leaves once the batch is visible. Internal to the
// agent_service library.
//
// Thread safety: every method may run concurrently (one mutex; one lock
// per append RPC, none per record). A Scope must not outlive the
// AppendsInFlight.
#ifndef LOUPE_AGENT_INTERNAL_APPENDS_IN_FLIGHT_H_
#define LOUPE_AGENT_INTERNAL_APPENDS_IN_FLIGHT_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

namespace loupe::agent::internal {

class AppendsInFlight {
  using Map = std::multimap<const void*, uint64_t>;

 public:
  class Scope {
   public:
    Scope(AppendsInFlight* owner, Map::iterator it) : owner_(owner), it_(it) {}
    ~Scope() {
      std::lock_guard<std::mutex> lock(owner_->mu_);
      owner_->in_flight_.erase(it_);
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    AppendsInFlight* const owner_;
    const Map::iterator it_;
  };

  // `multilog` identifies the multilog (its address).
  Scope Enter(const void* multilog, uint64_t oldest_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    return Scope(this, in_flight_.emplace(multilog, oldest_ns));
  }

  // The oldest timestamp of the batches in flight to `multilog`.
  std::optional<uint64_t> Oldest(const void* multilog) {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<uint64_t> oldest;
    auto [begin, end] = in_flight_.equal_range(multilog);
    for (auto it = begin; it != end; ++it) {
      if (!oldest || it->second < *oldest) oldest = it->second;
    }
    return oldest;
  }

 private:
  std::mutex mu_;
  Map in_flight_;  // mu_
};

}  // namespace loupe::agent::internal

#endif  // LOUPE_AGENT_INTERNAL_APPENDS_IN_FLIGHT_H_
