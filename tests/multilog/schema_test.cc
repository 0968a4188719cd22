#include "multilog/schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loupe {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The error of `result`, which must have failed with kInvalidArgument.
template <typename T>
std::string InvalidArgument(const Result<T>& result) {
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kInvalidArgument)
      << result.status().ToString();
  return result.status().message();
}

struct ExpectedColumn {
  std::string name;
  ColumnType type;
  uint32_t width;
  uint32_t offset;
};

void ExpectColumns(const Schema& schema,
                   const std::vector<ExpectedColumn>& expected) {
  ASSERT_EQ(schema.columns().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const Column& column = schema.columns()[i];
    EXPECT_EQ(column.name, expected[i].name) << "column " << i;
    EXPECT_EQ(column.type, expected[i].type) << "column " << i;
    EXPECT_EQ(column.width, expected[i].width) << "column " << i;
    EXPECT_EQ(column.offset, expected[i].offset) << "column " << i;
  }
}

// --- ColumnTypeName / ColumnTypeWidth ---------------------------------------

TEST(ColumnTypeTest, NamesAndWidths) {
  struct Case {
    ColumnType type;
    std::string_view name;
    uint32_t width;
  };
  const Case cases[] = {
      {ColumnType::kBool, "bool", 1},     {ColumnType::kU8, "u8", 1},
      {ColumnType::kU16, "u16", 2},       {ColumnType::kU32, "u32", 4},
      {ColumnType::kU64, "u64", 8},       {ColumnType::kI8, "i8", 1},
      {ColumnType::kI16, "i16", 2},       {ColumnType::kI32, "i32", 4},
      {ColumnType::kI64, "i64", 8},       {ColumnType::kF32, "f32", 4},
      {ColumnType::kF64, "f64", 8},       {ColumnType::kIpv4, "ipv4", 4},
      {ColumnType::kIpv6, "ipv6", 16},    {ColumnType::kMac, "mac", 6},
      {ColumnType::kString, "string", 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ColumnTypeName(c.type), c.name);
    EXPECT_EQ(ColumnTypeWidth(c.type), c.width) << c.name;
  }
}

// --- Create: layout ---------------------------------------------------------

TEST(SchemaCreateTest, EmptyHasOnlyTimestamp) {
  Result<Schema> schema = Schema::Create({});
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  ExpectColumns(*schema, {{"timestamp", ColumnType::kU64, 8, 0}});
  EXPECT_EQ(schema->record_size(), 8u);
}

TEST(SchemaCreateTest, PacksColumnsInDeclarationOrder) {
  Result<Schema> schema = Schema::Create({
      {"ok", ColumnType::kBool},
      {"src", ColumnType::kIpv4},
      {"port", ColumnType::kU16},
      {"host", ColumnType::kString, 13},
      {"mac", ColumnType::kMac},
      {"addr", ColumnType::kIpv6},
      {"ratio", ColumnType::kF64},
      {"delta", ColumnType::kI32},
  });
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  // No padding: offsets need not be aligned.
  ExpectColumns(*schema, {
                             {"timestamp", ColumnType::kU64, 8, 0},
                             {"ok", ColumnType::kBool, 1, 8},
                             {"src", ColumnType::kIpv4, 4, 9},
                             {"port", ColumnType::kU16, 2, 13},
                             {"host", ColumnType::kString, 13, 15},
                             {"mac", ColumnType::kMac, 6, 28},
                             {"addr", ColumnType::kIpv6, 16, 34},
                             {"ratio", ColumnType::kF64, 8, 50},
                             {"delta", ColumnType::kI32, 4, 58},
                         });
  EXPECT_EQ(schema->record_size(), 62u);
}

TEST(SchemaCreateTest, AcceptsWidthEqualToTypeWidth) {
  Result<Schema> schema = Schema::Create({
      {"a", ColumnType::kU32, 4},
      {"b", ColumnType::kIpv6, 16},
      {"c", ColumnType::kU8, 0},
  });
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->record_size(), 8u + 4 + 16 + 1);
  EXPECT_EQ(schema->columns()[3].width, 1u);
}

TEST(SchemaCreateTest, AcceptsNamesAtTheLimits) {
  Result<Schema> schema = Schema::Create({
      {std::string(64, 'n'), ColumnType::kU8},
      {"_", ColumnType::kU8},
      {"a1_B2", ColumnType::kU8},
      {"x", ColumnType::kString, 1},
      {"y", ColumnType::kString, Schema::kMaxStringWidth},
  });
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->record_size(), 8u + 3 + 1 + 1024);
}

