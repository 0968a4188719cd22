#include "multilog/control.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "multilog/multilog.h"
#include "multilog/packet_schema.h"

namespace loupe {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

std::unique_ptr<Multilog> OpenInMemory(const std::string& name) {
  MultilogOptions options;
  options.start_monitor = false;
  options.data.block_records = 1024;
  options.data.preallocate_bytes = 0;
  Result<std::unique_ptr<Multilog>> log =
      Multilog::Open(name, PacketSchema(), options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

// Everything the multilog holds, as the four lists say it.
struct Objects {
  std::vector<std::string> indexes, filters, aggregates, triggers;
  bool operator==(const Objects&) const = default;
};

Objects ObjectsOf(const Multilog& log) {
  Objects o;
  for (const IndexInfo& i : log.ListIndexes()) {
    o.indexes.push_back(i.column + "/" + std::to_string(i.bucket));
  }
  for (const FilterInfo& f : log.ListFilters()) {
    o.filters.push_back(f.name + "=" + f.expression);
  }
  for (const AggregateInfo& a : log.ListAggregates()) {
    o.aggregates.push_back(a.name + "=" + a.filter + ":" + a.expression);
  }
  for (const TriggerInfo& t : log.ListTriggers()) {
    o.triggers.push_back(t.name + "=" + t.condition + "@" +
                         std::to_string(t.period.count()));
  }
  return o;
}

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = OpenInMemory("packets");
    ASSERT_NE(log_, nullptr);
  }

  void ApplyOk(const ControlStatement& s) {
    const Status status = Apply(*log_, s);
    ASSERT_TRUE(status.ok()) << s.Describe() << ": " << status.ToString();
  }

  // Applies `s`, which must fail, checks that nothing changed and returns
  // the message.
  std::string ApplyFails(const ControlStatement& s) {
    const Objects before = ObjectsOf(*log_);
    const Status status = Apply(*log_, s);
    EXPECT_FALSE(status.ok()) << s.Describe();
    EXPECT_EQ(ObjectsOf(*log_), before) << s.Describe();
    return status.message();
  }

  std::unique_ptr<Multilog> log_;
};

TEST(ControlStatementTest, NamesAndDescriptions) {
  for (ControlKind kind : kAllControlKinds) {
    EXPECT_EQ(ParseControlKind(ControlKindName(kind)), kind);
  }
  EXPECT_EQ(ParseControlKind("filters"), std::nullopt);
  EXPECT_EQ(ParseControlKind("Filter"), std::nullopt);
  EXPECT_EQ(ControlVerbName(ControlVerb::kAdd), "add");
  EXPECT_EQ(ControlVerbName(ControlVerb::kRemove), "remove");
  EXPECT_EQ(ControlStatement::AddFilter("https", "dst_port == 443").Describe(),
            "filter https");
  EXPECT_EQ(ControlStatement::AddIndex("src_ip").Describe(), "index src_ip");
  const ControlStatement remove =
      ControlStatement::Remove(ControlKind::kTrigger, "busy");
  EXPECT_EQ(remove.verb, ControlVerb::kRemove);
  EXPECT_EQ(remove.kind, ControlKind::kTrigger);
  EXPECT_EQ(remove.Describe(), "trigger busy");
  const ControlStatement trigger =
      ControlStatement::AddTrigger("busy", "n > 5", milliseconds(250));
  EXPECT_EQ(trigger.expression, "n > 5");
  EXPECT_EQ(trigger.period, milliseconds(250));
}

TEST_F(ControlTest, AddAndRemoveEachKind) {
  ApplyOk(ControlStatement::AddIndex("src_ip"));
  ApplyOk(ControlStatement::AddIndex("ip_len", 64));
  ApplyOk(ControlStatement::AddFilter("https", "dst_port == 443"));
  ApplyOk(ControlStatement::AddAggregate("n", "https", "COUNT()"));
  ApplyOk(ControlStatement::AddTrigger("busy", "n > 5", milliseconds(250)));
  const Objects added = ObjectsOf(*log_);
  EXPECT_EQ(added.indexes, (std::vector<std::string>{"src_ip/0", "ip_len/64"}));
  EXPECT_EQ(added.filters, (std::vector<std::string>{"https=dst_port == 443"}));
  EXPECT_EQ(added.aggregates, (std::vector<std::string>{"n=https:COUNT()"}));
  EXPECT_EQ(added.triggers, (std::vector<std::string>{"busy=n > 5@250000000"}));

  ApplyOk(ControlStatement::Remove(ControlKind::kTrigger, "busy"));
  EXPECT_TRUE(log_->ListTriggers().empty());
  ApplyOk(ControlStatement::Remove(ControlKind::kAggregate, "n"));
  EXPECT_TRUE(log_->ListAggregates().empty());
  ApplyOk(ControlStatement::Remove(ControlKind::kFilter, "https"));
  EXPECT_TRUE(log_->ListFilters().empty());
  ApplyOk(ControlStatement::Remove(ControlKind::kIndex, "ip_len"));
  ApplyOk(ControlStatement::Remove(ControlKind::kIndex, "src_ip"));
  EXPECT_EQ(ObjectsOf(*log_), Objects{});
}

TEST_F(ControlTest, ErrorsChangeNothing) {
  ApplyOk(ControlStatement::AddIndex("src_ip"));
  ApplyOk(ControlStatement::AddFilter("https", "dst_port == 443"));
  ApplyOk(ControlStatement::AddAggregate("n", "https", "COUNT()"));
  ApplyOk(ControlStatement::AddTrigger("busy", "n > 5"));

  EXPECT_THAT(ApplyFails(ControlStatement::AddIndex("src_ipp")),
              HasSubstr("did you mean 'src_ip'?"));
  ApplyFails(ControlStatement::AddIndex("src_ip"));  // already there
  EXPECT_THAT(ApplyFails(ControlStatement::AddFilter("bad", "dst_prot == 1")),
              HasSubstr("did you mean 'dst_port'?"));
  ApplyFails(ControlStatement::AddFilter("https", "dst_port == 80"));
  ApplyFails(ControlStatement::AddAggregate("m", "nosuch", "COUNT()"));
  ApplyFails(ControlStatement::AddAggregate("m", "https", "CONT()"));
  ApplyFails(ControlStatement::AddAggregate("n", "https", "SUM(ip_len)"));
  ApplyFails(ControlStatement::AddTrigger("t", "nosuch > 1"));
  ApplyFails(ControlStatement::AddTrigger("t", "n >"));
  ApplyFails(ControlStatement::AddTrigger("t", "n > 1", milliseconds(0)));
  ApplyFails(ControlStatement::AddTrigger("busy", "n > 1"));
  for (ControlKind kind : kAllControlKinds) {
    ApplyFails(ControlStatement::Remove(kind, "nosuch"));
  }
  // An aggregate's filter and a trigger's aggregate cannot go first.
  ApplyFails(ControlStatement::Remove(ControlKind::kFilter, "https"));
  ApplyFails(ControlStatement::Remove(ControlKind::kAggregate, "n"));
}

TEST_F(ControlTest, CurrentStatementsReplayOntoAFreshMultilog) {
  EXPECT_TRUE(CurrentStatements(*log_).empty());
  ApplyOk(ControlStatement::AddIndex("dst_port"));
  ApplyOk(ControlStatement::AddIndex("ip_len", 100));
  ApplyOk(ControlStatement::AddFilter("dns", "proto == udp && dst_port == 53"));
  ApplyOk(ControlStatement::AddFilter("big", "ip_len > 1000"));
  ApplyOk(ControlStatement::AddAggregate("q", "dns", "COUNT()"));
  ApplyOk(ControlStatement::AddAggregate("p99", "big", "P99(ip_len)"));
  ApplyOk(ControlStatement::AddTrigger("flood", "q > 1000", milliseconds(50)));

  const std::vector<ControlStatement> program = CurrentStatements(*log_);
  ASSERT_EQ(program.size(), 7u);
  for (const ControlStatement& s : program) {
    EXPECT_EQ(s.verb, ControlVerb::kAdd);
  }
  std::unique_ptr<Multilog> fresh = OpenInMemory("copy");
  ASSERT_NE(fresh, nullptr);
  for (const ControlStatement& s : program) {
    const Status status = Apply(*fresh, s);
    ASSERT_TRUE(status.ok()) << s.Describe() << ": " << status.ToString();
  }
  EXPECT_EQ(ObjectsOf(*fresh), ObjectsOf(*log_));
  EXPECT_EQ(CurrentStatements(*fresh), program);
}

}  // namespace
}  // namespace loupe
