// Records as text: protocols, flags, addresses, cells, columns, encoding.
#include "coordinator/loupectl/record_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "multilog/packet_schema.h"
#include "multilog/schema.h"
#include "tests/support/scoped_time_zone.h"

namespace loupe::ctl {
namespace {

using test_support::ScopedTimeZone;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1'000'000'000;
// 2026-11-22T04:56:35Z
constexpr uint64_t kNow = 1'795'323'395 * kSecond;

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

}  // namespace
}  // namespace loupe::ctl
