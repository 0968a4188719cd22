// DataLog: the append-only record store at the bottom of a multilog.
//
// Records have the fixed size of the log's Schema and are addressed by byte
// offset. Memory is a table of fixed-size blocks (block_records records
// each), so an append never moves data and a reader never takes a lock. A
// background maintenance thread allocates and pre-faults blocks *ahead* of
// writeTail (or recycles warm blocks that retention retired): page faults
// cap a writer at 5-35 M records/s on the machines loupe runs on, while
// copying into warm memory runs near 100 M/s, so faults never happen on the
// append path. If writers outrun the allocator, the writer that reaches the
// end of allocated space waits for it (counted in Stats::alloc_stalls); the
// dataplane turns that back-pressure into counted ring-full drops.
//
// Writing: each thread that appends owns a Writer (NewWriter). A batch is
// claimed with one fetch_add on writeTail, copied, and marked complete in
// the writer's slot (tails.h): readTail only ever covers complete records,
// and no writer ever waits for another. Append returns the offset of the
// batch's first record; the batch is visible to every read_tail() that
// follows, unless an earlier batch of another writer is still being copied.
//
// Reading: read_tail() loaded once is a snapshot; Read, ReadBatch and
// ForEach on offsets below it see complete records, whatever writers do
// meanwhile. Offsets below head() were retired by retention and read as
// kExpired. Readers run inside RCU read-side critical sections (liburcu),
// so retention frees a block only after every reader that could see it has
// moved on.
//
// Storage modes:
//   kInMemory        anonymous memory; gone when the process ends.
//   kDurableRelaxed  memory-mapped files in `directory`; the maintenance
//                    thread syncs data and then commits the tail every
//                    flush_interval. A crash loses at most that interval.
//   kDurable         as above, but Append returns only after its batch and
//                    every batch before it are synced and committed (group
//                    commit: one sync covers the batches of all writers
//                    waiting at that moment).
// Reopening a directory recovers exactly the committed prefix: anything
// past the last commit (unacknowledged or torn) is cut off and zeroed, a
// data file truncated below the commit cuts the log back to its last whole
// record, and OpenReport says how many bytes were dropped and why. See
// storage_format.h for the files.
//
// Thread safety: every const method, Writer::Append on distinct Writers,
// and NewWriter may run concurrently. Writers must be destroyed before the
// DataLog. Destroying a durable DataLog commits everything published.
#ifndef LOUPE_MULTILOG_DATA_LOG_H_
#define LOUPE_MULTILOG_DATA_LOG_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "multilog/internal/rcu.h"
#include "multilog/schema.h"
#include "multilog/status.h"
#include "multilog/tails.h"

namespace loupe {

namespace internal {
class BlockStore;
}  // namespace internal

enum class StorageMode : uint8_t { kInMemory, kDurableRelaxed, kDurable };

// "memory", "durable-relaxed", "durable".
std::string_view StorageModeName(StorageMode mode);
Result<StorageMode> ParseStorageMode(std::string_view name);

// Flight-recorder retention: 0 means unbounded; either limit retires a
// block. Retention works in whole blocks, on the maintenance thread (every
// millisecond), and only on blocks entirely below readTail:
//   max_bytes  a memory bound: the oldest block goes while more than
//              max_bytes lie between its start and readTail, so at most
//              max_bytes (and at least max_bytes - one block) are kept,
//              plus what arrives between two maintenance rounds.
//   max_age    a block goes once its newest record is older than max_age,
//              judged by the timestamps of its last 64 records (records
//              arrive in time order, give or take the writers' skew).
struct RetentionPolicy {
  uint64_t max_bytes = 0;
  std::chrono::nanoseconds max_age{0};  // by the records' timestamps
};

struct DataLogOptions {
  StorageMode mode = StorageMode::kInMemory;
  std::string directory;  // required for the durable modes
  // Records per block; a power of two in [1024, 1 << 24].
  uint32_t block_records = 1 << 16;
  // Bytes kept allocated and pre-faulted ahead of writeTail. Open() fills
  // this much before it returns, so the first appends are warm too.
  uint64_t preallocate_bytes = 64ull << 20;
  // Hard limit on bytes appended (0: only memory and disk limit it). With
  // retention this limits the live window, not the total ever appended.
  uint64_t capacity_bytes = 0;
  RetentionPolicy retention;
  uint32_t max_writers = 16;
  // Largest batch Append accepts, in records (<= block_records); 0 means
  // min(4096, block_records).
  uint32_t max_batch_records = 0;
  // kDurableRelaxed: how often data is synced and the tail committed.
  std::chrono::milliseconds flush_interval{100};
};

// What Open found when it reopened a durable log.
struct OpenReport {
  bool reopened = false;
  uint64_t head = 0;             // first retained offset
  uint64_t recovered_bytes = 0;  // committed bytes recovered
  uint64_t dropped_bytes = 0;    // bytes cut off past the last whole record
  std::string detail;            // one line for the operator; empty if clean
};

struct DataLogStats {
  uint64_t write_tail = 0;
  uint64_t read_tail = 0;
  uint64_t head = 0;
  uint64_t durable_tail = 0;      // committed to disk (durable modes)
  uint64_t blocks_live = 0;       // installed in the table
  uint64_t blocks_allocated = 0;  // ever obtained fresh from the OS
  uint64_t blocks_recycled = 0;   // reused after retention
  uint64_t blocks_retired = 0;
  uint64_t alloc_stalls = 0;  // appends that waited for allocation
  uint64_t commits = 0;       // tail commits (durable modes)
  uint64_t memory_bytes = 0;  // block memory + table + metadata
};

class DataLog {
 public:
  class Writer;