TEST(SchemaCreateTest, RecordExactlyAtLimitIsAccepted) {
  // 8 (timestamp) + 3 * 1024 + 1016 = 4096.
  Result<Schema> schema = Schema::Create({
      {"a", ColumnType::kString, 1024},
      {"b", ColumnType::kString, 1024},
      {"c", ColumnType::kString, 1024},
      {"d", ColumnType::kString, 1016},
  });
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->record_size(), Schema::kMaxRecordBytes);
}

TEST(SchemaCreateTest, MaxColumnsIncludesTimestamp) {
  std::vector<ColumnSpec> specs;
  for (size_t i = 0; i + 1 < Schema::kMaxColumns; ++i) {
    specs.push_back({"c" + std::to_string(i), ColumnType::kU8});
  }
  Result<Schema> schema = Schema::Create(specs);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->columns().size(), Schema::kMaxColumns);
  EXPECT_EQ(schema->record_size(), 8u + Schema::kMaxColumns - 1);

  specs.push_back({"one_more", ColumnType::kU8});
  EXPECT_THAT(InvalidArgument(Schema::Create(specs)),
              AllOf(StartsWith("schema: "), HasSubstr("256 columns"),
                    HasSubstr("at most 255")));
}

// --- Create: errors ---------------------------------------------------------

TEST(SchemaCreateTest, RejectsEmptyName) {
  EXPECT_EQ(InvalidArgument(Schema::Create(
                {{"a", ColumnType::kU8}, {"", ColumnType::kU8}})),
            "schema: column 2 has an empty name");
}

TEST(SchemaCreateTest, RejectsLongName) {
  const std::string name(65, 'n');
  EXPECT_THAT(InvalidArgument(Schema::Create({{name, ColumnType::kU8}})),
              AllOf(StartsWith("schema: column 1 '" + name + "'"),
                    HasSubstr("65"), HasSubstr("at most 64")));
}

TEST(SchemaCreateTest, RejectsNonIdentifiers) {
  EXPECT_EQ(InvalidArgument(Schema::Create({{"a", ColumnType::kU8},
                                            {"b", ColumnType::kU8},
                                            {"c", ColumnType::kU8},
                                            {"x-y", ColumnType::kU8}})),
            "schema: column 4 'x-y' is not an identifier (use letters, "
            "digits and '_', not starting with a digit)");
  for (const std::string name :
       {"1st", "a b", "dst.port", "caf\xc3\xa9", " x", "x\n"}) {
    EXPECT_THAT(InvalidArgument(Schema::Create({{name, ColumnType::kU8}})),
                AllOf(StartsWith("schema: column 1 '" + name + "'"),
                      HasSubstr("is not an identifier")))
        << name;
  }
}

TEST(SchemaCreateTest, RejectsTimestampInAnyCase) {
  EXPECT_EQ(InvalidArgument(Schema::Create(
                {{"a", ColumnType::kU8}, {"timestamp", ColumnType::kU64}})),
            "schema: column 2 'timestamp' is reserved: every record has an "
            "implicit timestamp");
  EXPECT_THAT(
      InvalidArgument(Schema::Create({{"TimeStamp", ColumnType::kU64}})),
      StartsWith("schema: column 1 'TimeStamp' is reserved"));
}

TEST(SchemaCreateTest, RejectsDuplicates) {
  EXPECT_EQ(InvalidArgument(Schema::Create({{"src_ip", ColumnType::kIpv4},
                                            {"dst_ip", ColumnType::kIpv4},
                                            {"src_ip", ColumnType::kIpv6}})),
            "schema: column 3 'src_ip' is declared twice (first as column 1)");
}

TEST(SchemaCreateTest, DuplicatesIgnoreCase) {
  EXPECT_THAT(
      InvalidArgument(Schema::Create(
          {{"Port", ColumnType::kU16}, {"PORT", ColumnType::kU16}})),
      AllOf(StartsWith("schema: column 2 'PORT' is declared twice (first as "
                       "column 1 'Port'"),
            HasSubstr("ignore case")));
}

