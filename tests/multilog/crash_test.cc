// Crash recovery of durable DataLogs. A forked child appends numbered,
// checksummed records from one or two threads and, after each Append
// returns, publishes how far it got in memory shared with the parent. The
// parent SIGKILLs it at a random moment, reopens the log and checks:
//   - every record below read_tail is whole (its checksum matches) and each
//     writer's records are its sequence 0, 1, 2 ... with no hole;
//   - kDurable: every acknowledged record is there, and read_tail covers
//     every acknowledged batch.
// Rounds continue on the same directory, so every child after the first
// also appends after a recovery. The parent forks only while it has no
// other thread (each round's DataLog, and its maintenance thread, is gone
// by then), so the child may use the library normally.
//
// The seed is printed on failure; LOUPE_CRASH_SEED=<n> replays one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "multilog/data_log.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe {
namespace {

// The layout of kSchemaText, timestamp first.
struct CrashRecord {
  uint64_t timestamp;
  uint64_t seq;     // per writer, from 0
  uint32_t writer;  // 0 .. writers-1
  uint32_t batch;   // records in the batch this record was appended with
  uint64_t check;   // Checksum() of the fields above
};
static_assert(sizeof(CrashRecord) == 32);
constexpr std::string_view kSchemaText =
    "seq:u64, writer:u32, batch:u32, check:u64";
constexpr uint64_t kRecord = sizeof(CrashRecord);
constexpr uint32_t kBlockRecords = 1024;  // 32 KiB blocks: many boundaries
constexpr uint64_t kBlockBytes = kBlockRecords * kRecord;
constexpr uint32_t kMaxBatch = 64;
constexpr int kMaxWriters = 2;

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t Checksum(const CrashRecord& r) {
  return Mix(r.timestamp ^
             Mix(r.seq ^ Mix((uint64_t{r.writer} << 32) | r.batch)));
}

CrashRecord MakeRecord(uint32_t writer, uint64_t seq, uint32_t batch) {
  CrashRecord r;
  r.timestamp = 1'700'000'000'000'000'000ull + seq * 1000 + writer;
  r.seq = seq;
  r.writer = writer;
  r.batch = batch;
  r.check = Checksum(r);
  return r;
}

const Schema& CrashSchema() {
  static const Schema schema = [] {
    Result<Schema> s = Schema::Parse(kSchemaText);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
      std::abort();
    }
    return std::move(s).value();
  }();
  return schema;
}

DataLogOptions Options(StorageMode mode, const std::string& dir) {
  DataLogOptions options;
  options.mode = mode;
  options.directory = dir;
  options.block_records = kBlockRecords;
  // Little ahead, so blocks are created while the child appends.
  options.preallocate_bytes = 4 * kBlockBytes;
  options.max_batch_records = kMaxBatch;
  options.max_writers = 4;
  options.flush_interval = std::chrono::milliseconds(20);
  return options;
}

// What the child tells the parent, in a MAP_SHARED mapping made before
// fork. The child stores; the parent reads after the child is dead.
struct Shared {
  std::atomic<uint32_t> opened{0};
  std::atomic<uint32_t> failed{0};
  // Per writer: records acknowledged so far (the next seq to append), and
  // the end offset of its last acknowledged batch.
  std::atomic<uint64_t> acked[kMaxWriters] = {};
  std::atomic<uint64_t> acked_end[kMaxWriters] = {};
  char message[512] = {};
};
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "the counters must work across processes");

// Child only: records why it gives up and exits.
[[noreturn]] void ChildFail(Shared* shared, const std::string& why) {
  if (shared->failed.exchange(1) == 0) {
    std::snprintf(shared->message, sizeof(shared->message), "%s", why.c_str());
  }
  std::_Exit(3);
}

