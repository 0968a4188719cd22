// Merging the records of several agents' query answers by timestamp under
// one limit (the network-wide ExecuteFilter and QueryFilter). Each host's
// records are taken in the order it answered (offset order); the merge
// takes, while fewer than `limit` are taken, the host whose next record
// has the smallest timestamp (the first 8 bytes of a record), ties to the
// lower host index. `emit(host, i)` is called for each record taken, in
// merged order; the answer is how many records of each host were taken
// (a prefix of its list), from which the page token's positions follow.
//
// A pure function; no I/O.
#ifndef LOUPE_COORDINATOR_FLEET_MERGE_RECORDS_H_
#define LOUPE_COORDINATOR_FLEET_MERGE_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace loupe::coordinator {

// One host's records: `count` records of `record_size` bytes in `bytes`.
struct HostRecords {
  std::string_view bytes;
  size_t count = 0;
};

std::vector<size_t> MergeByTimestamp(
    const std::vector<HostRecords>& hosts, size_t record_size, size_t limit,
    const std::function<void(size_t host, size_t index)>& emit);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_FLEET_MERGE_RECORDS_H_
