// The top view: talkers and the rendered frame, text and JSON.
#include "coordinator/loupectl/top_frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "tests/support/scoped_time_zone.h"

namespace loupe::ctl {
namespace {

using test_support::ScopedTimeZone;
using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1'000'000'000;
// 2026-11-22T04:56:35Z
constexpr uint64_t kNow = 1'795'323'395 * kSecond;

TEST(TalkerCounterTest, RanksByBytesThenAddress) {
  TalkerCounter counter;
  counter.Add("10.0.0.2", 100);
  counter.Add("10.0.0.1", 60);
  counter.Add("10.0.0.1", 40);
  counter.Add("10.0.0.3", 500);
  counter.Add("10.0.0.4", 1);
  EXPECT_EQ(counter.total_bytes(), 701u);
  std::vector<TopTalker> top = counter.Top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].address, "10.0.0.3");
  EXPECT_EQ(top[1].address, "10.0.0.1");  // ties: by address
  EXPECT_EQ(top[1].bytes, 100u);
  EXPECT_EQ(top[1].records, 2u);
  EXPECT_EQ(top[2].address, "10.0.0.2");
  EXPECT_EQ(counter.Top(10).size(), 4u);
  EXPECT_TRUE(TalkerCounter().Top(10).empty());
}

TopFrame SampleFrame() {
  TopFrame f;
  f.agent = "127.0.0.1:7070";
  f.host = "h1";
  f.multilog = "packets";
  f.time_ns = kNow;
  f.interval_ns = kSecond;
  f.source = "dataplane";
  f.has_rates = true;
  f.records_per_second = 1'200'000;
  f.bytes_per_second = 150'000'000;
  f.records_total = 12'300'000;
  f.bytes_total = 1ull << 30;
  f.has_received = true;
  f.received_per_second = 1'210'000;
  f.received_total = 12'400'000;
  f.dropped_total = 100'000;
  f.dropped_per_second = 10'000;
  f.drops = {{"nic_missed", 0, 0}, {"ring_full", 100'000, 10'000}};
  f.window_start_ns = kNow - kSecond;
  f.window_end_ns = kNow;
  f.bytes_column = "frame_len";
  f.sampled_records = 200'000;
  f.sampled = true;
  f.sources = {{"10.0.0.1", 3000, 2}, {"10.0.0.2", 1000, 1}};
  f.destinations = {{"192.0.2.1", 4000, 3}};
  f.window_bytes = 4000;
  f.filters = {{"syn", "tcp_flags == 2", 50, false, 50, ""},
               {"big", "frame_len > 1400", 200'000, true, 200'000, ""},
               {"bad", "x", 0, false, 0, "NOT_FOUND: gone"}};
  f.alerts = {{kNow, "packets", "syn_flood", "syn_count 1200 > 1000"}};
  f.alerts_seen = 3;
  return f;
}

TEST(TopFrameTest, RendersEverySection) {
  ScopedTimeZone tz("UTC0");
  const std::string text = RenderTopFrame(SampleFrame(), 100);
  EXPECT_THAT(text, HasSubstr("loupe top  127.0.0.1:7070 (h1)  multilog "
                              "packets  2026-11-22T04:56:35.000Z  every 1s"));
  EXPECT_THAT(text,
              HasSubstr("recorded   1.20M  1.20 Gbit/s  12.3M     1.00 GiB\n"));
  EXPECT_THAT(text, HasSubstr("ring_full     10.0k   100k\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("nic_missed")));  // zero
  EXPECT_THAT(text, HasSubstr("data time 04:56:34.000 to 04:56:35.000: "
                              "200k records (sampled"));
  // Sources and destinations side by side.
  EXPECT_THAT(text, HasSubstr("10.0.0.1  2.93 KiB  75.0%        2    "
                              "192.0.2.1    3.91 KiB  100.0%        3"));
  EXPECT_THAT(text, HasSubstr("big     >=200k  frame_len > 1400"));
  EXPECT_THAT(text, HasSubstr("bad          ?  error: NOT_FOUND: gone"));
  EXPECT_THAT(text, HasSubstr("syn_flood  syn_count 1200 > 1000"));
  EXPECT_THAT(text, HasSubstr("(3 alerts seen"));
  for (size_t at = text.find('\n'); at != std::string::npos;
       at = text.find('\n', at + 1)) {
    EXPECT_TRUE(at == 0 || text[at - 1] != ' ') << "trailing blank at " << at;
  }
}

TEST(TopFrameTest, FirstRefreshAndMissingTalkers) {
  TopFrame f = SampleFrame();
  f.has_rates = false;
  f.talkers_note = "multilog 'flows' has no column 'src_ip'";
  f.filters.clear();
  f.alerts.clear();
  const std::string text = RenderTopFrame(f);
  EXPECT_THAT(text, HasSubstr("(rates from the next refresh)"));
  EXPECT_THAT(text, HasSubstr("recorded       -         -  12.3M"));
  EXPECT_THAT(
      text, HasSubstr("top talkers: multilog 'flows' has no column 'src_ip'"));
  EXPECT_THAT(text, HasSubstr("no filters"));
  EXPECT_THAT(text, HasSubstr("no alerts"));
}

TEST(TopFrameTest, NarrowScreensStackTheTalkerTables) {
  const std::string text = RenderTopFrame(SampleFrame(), 40);
  EXPECT_THAT(text, HasSubstr("SOURCE"));
  EXPECT_THAT(text, HasSubstr("\nDESTINATION"));
}

TEST(TopFrameTest, Json) {
  JsonWriter json;
  WriteTopFrameJson(json, SampleFrame());
  EXPECT_TRUE(json.complete());
  EXPECT_THAT(json.str(), HasSubstr("\"records_per_second\":1200000,"));
  EXPECT_THAT(json.str(),
              HasSubstr("\"sources\":[{\"address\":\"10.0.0.1\",\"bytes\":3000,"
                        "\"records\":2}"));
  EXPECT_THAT(json.str(), HasSubstr("\"error\":\"NOT_FOUND: gone\""));
}

}  // namespace
}  // namespace loupe::ctl