// Child only: appends batches of 1..kMaxBatch records forever.
void AppendForever(DataLog* log, Shared* shared, uint32_t writer_id,
                   uint64_t first_seq, uint64_t seed, bool pace) {
  Result<std::unique_ptr<DataLog::Writer>> writer = log->NewWriter();
  if (!writer.ok()) ChildFail(shared, writer.status().ToString());
  std::mt19937_64 rng(seed);
  std::vector<CrashRecord> batch(kMaxBatch);
  for (uint64_t seq = first_seq;;) {
    const uint32_t n = 1 + static_cast<uint32_t>(rng() % kMaxBatch);
    for (uint32_t i = 0; i < n; ++i)
      batch[i] = MakeRecord(writer_id, seq + i, n);
    Result<uint64_t> offset = (*writer)->Append(batch.data(), n * kRecord);
    if (!offset.ok()) {
      ChildFail(shared, "writer " + std::to_string(writer_id) + " at seq " +
                            std::to_string(seq) + ": " +
                            offset.status().ToString());
    }
    seq += n;
    // Acknowledged: from here on the parent may count on these records.
    shared->acked_end[writer_id].store(*offset + n * kRecord,
                                       std::memory_order_relaxed);
    shared->acked[writer_id].store(seq, std::memory_order_release);
    // kDurableRelaxed appends at memory speed; keep the log (a file per
    // 32 KiB block) to tens of MB a round.
    if (pace) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// Child only: never returns; the parent kills it.
[[noreturn]] void RunChild(const std::string& dir, StorageMode mode,
                           int writers, const std::vector<uint64_t>& first_seq,
                           uint64_t seed, Shared* shared) {
  Result<std::unique_ptr<DataLog>> log =
      DataLog::Open(CrashSchema(), Options(mode, dir));
  if (!log.ok()) ChildFail(shared, "open: " + log.status().ToString());
  shared->opened.store(1, std::memory_order_release);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back(AppendForever, log->get(), shared,
                         static_cast<uint32_t>(w), first_seq[w], seed + w,
                         mode == StorageMode::kDurableRelaxed);
  }
  for (std::thread& t : threads) t.join();
  std::_Exit(4);  // unreachable: the writers never return
}

int ThreadCount() {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("killed by ") + strsignal(WTERMSIG(status));
  }
  return "wait status " + std::to_string(status);
}

