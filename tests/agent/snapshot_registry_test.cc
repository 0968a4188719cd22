// SnapshotRegistry with an injected steady clock: prepare, commit, abort,
// release, the lease and the keep time, the cap, idempotency, the limit of
// open snapshots, id checks, and a multilog re-created under its name.
#include "agent/snapshot_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace loupe::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

class SnapshotRegistryTest : public ::testing::Test {
 protected:
  SnapshotRegistryTest()
      : registry_([this] { return now_; }),
        a_(std::make_shared<int>(1)),
        b_(std::make_shared<int>(2)) {}

  // Tails: "a" at a_tail_, "b" at b_tail_.
  SnapshotRegistry::TakeTails Take() {
    return [this](const std::vector<std::string>& wanted)
               -> Result<std::vector<SnapshotTail>> {
      ++takes_;
      std::vector<SnapshotTail> out;
      for (const char* name : {"a", "b"}) {
        if (!wanted.empty() &&
            std::find(wanted.begin(), wanted.end(), name) == wanted.end()) {
          continue;
        }
        SnapshotTail t;
        t.multilog = name;
        t.tail = name[0] == 'a' ? a_tail_ : b_tail_;
        t.head = t.tail + 100;
        t.identity = name[0] == 'a' ? a_ : b_;
        out.push_back(t);
      }
      return out;
    };
  }

  Result<SnapshotView> Prepare(const std::string& id, uint32_t lease_ms = 0,
                               std::vector<std::string> multilogs = {}) {
    return registry_.Prepare(id, std::move(multilogs), lease_ms, 42, Take());
  }

  std::chrono::steady_clock::time_point now_{seconds(1000)};
  SnapshotRegistry registry_;
  std::shared_ptr<int> a_, b_;
  uint64_t a_tail_ = 1000, b_tail_ = 2000;
  int takes_ = 0;
};

TEST_F(SnapshotRegistryTest, PrepareCapsUntilCommitThenKeeps) {
  EXPECT_FALSE(registry_.Cap("a", a_.get()).has_value());
  Result<SnapshotView> v = Prepare("s1");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->tails.size(), 2u);
  EXPECT_EQ(v->tails[0].multilog, "a");
  EXPECT_EQ(v->tails[0].tail, 1000u);
  EXPECT_EQ(v->tails[0].head, 1100u);
  EXPECT_EQ(v->lease_ms, kDefaultLeaseMs);
  EXPECT_EQ(v->agent_time_ns, 42u);
  EXPECT_EQ(registry_.Cap("a", a_.get()), 1000u);
  EXPECT_EQ(registry_.Cap("b", b_.get()), 2000u);

  // A second one later: the cap is the smallest.
  a_tail_ = 1500;
  ASSERT_TRUE(Prepare("s2", 0, {"a"}).ok());
  EXPECT_EQ(registry_.Cap("a", a_.get()), 1000u);

  Result<SnapshotView> c = registry_.Commit("s1", 5);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->state, SnapshotState::kCommitted);
  EXPECT_EQ(c->keep_s, 5u);
  EXPECT_EQ(registry_.Cap("a", a_.get()), 1500u);  // s2 still prepared
  EXPECT_FALSE(registry_.Cap("b", b_.get()).has_value());
  EXPECT_EQ(*registry_.Find("s1", "b", b_.get()), 2000u);
  EXPECT_EQ(*registry_.Find("s2", "a", a_.get()), 1500u);  // prepared: fine
  Result<uint64_t> missing = registry_.Find("s2", "b", b_.get());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("does not cover"));

  // Kept for keep_s, then forgotten.
  now_ += seconds(4);
  EXPECT_TRUE(registry_.Find("s1", "a", a_.get()).ok());
  now_ += seconds(1);
  Result<uint64_t> gone = registry_.Find("s1", "a", a_.get());
  EXPECT_EQ(gone.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(gone.status().message(), HasSubstr("kept for 5 s"));
}

