// Pre-faulted memory: the data log's blocks are faulted in off the append
// path (by the maintenance thread or Open), because a page fault costs far
// more than the 64-byte copy that would trigger it. Thread-safe functions.
#ifndef LOUPE_MULTILOG_INTERNAL_PREFAULT_H_
#define LOUPE_MULTILOG_INTERNAL_PREFAULT_H_

#include <cstdint>

#include "multilog/status.h"

namespace loupe::internal {

// Maps `bytes` of fresh anonymous memory, backed by transparent huge pages
// where the kernel allows, and faults every page in before returning.
Result<uint8_t*> MapPrefaulted(uint64_t bytes);
void Unmap(uint8_t* p, uint64_t bytes);
// Faults in every page of [p, p + bytes) for writing (anonymous or shared
// file mappings alike).
void PrefaultForWrite(uint8_t* p, uint64_t bytes);

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_PREFAULT_H_
