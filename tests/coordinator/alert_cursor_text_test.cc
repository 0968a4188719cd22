// The text form of alert cursors (loupectl alerts --follow --after).
#include "coordinator/loupectl/alert_cursor_text.h"

#include <gtest/gtest.h>

namespace loupe::ctl {
namespace {

TEST(AlertCursorTextTest, RoundTrips) {
  Result<AlertCursorText> c = ParseAlertCursor("flows=17:42,dns=17:3");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ(c->at("flows").incarnation, 17u);
  EXPECT_EQ(c->at("flows").sequence, 42u);
  EXPECT_EQ(FormatAlertCursor(*c), "dns=17:3,flows=17:42");
}

TEST(AlertCursorTextTest, ErrorsNameTheEntryAndTheForm) {
  for (const char* bad : {"", "flows", "flows=17", "=1:2", "flows=x:2",
                          "flows=1:2,", "flows=1:-2", "a=1:2,a=1:3"}) {
    Result<AlertCursorText> c = ParseAlertCursor(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(c.status().message().find("MULTILOG=INCARNATION:SEQUENCE"),
              std::string::npos)
        << c.status().message();
  }
  EXPECT_NE(ParseAlertCursor("flows=x:2")
                .status()
                .message()
                .find("incarnation is not a decimal"),
            std::string::npos);
}

}  // namespace
}  // namespace loupe::ctl
