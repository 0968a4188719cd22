// MetricsServer (library loupe_metrics_http): GET /metrics serves the text
// its callback renders, on loopback ports the test picks; a taken port or
// a malformed address is a clear error; Stop is prompt. This binary links
// no DPDK and no dataplane.
#include "agent/metrics_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace loupe::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(MetricsServerTest, ServesTheRenderedText) {
  const std::string text =
      "# HELP up Always 1.\n# TYPE up gauge\nup{job=\"x\"} 1\n";
  int scrapes = 0;
  auto server = MetricsServer::Start(
      "127.0.0.1:0",
      [&] {
        ++scrapes;
        return text;
      },
      "loupe-test");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ((*server)->host(), "127.0.0.1");

  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, text);
  EXPECT_THAT(res->get_header_value("Content-Type"),
              StartsWith("text/plain; version=0.0.4"));
  EXPECT_EQ(scrapes, 1);

  auto index = client.Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_THAT(index->body, HasSubstr("/metrics"));
  EXPECT_THAT(index->body, StartsWith("loupe-test\n"));  // the program

  auto missing = client.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  (*server)->Stop();
  (*server)->Stop();  // idempotent
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(std::chrono::milliseconds(500));
  EXPECT_FALSE(after.Get("/metrics"));
}

TEST(MetricsServerTest, PortInUseIsAClearError) {
  auto first = MetricsServer::Start("127.0.0.1:0", [] { return ""; });
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string port = std::to_string((*first)->port());
  auto second = MetricsServer::Start("127.0.0.1:" + port, [] { return ""; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(second.status().message(),
            "metrics listen 127.0.0.1:" + port + ": address already in use");
}

TEST(MetricsServerTest, PortHeldByAnotherProgramIsAClearError) {
  // A plain listener, as another program would hold the port.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  // ":PORT" means loopback.
  auto server = MetricsServer::Start(":" + port, [] { return ""; });
  close(fd);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().message(),
            "metrics listen 127.0.0.1:" + port + ": address already in use");
}

TEST(MetricsServerTest, RejectsMalformedAddresses) {
  for (const char* bad :
       {"", "localhost", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http",
        "::1:9470", "[::1]", "1.2.3.4:-1"}) {
    auto server = MetricsServer::Start(bad, [] { return ""; });
    ASSERT_FALSE(server.ok()) << bad;
    EXPECT_EQ(server.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_THAT(server.status().message(), HasSubstr("expected HOST:PORT"));
  }
  auto unknown =
      MetricsServer::Start("no-such-host.invalid:9470", [] { return ""; });
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(),
              StartsWith("metrics listen no-such-host.invalid:9470: cannot "
                         "resolve 'no-such-host.invalid'"));
}

TEST(MetricsServerTest, ListensOnIpv6Loopback) {
  auto server = MetricsServer::Start("[::1]:0", [] { return "x 1\n"; });
  if (!server.ok()) {
    GTEST_SKIP() << "no IPv6 loopback: " << server.status().ToString();
  }
  httplib::Client client("::1", (*server)->port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->body, "x 1\n");
}

TEST(MetricsServerTest, StopsPromptlyWithAnIdleKeepAliveClient) {
  auto server = MetricsServer::Start("127.0.0.1:0", [] { return "x 1\n"; });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_keep_alive(true);
  ASSERT_TRUE(client.Get("/metrics"));
  const auto t0 = std::chrono::steady_clock::now();
  server->reset();  // the destructor stops
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(4));
}

}  // namespace
}  // namespace loupe::agent