TEST(SchemaCreateTest, RejectsStringWidthOutOfRange) {
  EXPECT_EQ(InvalidArgument(Schema::Create({{"a", ColumnType::kU8},
                                            {"b", ColumnType::kU8},
                                            {"c", ColumnType::kU8},
                                            {"d", ColumnType::kU8},
                                            {"host", ColumnType::kString}})),
            "schema: column 5 'host' is string(0): a string needs a width "
            "from 1 to 1024");
  EXPECT_EQ(
      InvalidArgument(Schema::Create({{"host", ColumnType::kString, 1025}})),
      "schema: column 1 'host' is string(1025): a string needs a width from 1 "
      "to 1024");
}

TEST(SchemaCreateTest, RejectsWidthOnFixedType) {
  EXPECT_THAT(InvalidArgument(Schema::Create(
                  {{"a", ColumnType::kU8}, {"port", ColumnType::kU16, 4}})),
              AllOf(StartsWith("schema: column 2 'port' is u16"),
                    HasSubstr("2 bytes"), HasSubstr("width 4")));
  EXPECT_THAT(
      InvalidArgument(Schema::Create({{"addr", ColumnType::kIpv4, 16}})),
      StartsWith("schema: column 1 'addr' is ipv4"));
}

TEST(SchemaCreateTest, RejectsUnknownTypeValue) {
  EXPECT_THAT(
      InvalidArgument(Schema::Create({{"a", static_cast<ColumnType>(200)}})),
      StartsWith("schema: column 1 'a' has an unknown type"));
}

TEST(SchemaCreateTest, RejectsRecordOverLimit) {
  // 8 + 4 * 1024 = 4104 bytes.
  EXPECT_THAT(InvalidArgument(Schema::Create({
                  {"a", ColumnType::kString, 1024},
                  {"b", ColumnType::kString, 1024},
                  {"c", ColumnType::kString, 1024},
                  {"d", ColumnType::kString, 1024},
              })),
              AllOf(StartsWith("schema: "), HasSubstr("4104 bytes"),
                    HasSubstr("4096")));
  // One byte over.
  EXPECT_THAT(InvalidArgument(Schema::Create({
                  {"a", ColumnType::kString, 1024},
                  {"b", ColumnType::kString, 1024},
                  {"c", ColumnType::kString, 1024},
                  {"d", ColumnType::kString, 1016},
                  {"e", ColumnType::kBool},
              })),
              AllOf(HasSubstr("4097 bytes"), HasSubstr("4096")));
}

TEST(SchemaCreateTest, ReportsFirstBadColumn) {
  EXPECT_THAT(InvalidArgument(Schema::Create({{"ok", ColumnType::kU8},
                                              {"b-ad", ColumnType::kU8},
                                              {"", ColumnType::kU8}})),
              StartsWith("schema: column 2 'b-ad'"));
}

// --- Serialize / Parse ------------------------------------------------------

