// Table: alignment, display width, one line per cell.
#include "coordinator/loupectl/table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace loupe::ctl {
namespace {

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

}  // namespace
}  // namespace loupe::ctl
