// ControlStatement <-> v1::ControlStatement: every kind and verb round
// trips; unspecified ones are refused.
#include "agent/client/control_proto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace loupe {
namespace {

using ::testing::HasSubstr;

TEST(ControlProtoTest, KindsMapBothWays) {
  for (ControlKind kind : kAllControlKinds) {
    const v1::ControlKind proto = ControlKindToProto(kind);
    EXPECT_NE(proto, v1::CONTROL_KIND_UNSPECIFIED);
    EXPECT_EQ(ControlKindFromProto(proto), kind);
  }
  EXPECT_EQ(ControlKindToProto(ControlKind::kTrigger),
            v1::CONTROL_KIND_TRIGGER);
  EXPECT_FALSE(ControlKindFromProto(v1::CONTROL_KIND_UNSPECIFIED).has_value());
  EXPECT_FALSE(ControlKindFromProto(static_cast<v1::ControlKind>(99)));
}

TEST(ControlProtoTest, StatementsRoundTrip) {
  const ControlStatement statements[] = {
      ControlStatement::AddIndex("src_ip"),
      ControlStatement::AddIndex("dst_port", 16),
      ControlStatement::AddFilter("https", "proto == tcp && dst_port == 443"),
      ControlStatement::AddAggregate("bytes", "https", "SUM(frame_len)"),
      ControlStatement::AddTrigger("hot", "bytes > 1e6",
                                   std::chrono::milliseconds(250)),
      ControlStatement::Remove(ControlKind::kIndex, "src_ip"),
      ControlStatement::Remove(ControlKind::kTrigger, "hot"),
  };
  for (const ControlStatement& s : statements) {
    const v1::ControlStatement proto = ControlStatementToProto(s);
    const Result<ControlStatement> back = ControlStatementFromProto(proto);
    ASSERT_TRUE(back.ok()) << s.Describe();
    EXPECT_EQ(*back, s) << s.Describe();
  }
  const v1::ControlStatement t = ControlStatementToProto(statements[4]);
  EXPECT_EQ(t.verb(), v1::CONTROL_VERB_ADD);
  EXPECT_EQ(t.kind(), v1::CONTROL_KIND_TRIGGER);
  EXPECT_EQ(t.expression(), "bytes > 1e6");
  EXPECT_EQ(t.period_ms(), 250u);
}

TEST(ControlProtoTest, ZeroPeriodIsTheDefault) {
  v1::ControlStatement p;
  p.set_verb(v1::CONTROL_VERB_ADD);
  p.set_kind(v1::CONTROL_KIND_TRIGGER);
  p.set_name("t");
  EXPECT_EQ(ControlStatementFromProto(p)->period, std::chrono::seconds(1));
}

TEST(ControlProtoTest, UnspecifiedVerbOrKindIsRefused) {
  v1::ControlStatement p;
  p.set_kind(v1::CONTROL_KIND_FILTER);
  EXPECT_THAT(ControlStatementFromProto(p).status().message(),
              HasSubstr("verb"));
  p.set_verb(v1::CONTROL_VERB_REMOVE);
  p.set_kind(v1::CONTROL_KIND_UNSPECIFIED);
  const Result<ControlStatement> s = ControlStatementFromProto(p);
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("kind"));
}

}  // namespace
}  // namespace loupe