uint64_t Seed() {
  if (const char* s = std::getenv("LOUPE_CRASH_SEED")) {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device()() | (uint64_t{std::random_device()()} << 32);
}

struct CrashParam {
  const char* name;
  StorageMode mode;
  int writers;
  int rounds;
};

class CrashTest : public ::testing::TestWithParam<CrashParam> {
 protected:
  void SetUp() override {
    char name[] = "/tmp/loupe-crash-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr) << std::strerror(errno);
    dir_ = name;
    void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED) << std::strerror(errno);
    shared_ = new (p) Shared();
  }
  void TearDown() override {
    if (shared_ != nullptr) {
      shared_->~Shared();
      munmap(shared_, sizeof(Shared));
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // Runs one child until it is killed; fills acked and acked_end.
  void CrashOneChild(const std::vector<uint64_t>& first_seq, uint64_t seed,
                     std::chrono::milliseconds run_for,
                     std::vector<uint64_t>* acked,
                     std::vector<uint64_t>* acked_end);
  // Reopens the log and checks it; *next_seq gets each writer's count.
  void Verify(const std::vector<uint64_t>& acked,
              const std::vector<uint64_t>& acked_end,
              std::vector<uint64_t>* next_seq);

  std::string dir_;
  Shared* shared_ = nullptr;
};

void CrashTest::CrashOneChild(const std::vector<uint64_t>& first_seq,
                              uint64_t seed, std::chrono::milliseconds run_for,
                              std::vector<uint64_t>* acked,
                              std::vector<uint64_t>* acked_end) {
  const CrashParam& param = GetParam();
  ASSERT_EQ(ThreadCount(), 1) << "fork needs a single-threaded parent";
  shared_->~Shared();
  new (shared_) Shared();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    RunChild(dir_, param.mode, param.writers, first_seq, seed, shared_);
  }

  int status = 0;
  // Start the clock once the child has opened (or recovered) the log.
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (shared_->opened.load(std::memory_order_acquire) == 0) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      FAIL() << "child " << DescribeWaitStatus(status)
             << " before opening: " << shared_->message;
    }
    if (std::chrono::steady_clock::now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL() << "child did not open the log within 60 s";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(run_for);
  if (waitpid(pid, &status, WNOHANG) == pid) {
    FAIL() << "child " << DescribeWaitStatus(status)
           << " before it was killed: " << shared_->message;
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0) << std::strerror(errno);
  ASSERT_EQ(waitpid(pid, &status, 0), pid) << std::strerror(errno);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child " << DescribeWaitStatus(status) << ": " << shared_->message;
  for (int w = 0; w < param.writers; ++w) {
    acked->push_back(shared_->acked[w].load(std::memory_order_acquire));
    acked_end->push_back(shared_->acked_end[w].load(std::memory_order_relaxed));
  }
}

void CrashTest::Verify(const std::vector<uint64_t>& acked,
                       const std::vector<uint64_t>& acked_end,
                       std::vector<uint64_t>* next_seq) {
  const CrashParam& param = GetParam();
  OpenReport report;
  Result<std::unique_ptr<DataLog>> log =
      DataLog::Open(CrashSchema(), Options(param.mode, dir_), &report);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const uint64_t tail = (*log)->read_tail();
  EXPECT_TRUE(report.reopened);
  EXPECT_EQ(report.head, 0u);
  EXPECT_EQ(report.recovered_bytes, tail);
  EXPECT_EQ((*log)->write_tail(), tail);
  ASSERT_EQ(tail % kRecord, 0u);
  if (!report.detail.empty()) std::printf("    %s\n", report.detail.c_str());

  std::vector<uint64_t> next(param.writers, 0);
  std::string bad;
  Status s = (*log)->ForEach(0, tail, [&](uint64_t offset, const uint8_t* p) {
    CrashRecord r;
    std::memcpy(&r, p, sizeof(r));
    if (r.check != Checksum(r)) {
      bad = "torn or corrupt record at offset " + std::to_string(offset) +
            " (seq " + std::to_string(r.seq) + ")";
      return false;
    }
    if (r.writer >= static_cast<uint32_t>(param.writers)) {
      bad = "record at offset " + std::to_string(offset) + " names writer " +
            std::to_string(r.writer);
      return false;
    }
    if (r.seq != next[r.writer]) {
      bad = "writer " + std::to_string(r.writer) + " has seq " +
            std::to_string(r.seq) + " at offset " + std::to_string(offset) +
            ", expected " + std::to_string(next[r.writer]) + " (a hole)";
      return false;
    }
    ++next[r.writer];
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(bad.empty()) << bad << " (read_tail " << tail << ")";

  if (param.mode == StorageMode::kDurable) {
    for (int w = 0; w < param.writers; ++w) {
      EXPECT_GE(next[w], acked[w])
          << "writer " << w << ": acknowledged records lost";
      EXPECT_GE(tail, acked_end[w])
          << "writer " << w << ": read_tail below an acknowledged batch";
    }
  }
  *next_seq = next;
}

TEST_P(CrashTest, KilledWriterLeavesAWholePrefix) {
  const CrashParam& param = GetParam();
  const uint64_t seed = Seed();
  SCOPED_TRACE("LOUPE_CRASH_SEED=" + std::to_string(seed));
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  std::vector<uint64_t> next_seq(param.writers, 0);
  uint64_t recovered = 0;
  for (int round = 0; round < param.rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto run_for = std::chrono::milliseconds(300 + rng() % 701);
    std::vector<uint64_t> acked, acked_end;
    ASSERT_NO_FATAL_FAILURE(
        CrashOneChild(next_seq, rng(), run_for, &acked, &acked_end));
    if (param.mode == StorageMode::kDurable) {
      for (int w = 0; w < param.writers; ++w) {
        EXPECT_GT(acked[w], next_seq[w])
            << "writer " << w << " had nothing acknowledged in "
            << run_for.count() << " ms";
      }
    }
    std::vector<uint64_t> before = next_seq;
    ASSERT_NO_FATAL_FAILURE(Verify(acked, acked_end, &next_seq));
    for (int w = 0; w < param.writers; ++w) {
      EXPECT_GE(next_seq[w], before[w]) << "a committed record disappeared";
      recovered += next_seq[w] - before[w];
    }
  }
  // Appends ran for at least 300 ms a round at flush intervals of 20 ms.
  EXPECT_GT(recovered, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, CrashTest,
    ::testing::Values(CrashParam{"Durable1Writer", StorageMode::kDurable, 1, 5},
                      CrashParam{"Durable2Writers", StorageMode::kDurable, 2,
                                 5},
                      CrashParam{"DurableRelaxed2Writers",
                                 StorageMode::kDurableRelaxed, 2, 3}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace loupe
