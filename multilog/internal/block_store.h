// BlockStore: where a DataLog's blocks come from and go to. The seam
// between the log's logic and its storage mode: MemoryBlockStore (anonymous
// memory, recycling retired blocks warm) and FileBlockStore (one
// memory-mapped, fallocated file per block, plus the MANIFEST and the TAIL
// commit record).
//
// Thread safety: Allocate, Release and CommitTail are called by one thread
// at a time (the DataLog's maintenance thread, or Open/close); Sync may run
// concurrently with Allocate; mapped_bytes may be read from any thread.
#ifndef LOUPE_MULTILOG_INTERNAL_BLOCK_STORE_H_
#define LOUPE_MULTILOG_INTERNAL_BLOCK_STORE_H_

#include <atomic>
#include <cstdint>

#include "multilog/status.h"

namespace loupe::internal {

class BlockStore {
 public:
  virtual ~BlockStore() = default;

  // Writable, pre-faulted memory of block_bytes for block `index`.
  virtual Result<uint8_t*> Allocate(uint64_t index) = 0;
  // Takes back block `index`, retired by retention, once no reader can see
  // it any more; its data is discarded.
  virtual void Release(uint64_t index, uint8_t* block) = 0;
  // Unmaps block `index` when the log closes; durable data stays on disk.
  virtual void Detach(uint64_t index, uint8_t* block) = 0;
  // Makes bytes [begin, end) of the block persistent (no-op in memory).
  virtual Status Sync(uint8_t* block, uint64_t begin, uint64_t end) = 0;
  // Durably records that [head, tail) is the committed log.
  virtual Status CommitTail(uint64_t head, uint64_t tail) = 0;

  uint64_t mapped_bytes() const {
    return mapped_bytes_.load(std::memory_order_relaxed);
  }
  uint64_t blocks_allocated() const {
    return blocks_allocated_.load(std::memory_order_relaxed);
  }
  uint64_t blocks_recycled() const {
    return blocks_recycled_.load(std::memory_order_relaxed);
  }

 protected:
  std::atomic<uint64_t> mapped_bytes_{0};
  std::atomic<uint64_t> blocks_allocated_{0};
  std::atomic<uint64_t> blocks_recycled_{0};
};

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_BLOCK_STORE_H_
