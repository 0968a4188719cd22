// Unit tests of loupectl's pure parts: times and durations, tables, JSON,
// units, records as text (both ways), and the top view's frame.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "coordinator/json_out.h"
#include "coordinator/record_text.h"
#include "coordinator/table.h"
#include "coordinator/time_format.h"
#include "coordinator/top_frame.h"
#include "coordinator/units.h"
#include "multilog/packet_schema.h"
#include "multilog/schema.h"

namespace loupe::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1'000'000'000;
// 2026-11-22T04:56:35Z
constexpr uint64_t kNow = 1'795'323'395 * kSecond;

// Sets TZ for the scope of the object, then restores it.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    const char* old = std::getenv("TZ");
    if (old != nullptr) old_ = old, had_ = true;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTimeZone() {
    if (had_) {
      setenv("TZ", old_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::string old_;
  bool had_ = false;
};

// --- Durations and times -----------------------------------------------------

TEST(ParseDurationTest, UnitsAndSums) {
  EXPECT_EQ(*ParseDuration("10s"), 10 * kSecond);
  EXPECT_EQ(*ParseDuration("250ms"), 250'000'000u);
  EXPECT_EQ(*ParseDuration("1m30s"), 90 * kSecond);
  EXPECT_EQ(*ParseDuration("1.5s"), 1'500'000'000u);
  EXPECT_EQ(*ParseDuration("2h"), 7200 * kSecond);
  EXPECT_EQ(*ParseDuration("1d"), 86400 * kSecond);
  EXPECT_EQ(*ParseDuration("7us"), 7000u);
  EXPECT_EQ(*ParseDuration("9ns"), 9u);
  EXPECT_EQ(*ParseDuration("0"), 0u);
  EXPECT_EQ(*ParseDuration(" 5m "), 300 * kSecond);
}

TEST(ParseDurationTest, ErrorsSayWhatIsExpected) {
  for (const char* bad :
       {"", "10", "s", "10x", "1.s5", "-5s", "99999999999999999999s"}) {
    Result<uint64_t> d = ParseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(d.status().message(), HasSubstr("expected a duration"));
  }
  EXPECT_THAT(ParseDuration("10x").status().message(),
              HasSubstr("duration '10x': unknown unit"));
}

TEST(ParseTimeTest, RelativeForms) {
  EXPECT_EQ(*ParseTime("now", kNow), kNow);
  EXPECT_EQ(*ParseTime("-10s", kNow), kNow - 10 * kSecond);
  EXPECT_EQ(*ParseTime("now-5m", kNow), kNow - 300 * kSecond);
  EXPECT_EQ(*ParseTime("now - 1h", kNow), kNow - 3600 * kSecond);
  EXPECT_EQ(*ParseTime("+1s", kNow), kNow + kSecond);
  EXPECT_EQ(*ParseTime("now+250ms", kNow), kNow + 250'000'000);
}

TEST(ParseTimeTest, Rfc3339) {
  EXPECT_EQ(*ParseTime("2026-11-22T04:56:35Z", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22t04:56:35z", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22 04:56:35Z", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22T05:56:35.123+01:00", 0), kNow + 123'000'000);
  EXPECT_EQ(*ParseTime("2026-11-21T23:56:35.000000001-05:00", 0), kNow + 1);
  EXPECT_EQ(*ParseTime("1970-01-01T00:00:00Z", 0), 0u);
  EXPECT_EQ(*ParseTime("2024-02-29T00:00:00Z", 0), 1'709'164'800 * kSecond);
}

TEST(ParseTimeTest, LocalTimeWithoutOffset) {
  ScopedTimeZone tz("CET-1");
  EXPECT_EQ(*ParseTime("2026-11-22T05:56:35", 0), kNow);
  EXPECT_EQ(*ParseTime("2026-11-22 05:56", 0), kNow - 35 * kSecond);
  EXPECT_EQ(*ParseTime("2026-11-22", 0),
            kNow - (4 * 3600 + 56 * 60 + 35) * kSecond - 3600 * kSecond);
}

TEST(ParseTimeTest, Nanoseconds) {
  EXPECT_EQ(*ParseTime("1795323395000000000", 0), kNow);
  EXPECT_EQ(*ParseTime("12345", 0), 12345u);
}

TEST(ParseTimeTest, Errors) {
  for (const char* bad :
       {"", "yesterday", "now-", "now-5", "-x", "2026-13-01T00:00:00Z",
        "2026-02-30", "2026-11-22T24:00:00Z", "2026-11-22T04:56:35+1",
        "2026-11-22T04:56:35Zjunk", "1969-12-31T23:59:59Z", "nowish",
        "99999999999999999999999"}) {
    Result<uint64_t> t = ParseTime(bad, kNow);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("expected now, -10s"));
  }
  EXPECT_THAT(ParseTime("-20s", 5 * kSecond).status().message(),
              HasSubstr("before the Unix epoch"));
}

TEST(FormatLocalTimeTest, UtcAndOffsets) {
  {
    ScopedTimeZone tz("UTC0");
    EXPECT_EQ(FormatLocalTime(kNow + 123'456'789), "2026-11-22T04:56:35.123Z");
  }
  {
    ScopedTimeZone tz("CET-1");
    EXPECT_EQ(FormatLocalTime(kNow), "2026-11-22T05:56:35.000+01:00");
  }
  {
    ScopedTimeZone tz("XST+5:30");
    EXPECT_EQ(FormatLocalTime(kNow), "2026-11-21T23:26:35.000-05:30");
  }
}

TEST(FormatLocalTimeTest, RoundTripsThroughParseTime) {
  ScopedTimeZone tz("CET-1CEST,M3.5.0,M10.5.0/3");
  for (uint64_t t :
       {kNow, kNow + 999'000'000, uint64_t{1'750'000'000} * kSecond}) {
    EXPECT_EQ(*ParseTime(FormatLocalTime(t), 0), t) << FormatLocalTime(t);
  }
}

TEST(FormatDurationTest, Human) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(12), "12ns");
  EXPECT_EQ(FormatDuration(1500), "1.5us");
  EXPECT_EQ(FormatDuration(250'000'000), "250ms");
  EXPECT_EQ(FormatDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(FormatDuration(125 * kSecond), "2m5s");
  EXPECT_EQ(FormatDuration(3 * 3600 * kSecond), "3h0m");
  EXPECT_EQ(FormatDuration(52 * 3600 * kSecond), "2d4h");
}

// --- Tables ------------------------------------------------------------------

TEST(TableTest, AlignsColumnsWithoutTrailingBlanks) {
  Table table({"NAME", "COUNT", "NOTE"});
  table.SetAlign(1, Table::Align::kRight);
  table.AddRow({"tcp_syn", "7", "x"});
  table.AddRow({"a", "12345", ""});
  EXPECT_EQ(table.Render(),
            "NAME     COUNT  NOTE\n"
            "tcp_syn      7  x\n"
            "a        12345\n");
  EXPECT_EQ(table.rows(), 2u);
}

TEST(TableTest, CountsCodePointsNotBytes) {
  Table table({"A", "B"});
  table.AddRow({"µs→", "1"});
  table.AddRow({"abcd", "2"});
  EXPECT_EQ(table.Render(),
            "A     B\n"
            "µs→   1\n"
            "abcd  2\n");
  EXPECT_EQ(DisplayWidth("µs→"), 3u);
}

TEST(TableTest, PadsShortRowsAndKeepsCellsOnOneLine) {
  Table table({"A", "B", "C"});
  table.AddRow({"x"});
  table.AddRow({"a\nb", "c\td", "e", "extra"});
  EXPECT_EQ(table.Render(),
            "A    B    C\n"
            "x\n"
            "a?b  c?d  e\n");
}

// --- JSON --------------------------------------------------------------------

TEST(JsonTest, Escaping) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f\x7f", 3)),
            "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(JsonQuote(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
  EXPECT_EQ(JsonQuote("µs → ok"), "\"µs → ok\"");
  EXPECT_EQ(JsonQuote("😀"), "\"😀\"");
}

TEST(JsonTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(JsonQuote("a\xff"
                      "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(JsonQuote("\xc3"), "\"\\ufffd\"");             // truncated
  EXPECT_EQ(JsonQuote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");  // overlong
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"),
            "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

TEST(JsonTest, WriterPlacesCommas) {
  JsonWriter w;
  w.BeginObject()
      .Key("name")
      .String("tcp")
      .Key("n")
      .Uint(3)
      .Key("neg")
      .Int(-4)
      .Key("list")
      .BeginArray()
      .Double(1.5)
      .Double(1e6)
      .Bool(true)
      .Null()
      .BeginObject()
      .EndObject()
      .EndArray()
      .Key("nan")
      .Double(0.0 / 0.0)
      .EndObject();
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(w.str(),
            "{\"name\":\"tcp\",\"n\":3,\"neg\":-4,\"list\":[1.5,1e+06,true,"
            "null,{}],\"nan\":null}");
}

TEST(JsonTest, DoublesRoundTrip) {
  JsonWriter w;
  w.BeginArray().Double(0.1).Double(123456789.125).Double(-0.0).EndArray();
  EXPECT_EQ(w.str(), "[0.1,123456789.125,-0]");
}

// --- Units -------------------------------------------------------------------

TEST(UnitsTest, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("64M"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("1.5G"), 3u << 29);
  EXPECT_EQ(*ParseByteSize("2 GB"), 2'000'000'000u);
  EXPECT_EQ(*ParseByteSize("512k"), 512u << 10);
  EXPECT_EQ(*ParseByteSize("0"), 0u);
  for (const char* bad :
       {"", "MiB", "12 parsecs", "1.2.3M", "-1", "99999999T"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

TEST(UnitsTest, Formatting) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(64.0 * 1024 * 1024), "64.0 MiB");
  EXPECT_EQ(FormatCount(980), "980");
  EXPECT_EQ(FormatCount(1250), "1.25k");
  EXPECT_EQ(FormatCount(3'400'000), "3.40M");
  EXPECT_EQ(FormatCount(999'700), "1.00M");
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatBitRate(150'000'000), "1.20 Gbit/s");
  EXPECT_EQ(FormatBitRate(0), "0 bit/s");
}

// --- Records as text ---------------------------------------------------------

TEST(RecordTextTest, ProtocolsFlagsAndEtherTypes) {
  EXPECT_EQ(ProtocolName(6), "tcp");
  EXPECT_EQ(ProtocolName(17), "udp");
  EXPECT_EQ(ProtocolName(58), "icmpv6");
  EXPECT_EQ(ProtocolName(253), "253");
  EXPECT_EQ(TcpFlagsText(0x02), "S");
  EXPECT_EQ(TcpFlagsText(0x12), "S.");
  EXPECT_EQ(TcpFlagsText(0x18), "P.");
  EXPECT_EQ(TcpFlagsText(0x11), "F.");
  EXPECT_EQ(TcpFlagsText(0), "-");
  EXPECT_EQ(TcpFlagsText(0xff), "FSRP.UEW");
  EXPECT_EQ(EtherTypeName(0x0800), "ipv4");
  EXPECT_EQ(EtherTypeName(0x86dd), "ipv6");
  EXPECT_EQ(EtherTypeName(0x88b5), "0x88b5");
}

TEST(RecordTextTest, Addresses) {
  const uint8_t v4[4] = {10, 1, 2, 3};
  EXPECT_EQ(AddressText(v4, 4), "10.1.2.3");
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_EQ(AddressText(mapped, 16), "192.0.2.1");
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                          0,    0,    0,    0,    0, 0, 0, 1};
  EXPECT_EQ(AddressText(v6, 16), "2001:db8::1");
  const uint8_t zero[16] = {};
  EXPECT_EQ(AddressText(zero, 16), "::");
  const uint8_t mac[6] = {0xaa, 0xbb, 0xcc, 0x00, 0x01, 0xff};
  EXPECT_EQ(MacText(mac), "aa:bb:cc:00:01:ff");
}

TEST(RecordTextTest, PacketRecordCells) {
  ScopedTimeZone tz("UTC0");
  const Schema& schema = PacketSchema();
  PacketRecord r = {};
  r.timestamp = kNow + 7'000'000;
  const uint8_t src[16] = {0, 0, 0,    0,    0,  0, 0, 0,
                           0, 0, 0xff, 0xff, 10, 0, 0, 1};
  std::memcpy(r.src_ip, src, 16);
  r.dst_ip[0] = 0xfe;
  r.dst_ip[1] = 0x80;
  r.dst_ip[15] = 2;
  r.src_port = 43210;
  r.dst_port = 443;
  r.proto = 6;
  r.frame_len = 1514;
  r.tcp_flags = 0x12;
  r.ether_type = 0x0800;
  const auto* bytes = reinterpret_cast<const uint8_t*>(&r);

  Result<std::vector<const Column*>> columns = SelectColumns(schema, "");
  ASSERT_TRUE(columns.ok());
  std::vector<std::string> cells;
  for (const Column* c : *columns) cells.push_back(CellText(*c, bytes));
  EXPECT_THAT(cells,
              ElementsAre("2026-11-22T04:56:35.007Z", "10.0.0.1", "43210",
                          "fe80::2", "443", "tcp", "1514", "S."));
  EXPECT_EQ(CellText(*schema.Find("ether_type"), bytes), "ipv4");

  JsonWriter json;
  json.BeginArray();
  for (const char* name : {"timestamp", "src_ip", "proto", "tcp_flags"}) {
    WriteJsonCell(json, *schema.Find(name), bytes);
  }
  json.EndArray();
  EXPECT_EQ(json.str(),
            "[" + std::to_string(kNow + 7'000'000) + ",\"10.0.0.1\",6,18]");
}

TEST(RecordTextTest, SelectColumns) {
  Result<Schema> schema = Schema::Parse("src:ipv4, bytes:u32, host:string(8)");
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ(SelectColumns(*schema, "")->size(), 4u);  // timestamp too
  EXPECT_EQ(SelectColumns(*schema, "all")->size(), 4u);
  Result<std::vector<const Column*>> two = SelectColumns(*schema, "host, src");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ((*two)[0]->name, "host");
  EXPECT_EQ((*two)[1]->name, "src");
  EXPECT_THAT(SelectColumns(*schema, "byts").status().message(),
              HasSubstr("unknown column 'byts'; did you mean 'bytes'?"));
  EXPECT_EQ(SelectColumns(PacketSchema(), "*")->size(),
            PacketSchema().columns().size());
}

class RecordEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Schema> s = Schema::Parse(
        "src:ipv4, addr6:ipv6, mac:mac, bytes:u32, delta:i16, ok:bool, "
        "ratio:f64, proto:u8, host:string(8)");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    schema_ = std::make_unique<Schema>(std::move(s).value());
  }
  std::string Cell(const std::vector<uint8_t>& record, const char* name) {
    return CellText(*schema_->Find(name), record.data());
  }

  std::unique_ptr<Schema> schema_;
};

TEST_F(RecordEncoderTest, KeyValueLine) {
  RecordEncoder encoder(*schema_);
  std::vector<uint8_t> out;
  ASSERT_TRUE(encoder
                  .EncodeKeyValueLine(
                      "src=10.0.0.1 addr6=10.0.0.2 mac=aa:bb:cc:dd:ee:ff "
                      "bytes=0x10, delta=-7 ok=true ratio=2.5 proto=udp "
                      "host='a b'",
                      kNow, out)
                  .ok());
  ASSERT_EQ(out.size(), schema_->record_size());
  EXPECT_EQ(Cell(out, "src"), "10.0.0.1");
  EXPECT_EQ(Cell(out, "addr6"), "10.0.0.2");
  EXPECT_EQ(Cell(out, "mac"), "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(Cell(out, "bytes"), "16");
  EXPECT_EQ(Cell(out, "delta"), "-7");
  EXPECT_EQ(Cell(out, "ok"), "true");
  EXPECT_EQ(Cell(out, "ratio"), "2.5");
  EXPECT_EQ(Cell(out, "proto"), "udp");
  EXPECT_EQ(Cell(out, "host"), "a b");
  uint64_t ts;
  std::memcpy(&ts, out.data(), 8);
  EXPECT_EQ(ts, kNow);  // left out: the time of reading
}

TEST_F(RecordEncoderTest, TimestampsAndBareStrings) {
  RecordEncoder encoder(*schema_);
  std::vector<uint8_t> out;
  ASSERT_TRUE(
      encoder.EncodeKeyValueLine("timestamp=-1s host=web1", kNow, out).ok());
  uint64_t ts;
  std::memcpy(&ts, out.data(), 8);
  EXPECT_EQ(ts, kNow - kSecond);
  EXPECT_EQ(Cell(out, "host"), "web1");
  EXPECT_EQ(Cell(out, "bytes"), "0");  // left out: zero
}

TEST_F(RecordEncoderTest, ErrorsNameTheColumn) {
  RecordEncoder encoder(*schema_);
  std::vector<uint8_t> out;
  Status s = encoder.EncodeKeyValueLine("src=10.0.0.300", kNow, out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("column 'src' (ipv4): bad value "
                                     "'10.0.0.300'"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("filter 1:")));
  EXPECT_THAT(encoder.EncodeKeyValueLine("bytez=1", kNow, out).message(),
              HasSubstr("unknown column 'bytez'; did you mean 'bytes'?"));
  EXPECT_THAT(encoder.EncodeKeyValueLine("bytes=-1", kNow, out).message(),
              HasSubstr("column 'bytes' (u32)"));
  EXPECT_THAT(
      encoder.EncodeKeyValueLine("host=toolongvalue", kNow, out).message(),
      HasSubstr("column 'host'"));
  EXPECT_THAT(encoder.EncodeKeyValueLine("bytes", kNow, out).message(),
              HasSubstr("expected column=value"));
  EXPECT_TRUE(out.empty());  // nothing appended on error
}

TEST_F(RecordEncoderTest, Csv) {
  RecordEncoder encoder(*schema_);
  std::vector<uint8_t> out;
  EXPECT_EQ(encoder.EncodeCsvRow("1,2", kNow, out).code(),
            Status::Code::kFailedPrecondition);
  ASSERT_TRUE(encoder.SetCsvHeader("timestamp,src,host,bytes").ok());
  ASSERT_TRUE(encoder
                  .EncodeCsvRow("2026-11-22T04:56:35Z, 192.0.2.7,"
                                "\"say \"\"hi\"\"\",1500",
                                0, out)
                  .ok());
  EXPECT_EQ(Cell(out, "src"), "192.0.2.7");
  EXPECT_EQ(Cell(out, "host"), "say \"hi\"");
  EXPECT_EQ(Cell(out, "bytes"), "1500");
  uint64_t ts;
  std::memcpy(&ts, out.data(), 8);
  EXPECT_EQ(ts, kNow);
  EXPECT_THAT(encoder.EncodeCsvRow("1,2", kNow, out).message(),
              HasSubstr("expected 4 fields"));
  EXPECT_THAT(encoder.SetCsvHeader("src,src").message(),
              HasSubstr("appears twice"));
}

TEST(SplitCsvLineTest, Quoting) {
  EXPECT_THAT(*SplitCsvLine("a,b,,c\r\n"), ElementsAre("a", "b", "", "c"));
  EXPECT_THAT(*SplitCsvLine("\"a,b\",\"c\"\"d\""), ElementsAre("a,b", "c\"d"));
  EXPECT_THAT(*SplitCsvLine(""), ElementsAre(""));
  EXPECT_FALSE(SplitCsvLine("\"open").ok());
  EXPECT_FALSE(SplitCsvLine("\"a\"b").ok());
}

// --- The top view ------------------------------------------------------------

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
