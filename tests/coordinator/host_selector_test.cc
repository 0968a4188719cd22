#include "coordinator/host_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace loupe::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

HostSelector Parse(std::string_view text) {
  Result<HostSelector> s = HostSelector::Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s.ok() ? std::move(s).value() : HostSelector();
}

std::string Error(std::string_view text) {
  Result<HostSelector> s = HostSelector::Parse(text);
  EXPECT_FALSE(s.ok()) << "accepted: " << text;
  if (s.ok()) return "";
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  return s.status().message();
}

bool HostMatches(std::string_view selector, std::string_view name,
                 const Labels& labels = {}) {
  return Parse(selector).Matches(name, labels);
}

TEST(HostSelectorTest, EmptySelectsEveryAgent) {
  for (std::string_view text : {"", "   "}) {
    HostSelector s = Parse(text);
    EXPECT_TRUE(s.all());
    EXPECT_TRUE(s.Matches("anything", {}));
    EXPECT_TRUE(s.keys().empty());
  }
}

TEST(HostSelectorTest, ExactNamesAndLabels) {
  const Labels r2{{"rack", "r2"}, {"zone", "eu-1"}};
  EXPECT_TRUE(HostMatches("host=hv1", "hv1"));
  EXPECT_FALSE(HostMatches("host=hv1", "hv10"));
  EXPECT_FALSE(HostMatches("host=hv1", "hv"));
  EXPECT_TRUE(HostMatches("rack=r2", "x", r2));
  EXPECT_FALSE(HostMatches("rack=r3", "x", r2));
  // A label the agent lacks matches nothing.
  EXPECT_FALSE(HostMatches("row=1", "x", r2));
  // Terms are ANDed; blanks around them are ignored.
  EXPECT_TRUE(HostMatches(" host = hv1 , rack=r2 ", "hv1", r2));
  EXPECT_FALSE(HostMatches("host=hv1,rack=r3", "hv1", r2));
  EXPECT_THAT(Parse("host=hv1,rack=r2").keys(), ElementsAre("host", "rack"));
}

TEST(HostSelectorTest, Ranges) {
  for (int i = 1; i <= 8; ++i) {
    EXPECT_TRUE(HostMatches("host=hv[1-8]", "hv" + std::to_string(i))) << i;
  }
  EXPECT_FALSE(HostMatches("host=hv[1-8]", "hv0"));
  EXPECT_FALSE(HostMatches("host=hv[1-8]", "hv9"));
  EXPECT_FALSE(HostMatches("host=hv[1-8]", "hv10"));
  EXPECT_FALSE(HostMatches("host=hv[1-8]", "hv01"));  // not padded
  EXPECT_FALSE(HostMatches("host=hv[1-8]", "hv"));
  EXPECT_TRUE(HostMatches("host=hv[1-8].dc1", "hv3.dc1"));
  EXPECT_FALSE(HostMatches("host=hv[1-8].dc1", "hv3.dc2"));
  // A number followed by digits in the pattern: the split is found.
  EXPECT_TRUE(HostMatches("host=hv[1-9]0", "hv10"));
  EXPECT_TRUE(HostMatches("host=[1-2][0-9]", "19"));
  EXPECT_FALSE(HostMatches("host=[1-2][0-9]", "31"));
  // Huge ranges cost nothing: never expanded.
  EXPECT_TRUE(HostMatches("host=n[0-999999999]", "n123456789"));
  EXPECT_FALSE(HostMatches("host=n[0-999999999]", "n1234567890"));
}

TEST(HostSelectorTest, Lists) {
  const std::string s = "host=hv[1,3,5-7]";
  for (int i : {1, 3, 5, 6, 7}) {
    EXPECT_TRUE(HostMatches(s, "hv" + std::to_string(i))) << i;
  }
  for (int i : {0, 2, 4, 8, 13}) {
    EXPECT_FALSE(HostMatches(s, "hv" + std::to_string(i))) << i;
  }
}