TEST_F(SnapshotRegistryTest, LeaseEndsExactlyAndLateCommitFails) {
  ASSERT_TRUE(Prepare("s", 100).ok());
  now_ += milliseconds(99);
  EXPECT_EQ(registry_.Cap("a", a_.get()), 1000u);
  now_ += milliseconds(1);
  EXPECT_FALSE(registry_.Cap("a", a_.get()).has_value());
  EXPECT_TRUE(registry_.List().empty());
  Result<SnapshotView> late = registry_.Commit("s", 0);
  EXPECT_EQ(late.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_THAT(late.status().message(), HasSubstr("lease of 100 ms ended"));
  EXPECT_EQ(Prepare("s", 100).status().code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(registry_.Find("s", "a", a_.get()).status().code(),
            Status::Code::kNotFound);
}

TEST_F(SnapshotRegistryTest, EveryCallIsIdempotentPerId) {
  Result<SnapshotView> first = Prepare("s", 300, {"b", "a", "a"});
  ASSERT_TRUE(first.ok());
  a_tail_ = 9000;  // the log moved on
  Result<SnapshotView> again = Prepare("s", 300, {"a", "b"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(takes_, 1);
  EXPECT_EQ(again->tails[0].tail, first->tails[0].tail);
  EXPECT_EQ(again->agent_time_ns, first->agent_time_ns);
  EXPECT_EQ(Prepare("s", 301, {"a", "b"}).status().code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ(Prepare("s", 300, {"a"}).status().code(),
            Status::Code::kAlreadyExists);

  Result<SnapshotView> c1 = registry_.Commit("s", 60);
  now_ += seconds(1);
  Result<SnapshotView> c2 = registry_.Commit("s", 60);
  ASSERT_TRUE(c1.ok() && c2.ok());
  EXPECT_EQ(c1->remaining, c2->remaining);
  EXPECT_EQ(registry_.Commit("s", 61).status().code(),
            Status::Code::kFailedPrecondition);
  // Prepare of a committed id with its arguments: the prepare answer.
  EXPECT_TRUE(Prepare("s", 300, {"a", "b"}).ok());
  EXPECT_EQ(registry_.Abort("s").code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(registry_.Release("s").ok());
  EXPECT_TRUE(registry_.Release("s").ok());

  ASSERT_TRUE(Prepare("t").ok());
  EXPECT_TRUE(registry_.Abort("t").ok());
  EXPECT_TRUE(registry_.Abort("t").ok());
  EXPECT_FALSE(registry_.Cap("a", a_.get()).has_value());
  EXPECT_EQ(registry_.Commit("t", 0).status().code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(registry_.Abort("never").code(), Status::Code::kNotFound);
  EXPECT_EQ(registry_.Release("never").code(), Status::Code::kNotFound);
}

TEST_F(SnapshotRegistryTest, AtMostSixteenOpen) {
  for (size_t i = 0; i < kMaxOpenSnapshots; ++i) {
    ASSERT_TRUE(Prepare("s" + std::to_string(i), 10'000).ok());
  }
  Result<SnapshotView> over = Prepare("one-more", 10'000);
  EXPECT_EQ(over.status().code(), Status::Code::kResourceExhausted);
  EXPECT_THAT(over.status().message(), HasSubstr("16 snapshots are open"));
  // Repeating an open one is still fine; committed ones count too.
  EXPECT_TRUE(Prepare("s0", 10'000).ok());
  ASSERT_TRUE(registry_.Commit("s0", 0).ok());
  EXPECT_EQ(Prepare("one-more", 10'000).status().code(),
            Status::Code::kResourceExhausted);
  ASSERT_TRUE(registry_.Release("s0").ok());
  EXPECT_TRUE(Prepare("one-more", 10'000).ok());
  EXPECT_EQ(registry_.open(), kMaxOpenSnapshots);
}

TEST_F(SnapshotRegistryTest, ChecksIdsAndLeases) {
  EXPECT_EQ(Prepare("").status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(Prepare("a b").status().message(), HasSubstr("blank"));
  EXPECT_EQ(Prepare(std::string("a\x01", 2)).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_THAT(
      Prepare(std::string(kMaxSnapshotIdBytes + 1, 'x')).status().message(),
      HasSubstr("at most 128"));
  EXPECT_TRUE(Prepare(std::string(kMaxSnapshotIdBytes, 'x')).ok());
  EXPECT_THAT(Prepare("s", 9).status().message(), HasSubstr("10-10000"));
  EXPECT_EQ(Prepare("s", 10'001).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(registry_.Commit("x", kMaxKeepS + 1).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(takes_, 1);
}

TEST_F(SnapshotRegistryTest, ARecreatedMultilogIsNotTheOneSeen) {
  ASSERT_TRUE(Prepare("s").ok());
  auto recreated = std::make_shared<int>(3);
  EXPECT_FALSE(registry_.Cap("a", recreated.get()).has_value());
  Result<uint64_t> f = registry_.Find("s", "a", recreated.get());
  EXPECT_EQ(f.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(f.status().message(), HasSubstr("dropped"));
}

// AwaitUncapped: immediate when nothing hides `end`; woken by a commit and
// by AbortPrepared (the clock does not move here, so only a wake-up can
// end the waits on other threads).
TEST_F(SnapshotRegistryTest, AwaitUncappedWakesOnCommitAndAbort) {
  EXPECT_TRUE(registry_.AwaitUncapped("a", a_.get(), 5000, seconds(0)));
  ASSERT_TRUE(Prepare("s1", 0, {"a"}).ok());
  EXPECT_TRUE(registry_.AwaitUncapped("a", a_.get(), 1000, seconds(0)));
  EXPECT_TRUE(registry_.AwaitUncapped("b", b_.get(), 5000, seconds(0)));
  EXPECT_FALSE(registry_.AwaitUncapped("a", a_.get(), 1001, seconds(0)));

  std::atomic<int> woken{0};
  std::thread waiter([&] {
    EXPECT_TRUE(registry_.AwaitUncapped("a", a_.get(), 1001, seconds(60)));
    woken.fetch_add(1);
  });
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(woken.load(), 0);
  ASSERT_TRUE(registry_.Commit("s1", 0).ok());
  waiter.join();
  EXPECT_EQ(woken.load(), 1);

  ASSERT_TRUE(Prepare("s2", 0, {"a"}).ok());
  std::thread second([&] {
    EXPECT_TRUE(registry_.AwaitUncapped("a", a_.get(), 1001, seconds(60)));
    woken.fetch_add(1);
  });
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(woken.load(), 1);
  registry_.AbortPrepared("it was aborted when the agent shut down");
  second.join();
  EXPECT_EQ(woken.load(), 2);
  Result<SnapshotView> late = registry_.Commit("s2", 0);
  EXPECT_EQ(late.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_THAT(late.status().message(), HasSubstr("agent shut down"));
  // Committed snapshots are not aborted.
  EXPECT_TRUE(registry_.Find("s1", "a", a_.get()).ok());
}

}  // namespace
}  // namespace loupe::agent
