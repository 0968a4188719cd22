// Tails on its own: claims, completion order, bounded claims, publication
// by readers, and many writers and readers at once.
#include "multilog/tails.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace loupe {
namespace {

TEST(TailsTest, StartsAtStart) {
  Tails tails(4096, 4);
  EXPECT_EQ(tails.max_slots(), 4u);
  EXPECT_EQ(tails.published(), 4096u);
  EXPECT_EQ(tails.read_tail(), 4096u);
  EXPECT_EQ(tails.write_tail(), 4096u);
  EXPECT_EQ(tails.Publish(), 4096u);
}

TEST(TailsTest, ResetMovesBothTails) {
  Tails tails(0, 2);
  tails.Reset(640);
  EXPECT_EQ(tails.read_tail(), 640u);
  EXPECT_EQ(tails.write_tail(), 640u);
  tails.SetSlotsInUse(1);
  tails.Announce(0);
  EXPECT_EQ(tails.ClaimFetchAdd(0, 64), 640u);
  tails.Complete(0);
  EXPECT_EQ(tails.read_tail(), 704u);
}

TEST(TailsTest, SingleWriterAdvancesReadTail) {
  Tails tails(0, 4);
  tails.SetSlotsInUse(1);
  uint64_t expected = 0;
  for (uint64_t bytes : {64u, 128u, 1u, 4096u}) {
    EXPECT_EQ(tails.Announce(0), expected);
    uint64_t offset = tails.ClaimFetchAdd(0, bytes);
    EXPECT_EQ(offset, expected);
    EXPECT_EQ(tails.write_tail(), expected + bytes);
    // Claimed but not complete: not published.
    EXPECT_EQ(tails.read_tail(), expected);
    EXPECT_EQ(tails.Publish(), expected);
    expected += bytes;
    tails.Complete(0);
    EXPECT_EQ(tails.read_tail(), expected);
    EXPECT_EQ(tails.published(), expected);
  }
}

TEST(TailsTest, CompletePublishesNothingReadTailDoes) {
  Tails tails(0, 2);
  tails.SetSlotsInUse(1);
  tails.Announce(0);
  tails.ClaimFetchAdd(0, 100);
  tails.Complete(0);
  // Nobody has published yet.
  EXPECT_EQ(tails.published(), 0u);
  // read_tail() publishes; published() then sees it.
  EXPECT_EQ(tails.read_tail(), 100u);
  EXPECT_EQ(tails.published(), 100u);

  tails.Announce(0);
  tails.ClaimFetchAdd(0, 50);
  tails.Complete(0);
  EXPECT_EQ(tails.published(), 100u);
  EXPECT_EQ(tails.Publish(), 150u);
  EXPECT_EQ(tails.published(), 150u);
}

TEST(TailsTest, IncompleteEarlierClaimHoldsReadTail) {
  Tails tails(1000, 4);
  tails.SetSlotsInUse(2);
  tails.Announce(0);
  uint64_t first = tails.ClaimFetchAdd(0, 100);
  tails.Announce(1);
  uint64_t second = tails.ClaimFetchAdd(1, 50);
  EXPECT_EQ(first, 1000u);
  EXPECT_EQ(second, 1100u);
  EXPECT_EQ(tails.write_tail(), 1150u);

  // The later batch completes first: nothing may be published past the
  // start of the earlier one (no holes).
  tails.Complete(1);
  EXPECT_EQ(tails.read_tail(), 1000u);
  EXPECT_EQ(tails.Publish(), 1000u);
  EXPECT_EQ(tails.published(), 1000u);

  // The earlier one completes: both are published.
  tails.Complete(0);
  EXPECT_EQ(tails.read_tail(), 1150u);
  EXPECT_EQ(tails.published(), 1150u);
}

TEST(TailsTest, LaterWriterKeepsWritingWhileEarlierIsSlow) {
  Tails tails(0, 4);
  tails.SetSlotsInUse(2);
  tails.Announce(0);
  EXPECT_EQ(tails.ClaimFetchAdd(0, 10), 0u);
  // Slot 1 claims and completes several batches while slot 0 is stuck.
  for (int i = 0; i < 5; ++i) {
    tails.Announce(1);
    EXPECT_EQ(tails.ClaimFetchAdd(1, 20), 10u + 20u * i);
    tails.Complete(1);
    EXPECT_EQ(tails.read_tail(), 0u);
  }
  EXPECT_EQ(tails.write_tail(), 110u);
  tails.Complete(0);
  EXPECT_EQ(tails.read_tail(), 110u);
}

TEST(TailsTest, AnnouncedSlotHoldsReadTailAtItsLowerBound) {
  Tails tails(0, 4);
  tails.SetSlotsInUse(2);
  tails.Announce(0);
  tails.ClaimFetchAdd(0, 64);
  tails.Complete(0);
  EXPECT_EQ(tails.read_tail(), 64u);

  // Slot 1 announces but has not claimed yet: a claim it makes later can
  // start anywhere at or above 64, so readTail must not pass 64.
  EXPECT_EQ(tails.Announce(1), 64u);
  tails.Announce(0);
  EXPECT_EQ(tails.ClaimFetchAdd(0, 64), 64u);
  tails.Complete(0);
  EXPECT_EQ(tails.read_tail(), 64u);

  tails.Abandon(1);
  EXPECT_EQ(tails.read_tail(), 128u);
  EXPECT_EQ(tails.published(), 128u);
}

TEST(TailsTest, SlotsBeyondSlotsInUseAreNotScanned) {
  Tails tails(0, 4);
  tails.SetSlotsInUse(1);
  tails.Announce(0);
  tails.ClaimFetchAdd(0, 10);
  EXPECT_EQ(tails.read_tail(), 0u);
  tails.Complete(0);
  EXPECT_EQ(tails.read_tail(), 10u);
  // Raising it before slot 2 is used makes its claim hold readTail.
  tails.SetSlotsInUse(3);
  tails.Announce(2);
  EXPECT_EQ(tails.ClaimFetchAdd(2, 10), 10u);
  EXPECT_EQ(tails.read_tail(), 10u);
  tails.Complete(2);
  EXPECT_EQ(tails.read_tail(), 20u);
}

TEST(TailsTest, ClaimBoundedRespectsLimit) {
  Tails tails(0, 2);
  tails.SetSlotsInUse(1);
  uint64_t offset = 0;

  tails.Announce(0);
  ASSERT_TRUE(tails.ClaimBounded(0, 100, 150, &offset));
  EXPECT_EQ(offset, 0u);
  EXPECT_EQ(tails.write_tail(), 100u);
  tails.Complete(0);
  EXPECT_EQ(tails.read_tail(), 100u);

  // 100 + 60 > 150: fails and changes nothing.
  uint64_t lower = tails.Announce(0);
  EXPECT_EQ(lower, 100u);
  EXPECT_FALSE(tails.ClaimBounded(0, 60, 150, &offset));
  EXPECT_EQ(tails.write_tail(), 100u);
  // Still announced: it holds readTail, which is already at its bound.
  EXPECT_EQ(tails.read_tail(), 100u);
  tails.Abandon(0);
  EXPECT_EQ(tails.read_tail(), 100u);
  EXPECT_EQ(tails.write_tail(), 100u);

  // Exactly up to the limit succeeds.
  tails.Announce(0);
  ASSERT_TRUE(tails.ClaimBounded(0, 50, 150, &offset));
  EXPECT_EQ(offset, 100u);
  EXPECT_EQ(tails.write_tail(), 150u);
  EXPECT_EQ(tails.read_tail(), 100u);
  tails.Complete(0);
  EXPECT_EQ(tails.read_tail(), 150u);

  // At the limit, even one byte fails.
  tails.Announce(0);
  EXPECT_FALSE(tails.ClaimBounded(0, 1, 150, &offset));
  tails.Abandon(0);
  EXPECT_EQ(tails.write_tail(), 150u);
  EXPECT_EQ(tails.read_tail(), 150u);
}

TEST(TailsTest, AbandonedClaimDoesNotHoldOtherWriters) {
  Tails tails(0, 2);
  tails.SetSlotsInUse(2);
  uint64_t offset = 0;
  tails.Announce(0);
  EXPECT_FALSE(tails.ClaimBounded(0, 10, 5, &offset));
  tails.Abandon(0);
  tails.Announce(1);
  EXPECT_EQ(tails.ClaimFetchAdd(1, 10), 0u);
  tails.Complete(1);
  EXPECT_EQ(tails.read_tail(), 10u);
}

// Interleaves claims, completions and publications of several slots in a
// random order on one thread, checking the exact published value after
// every step against a model.
TEST(TailsTest, RandomInterleavingMatchesModel) {
  constexpr uint32_t kSlots = 5;
  Tails tails(0, kSlots);
  tails.SetSlotsInUse(kSlots);
  std::mt19937_64 rng(42);
  // Per slot: the start of its open claim, or kIdle.
  std::vector<uint64_t> open(kSlots, Tails::kIdle);
  uint64_t last_read = 0;
  for (int step = 0; step < 20000; ++step) {
    uint32_t slot = rng() % kSlots;
    if (open[slot] == Tails::kIdle) {
      uint64_t bytes = 1 + rng() % 100;
      tails.Announce(slot);
      if (rng() % 4 == 0) {
        uint64_t limit = tails.write_tail() + rng() % 150;
        uint64_t offset;
        if (tails.ClaimBounded(slot, bytes, limit, &offset)) {
          open[slot] = offset;
        } else {
          tails.Abandon(slot);
        }
      } else {
        open[slot] = tails.ClaimFetchAdd(slot, bytes);
      }
    } else {
      open[slot] = Tails::kIdle;
      tails.Complete(slot);
    }
    if (rng() % 3 != 0) continue;  // publish now and then only
    ASSERT_GE(tails.published(), last_read);
    uint64_t expected = tails.write_tail();
    for (uint64_t start : open) expected = std::min(expected, start);
    const uint64_t read = tails.read_tail();
    ASSERT_EQ(read, expected) << "step " << step;
    ASSERT_EQ(tails.published(), read);
    ASSERT_LE(read, tails.write_tail());
    ASSERT_GE(read, last_read);
    last_read = read;
  }
  for (uint32_t slot = 0; slot < kSlots; ++slot) {
    if (open[slot] != Tails::kIdle) tails.Complete(slot);
  }
  EXPECT_EQ(tails.read_tail(), tails.write_tail());
}

// Four writers, each with its own slot, claim batches of random sizes and
// mark their bytes in a shared buffer; two observers check that readTail
// never goes back, never passes writeTail, and covers only written bytes.
// One observer publishes (read_tail()), the other only loads what was
// published (published()), so both routes of invariant 3 are exercised.
// The buffer is plain memory on purpose: under ThreadSanitizer, a missing
// happens-before edge between a writer's data and a readTail that covers it
// shows up as a race.
TEST(TailsTest, ConcurrentWritersAndReaders) {
  constexpr uint32_t kWriters = 4;
  constexpr int kClaimsPerWriter = 200000;
  constexpr uint64_t kMaxClaim = 64;

  // Sizes are drawn up front so that the total is known for the buffer.
  std::vector<std::vector<uint32_t>> sizes(kWriters);
  uint64_t total = 0;
  for (uint32_t t = 0; t < kWriters; ++t) {
    std::mt19937 rng(1000 + t);
    sizes[t].resize(kClaimsPerWriter);
    for (auto& s : sizes[t]) {
      s = 1 + rng() % kMaxClaim;
      total += s;
    }
  }
  std::vector<uint8_t> buffer(total, 0);

  Tails tails(0, kWriters);
  tails.SetSlotsInUse(kWriters);
  std::atomic<uint32_t> writers_done{0};
  std::atomic<bool> failed{false};
  auto fail = [&](const std::string& what) {
    if (!failed.exchange(true)) ADD_FAILURE() << what;
  };

  auto observe = [&](bool publish) {
    uint64_t last = 0;
    uint64_t checked = 0;
    std::chrono::steady_clock::time_point done_at;
    while (!failed.load(std::memory_order_relaxed)) {
      const bool done =
          writers_done.load(std::memory_order_acquire) == kWriters;
      if (done && done_at == std::chrono::steady_clock::time_point()) {
        done_at = std::chrono::steady_clock::now();
      }
      const uint64_t read = publish ? tails.read_tail() : tails.published();
      const uint64_t write = tails.write_tail();
      if (read < last) {
        fail("readTail went back from " + std::to_string(last) + " to " +
             std::to_string(read));
      }
      if (read > write) {
        fail("readTail " + std::to_string(read) + " > writeTail " +
             std::to_string(write));
      }
      last = std::max(last, read);
      for (; checked < read && checked < total; ++checked) {
        if (buffer[checked] == 0) {
          fail("byte " + std::to_string(checked) + " below readTail " +
               std::to_string(read) + " was never written");
          return;
        }
      }
      if (done && (publish || read == total)) break;
      if (done && std::chrono::steady_clock::now() - done_at >
                      std::chrono::seconds(5)) {
        fail("writers are done but readTail is stuck at " +
             std::to_string(read) + " of " + std::to_string(total));
        break;
      }
      if (read == checked) std::this_thread::yield();
    }
  };
  std::thread publisher(observe, true);
  std::thread loader(observe, false);

  std::vector<std::thread> writers;
  for (uint32_t t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      uint32_t n = 0;
      for (uint32_t bytes : sizes[t]) {
        const uint64_t lower = tails.Announce(t);
        const uint64_t offset = tails.ClaimFetchAdd(t, bytes);
        if (offset < lower || offset + bytes > total) {
          fail("claim at " + std::to_string(offset) + " below its bound " +
               std::to_string(lower) + " or past the end");
          tails.Complete(t);
          break;
        }
        // Now and then, stall between claim and write so that the other
        // writers and the observers run past an incomplete batch.
        if (++n % 64 == 0) std::this_thread::yield();
        std::fill_n(buffer.begin() + offset, bytes, uint8_t{1});
        tails.Complete(t);
        // Writers may publish too.
        if (n % 128 == 0 && tails.Publish() > tails.write_tail()) {
          fail("Publish returned a value past writeTail");
        }
      }
      writers_done.fetch_add(1, std::memory_order_release);
    });
  }
  for (auto& w : writers) w.join();
  publisher.join();
  loader.join();

  EXPECT_FALSE(failed.load());
  EXPECT_EQ(tails.write_tail(), total);
  EXPECT_EQ(tails.read_tail(), total);
  EXPECT_EQ(tails.published(), total);
  EXPECT_EQ(std::count(buffer.begin(), buffer.end(), 0), 0);
}

}  // namespace
}  // namespace loupe
