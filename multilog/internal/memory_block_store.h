// MemoryBlockStore: blocks in anonymous memory. Retired blocks are kept in
// a bounded pool and handed out again, so a flight-recorder log reaches a
// steady state with no page faults at all. Thread safety as BlockStore.
#ifndef LOUPE_MULTILOG_INTERNAL_MEMORY_BLOCK_STORE_H_
#define LOUPE_MULTILOG_INTERNAL_MEMORY_BLOCK_STORE_H_

#include <vector>

#include "multilog/internal/block_store.h"

namespace loupe::internal {

class MemoryBlockStore final : public BlockStore {
 public:
  // Keeps at most `pool_blocks` retired blocks for reuse.
  MemoryBlockStore(uint64_t block_bytes, size_t pool_blocks)
      : block_bytes_(block_bytes), pool_blocks_(pool_blocks) {}
  ~MemoryBlockStore() override;

  Result<uint8_t*> Allocate(uint64_t index) override;
  void Release(uint64_t index, uint8_t* block) override;
  Status Sync(uint8_t*, uint64_t, uint64_t) override { return Status::Ok(); }
  Status CommitTail(uint64_t, uint64_t) override { return Status::Ok(); }
  void Detach(uint64_t index, uint8_t* block) override;

 private:
  const uint64_t block_bytes_;
  const size_t pool_blocks_;
  std::vector<uint8_t*> pool_;
};

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_MEMORY_BLOCK_STORE_H_