TEST(SchemaSerializeTest, WritesTimestampFirst) {
  Result<Schema> schema = Schema::Create(
      {{"src", ColumnType::kIpv4}, {"host", ColumnType::kString, 16}});
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ(schema->Serialize(), "timestamp:u64, src:ipv4, host:string(16)");
  Result<Schema> empty = Schema::Create({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Serialize(), "timestamp:u64");
}

TEST(SchemaParseTest, ParsesEveryType) {
  Result<Schema> schema = Schema::Parse(
      "a:bool, b:u8, c:u16, d:u32, e:u64, f:i8, g:i16, h:i32, i:i64, j:f32, "
      "k:f64, l:ipv4, m:ipv6, n:mac, o:string(7)");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  ExpectColumns(*schema, {
                             {"timestamp", ColumnType::kU64, 8, 0},
                             {"a", ColumnType::kBool, 1, 8},
                             {"b", ColumnType::kU8, 1, 9},
                             {"c", ColumnType::kU16, 2, 10},
                             {"d", ColumnType::kU32, 4, 12},
                             {"e", ColumnType::kU64, 8, 16},
                             {"f", ColumnType::kI8, 1, 24},
                             {"g", ColumnType::kI16, 2, 25},
                             {"h", ColumnType::kI32, 4, 27},
                             {"i", ColumnType::kI64, 8, 31},
                             {"j", ColumnType::kF32, 4, 39},
                             {"k", ColumnType::kF64, 8, 43},
                             {"l", ColumnType::kIpv4, 4, 51},
                             {"m", ColumnType::kIpv6, 16, 55},
                             {"n", ColumnType::kMac, 6, 71},
                             {"o", ColumnType::kString, 7, 77},
                         });
  EXPECT_EQ(schema->record_size(), 84u);
}

TEST(SchemaParseTest, LeadingTimestampIsSkipped) {
  Result<Schema> with = Schema::Parse("timestamp:u64, src:ipv4");
  Result<Schema> without = Schema::Parse("src:ipv4");
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  EXPECT_EQ(*with, *without);
  EXPECT_EQ(with->columns().size(), 2u);
}

TEST(SchemaParseTest, EmptyTextIsTimestampOnly) {
  for (const char* text : {"", "   ", "\n\n", "timestamp:u64", " , \n"}) {
    Result<Schema> schema = Schema::Parse(text);
    ASSERT_TRUE(schema.ok())
        << "'" << text << "': " << schema.status().ToString();
    EXPECT_EQ(schema->columns().size(), 1u);
    EXPECT_EQ(schema->record_size(), 8u);
  }
}

TEST(SchemaParseTest, AcceptsNewlinesCommasAndWhitespace) {
  Result<Schema> expected = Schema::Create({{"src", ColumnType::kIpv4},
                                            {"bytes", ColumnType::kU32},
                                            {"host", ColumnType::kString, 16}});
  ASSERT_TRUE(expected.ok());
  for (const char* text : {
           "src:ipv4,bytes:u32,host:string(16)",
           "  src : ipv4 ,\tbytes: u32 , host :string( 16 ) ",
           "src:ipv4\nbytes:u32\nhost:string(16)\n",
           "timestamp:u64,\r\nsrc:ipv4,\r\nbytes:u32,\r\nhost:string(16),\r\n",
       }) {
    Result<Schema> schema = Schema::Parse(text);
    ASSERT_TRUE(schema.ok())
        << "'" << text << "': " << schema.status().ToString();
    EXPECT_EQ(*schema, *expected) << text;
  }
}

TEST(SchemaParseTest, RoundTrips) {
  const std::vector<std::vector<ColumnSpec>> cases = {
      {},
      {{"src", ColumnType::kIpv4}, {"host", ColumnType::kString, 16}},
      {{"a", ColumnType::kBool},
       {"b", ColumnType::kU8},
       {"c", ColumnType::kU16},
       {"d", ColumnType::kU32},
       {"e", ColumnType::kU64},
       {"f", ColumnType::kI8},
       {"g", ColumnType::kI16},
       {"h", ColumnType::kI32},
       {"i", ColumnType::kI64},
       {"j", ColumnType::kF32},
       {"k", ColumnType::kF64},
       {"l", ColumnType::kIpv4},
       {"m", ColumnType::kIpv6},
       {"n", ColumnType::kMac},
       {"o", ColumnType::kString, 1},
       {"p", ColumnType::kString, 1024}},
  };
  for (const auto& specs : cases) {
    Result<Schema> schema = Schema::Create(specs);
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    Result<Schema> parsed = Schema::Parse(schema->Serialize());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, *schema);
    EXPECT_EQ(parsed->record_size(), schema->record_size());
    ASSERT_EQ(parsed->columns().size(), schema->columns().size());
    for (size_t i = 0; i < schema->columns().size(); ++i) {
      EXPECT_EQ(parsed->columns()[i].offset, schema->columns()[i].offset);
      EXPECT_EQ(parsed->columns()[i].width, schema->columns()[i].width);
    }
  }
}

TEST(SchemaParseTest, EqualityDistinguishesSchemas) {
  Result<Schema> a = Schema::Parse("src:ipv4, host:string(16)");
  Result<Schema> b = Schema::Parse("src:ipv4, host:string(17)");
  Result<Schema> c = Schema::Parse("host:string(16), src:ipv4");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_FALSE(*a == *b);
  EXPECT_FALSE(*a == *c);
}

TEST(SchemaParseTest, UnknownTypeSuggestsClosest) {
  EXPECT_EQ(InvalidArgument(Schema::Parse("a:u8, src:ip4")),
            "schema: column 2 'src': unknown type 'ip4'; expected one of "
            "bool, u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, ipv4, ipv6, "
            "mac, string(N); did you mean 'ipv4'?");
  EXPECT_THAT(InvalidArgument(Schema::Parse("n:U16")),
              HasSubstr("did you mean 'u16'?"));
  EXPECT_THAT(InvalidArgument(Schema::Parse("n:strng(4)")),
              HasSubstr("did you mean 'string(N)'?"));
  EXPECT_THAT(InvalidArgument(Schema::Parse("n:uint16")),
              HasSubstr("did you mean 'u16'?"));
  EXPECT_THAT(InvalidArgument(Schema::Parse("n:double")),
              HasSubstr("did you mean 'f64'?"));
  EXPECT_THAT(InvalidArgument(Schema::Parse("n:str(8)")),
              HasSubstr("did you mean 'string(N)'?"));
}

