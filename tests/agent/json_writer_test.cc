// JsonWriter and JsonQuote: escaping, UTF-8 repair, numbers, nesting.
#include "agent/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace loupe {
namespace {

TEST(JsonQuoteTest, Escaping) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(JsonQuote("a/b"), "\"a/b\"");
  EXPECT_EQ(JsonQuote("µs → ok"), "\"µs → ok\"");
  EXPECT_EQ(JsonQuote("😀"), "\"😀\"");
}

TEST(JsonQuoteTest, EveryControlCharacterIsEscaped) {
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f\x7f", 3)),
            "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(JsonQuote(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
  for (int c = 0; c < 0x20; ++c) {
    const std::string quoted = JsonQuote(std::string(1, static_cast<char>(c)));
    // Nothing below 0x20 survives raw.
    for (char out : quoted) EXPECT_GE(static_cast<unsigned char>(out), 0x20);
  }
  EXPECT_EQ(JsonQuote("\x1b[31m"), "\"\\u001b[31m\"");
}

TEST(JsonQuoteTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(JsonQuote("a\xff"
                      "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(JsonQuote("\xc3"), "\"\\ufffd\"");             // truncated
  EXPECT_EQ(JsonQuote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");  // overlong
  EXPECT_EQ(JsonQuote("\xe0\x80\x80"),
            "\"\\ufffd\\ufffd\\ufffd\"");  // overlong, three bytes
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"),
            "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(JsonQuote("\xf4\x90\x80\x80"),
            "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
  EXPECT_EQ(JsonQuote("\x80"), "\"\\ufffd\"");    // lone continuation
  // A truncated sequence does not swallow the ASCII after it.
  EXPECT_EQ(JsonQuote("\xe2\x82"
                      "x"),
            "\"\\ufffd\\ufffdx\"");
}

TEST(JsonWriterTest, PlacesCommas) {
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
            "{\"name\":\"tcp\",\"n\":3,\"neg\":-4,\"list\":[1.5,1000000,true,"
            "null,{}],\"nan\":null}");
}

TEST(JsonWriterTest, Nesting) {
  JsonWriter w;
  EXPECT_FALSE(w.complete());
  w.BeginArray();
  w.BeginArray().BeginArray().EndArray().Uint(1).EndArray();
  w.BeginObject().Key("a").BeginObject().Key("b").BeginArray().EndArray();
  EXPECT_FALSE(w.complete());
  w.EndObject().Key("c").Null().EndObject();
  w.EndArray();
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(w.str(), "[[[],1],{\"a\":{\"b\":[]},\"c\":null}]");
}

TEST(JsonWriterTest, KeysAreEscapedToo) {
  JsonWriter w;
  w.BeginObject().Key("a\"\n\xff").Uint(0).EndObject();
  EXPECT_EQ(w.str(), "{\"a\\\"\\n\\ufffd\":0}");
}

TEST(JsonWriterTest, NonFiniteDoublesAreNull) {
  JsonWriter w;
  w.BeginArray()
      .Double(std::numeric_limits<double>::infinity())
      .Double(-std::numeric_limits<double>::infinity())
      .Double(std::nan(""))
      .EndArray();
  EXPECT_EQ(w.str(), "[null,null,null]");
}

TEST(JsonWriterTest, DoublesRoundTripAndIntegersAreExact) {
  JsonWriter w;
  w.BeginArray().Double(0.1).Double(123456789.125).Double(-0.0).EndArray();
  EXPECT_EQ(w.str(), "[0.1,123456789.125,-0]");
  JsonWriter ints;
  ints.BeginArray()
      .Uint(std::numeric_limits<uint64_t>::max())
      .Int(std::numeric_limits<int64_t>::min())
      .EndArray();
  EXPECT_EQ(ints.str(), "[18446744073709551615,-9223372036854775808]");
}

// One rule for doubles (the alert sinks' too): whole numbers below 1e15 in
// full, everything else the shortest text that reads back.
TEST(JsonNumberTextTest, WholeNumbersInFullOthersShortest) {
  EXPECT_EQ(JsonNumberText(0), "0");
  EXPECT_EQ(JsonNumberText(-0.0), "-0");
  EXPECT_EQ(JsonNumberText(1e6), "1000000");
  EXPECT_EQ(JsonNumberText(-2.5e6), "-2500000");
  EXPECT_EQ(JsonNumberText(999999999999999.0), "999999999999999");
  EXPECT_EQ(JsonNumberText(1e15), "1e+15");
  EXPECT_EQ(JsonNumberText(1e100), "1e+100");
  EXPECT_EQ(JsonNumberText(0.25), "0.25");
  EXPECT_EQ(JsonNumberText(1.5e6 + 0.5), "1500000.5");
  EXPECT_EQ(JsonNumberText(5e-324), "5e-324");
  EXPECT_EQ(JsonNumberText(std::nan("")), "null");
  EXPECT_EQ(JsonNumberText(-std::numeric_limits<double>::infinity()), "null");
  JsonWriter w;
  w.BeginArray().Double(1e6).Double(1e15).EndArray();
  EXPECT_EQ(w.str(), "[1000000,1e+15]");
}

}  // namespace
}  // namespace loupe
