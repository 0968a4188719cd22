// HOST:PORT: splitting, ports, and the configured-address check.
#include "agent/host_port.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace loupe {
namespace {

using ::testing::HasSubstr;

TEST(ParsePortTest, Range) {
  uint16_t port = 1;
  EXPECT_TRUE(ParsePort("0", &port));
  EXPECT_EQ(port, 0);
  EXPECT_TRUE(ParsePort("65535", &port));
  EXPECT_EQ(port, 65535);
  for (const char* bad : {"", "65536", "99999", "123456", "-1", "+1", "8o",
                          " 80", "80 ", "0x50"}) {
    EXPECT_FALSE(ParsePort(bad, &port)) << bad;
  }
}

TEST(SplitHostPortTest, NamesAndAddresses) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:7070", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7070);
  ASSERT_TRUE(SplitHostPort("agent-1.example:9470", &host, &port));
  EXPECT_EQ(host, "agent-1.example");
  ASSERT_TRUE(SplitHostPort(":9470", &host, &port));
  EXPECT_EQ(host, "");
  EXPECT_EQ(port, 9470);
}

TEST(SplitHostPortTest, Brackets) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(SplitHostPort("[::1]:9470", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9470);
  ASSERT_TRUE(SplitHostPort("[fe80::1%eth0]:80", &host, &port));
  EXPECT_EQ(host, "fe80::1%eth0");
  for (const char* bad :
       {"[::1]", "[::1]9470", "[::1:9470", "[]:80", "[::1]:", "[::1]:65536"}) {
    EXPECT_FALSE(SplitHostPort(bad, &host, &port)) << bad;
  }
}

TEST(SplitHostPortTest, Refusals) {
  std::string host = "unchanged";
  uint16_t port = 0;
  for (const char* bad :
       {"", "localhost", "localhost:", "host:65536", "host:port", "::1:80",
        "fe80::1", "a b:80", "user@host:22", "http://host:80"}) {
    EXPECT_FALSE(SplitHostPort(bad, &host, &port)) << bad;
  }
  EXPECT_EQ(host, "unchanged");
}

TEST(CheckHostPortTest, Accepts) {
  EXPECT_TRUE(CheckHostPort("127.0.0.1:7070", false, "127.0.0.1:7070").ok());
  EXPECT_TRUE(CheckHostPort("[::1]:7070", false, "127.0.0.1:7070").ok());
  EXPECT_TRUE(CheckHostPort("alerts.example:9093", false, "x:1").ok());
  EXPECT_TRUE(CheckHostPort("0.0.0.0:0", true, "127.0.0.1:7070").ok());
  EXPECT_TRUE(CheckHostPort("[::]:65535", true, "127.0.0.1:7070").ok());
}

TEST(CheckHostPortTest, MissingPort) {
  const Status st = CheckHostPort("localhost", false, "127.0.0.1:514");
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("expected HOST:PORT such as "
                                      "\"127.0.0.1:514\""));
  EXPECT_THAT(st.message(), HasSubstr("got \"localhost\""));
  EXPECT_FALSE(CheckHostPort("localhost:", false, "x:1").ok());
  EXPECT_FALSE(CheckHostPort("[::1]", false, "x:1").ok());
}

TEST(CheckHostPortTest, PortOutOfRange) {
  const Status st = CheckHostPort("127.0.0.1:65536", true, "127.0.0.1:7070");
  EXPECT_THAT(st.message(),
              HasSubstr("port \"65536\" is not a port number (0 to 65535)"));
  EXPECT_THAT(CheckHostPort("127.0.0.1:0", false, "x:1").message(),
              HasSubstr("(1 to 65535)"));
  EXPECT_FALSE(CheckHostPort("127.0.0.1:123456", true, "x:1").ok());
  EXPECT_FALSE(CheckHostPort("127.0.0.1:-1", true, "x:1").ok());
}

TEST(CheckHostPortTest, Ipv6NeedsBrackets) {
  EXPECT_THAT(CheckHostPort("::1:7070", false, "x:1").message(),
              HasSubstr("an IPv6 address needs brackets"));
  EXPECT_THAT(CheckHostPort("[not-v6]:7070", false, "x:1").message(),
              HasSubstr("\"not-v6\" is not an IPv6 address"));
}

TEST(CheckHostPortTest, BadHostNames) {
  for (const char* bad : {":7070", "a b:7070", "host/x:7070", "h@st:7070"}) {
    const Status st = CheckHostPort(bad, false, "x:1");
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_THAT(st.message(), HasSubstr("is not a host name or address"))
        << bad;
  }
  EXPECT_FALSE(CheckHostPort(std::string(254, 'a') + ":80", false, "x:1").ok());
}

}  // namespace
}  // namespace loupe
