// multilog/ascii.h: character classes, trimming blanks, quoting in
// messages.
#include "multilog/ascii.h"

#include <gtest/gtest.h>

#include <string>

namespace loupe {
namespace {

TEST(AsciiTest, ClassesIgnoreTheLocaleAndHighBytes) {
  for (char c = '0'; c <= '9'; ++c) EXPECT_TRUE(IsAsciiDigit(c)) << c;
  EXPECT_FALSE(IsAsciiDigit('/'));
  EXPECT_FALSE(IsAsciiDigit(':'));
  EXPECT_FALSE(IsAsciiDigit('\xB2'));  // superscript two in Latin-1
  EXPECT_TRUE(IsAsciiLetter('a'));
  EXPECT_TRUE(IsAsciiLetter('Z'));
  EXPECT_FALSE(IsAsciiLetter('_'));
  EXPECT_FALSE(IsAsciiLetter('@'));
  EXPECT_FALSE(IsAsciiLetter('['));
  EXPECT_FALSE(IsAsciiLetter('\xE9'));  // e acute in Latin-1
}

TEST(AsciiTest, TrimBlanksRemovesSpacesAndTabsOnly) {
  EXPECT_EQ(TrimBlanks(" \t5m\t "), "5m");
  EXPECT_EQ(TrimBlanks("now - 5m"), "now - 5m");
  EXPECT_EQ(TrimBlanks("   "), "");
  EXPECT_EQ(TrimBlanks(""), "");
  EXPECT_EQ(TrimBlanks("\n5m\r"), "\n5m\r");  // not blanks
}

TEST(AsciiTest, QuotedEscapesQuotesAndBackslashes) {
  EXPECT_EQ(Quoted("lots"), "\"lots\"");
  EXPECT_EQ(Quoted(""), "\"\"");
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quoted("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
}

}  // namespace
}  // namespace loupe