TEST(SchemaParseTest, UnknownTypeWithoutCloseMatch) {
  EXPECT_THAT(InvalidArgument(Schema::Parse("a:u8\nb:u8\nname:varchar")),
              AllOf(StartsWith("schema: column 3 'name': unknown type "
                               "'varchar'; expected one of bool"),
                    Not(HasSubstr("did you mean"))));
}

TEST(SchemaParseTest, PositionsCountListedTimestamp) {
  // The text's own numbering: the listed timestamp is column 1.
  EXPECT_THAT(InvalidArgument(Schema::Parse("timestamp:u64, src:ip4")),
              StartsWith("schema: column 2 'src': unknown type 'ip4'"));
  EXPECT_EQ(InvalidArgument(Schema::Parse(
                "timestamp:u64, src_ip:ipv4, dst_ip:ipv4, src_ip:ipv6")),
            "schema: column 4 'src_ip' is declared twice (first as column 2)");
  EXPECT_EQ(
      InvalidArgument(Schema::Parse("src_ip:ipv4, dst_ip:ipv4, src_ip:ipv6")),
      "schema: column 3 'src_ip' is declared twice (first as column 1)");
  EXPECT_EQ(InvalidArgument(Schema::Parse("timestamp:u64, x-y:u8")),
            "schema: column 2 'x-y' is not an identifier (use letters, "
            "digits and '_', not starting with a digit)");
}

TEST(SchemaParseTest, TimestampOnlyAllowedFirstAsU64) {
  EXPECT_EQ(InvalidArgument(Schema::Parse("src:ipv4, timestamp:u64")),
            "schema: column 2 'timestamp' is reserved: every record has an "
            "implicit timestamp");
  EXPECT_THAT(
      InvalidArgument(Schema::Parse("timestamp:u32, src:ipv4")),
      AllOf(StartsWith("schema: column 1 'timestamp'"), HasSubstr("u64")));
}

TEST(SchemaParseTest, RejectsMalformedItems) {
  EXPECT_THAT(
      InvalidArgument(Schema::Parse("a:u8, src ipv4")),
      AllOf(StartsWith("schema: column 2 'src ipv4'"), HasSubstr("name:type")));
  EXPECT_THAT(
      InvalidArgument(Schema::Parse("a:u8, src:")),
      AllOf(StartsWith("schema: column 2 'src'"), HasSubstr("missing type")));
  EXPECT_EQ(InvalidArgument(Schema::Parse("a:u8, :u16")),
            "schema: column 2 has an empty name");
}

TEST(SchemaParseTest, RejectsBadStringWidths) {
  EXPECT_THAT(
      InvalidArgument(Schema::Parse("a:u8, host:string")),
      AllOf(StartsWith("schema: column 2 'host'"), HasSubstr("string(N)")));
  for (const char* type :
       {"string()", "string(abc)", "string(16", "string(-1)", "string(1 6)"}) {
    EXPECT_THAT(InvalidArgument(Schema::Parse(std::string("host:") + type)),
                AllOf(StartsWith("schema: column 1 'host'"), HasSubstr(type),
                      HasSubstr("string(N)")))
        << type;
  }
  EXPECT_EQ(InvalidArgument(Schema::Parse("a:u8, b:u8, c:u8, d:u8, "
                                          "host:string(0)")),
            "schema: column 5 'host' is string(0): a string needs a width "
            "from 1 to 1024");
  EXPECT_EQ(InvalidArgument(Schema::Parse("host:string(1025)")),
            "schema: column 1 'host' is string(1025): a string needs a width "
            "from 1 to 1024");
  EXPECT_EQ(InvalidArgument(Schema::Parse("host:string(99999999999999999999)")),
            "schema: column 1 'host' is string(99999999999999999999): a "
            "string needs a width from 1 to 1024");
}

