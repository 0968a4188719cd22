#include "multilog/data_log.h"

#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "multilog/internal/block_store.h"
#include "multilog/internal/file_block_store.h"
#include "multilog/internal/memory_block_store.h"

namespace loupe {
namespace {

constexpr uint64_t kDefaultTableSlots = uint64_t{1} << 20;
constexpr uint32_t kMinBlockRecords = 1024;
constexpr uint32_t kMaxBlockRecords = 1u << 24;
constexpr uint32_t kMaxWriters = 1024;
constexpr uint32_t kDefaultMaxBatchRecords = 4096;
constexpr auto kMaintenancePeriod = std::chrono::milliseconds(1);

uint64_t NowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// Waits politely: spin briefly, then yield, then sleep.
void Backoff(uint32_t* round) {
  if (*round < 64) {
    _mm_pause();
  } else if (*round < 256) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  ++*round;
}

Status ValidateOptions(const Schema& schema, const DataLogOptions& o) {
  if (o.block_records < kMinBlockRecords ||
      o.block_records > kMaxBlockRecords ||
      !std::has_single_bit(o.block_records)) {
    return Status::InvalidArgument(
        "block_records must be a power of two from 1024 to 16777216, got " +
        std::to_string(o.block_records));
  }
  if (o.max_writers == 0 || o.max_writers > kMaxWriters) {
    return Status::InvalidArgument("max_writers must be from 1 to 1024, got " +
                                   std::to_string(o.max_writers));
  }
  if (o.max_batch_records == 0 || o.max_batch_records > o.block_records) {
    return Status::InvalidArgument(
        "max_batch_records must be from 1 to block_records (" +
        std::to_string(o.block_records) + "), got " +
        std::to_string(o.max_batch_records));
  }
  const bool durable = o.mode != StorageMode::kInMemory;
  if (durable && o.directory.empty()) {
    return Status::InvalidArgument(std::string("storage mode ") +
                                   std::string(StorageModeName(o.mode)) +
                                   " needs a directory to store the log in");
  }
  if (!durable && !o.directory.empty()) {
    return Status::InvalidArgument(
        "directory '" + o.directory +
        "' given for an in-memory log; use storage mode durable or "
        "durable-relaxed to keep the log on disk");
  }
  const uint64_t block_bytes = uint64_t{o.block_records} * schema.record_size();
  if (o.retention.max_bytes != 0 && o.retention.max_bytes < block_bytes) {
    return Status::InvalidArgument(
        "retention max_bytes " + std::to_string(o.retention.max_bytes) +
        " is smaller than one block (" + std::to_string(block_bytes) +
        " bytes = block_records x record size); raise it or lower "
        "block_records");
  }
  if (o.capacity_bytes != 0 && o.retention.max_bytes != 0 &&
      o.capacity_bytes < o.retention.max_bytes + 2 * block_bytes) {
    return Status::InvalidArgument(
        "capacity_bytes " + std::to_string(o.capacity_bytes) +
        " cannot hold the retention window (" +
        std::to_string(o.retention.max_bytes) + " bytes) plus two blocks");
  }
  if (o.retention.max_age.count() < 0) {
    return Status::InvalidArgument("retention max_age must not be negative");
  }
  if (o.mode == StorageMode::kDurableRelaxed && o.flush_interval.count() <= 0) {
    return Status::InvalidArgument(
        "flush_interval must be positive for durable-relaxed");
  }
  return Status::Ok();
}

uint64_t TableSlots(const DataLogOptions& o, uint64_t block_bytes,
                    uint64_t ahead_bytes) {
  uint64_t live;
  if (o.retention.max_bytes != 0) {
    live = o.retention.max_bytes;
  } else if (o.capacity_bytes != 0) {
    live = o.capacity_bytes;
  } else {
    return kDefaultTableSlots;
  }
  uint64_t blocks = (live + ahead_bytes) / block_bytes + 4;
  if (o.capacity_bytes != 0) {
    blocks = std::min(blocks, o.capacity_bytes / block_bytes + 4);
  }
  return std::max<uint64_t>(64, std::bit_ceil(blocks));
}

}  // namespace

std::string_view StorageModeName(StorageMode mode) {
  switch (mode) {
    case StorageMode::kInMemory:
      return "memory";
    case StorageMode::kDurableRelaxed:
      return "durable-relaxed";
    case StorageMode::kDurable:
      return "durable";
  }
  return "?";
}

Result<StorageMode> ParseStorageMode(std::string_view name) {
  if (name == "memory" || name == "in-memory") return StorageMode::kInMemory;
  if (name == "durable-relaxed") return StorageMode::kDurableRelaxed;
  if (name == "durable") return StorageMode::kDurable;
  return Status::InvalidArgument("unknown storage mode '" + std::string(name) +
                                 "'; expected memory, durable-relaxed or "
                                 "durable");
}

DataLog::DataLog(const Schema& schema, const DataLogOptions& options,
                 uint64_t block_bytes, uint64_t start)
    : schema_(schema),
      options_(options),
      record_size_(schema.record_size()),
      block_bytes_(block_bytes),
      block_shift_(std::has_single_bit(block_bytes)
                       ? std::countr_zero(block_bytes)
                       : -1),
      max_batch_bytes_(uint64_t{options.max_batch_records} *
                       schema.record_size()),
      claim_slack_(uint64_t{options.max_writers} * max_batch_bytes_),
      tails_(start, options.max_writers),
      slot_used_(options.max_writers, false) {}

Result<std::unique_ptr<DataLog>> DataLog::Open(const Schema& schema,
                                               DataLogOptions options,
                                               OpenReport* report) {
  if (options.max_batch_records == 0) {
    options.max_batch_records =
        std::min(kDefaultMaxBatchRecords, options.block_records);
  }
  LOUPE_RETURN_IF_ERROR(ValidateOptions(schema, options));
  OpenReport local;
  if (report == nullptr) report = &local;
  *report = OpenReport();
  const uint64_t block_bytes =
      uint64_t{options.block_records} * schema.record_size();

  std::unique_ptr<internal::BlockStore> store;
  internal::TailCommit commit;
  if (options.mode == StorageMode::kInMemory) {
    const uint64_t ahead_blocks =
        RoundUp(options.preallocate_bytes, block_bytes) / block_bytes;
    store = std::make_unique<internal::MemoryBlockStore>(
        block_bytes, static_cast<size_t>(ahead_blocks + 2));
  } else if (internal::FileBlockStore::Exists(options.directory)) {
    auto fs = internal::FileBlockStore::Open(options.directory, schema,
                                             options.block_records);
    if (!fs.ok()) return fs.status();
    auto c = (*fs)->ReadTail();
    if (!c.ok()) return c.status();
    commit = *c;
    report->reopened = true;
    store = std::move(fs.value());
  } else {
    auto fs = internal::FileBlockStore::Create(options.directory, schema,
                                               options.block_records);
    if (!fs.ok()) return fs.status();
    store = std::move(fs.value());
  }
  if (commit.head > commit.tail || commit.head % block_bytes != 0 ||
      commit.tail % schema.record_size() != 0) {
    return Status::Corruption("the commit record in '" + options.directory +
                              "' is inconsistent (head " +
                              std::to_string(commit.head) + ", tail " +
                              std::to_string(commit.tail) + ")");
  }
  std::unique_ptr<DataLog> log(
      new DataLog(schema, options, block_bytes, commit.tail));
  log->store_ = std::move(store);
  LOUPE_RETURN_IF_ERROR(log->Init(commit.head, report));
  return log;
}

Status DataLog::Init(uint64_t head, OpenReport* report) {
  const uint64_t ahead =
      RoundUp(options_.preallocate_bytes + claim_slack_, block_bytes_);
  const uint64_t slots = TableSlots(options_, block_bytes_, ahead);
  table_bytes_ = slots * sizeof(std::atomic<uint8_t*>);
  void* t = mmap(nullptr, table_bytes_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (t == MAP_FAILED) {
    return Status::FromErrno("cannot map the block table", errno);
  }
  table_ = static_cast<std::atomic<uint8_t*>*>(t);  // zero pages: all null
  table_mask_ = slots - 1;

  head_.store(head, std::memory_order_relaxed);
  committed_head_ = head;
  next_retire_block_ = head / block_bytes_;
  installed_end_.store(head, std::memory_order_relaxed);
  if (report->reopened) LOUPE_RETURN_IF_ERROR(Recover(head, report));
  durable_tail_.store(tails_.read_tail(), std::memory_order_relaxed);

  // Fill the pre-faulted window before the first append.
  LOUPE_RETURN_IF_ERROR(AllocateAhead());
  maint_thread_ = std::thread([this] { MaintenanceLoop(); });
  return Status::Ok();
}

Status DataLog::Recover(uint64_t head, OpenReport* report) {
  auto* fs = static_cast<internal::FileBlockStore*>(store_.get());
  uint64_t tail = tails_.read_tail();
  const uint64_t committed = tail;
  fs->RemoveBlocksBelow(head / block_bytes_);
  std::string why;
  // Map the contiguous run of block files from the head on.
  for (uint64_t b = head / block_bytes_;; ++b) {
    if (table_[b & table_mask_].load(std::memory_order_relaxed) != nullptr) {
      break;  // the table is full: leave the rest unmapped
    }
    uint64_t file_bytes = 0;
    Result<uint8_t*> mem = fs->MapExisting(b, &file_bytes);
    if (!mem.ok()) {
      if (mem.status().code() != Status::Code::kNotFound) return mem.status();
      if (b * block_bytes_ < tail) {
        why = "block file " + std::to_string(b) + " is missing";
        tail = b * block_bytes_;
      }
      break;
    }
    table_[b & table_mask_].store(*mem, std::memory_order_relaxed);
    blocks_live_.fetch_add(1, std::memory_order_relaxed);
    installed_end_.store((b + 1) * block_bytes_, std::memory_order_relaxed);
    const uint64_t whole = file_bytes / record_size_ * record_size_;
    if (whole < block_bytes_ && b * block_bytes_ + whole < tail) {
      why = "block file " + std::to_string(b) + " is truncated to " +
            std::to_string(file_bytes) + " bytes";
      tail = b * block_bytes_ + whole;
    }
  }
  tail = std::max(tail, head);
  // Bytes past the commit are from batches never acknowledged: find the
  // last non-zero byte, count up to the end of its record, and zero them.
  uint64_t garbage_end = tail;
  for (uint64_t off = tail; off < installed_end_.load();) {
    uint8_t* block = BlockFor(off);
    const uint64_t in_block = off % block_bytes_;
    const uint64_t n = block_bytes_ - in_block;
    const uint8_t* p = block + in_block;
    uint64_t i = n;
    while (i >= 8) {  // whole words first: blocks past the tail are large
      uint64_t word;
      std::memcpy(&word, p + i - 8, sizeof(word));
      if (word != 0) break;
      i -= 8;
    }
    while (i > 0 && p[i - 1] == 0) --i;
    if (i > 0) garbage_end = RoundUp(off + i, record_size_);
    off += n;
  }
  for (uint64_t off = tail; off < garbage_end;) {
    uint8_t* block = BlockFor(off);
    const uint64_t in_block = off % block_bytes_;
    const uint64_t n = std::min(block_bytes_ - in_block, garbage_end - off);
    std::memset(block + in_block, 0, n);
    LOUPE_RETURN_IF_ERROR(store_->Sync(block, in_block, in_block + n));
    off += n;
  }
  if (garbage_end > tail) {
    if (!why.empty()) why += "; ";
    why += std::to_string(garbage_end - tail) +
           " bytes past the last commit were never acknowledged";
  }
  report->head = head;
  report->recovered_bytes = tail - head;
  // Committed bytes past a cut are zeroed with the garbage: count once.
  report->dropped_bytes = std::max(committed, garbage_end) - tail;
  if (report->dropped_bytes != 0) {
    report->detail = "recovered " +
                     std::to_string((tail - head) / record_size_) +
                     " records from '" + options_.directory + "', dropped " +
                     std::to_string(report->dropped_bytes) + " bytes: " + why;
  }
  if (tail != committed) {
    LOUPE_RETURN_IF_ERROR(store_->CommitTail(head, tail));
  }
  tails_.Reset(tail);
  return Status::Ok();
}

DataLog::~DataLog() {
  {
    std::lock_guard<std::mutex> lock(maint_mu_);
    maint_stop_ = true;
  }
  maint_cv_.notify_all();
  if (maint_thread_.joinable()) maint_thread_.join();
  if (store_ != nullptr && options_.mode != StorageMode::kInMemory) {
    // Best effort: there is no one left to report a failure to.
    (void)Flush();
  }
  if (table_ != nullptr) {
    for (uint64_t b = head() / block_bytes_; b * block_bytes_ < installed_end_;
         ++b) {
      uint8_t* block = table_[b & table_mask_].load(std::memory_order_relaxed);
      if (block != nullptr) store_->Detach(b, block);
    }
    munmap(table_, table_bytes_);
  }
}

Result<uint32_t> DataLog::AcquireSlot() {
  std::lock_guard<std::mutex> lock(writers_mu_);
  for (uint32_t i = 0; i < slot_used_.size(); ++i) {
    if (!slot_used_[i]) {
      slot_used_[i] = true;
      tails_.SetSlotsInUse(i + 1);
      return i;
    }
  }
  return Status::ResourceExhausted(
      "all " + std::to_string(options_.max_writers) +
      " writer slots are in use; destroy a Writer or raise max_writers");
}

Result<std::unique_ptr<DataLog::Writer>> DataLog::NewWriter() {
  Result<uint32_t> slot = AcquireSlot();
  if (!slot.ok()) return slot.status();
  return std::unique_ptr<Writer>(new Writer(this, *slot));
}

void DataLog::ReleaseSlot(uint32_t slot) {
  std::lock_guard<std::mutex> lock(writers_mu_);
  slot_used_[slot] = false;
}

DataLog::Writer::~Writer() { log_->ReleaseSlot(slot_); }

Status DataLog::Writer::BadSize(size_t bytes) const {
  const size_t rs = log_->record_size_;
  if (bytes == 0) return Status::InvalidArgument("append: empty batch");
  if (bytes % rs != 0) {
    return Status::InvalidArgument("append: " + std::to_string(bytes) +
                                   " bytes is not a whole number of " +
                                   std::to_string(rs) +
                                   "-byte records (the schema's record size)");
  }
  return Status::InvalidArgument(
      "append: batch of " + std::to_string(bytes / rs) +
      " records exceeds max_batch_records (" +
      std::to_string(log_->options_.max_batch_records) + "); split it");
}

void DataLog::CopyIn(uint64_t offset, const uint8_t* data, uint64_t bytes) {
  const uint64_t in_block = offset - BlockIndex(offset) * block_bytes_;
  const uint64_t first = std::min(bytes, block_bytes_ - in_block);
  std::memcpy(BlockFor(offset) + in_block, data, first);
  if (first < bytes) {
    // max_batch_bytes_ <= block_bytes_: a batch spans at most two blocks.
    std::memcpy(BlockFor(offset + first), data + first, bytes - first);
  }
}

Status DataLog::AppendSlow(uint32_t slot, uint64_t bytes, uint64_t* offset,
                           bool* retry) {
  bool stalled = false;
  uint32_t round = 0;
  for (;;) {
    const uint64_t ready = ready_limit_.load(std::memory_order_acquire);
    tails_.Announce(slot);
    if (tails_.ClaimBounded(slot, bytes, ready, offset)) return Status::Ok();
    // Does not fit: withdraw while waiting, so readTail is not held back.
    tails_.Abandon(slot);
    if (alloc_failed_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(status_mu_);
      return alloc_status_;
    }
    const uint64_t cur = tails_.write_tail();
    if (options_.capacity_bytes != 0 && options_.retention.max_bytes == 0 &&
        cur + bytes > head() + options_.capacity_bytes) {
      // Without byte retention nothing will make room.
      return Status::ResourceExhausted(
          "data log is full: " + std::to_string(options_.capacity_bytes) +
          " bytes (capacity_bytes) are in use; configure retention or raise "
          "the capacity");
    }
    {
      std::lock_guard<std::mutex> lock(maint_mu_);
      if (maint_stop_) return Status::Unavailable("data log is closing");
    }
    if (!stalled) {
      stalled = true;
      alloc_stalls_.fetch_add(1, std::memory_order_relaxed);
      Wake();
    }
    if (retry != nullptr) {
      *retry = true;
      return Status::Unavailable("data log: waiting for memory");
    }
    Backoff(&round);
  }
}

void DataLog::AwaitMemory(uint64_t end) {
  alloc_stalls_.fetch_add(1, std::memory_order_relaxed);
  Wake();
  uint32_t round = 0;
  while (installed_end_.load(std::memory_order_acquire) < end) {
    Backoff(&round);
  }
}

Status DataLog::Commit(uint64_t upto) {
  // Wait until every batch below ours is published (earlier writers are
  // mid-copy; they never block), then group-commit.
  uint32_t round = 0;
  while (tails_.read_tail() < upto) Backoff(&round);
  if (durable_tail_.load(std::memory_order_acquire) >= upto) {
    return Status::Ok();
  }
  std::lock_guard<std::mutex> lock(commit_mu_);
  if (durable_tail_.load(std::memory_order_acquire) >= upto) {
    return Status::Ok();
  }
  return SyncAndCommit();
}

Status DataLog::Flush() {
  if (options_.mode == StorageMode::kInMemory) return Status::Ok();
  tails_.Publish();
  std::lock_guard<std::mutex> lock(commit_mu_);
  return SyncAndCommit();
}

Status DataLog::SyncAndCommit() {
  const uint64_t tail = tails_.read_tail();
  const uint64_t from =
      std::max(durable_tail_.load(std::memory_order_relaxed), head());
  for (uint64_t off = from; off < tail;) {
    const uint64_t in_block = off % block_bytes_;
    const uint64_t n = std::min(block_bytes_ - in_block, tail - off);
    LOUPE_RETURN_IF_ERROR(store_->Sync(BlockFor(off), in_block, in_block + n));
    off += n;
  }
  if (tail == durable_tail_.load(std::memory_order_relaxed) &&
      head() == committed_head_) {
    return Status::Ok();
  }
  LOUPE_RETURN_IF_ERROR(store_->CommitTail(head(), tail));
  committed_head_ = head();
  commits_.fetch_add(1, std::memory_order_relaxed);
  // Release pairs with the acquire in Commit's fast check.
  durable_tail_.store(tail, std::memory_order_release);
  return Status::Ok();
}

void DataLog::Wake() {
  {
    std::lock_guard<std::mutex> lock(maint_mu_);
    maint_wake_ = true;
  }
  maint_cv_.notify_one();
}

void DataLog::MaintenanceLoop() {
  internal::RcuRegisterThisThread();
  auto last_flush = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(maint_mu_);
      maint_cv_.wait_for(lock, kMaintenancePeriod,
                         [this] { return maint_stop_ || maint_wake_; });
      if (maint_stop_) return;
      maint_wake_ = false;
    }
    tails_.Publish();
    if (options_.retention.max_bytes != 0 ||
        options_.retention.max_age.count() != 0) {
      RetireExpired();
    }
    Status s = AllocateAhead();
    {
      std::lock_guard<std::mutex> lock(status_mu_);
      if (!s.ok()) {
        alloc_status_ = s;
        alloc_failed_.store(true, std::memory_order_release);
      } else if (alloc_failed_.load(std::memory_order_relaxed)) {
        alloc_failed_.store(false, std::memory_order_release);
      }
    }
    if (options_.mode == StorageMode::kDurableRelaxed &&
        std::chrono::steady_clock::now() - last_flush >=
            options_.flush_interval) {
      last_flush = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> lock(commit_mu_);
      // A failed periodic flush is retried next period; Flush() reports.
      (void)SyncAndCommit();
    }
  }
}