TEST(HostSelectorTest, ZeroPadded) {
  EXPECT_TRUE(HostMatches("host=hv[01-16]", "hv01"));
  EXPECT_TRUE(HostMatches("host=hv[01-16]", "hv09"));
  EXPECT_TRUE(HostMatches("host=hv[01-16]", "hv16"));
  EXPECT_FALSE(HostMatches("host=hv[01-16]", "hv1"));
  EXPECT_FALSE(HostMatches("host=hv[01-16]", "hv17"));
  EXPECT_FALSE(HostMatches("host=hv[01-16]", "hv001"));
  EXPECT_TRUE(HostMatches("host=hv[001-100]", "hv042"));
  // Padded and plain items side by side.
  EXPECT_TRUE(HostMatches("host=hv[07,9]", "hv07"));
  EXPECT_TRUE(HostMatches("host=hv[07,9]", "hv9"));
  EXPECT_FALSE(HostMatches("host=hv[07,9]", "hv7"));
  // "0" alone is a plain number.
  EXPECT_TRUE(HostMatches("host=hv[0-3]", "hv0"));
}

TEST(HostSelectorTest, Globs) {
  EXPECT_TRUE(HostMatches("host=*", "anything"));
  EXPECT_TRUE(HostMatches("host=*", ""));
  EXPECT_TRUE(HostMatches("host=hv*", "hv"));
  EXPECT_TRUE(HostMatches("host=hv*", "hv12.dc1"));
  EXPECT_FALSE(HostMatches("host=hv*", "xhv"));
  EXPECT_TRUE(HostMatches("host=*.dc1", "hv3.dc1"));
  EXPECT_TRUE(HostMatches("host=hv[1-4]*", "hv3.dc1"));
  EXPECT_TRUE(HostMatches("host=*a*a*a*b", "aaaaaaab"));
  EXPECT_FALSE(HostMatches("host=*a*a*a*b", std::string(200, 'a')));
  EXPECT_TRUE(HostMatches("host=**x", "x"));
}

TEST(HostSelectorTest, ErrorsNameTheColumnAndWhatWasExpected) {
  EXPECT_EQ(Error("host"),
            "selector column 5: expected '=' after key \"host\", got the end");
  EXPECT_EQ(Error("=hv1"),
            "selector column 1: expected a key (host, or a label such as "
            "rack) at the start of a term, got '='");
  EXPECT_EQ(Error("host="),
            "selector column 6: expected a value after \"host=\" (text, '*' "
            "or a [1-8] range), got the end");
  EXPECT_EQ(Error("host=hv[x]"),
            "selector column 9: expected a number after '[', got 'x'");
  EXPECT_EQ(Error("host=hv[1-]"),
            "selector column 11: expected a number after '-', got ']'");
  EXPECT_EQ(Error("host=hv[1-8"),
            "selector column 12: expected ',', '-' or ']' in brackets, got "
            "the end");
  EXPECT_EQ(Error("host=hv[8-1]"),
            "selector column 9: range 8-1 ends below its start");
  EXPECT_THAT(Error("host=hv[01-100]"),
              HasSubstr("zero-padded range needs both ends of the same width"));
  EXPECT_EQ(Error("host=hv1]"),
            "selector column 9: ']' without an opening '['");
  EXPECT_EQ(Error("host=hv1 rack=r2"),
            "selector column 10: expected ',' before the next key=value "
            "term, got 'r'");
  EXPECT_EQ(Error("host=hv1,"),
            "selector column 10: expected a key (host, or a label such as "
            "rack) at the start of a term, got the end");
  EXPECT_THAT(Error("host=hv\x01"), HasSubstr("unexpected byte 0x01"));
  EXPECT_THAT(Error("host=hv[1234567890]"),
              HasSubstr("number longer than 9 digits"));
  EXPECT_THAT(Error("host=a=b"), HasSubstr("unexpected '='"));
}

TEST(HostSelectorTest, Bounds) {
  EXPECT_THAT(Error(std::string(kMaxSelectorBytes + 1, 'a')),
              HasSubstr("at most 1024"));
  std::string terms;
  for (size_t i = 0; i < kMaxSelectorTerms; ++i) {
    terms += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  }
  Parse(terms);
  EXPECT_THAT(Error(terms + ",k=v"), HasSubstr("too many terms"));
  std::string items = "host=[";
  for (size_t i = 0; i < kMaxSelectorItems; ++i) {
    items += (i ? "," : "") + std::to_string(i);
  }
  Parse(items + "]");
  EXPECT_THAT(Error(items + ",99]"), HasSubstr("too many items"));
  EXPECT_THAT(Error(std::string(65, 'k') + "=v"),
              HasSubstr("key longer than 64"));
}

}  // namespace
}  // namespace loupe::coordinator
