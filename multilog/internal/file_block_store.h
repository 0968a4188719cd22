// FileBlockStore: the durable storage modes' blocks, one memory-mapped file
// per block in the log's directory, plus the MANIFEST (schema and geometry)
// and the TAIL commit record. The format is storage_format.h.
//
// Files are fallocated to full size before they are mapped, so a full disk
// shows up as an error from Allocate (on the maintenance thread), never as
// SIGBUS on a writer. Thread safety as BlockStore.
#ifndef LOUPE_MULTILOG_INTERNAL_FILE_BLOCK_STORE_H_
#define LOUPE_MULTILOG_INTERNAL_FILE_BLOCK_STORE_H_

#include <memory>
#include <string>

#include "multilog/internal/block_store.h"
#include "multilog/schema.h"

namespace loupe::internal {

struct TailCommit {
  uint64_t sequence = 0;
  uint64_t head = 0;
  uint64_t tail = 0;
};

class FileBlockStore final : public BlockStore {
 public:
  // True if `directory` holds a MANIFEST.
  static bool Exists(const std::string& directory);
  // Creates the directory if needed and writes a new MANIFEST and an empty
  // TAIL. Fails if the directory cannot be created or written.
  static Result<std::unique_ptr<FileBlockStore>> Create(
      const std::string& directory, const Schema& schema,
      uint32_t block_records);
  // Opens an existing log; its MANIFEST must match schema and block_records.
  static Result<std::unique_ptr<FileBlockStore>> Open(
      const std::string& directory, const Schema& schema,
      uint32_t block_records);
  ~FileBlockStore() override;

  // The newest valid commit; kCorruption if neither slot is valid.
  Result<TailCommit> ReadTail() const;
  // Maps the existing file of block `index`. A file shorter than a block is
  // extended back to full size (zeros) first; *file_bytes receives its size
  // as found. kNotFound if there is no file.
  Result<uint8_t*> MapExisting(uint64_t index, uint64_t* file_bytes);
  // Deletes block files whose index is below `index` (left over when a
  // crash fell between a commit and the unlinks that follow it).
  void RemoveBlocksBelow(uint64_t index);

  Result<uint8_t*> Allocate(uint64_t index) override;
  void Release(uint64_t index, uint8_t* block) override;
  void Detach(uint64_t index, uint8_t* block) override;
  Status Sync(uint8_t* block, uint64_t begin, uint64_t end) override;
  Status CommitTail(uint64_t head, uint64_t tail) override;

  const std::string& directory() const { return directory_; }

 private:
  FileBlockStore(std::string directory, uint64_t block_bytes, int tail_fd,
                 uint64_t next_sequence);
  std::string BlockPath(uint64_t index) const;
  Result<uint8_t*> MapFile(int fd, const std::string& path);

  const std::string directory_;
  const uint64_t block_bytes_;
  const int tail_fd_;
  uint64_t next_sequence_;
};

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_FILE_BLOCK_STORE_H_