  // Creates a log, or reopens the one in options.directory (durable modes).
  // A reopened log must have the same schema and block size. `report` (may
  // be null) receives what recovery found.
  static Result<std::unique_ptr<DataLog>> Open(const Schema& schema,
                                               DataLogOptions options,
                                               OpenReport* report = nullptr);
  ~DataLog();
  DataLog(const DataLog&) = delete;
  DataLog& operator=(const DataLog&) = delete;

  // A handle for one appending thread; kResourceExhausted when max_writers
  // Writers are alive.
  Result<std::unique_ptr<Writer>> NewWriter();

  const Schema& schema() const { return schema_; }
  size_t record_size() const { return record_size_; }
  // The largest batch one append (or one Reserver claim) may be, in bytes.
  uint64_t max_batch_bytes() const { return max_batch_bytes_; }
  uint64_t block_bytes() const { return block_bytes_; }
  const DataLogOptions& options() const { return options_; }

  // The snapshot boundary: publishes and returns the end of the complete
  // prefix; records below it are complete and stay readable (until
  // retention retires them). Load it once per query: that value is the
  // query's snapshot.
  uint64_t read_tail() const { return tails_.read_tail(); }
  uint64_t write_tail() const { return tails_.write_tail(); }
  // writeTail, seq_cst: ordered against every writer's claim.
  uint64_t write_tail_seq_cst() const { return tails_.write_tail_seq_cst(); }
  // The first offset not retired by retention (acquire).
  uint64_t head() const { return head_.load(std::memory_order_acquire); }

  // Copies the record at `offset` into `out` (record_size() bytes).
  // kInvalidArgument: not a record boundary; kOutOfRange: at or past
  // read_tail(); kExpired: retired by retention.
  Status Read(uint64_t offset, void* out) const;
  // Copies up to `max_records` consecutive records from `offset`, stopping
  // at `end` (<= the caller's snapshot of read_tail()); *count gets the
  // number copied.
  Status ReadBatch(uint64_t offset, uint64_t end, size_t max_records, void* out,
                   size_t* count) const;
  // Calls fn(offset, const uint8_t* record) -> bool for each record in
  // [begin, end), without copying, until fn returns false. `end` must be
  // <= a read_tail() the caller loaded. fn runs inside an RCU read-side
  // critical section: it must not block or keep the pointer. Returns
  // kExpired if retention retired part of the range (records before that
  // point were visited).
  template <typename Fn>
  Status ForEach(uint64_t begin, uint64_t end, Fn&& fn) const;
  // As ForEach, a run of consecutive records at a time: fn(offset, const
  // uint8_t* records, uint64_t count) -> bool for the records of [begin,
  // end) that lie in one block, contiguous in memory (count records of
  // record_size() bytes), until fn returns false. For scans that work on
  // many records at once (the breakdowns).
  template <typename Fn>
  Status ForEachRun(uint64_t begin, uint64_t end, Fn&& fn) const;

  // Durable modes: syncs and commits everything published so far.
  Status Flush();

  DataLogStats stats() const;

 private:
  friend class Writer;
  friend class Reserver;

  DataLog(const Schema& schema, const DataLogOptions& options,
          uint64_t block_bytes, uint64_t start);

