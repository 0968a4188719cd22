#include "multilog/internal/memory_block_store.h"

#include "multilog/internal/prefault.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// A pooled block is poisoned, so a reader that touches a retired block
// (a retention bug) is caught by AddressSanitizer even though the memory
// stays mapped for reuse.
#define LOUPE_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define LOUPE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define LOUPE_POISON(p, n) ((void)(p), (void)(n))
#define LOUPE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace loupe::internal {

MemoryBlockStore::~MemoryBlockStore() {
  for (uint8_t* p : pool_) {
    LOUPE_UNPOISON(p, block_bytes_);
    Unmap(p, block_bytes_);
  }
  mapped_bytes_.fetch_sub(pool_.size() * block_bytes_,
                          std::memory_order_relaxed);
}

Result<uint8_t*> MemoryBlockStore::Allocate(uint64_t) {
  if (!pool_.empty()) {
    uint8_t* p = pool_.back();
    pool_.pop_back();
    LOUPE_UNPOISON(p, block_bytes_);
    blocks_recycled_.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  Result<uint8_t*> p = MapPrefaulted(block_bytes_);
  if (!p.ok()) return p.status();
  mapped_bytes_.fetch_add(block_bytes_, std::memory_order_relaxed);
  blocks_allocated_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void MemoryBlockStore::Release(uint64_t index, uint8_t* block) {
  if (pool_.size() < pool_blocks_) {
    LOUPE_POISON(block, block_bytes_);
    pool_.push_back(block);  // stays warm for the next Allocate
    return;
  }
  Detach(index, block);
}

void MemoryBlockStore::Detach(uint64_t, uint8_t* block) {
  Unmap(block, block_bytes_);
  mapped_bytes_.fetch_sub(block_bytes_, std::memory_order_relaxed);
}

}  // namespace loupe::internal
