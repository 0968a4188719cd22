#include "multilog/did_you_mean.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace loupe {
namespace {

TEST(EditDistanceTest, Basics) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("dst_port", "dst_prot"), 1u);  // one swap
  EXPECT_EQ(EditDistance("src_ip", "src_ipp"), 1u);     // one insertion
  EXPECT_EQ(EditDistance("src_ip", "sr_ip"), 1u);       // one deletion
  EXPECT_EQ(EditDistance("u16", "u32"), 2u);
}

TEST(EditDistanceTest, ATranspositionIsOneEdit) {
  EXPECT_EQ(EditDistance("tpc", "tcp"), 1u);
  EXPECT_EQ(EditDistance("ab", "ba"), 1u);
  // Optimal string alignment: a swapped pair is not edited again.
  EXPECT_EQ(EditDistance("ca", "abc"), 3u);
}

TEST(EditDistanceTest, IgnoresAsciiCase) {
  EXPECT_EQ(EditDistance("COUNT", "count"), 0u);
  EXPECT_EQ(EditDistance("Src_IP", "src_ip"), 0u);
  EXPECT_EQ(EditDistance("TPC", "tcp"), 1u);
}

TEST(NearestNameTest, WithinTheLimit) {
  // max(1, |query| / 3) edits: 1 for up to 5 letters, 2 for 6 to 8, ...
  const std::vector<std::string> names = {"src_ip", "dst_ip", "dst_port"};
  EXPECT_EQ(Closest("dst_prot", names), "dst_port");
  EXPECT_EQ(Closest("scr_ip", names), "src_ip");
  EXPECT_EQ(Closest("xyz_ab", names), "");  // 3 edits from everything
  EXPECT_EQ(Closest("ab", std::vector<std::string>{"abc"}), "abc");
  EXPECT_EQ(Closest("ab", std::vector<std::string>{"a_cd"}), "");
}

TEST(NearestNameTest, NearestWins) {
  const std::vector<std::string> names = {"portx", "port"};
  EXPECT_EQ(Closest("port", names), "port");  // exact beats one edit
}

TEST(NearestNameTest, TiesGoToTheLongerCommonPrefixThenToTheFirst) {
  // "ip4" is one edit from both i64 and ipv4: the prefix "ip" wins.
  EXPECT_EQ(Closest("ip4", std::vector<std::string>{"i64", "ipv4"}), "ipv4");
  EXPECT_EQ(Closest("ip4", std::vector<std::string>{"ipv4", "i64"}), "ipv4");
  // Same distance, same prefix: the first offered.
  EXPECT_EQ(Closest("cat", std::vector<std::string>{"cab", "car"}), "cab");
  EXPECT_EQ(Closest("cat", std::vector<std::string>{"car", "cab"}), "car");
}

TEST(NearestNameTest, IndexAndName) {
  NearestName near("dts_port");
  EXPECT_FALSE(near.found());
  near.Offer("src_port");
  near.Offer("dst_port");
  near.Offer("proto");
  ASSERT_TRUE(near.found());
  EXPECT_EQ(near.index(), 1u);
  EXPECT_EQ(near.name(), "dst_port");
}

TEST(NearestNameTest, EmptyAndLongQueriesGetNone) {
  EXPECT_EQ(Closest("", std::vector<std::string>{"a", ""}), "");
  const std::string long_query(kMaxSuggestQuery + 1, 'a');
  std::string candidate = long_query;
  candidate.back() = 'b';  // one edit away, but the query is too long
  EXPECT_EQ(Closest(long_query, std::vector<std::string>{candidate}), "");
  const std::string longest(kMaxSuggestQuery, 'a');
  std::string near = longest;
  near.back() = 'b';
  EXPECT_EQ(Closest(longest, std::vector<std::string>{near}), near);
  const std::string hostile(100 * 1024, 'x');
  EXPECT_EQ(Closest(hostile, std::vector<std::string>{hostile}), "");
}

TEST(DidYouMeanTest, Message) {
  const std::vector<std::string_view> kinds = {"index", "filter", "aggregate",
                                               "trigger"};
  EXPECT_EQ(DidYouMean("filtre", kinds), "; did you mean 'filter'?");
  EXPECT_EQ(DidYouMean("Trigger", kinds), "; did you mean 'trigger'?");
  EXPECT_EQ(DidYouMean("nothing", kinds), "");
  EXPECT_EQ(DidYouMean("x", std::vector<std::string_view>{}), "");
}

}  // namespace
}  // namespace loupe