TEST(SchemaParseTest, RejectsRecordOverLimit) {
  EXPECT_THAT(
      InvalidArgument(Schema::Parse(
          "a:string(1024), b:string(1024), c:string(1024), d:string(1024)")),
      AllOf(HasSubstr("4104 bytes"), HasSubstr("4096")));
}

// --- Find / Suggest ---------------------------------------------------------

class SchemaLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Schema> schema = Schema::Parse(
        "src_ip:ipv6, dst_ip:ipv6, src_port:u16, dst_port:u16, proto:u8, "
        "vni:u32");
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    schema_ = std::make_unique<Schema>(std::move(schema).value());
  }

  std::unique_ptr<Schema> schema_;
};

TEST_F(SchemaLookupTest, FindIsExact) {
  const Column* column = schema_->Find("dst_port");
  ASSERT_NE(column, nullptr);
  EXPECT_EQ(column->name, "dst_port");
  EXPECT_EQ(column->type, ColumnType::kU16);
  EXPECT_EQ(column->offset, 8u + 16 + 16 + 2);
  EXPECT_EQ(column, &schema_->columns()[4]);

  const Column* timestamp = schema_->Find("timestamp");
  ASSERT_NE(timestamp, nullptr);
  EXPECT_EQ(timestamp->offset, 0u);

  EXPECT_EQ(schema_->Find("DST_PORT"), nullptr);
  EXPECT_EQ(schema_->Find("dst_por"), nullptr);
  EXPECT_EQ(schema_->Find(""), nullptr);
}

TEST_F(SchemaLookupTest, SuggestFindsTypos) {
  EXPECT_EQ(schema_->Suggest("dst_prot"), "dst_port");  // 2 edits, len 8
  EXPECT_EQ(schema_->Suggest("dstport"), "dst_port");
  EXPECT_EQ(schema_->Suggest("DST_PORT"), "dst_port");  // case is free
  EXPECT_EQ(schema_->Suggest("prot"), "proto");
  EXPECT_EQ(schema_->Suggest("vnii"), "vni");
  EXPECT_EQ(schema_->Suggest("timestmp"), "timestamp");
  EXPECT_EQ(schema_->Suggest("dst_port"), "dst_port");
}

TEST_F(SchemaLookupTest, SuggestNothingWhenFar) {
  EXPECT_EQ(schema_->Suggest(""), "");
  EXPECT_EQ(schema_->Suggest("bytes"), "");
  EXPECT_EQ(schema_->Suggest("vlan"), "");   // vni: 2 edits > max(1, 4/3)
  EXPECT_EQ(schema_->Suggest("dport"), "");  // 3 edits > 5/3
  // Exactly at the limit and one past it: len 9 allows 3 edits.
  EXPECT_EQ(schema_->Suggest("dst_pxxxx"), "");  // 4 edits from dst_port
  EXPECT_EQ(schema_->Suggest("dst_portxx"), "dst_port");  // 2 edits, len 10
}

// The one did-you-mean rule (multilog/did_you_mean.h) counts a swap of two
// neighbours as one edit: under plain Levenshtein these were two edits, past
// the limit of one for a short name.
TEST_F(SchemaLookupTest, ASwapIsOneEdit) {
  EXPECT_EQ(schema_->Suggest("vin"), "vni");
  EXPECT_EQ(schema_->Suggest("rpoto"), "proto");
  EXPECT_THAT(InvalidArgument(Schema::Parse("n:mca")),
              HasSubstr("did you mean 'mac'?"));
}

TEST_F(SchemaLookupTest, LongQueriesGetNoSuggestion) {
  const std::string name(65, 'x');
  Result<Schema> schema = Schema::Parse(std::string(64, 'x') + ":u8");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->Suggest(std::string(63, 'x')), std::string(64, 'x'));
  EXPECT_EQ(schema->Suggest(name), "");  // longer than any column name
}

TEST(SchemaSuggestTest, TiesGoToLongerCommonPrefixThenFirst) {
  Result<Schema> schema = Schema::Parse("ab:u8, ba:u8, ax:u8");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  // One edit from each of ab, ba and ax.
  EXPECT_EQ(schema->Suggest("aa"), "ab");  // ab, ax share "a"; ab is first
  EXPECT_EQ(schema->Suggest("bb"), "ba");  // ba shares "b"
  EXPECT_EQ(schema->Suggest("xx"), "ax");  // only one within reach
}

}  // namespace
}  // namespace loupe
