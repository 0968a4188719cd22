#include "coordinator/fleet/merge_records.h"

#include <cstring>
#include <queue>
#include <tuple>

namespace loupe::coordinator {

std::vector<size_t> MergeByTimestamp(
    const std::vector<HostRecords>& hosts, size_t record_size, size_t limit,
    const std::function<void(size_t host, size_t index)>& emit) {
  std::vector<size_t> taken(hosts.size(), 0);
  if (record_size < sizeof(uint64_t)) return taken;
  auto ts = [&](size_t h, size_t i) {
    uint64_t t;
    std::memcpy(&t, hosts[h].bytes.data() + i * record_size, sizeof(t));
    return t;
  };
  using Head = std::tuple<uint64_t, size_t>;  // (timestamp, host)
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
  for (size_t h = 0; h < hosts.size(); ++h) {
    if (hosts[h].count > 0 && hosts[h].bytes.size() >= record_size) {
      heads.emplace(ts(h, 0), h);
    }
  }
  size_t n = 0;
  while (n < limit && !heads.empty()) {
    const size_t h = std::get<1>(heads.top());
    heads.pop();
    emit(h, taken[h]);
    ++n;
    const size_t next = ++taken[h];
    if (next < hosts[h].count &&
        (next + 1) * record_size <= hosts[h].bytes.size()) {
      heads.emplace(ts(h, next), h);
    }
  }
  return taken;
}

}  // namespace loupe::coordinator