Status DataLog::AllocateAhead() {
  const uint64_t claimed = tails_.write_tail();
  const uint64_t target = claimed + options_.preallocate_bytes + claim_slack_;
  const uint64_t cap_end = options_.capacity_bytes != 0
                               ? head() + options_.capacity_bytes
                               : UINT64_MAX;
  uint64_t end = installed_end_.load(std::memory_order_relaxed);
  Status status;
  // Up to the target within the capacity, and always up to what writers
  // have claimed (see Writer::Append).
  while (end < target && (end < cap_end || end < claimed)) {
    const uint64_t b = end / block_bytes_;
    std::atomic<uint8_t*>& slot = table_[b & table_mask_];
    if (slot.load(std::memory_order_relaxed) != nullptr) {
      if (options_.retention.max_bytes == 0 &&
          options_.retention.max_age.count() == 0) {
        status = Status::ResourceExhausted(
            "data log is full: the block table holds " +
            std::to_string(table_mask_ + 1) + " blocks of " +
            std::to_string(block_bytes_) +
            " bytes; configure retention or a larger block_records");
      }
      break;  // with retention: wait for old blocks to retire
    }
    Result<uint8_t*> mem = store_->Allocate(b);
    if (!mem.ok()) {
      status = mem.status().Annotate("data log cannot grow");
      break;
    }
    // Release pairs with the acquire in BlockFor.
    slot.store(*mem, std::memory_order_release);
    blocks_live_.fetch_add(1, std::memory_order_relaxed);
    end += block_bytes_;
    // Release pairs with the acquires in Writer::Append and AwaitMemory.
    installed_end_.store(end, std::memory_order_release);
    ready_limit_.store(std::min(end, cap_end), std::memory_order_release);
  }
  if (ready_limit_.load(std::memory_order_relaxed) < std::min(end, cap_end)) {
    ready_limit_.store(std::min(end, cap_end), std::memory_order_release);
  }
  return status;
}