  Status Init(uint64_t head, OpenReport* report);
  Status Recover(uint64_t head, OpenReport* report);
  Status CheckRange(uint64_t offset, uint64_t end) const;
  // A readTail >= `need` if one is complete: the cheap published value
  // when it suffices, else a fresh publication.
  uint64_t VisibleEnd(uint64_t need) const {
    uint64_t tail = tails_.published();
    return tail >= need ? tail : tails_.read_tail();
  }
  Status ExpiredStatus(uint64_t offset) const;
  uint64_t BlockIndex(uint64_t offset) const {
    return block_shift_ >= 0 ? offset >> block_shift_ : offset / block_bytes_;
  }
  // Block memory for `offset`, or nullptr if not installed. Readers call it
  // inside an RCU read-side critical section, after checking head().
  // Acquire pairs with the release in AllocateAhead.
  uint8_t* BlockFor(uint64_t offset) const {
    return table_[BlockIndex(offset) & table_mask_].load(
        std::memory_order_acquire);
  }
  // Claims when the allocator has caught up, waiting for it -- or, if
  // `retry` is not null, returning kUnavailable with *retry set instead.
  Status AppendSlow(uint32_t slot, uint64_t bytes, uint64_t* offset,
                    bool* retry);
  void AwaitMemory(uint64_t end);
  void CopyIn(uint64_t offset, const uint8_t* data, uint64_t bytes);
  Status Commit(uint64_t upto);
  Result<uint32_t> AcquireSlot();
  void ReleaseSlot(uint32_t slot);

  // Maintenance thread.
  void MaintenanceLoop();
  Status AllocateAhead();
  void RetireExpired();
  uint64_t NewestTimestamp(uint64_t block) const;
  Status SyncAndCommit();  // requires commit_mu_
  void Wake();

  const Schema schema_;
  const DataLogOptions options_;
  const size_t record_size_;
  const uint64_t block_bytes_;
  const int block_shift_;  // log2(block_bytes_), or -1 if not a power of 2
  const uint64_t max_batch_bytes_;
  const uint64_t claim_slack_;  // fast-path margin: all writers' max batch

  std::unique_ptr<internal::BlockStore> store_;

  // The block table: a ring of table_mask_+1 slots; block i lives in slot
  // i & table_mask_. Installed (release) by the maintenance thread before
  // ready_limit_ covers the block; read with acquire.
  std::atomic<uint8_t*>* table_ = nullptr;
  uint64_t table_mask_ = 0;
  size_t table_bytes_ = 0;

  mutable Tails tails_;  // read_tail() publishes
  // End of installed blocks, and the fast-path admission limit:
  // min(installed_end_, head + capacity). Both stored (release) by the
  // maintenance thread after it installs blocks; acquire by writers.
  // Claims past the capacity by racing writers are still given memory, so
  // installed_end_ may pass the capacity by a few batches.
  alignas(64) std::atomic<uint64_t> ready_limit_{0};
  std::atomic<uint64_t> installed_end_{0};
  alignas(64) std::atomic<uint64_t> head_{0};
  std::atomic<uint64_t> durable_tail_{0};
  // Set (release) when allocation cannot go on; alloc_status_ says why.
  std::atomic<bool> alloc_failed_{false};
  std::mutex status_mu_;
  Status alloc_status_;  // guarded by status_mu_

  mutable std::mutex writers_mu_;
  std::vector<bool> slot_used_;

  std::mutex commit_mu_;         // serializes syncs and tail commits
  uint64_t committed_head_ = 0;  // guarded by commit_mu_

  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool maint_stop_ = false;
  bool maint_wake_ = false;
  std::thread maint_thread_;

