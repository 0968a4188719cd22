// The translation between loupe::ControlStatement and its wire form: every
// kind both ways, and what FromProto refuses before Apply could.
#include "agent/control_proto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace loupe::agent {
namespace {

using ::testing::HasSubstr;

TEST(ControlProtoTest, EveryKindRoundTrips) {
  const ControlStatement statements[] = {
      ControlStatement::AddIndex("src_ip"),
      ControlStatement::AddIndex("bytes", 1024),
      ControlStatement::AddFilter("web", "dst_port == 443"),
      ControlStatement::AddAggregate("web_bytes", "web", "SUM(ip_len)"),
      ControlStatement::AddTrigger("big", "web_bytes > 1e6",
                                   std::chrono::milliseconds(250)),
      ControlStatement::Remove(ControlKind::kIndex, "src_ip"),
      ControlStatement::Remove(ControlKind::kFilter, "web"),
      ControlStatement::Remove(ControlKind::kAggregate, "web_bytes"),
      ControlStatement::Remove(ControlKind::kTrigger, "big"),
  };
  for (const ControlStatement& s : statements) {
    Result<ControlStatement> back = FromProto(ToProto(s));
    ASSERT_TRUE(back.ok()) << s.Describe() << ": " << back.status().ToString();
    EXPECT_EQ(*back, s) << s.Describe();
  }
}

TEST(ControlProtoTest, WireFieldsPerKind) {
  v1::ControlStatement w = ToProto(
      ControlStatement::AddTrigger("big", "n > 1", std::chrono::seconds(2)));
  EXPECT_EQ(w.verb(), v1::CONTROL_VERB_ADD);
  EXPECT_EQ(w.kind(), v1::CONTROL_KIND_TRIGGER);
  EXPECT_EQ(w.expression(), "n > 1");
  EXPECT_EQ(w.period_ms(), 2000u);
  // An index carries no period, a removal nothing but its name.
  EXPECT_EQ(ToProto(ControlStatement::AddIndex("port", 8)).period_ms(), 0u);
  EXPECT_EQ(ToProto(ControlStatement::AddIndex("port", 8)).bucket(), 8u);
  v1::ControlStatement r =
      ToProto(ControlStatement::Remove(ControlKind::kFilter, "web"));
  EXPECT_EQ(r.verb(), v1::CONTROL_VERB_REMOVE);
  EXPECT_TRUE(r.expression().empty());
  for (ControlKind k : kAllControlKinds) {
    Result<std::optional<ControlKind>> back = KindFromProto(KindToProto(k));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(**back, k);
  }
  Result<std::optional<ControlKind>> any =
      KindFromProto(v1::CONTROL_KIND_UNSPECIFIED);
  ASSERT_TRUE(any.ok());
  EXPECT_FALSE(any->has_value());
}

TEST(ControlProtoTest, ZeroPeriodMeansOneSecond) {
  v1::ControlStatement w;
  w.set_verb(v1::CONTROL_VERB_ADD);
  w.set_kind(v1::CONTROL_KIND_TRIGGER);
  w.set_name("t");
  w.set_expression("n > 0");
  Result<ControlStatement> s = FromProto(w);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->period, std::chrono::seconds(1));
  w.set_period_ms(kMaxTriggerPeriodMs);
  EXPECT_TRUE(FromProto(w).ok());
}

Status Refusal(const v1::ControlStatement& w) {
  Result<ControlStatement> s = FromProto(w);
  EXPECT_FALSE(s.ok());
  return s.ok() ? Status::Ok() : s.status();
}

TEST(ControlProtoTest, RefusesWhatTheWireFormGetsWrong) {
  v1::ControlStatement w;
  w.set_kind(v1::CONTROL_KIND_FILTER);
  w.set_name("web");
  w.set_expression("port == 443");
  EXPECT_THAT(Refusal(w).message(), HasSubstr("verb: unspecified"));
  w.set_verb(static_cast<v1::ControlVerb>(7));
  EXPECT_THAT(Refusal(w).message(), HasSubstr("unknown verb 7"));
  w.set_verb(v1::CONTROL_VERB_ADD);
  w.set_kind(v1::CONTROL_KIND_UNSPECIFIED);
  EXPECT_THAT(Refusal(w).message(), HasSubstr("kind: unspecified"));
  w.set_kind(static_cast<v1::ControlKind>(9));
  EXPECT_THAT(Refusal(w).message(), HasSubstr("unknown control kind 9"));
  w.set_kind(v1::CONTROL_KIND_FILTER);
  w.clear_name();
  EXPECT_EQ(Refusal(w).message(), "name is empty");
  EXPECT_EQ(Refusal(w).code(), Status::Code::kInvalidArgument);
  w.set_name("web");
  w.clear_expression();
  EXPECT_EQ(Refusal(w).message(), "expression is empty");
  w.set_kind(v1::CONTROL_KIND_AGGREGATE);
  w.set_expression("COUNT()");
  EXPECT_EQ(Refusal(w).message(), "filter is empty");
  w.set_kind(v1::CONTROL_KIND_TRIGGER);
  w.set_expression("n > 0");
  w.set_period_ms(kMaxTriggerPeriodMs + 1);
  EXPECT_THAT(Refusal(w).message(), HasSubstr("longer than 1 h"));
  // A removal needs only its name.
  v1::ControlStatement r;
  r.set_verb(v1::CONTROL_VERB_REMOVE);
  r.set_kind(v1::CONTROL_KIND_AGGREGATE);
  r.set_name("x");
  EXPECT_TRUE(FromProto(r).ok());
}

}  // namespace
}  // namespace loupe::agent