uint64_t DataLog::NewestTimestamp(uint64_t block) const {
  const uint8_t* base =
      table_[block & table_mask_].load(std::memory_order_acquire);
  const uint64_t records = block_bytes_ / record_size_;
  const uint64_t look = std::min<uint64_t>(records, 64);
  uint64_t newest = 0;
  for (uint64_t i = records - look; i < records; ++i) {
    uint64_t ts;
    std::memcpy(&ts, base + i * record_size_, sizeof(ts));
    newest = std::max(newest, ts);
  }
  return newest;
}

void DataLog::RetireExpired() {
  const uint64_t tail = tails_.read_tail();
  const uint64_t max_bytes = options_.retention.max_bytes;
  const uint64_t max_age =
      static_cast<uint64_t>(options_.retention.max_age.count());
  const uint64_t now = max_age != 0 ? NowNs() : 0;
  uint64_t b = next_retire_block_;
  for (;; ++b) {
    if ((b + 1) * block_bytes_ > tail) break;  // not complete yet
    const bool by_bytes = max_bytes != 0 && tail - b * block_bytes_ > max_bytes;
    const bool by_age =
        max_age != 0 && now > max_age && NewestTimestamp(b) < now - max_age;
    if (!by_bytes && !by_age) break;
  }
  if (b == next_retire_block_) return;

  std::vector<std::pair<uint64_t, uint8_t*>> retired;
  {
    std::lock_guard<std::mutex> lock(commit_mu_);
    if (options_.mode != StorageMode::kInMemory) {
      // Make sure nothing is lost between durable_tail and the new head.
      if (!SyncAndCommit().ok()) return;  // retried next period
    }
    // Release pairs with the acquire in head(): readers check the head
    // before they load a block pointer.
    head_.store(b * block_bytes_, std::memory_order_release);
    for (uint64_t i = next_retire_block_; i < b; ++i) {
      retired.emplace_back(i, table_[i & table_mask_].exchange(
                                  nullptr, std::memory_order_acq_rel));
    }
    if (options_.mode != StorageMode::kInMemory) {
      if (store_->CommitTail(head(), durable_tail_.load()).ok()) {
        committed_head_ = head();
      }
    }
  }
  next_retire_block_ = b;
  // Every reader that could have seen the old head has finished after this.
  internal::RcuSynchronize();
  for (auto& [index, block] : retired) {
    store_->Release(index, block);
    blocks_live_.fetch_sub(1, std::memory_order_relaxed);
    blocks_retired_.fetch_add(1, std::memory_order_relaxed);
  }
}