  std::atomic<uint64_t> blocks_live_{0};
  std::atomic<uint64_t> blocks_retired_{0};
  std::atomic<uint64_t> alloc_stalls_{0};
  std::atomic<uint64_t> commits_{0};
  uint64_t next_retire_block_ = 0;  // maintenance thread only
};

// One appending thread's handle. Not thread-safe: one thread at a time.
class DataLog::Writer {
 public:
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Appends `bytes` bytes of whole records (1 to max_batch_records of
  // them) as one batch and returns the first record's offset. The batch is
  // visible to read_tail() when Append returns, unless an earlier batch of
  // another writer is still being copied (then it becomes visible with
  // it); in kDurable mode Append returns after the batch is committed.
  // kInvalidArgument: empty, not whole records, or too large;
  // kResourceExhausted: capacity reached or block allocation failed (with
  // the reason). A failed Append changes nothing.
  Result<uint64_t> Append(const void* records, size_t bytes) {
    return Append(records, bytes, [](uint64_t) {});
  }
  // As above; `before_publish(offset)` runs after the batch is copied into
  // the log and before it is marked complete, so what it records (index,
  // filter and aggregate entries) is in place before any reader can see the
  // batch. It must not fail.
  template <typename Fn>
  Result<uint64_t> Append(const void* records, size_t bytes,
                          Fn&& before_publish) {
    return AppendImpl(records, bytes, before_publish, nullptr);
  }
  // As above, but when the allocator is behind it neither claims nor
  // waits: it returns kUnavailable and sets *retry. For callers inside an
  // RCU read-side critical section (Multilog), which must leave it before
  // waiting -- the allocator may be waiting for a grace period to recycle
  // retired blocks.
  template <typename Fn>
  Result<uint64_t> TryAppend(const void* records, size_t bytes,
                             Fn&& before_publish, bool* retry) {
    *retry = false;
    return AppendImpl(records, bytes, before_publish, retry);
  }

  // This writer's slot, in [0, max_writers): identifies it to per-writer
  // structures (filter and aggregate logs).
  uint32_t slot() const { return slot_; }

 private:
  friend class DataLog;
  Writer(DataLog* log, uint32_t slot) : log_(log), slot_(slot) {}
  Status BadSize(size_t bytes) const;
  template <typename Fn>
  Result<uint64_t> AppendImpl(const void* records, size_t bytes,
                              Fn& before_publish, bool* retry) {
    const uint64_t n = bytes;
    if (n == 0 || n % log_->record_size_ != 0 || n > log_->max_batch_bytes_)
        [[unlikely]] {
      return BadSize(bytes);
    }
    uint64_t lower = log_->tails_.Announce(slot_);
    uint64_t offset;
    if (lower + n + log_->claim_slack_ <=
        log_->ready_limit_.load(std::memory_order_acquire)) [[likely]] {
      offset = log_->tails_.ClaimFetchAdd(slot_, n);
      // The check above used writeTail as loaded; a writer delayed between
      // that load and its claim may land past the memory installed. Rare:
      // then wait for the allocator, which always covers claimed bytes.
      if (offset + n > log_->installed_end_.load(std::memory_order_acquire))
          [[unlikely]] {
        log_->AwaitMemory(offset + n);
      }
    } else {
      Status s = log_->AppendSlow(slot_, n, &offset, retry);
      if (!s.ok()) return s;
    }
    log_->CopyIn(offset, static_cast<const uint8_t*>(records), n);
    before_publish(offset);
    log_->tails_.Complete(slot_);
    if (log_->options_.mode == StorageMode::kDurable) {
      Status s = log_->Commit(offset + n);
      if (!s.ok()) return s;
    }
    return offset;
  }

  DataLog* const log_;
  const uint32_t slot_;
};

template <typename Fn>
Status DataLog::ForEachRun(uint64_t begin, uint64_t end, Fn&& fn) const {
  LOUPE_RETURN_IF_ERROR(CheckRange(begin, end));
  uint64_t offset = begin;
  while (offset < end) {
    uint64_t block_end = (offset / block_bytes_ + 1) * block_bytes_;
    uint64_t stop = block_end < end ? block_end : end;
    internal::RcuReadLock lock;
    // head first: a reader that sees offset >= head inside the critical
    // section is protected from the block being freed or its slot reused.
    uint8_t* block = offset < head() ? nullptr : BlockFor(offset);
    if (block == nullptr) {
      return Status::Expired("offset " + std::to_string(offset) +
                             " was retired by retention (oldest retained: " +
                             std::to_string(head()) + ")");
    }
    if (!fn(offset, block + offset % block_bytes_,
            (stop - offset) / record_size_)) {
      return Status::Ok();
    }
    offset = stop;
  }
  return Status::Ok();
}

template <typename Fn>
Status DataLog::ForEach(uint64_t begin, uint64_t end, Fn&& fn) const {
  return ForEachRun(begin, end,
                    [&](uint64_t offset, const uint8_t* p, uint64_t count) {
                      for (uint64_t i = 0; i < count; ++i) {
                        if (!fn(offset, p)) return false;
                        offset += record_size_;
                        p += record_size_;
                      }
                      return true;
                    });
}

}  // namespace loupe

#endif  // LOUPE_MULTILOG_DATA_LOG_H_