Status DataLog::CheckRange(uint64_t offset, uint64_t end) const {
  if (offset % record_size_ != 0 || end % record_size_ != 0) {
    return Status::InvalidArgument(
        "offset " + std::to_string(offset % record_size_ != 0 ? offset : end) +
        " is not a record boundary (records are " +
        std::to_string(record_size_) + " bytes)");
  }
  const uint64_t tail = VisibleEnd(end);
  if (end > tail || offset > end) {
    return Status::OutOfRange(
        "range [" + std::to_string(offset) + ", " + std::to_string(end) +
        ") is not below the read tail " + std::to_string(tail));
  }
  return Status::Ok();
}

Status DataLog::Read(uint64_t offset, void* out) const {
  LOUPE_RETURN_IF_ERROR(CheckRange(offset, offset));
  const uint64_t tail = VisibleEnd(offset + record_size_);
  if (offset + record_size_ > tail) {
    return Status::OutOfRange("offset " + std::to_string(offset) +
                              " is at or past the read tail " +
                              std::to_string(tail));
  }
  internal::RcuReadLock lock;
  uint8_t* block = offset < head() ? nullptr : BlockFor(offset);
  if (block == nullptr) return ExpiredStatus(offset);
  std::memcpy(out, block + offset % block_bytes_, record_size_);
  return Status::Ok();
}

Status DataLog::ReadBatch(uint64_t offset, uint64_t end, size_t max_records,
                          void* out, size_t* count) const {
  *count = 0;
  if (end > offset && (end - offset) / record_size_ > max_records) {
    end = offset + uint64_t{max_records} * record_size_;  // cannot overflow
  }
  uint8_t* dst = static_cast<uint8_t*>(out);
  Status s = ForEach(offset, end, [&](uint64_t, const uint8_t* record) {
    std::memcpy(dst, record, record_size_);
    dst += record_size_;
    ++*count;
    return true;
  });
  return s;
}

Status DataLog::ExpiredStatus(uint64_t offset) const {
  return Status::Expired("offset " + std::to_string(offset) +
                         " was retired by retention (oldest retained offset: " +
                         std::to_string(head()) + ")");
}

DataLogStats DataLog::stats() const {
  DataLogStats s;
  s.write_tail = tails_.write_tail();
  s.read_tail = tails_.read_tail();
  s.head = head();
  s.durable_tail = durable_tail_.load(std::memory_order_relaxed);
  s.blocks_live = blocks_live_.load(std::memory_order_relaxed);
  s.blocks_allocated = store_->blocks_allocated();
  s.blocks_recycled = store_->blocks_recycled();
  s.blocks_retired = blocks_retired_.load(std::memory_order_relaxed);
  s.alloc_stalls = alloc_stalls_.load(std::memory_order_relaxed);
  s.commits = commits_.load(std::memory_order_relaxed);
  // Block memory, the table pages that installed blocks have touched, and
  // the writer slots.
  const uint64_t ever_blocks = s.write_tail / block_bytes_ + 1 + s.blocks_live;
  const uint64_t table_touched =
      std::min<uint64_t>(table_bytes_, RoundUp(ever_blocks * 8, 4096));
  s.memory_bytes = store_->mapped_bytes() + table_touched +
                   uint64_t{options_.max_writers} * 64 + sizeof(*this);
  return s;
}

}  // namespace loupe
