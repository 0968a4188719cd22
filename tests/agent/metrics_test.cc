// The Prometheus text writer, RenderMetrics and MetricsServer. The rendered
// text is checked by the real parser: /usr/bin/promtool check metrics (from
// Debian's prometheus package), which also lints names, HELP and units.
#include "agent/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/prometheus_text.h"
#include "agent/rpc_metrics.h"

namespace loupe::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kPromtool = "/usr/bin/promtool";

struct Promtool {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics` with `text` on its standard input.
Promtool CheckMetrics(const std::string& text) {
  char path[] = "/tmp/loupe-metrics-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return {-1, std::string("mkstemp: ") + std::strerror(errno)};
  if (write(fd, text.data(), text.size()) !=
      static_cast<ssize_t>(text.size())) {
    close(fd);
    unlink(path);
    return {-1, "write failed"};
  }
  close(fd);
  const std::string cmd =
      std::string(kPromtool) + " check metrics < " + path + " 2>&1";
  Promtool result;
  FILE* p = popen(cmd.c_str(), "r");
  if (p != nullptr) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
      result.output.append(buf, n);
    const int status = pclose(p);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  unlink(path);
  return result;
}

bool HavePromtool() { return access(kPromtool, X_OK) == 0; }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

MetricsInput PopulatedInput() {
  MetricsInput in;
  in.version = "0.1.0-test";
  in.uptime = std::chrono::milliseconds(12'345);
  in.coordinator = CoordinatorLinkMetrics{"127.0.0.1:7700", true, 1, 42, 3};

  dataplane::PipelineStats p;
  p.running = true;
  p.multilog = "packets";
  for (int i = 0; i < 2; ++i) {
    dataplane::PortStats port;
    port.name = "mirror" + std::to_string(i);
    port.device = "net_pcap" + std::to_string(i);
    port.port_id = static_cast<uint16_t>(i);
    port.recorded = 1000 + i;
    port.recorded_bytes = 64'000 + i;
    port.drops[dataplane::kDropRingFull] = 7;
    port.drops[dataplane::ParseDrop(dataplane::ParseResult::kRunt)] = 3;
    port.received = port.recorded + port.dropped();
    port.received_bytes = 70'000;
    p.ports.push_back(port);
  }
  p.writers.push_back(
      {.lcore = 2, .batches = 10, .records = 800, .ring_used = 1});
  p.writers.push_back(
      {.lcore = 3, .batches = 11, .records = 201, .ring_used = 0});
  in.pipeline = p;

  MultilogMetrics m;
  m.name = "packets";
  m.data_log.write_tail = 64 * 2001;
  m.data_log.read_tail = 64 * 2000;
  m.data_log.head = 64 * 100;
  m.data_log.blocks_live = 4;
  m.data_log.blocks_allocated = 5;
  m.data_log.blocks_recycled = 1;
  m.data_log.blocks_retired = 1;
  m.data_log.memory_bytes = 4 << 20;
  m.memory_bytes = 5 << 20;
  m.alerts = 3;
  m.indexes = 2;
  m.filters = 1;
  m.aggregates = 1;
  m.triggers = 1;
  in.multilogs.push_back(m);
  m.name = "app_events";
  in.multilogs.push_back(m);

  SinkStats s;
  s.name = "jsonl:/var/log/loupe/alerts.jsonl";
  s.type = "jsonl";
  s.submitted = 3;
  s.sent = 3;
  in.sinks.push_back(s);
  s.name = "alertmanager:http://127.0.0.1:9093";
  s.type = "alertmanager";
  s.sent = 1;
  s.failed = 1;
  s.queued = 1;
  s.errors = 4;
  in.sinks.push_back(s);

  in.rpc.push_back({"CreateMultilog", 2, 0});
  in.rpc.push_back({"Query", 10, 1});
  return in;
}

// ------------------------------------------------------- PrometheusTextWriter

TEST(PrometheusTextTest, WritesHelpTypeAndSamples) {
  PrometheusTextWriter w;
  w.Family("x_total", "An x.", MetricType::kCounter);
  w.Sample({{"a", "1"}, {"b", "2"}}, uint64_t{5});
  w.Sample({}, uint64_t{6});
  w.Family("y", "A y.", MetricType::kGauge);
  w.Sample({}, 0.25);
  EXPECT_TRUE(w.status().ok()) << w.status().ToString();
  EXPECT_EQ(w.text(),
            "# HELP x_total An x.\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"1\",b=\"2\"} 5\n"
            "x_total 6\n"
            "# HELP y A y.\n"
            "# TYPE y gauge\n"
            "y 0.25\n");
}

TEST(PrometheusTextTest, EscapesHelpAndLabelValues) {
  PrometheusTextWriter w;
  w.Family("x", "back\\slash \"quoted\"\nsecond line", MetricType::kGauge);
  w.Sample({{"l", "a\"b\\c\nd"}}, uint64_t{1});
  EXPECT_EQ(w.text(),
            "# HELP x back\\\\slash \"quoted\"\\nsecond line\n"
            "# TYPE x gauge\n"
            "x{l=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(PrometheusTextTest, KeepsUtf8AndReplacesIllFormedBytes) {
  std::string out;
  AppendEscapedLabelValue(&out, "caf\xC3\xA9 \xFF \xC0\xAF \xED\xA0\x80 x");
  // é kept; a stray byte, an overlong '/' and a surrogate each become U+FFFD
  // per byte.
  EXPECT_EQ(out,
            "caf\xC3\xA9 \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD x");
}

TEST(PrometheusTextTest, WritesValuesExactly) {
  PrometheusTextWriter w;
  w.Family("v", "Values.", MetricType::kUntyped);
  w.Sample({{"k", "big"}}, uint64_t{(1ull << 60) + 1});
  w.Sample({{"k", "nan"}}, std::nan(""));
  w.Sample({{"k", "inf"}}, HUGE_VAL);
  w.Sample({{"k", "-inf"}}, -HUGE_VAL);
  w.Sample({{"k", "third"}}, 1.0 / 3);
  EXPECT_THAT(w.text(), HasSubstr("v{k=\"big\"} 1152921504606846977\n"));
  EXPECT_THAT(w.text(), HasSubstr("v{k=\"nan\"} NaN\n"));
  EXPECT_THAT(w.text(), HasSubstr("v{k=\"inf\"} +Inf\n"));
  EXPECT_THAT(w.text(), HasSubstr("v{k=\"-inf\"} -Inf\n"));
  EXPECT_THAT(w.text(), HasSubstr("v{k=\"third\"} 0.3333333333333333\n"));
}

TEST(PrometheusTextTest, ValidatesNames) {
  EXPECT_TRUE(IsValidMetricName("loupe_x:rate_total"));
  EXPECT_TRUE(IsValidMetricName("_x9"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9x"));
  EXPECT_FALSE(IsValidMetricName("x-y"));
  EXPECT_FALSE(IsValidMetricName("x y"));
  EXPECT_FALSE(IsValidMetricName("caf\xC3\xA9"));
  EXPECT_TRUE(IsValidLabelName("port"));
  EXPECT_TRUE(IsValidLabelName("_p1"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1a"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(PrometheusTextTest, SkipsWhatAScraperWouldRejectAndSaysWhy) {
  PrometheusTextWriter w;
  w.Sample({}, uint64_t{1});
  EXPECT_THAT(w.status().message(), HasSubstr("sample before any family"));

  PrometheusTextWriter bad_name;
  bad_name.Family("bad-name", "h", MetricType::kGauge);
  bad_name.Sample({}, uint64_t{1});
  EXPECT_EQ(bad_name.text(), "");
  EXPECT_EQ(bad_name.status().message(),
            "metrics: invalid metric name 'bad-name'");

  PrometheusTextWriter twice;
  twice.Family("x", "h", MetricType::kGauge);
  twice.Sample({}, uint64_t{1});
  twice.Family("x", "h", MetricType::kGauge);
  twice.Sample({}, uint64_t{2});
  EXPECT_EQ(twice.text(), "# HELP x h\n# TYPE x gauge\nx 1\n");
  EXPECT_EQ(twice.status().message(), "metrics: family 'x' declared twice");

  PrometheusTextWriter labels;
  labels.Family("x", "h", MetricType::kGauge);
  labels.Sample({{"__reserved", "v"}}, uint64_t{1});
  EXPECT_THAT(labels.status().message(),
              HasSubstr("invalid label name '__reserved'"));
  labels.Sample({{"a", "1"}, {"a", "2"}}, uint64_t{1});
  labels.Sample({{"a", "1"}}, uint64_t{1});
  labels.Sample({{"a", "1"}}, uint64_t{2});
  EXPECT_EQ(labels.text(), "# HELP x h\n# TYPE x gauge\nx{a=\"1\"} 1\n");
}

// ------------------------------------------------------------- RenderMetrics

TEST(RenderMetricsTest, PassesPromtool) {
  if (!HavePromtool()) {
    GTEST_SKIP() << kPromtool << " is not installed (Debian: prometheus)";
  }
  const std::string text = RenderMetrics(PopulatedInput());
  const Promtool check = CheckMetrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
  EXPECT_EQ(check.output, "") << text;
}

TEST(RenderMetricsTest, EmptyInputPassesPromtool) {
  if (!HavePromtool()) {
    GTEST_SKIP() << kPromtool << " is not installed (Debian: prometheus)";
  }
  const std::string text = RenderMetrics(MetricsInput{});
  const Promtool check = CheckMetrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
  EXPECT_THAT(text, Not(HasSubstr("loupe_port_")));
  EXPECT_THAT(text, HasSubstr("loupe_agent_build_info{version=\"\"} 1\n"));
}

TEST(RenderMetricsTest, EveryFamilyHasHelpAndTypeAndUnits) {
  const std::string text = RenderMetrics(PopulatedInput());
  std::set<std::string> help, type;
  std::map<std::string, std::string> types;
  std::set<std::string> sampled;
  for (const std::string& line : Lines(text)) {
    ASSERT_FALSE(line.empty());
    if (line.starts_with("# HELP ")) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      EXPECT_GT(rest.size(), name.size() + 1) << "empty help: " << line;
      EXPECT_TRUE(help.insert(name).second) << line;
      EXPECT_EQ(type.count(name), 0u) << "HELP after TYPE: " << line;
    } else if (line.starts_with("# TYPE ")) {
      std::istringstream in(line.substr(7));
      std::string name, t;
      in >> name >> t;
      EXPECT_TRUE(help.count(name)) << "TYPE without HELP: " << line;
      EXPECT_TRUE(type.insert(name).second) << line;
      types[name] = t;
    } else {
      ASSERT_FALSE(line.starts_with("#")) << line;
      const std::string name = line.substr(0, line.find_first_of("{ "));
      EXPECT_TRUE(type.count(name)) << "sample without TYPE: " << line;
      sampled.insert(name);
    }
  }
  for (const auto& [name, t] : types) {
    EXPECT_TRUE(name.starts_with("loupe_")) << name;
    EXPECT_EQ(t == "counter", name.ends_with("_total")) << name << " " << t;
    EXPECT_TRUE(sampled.count(name)) << "no samples: " << name;
  }
  EXPECT_EQ(types["loupe_multilog_memory_bytes"], "gauge");
  EXPECT_EQ(types["loupe_agent_uptime_seconds"], "gauge");
}

TEST(RenderMetricsTest, CarriesTheFiguresWithTheirLabels) {
  const std::string text = RenderMetrics(PopulatedInput());
  for (const char* want : {
           "loupe_agent_build_info{version=\"0.1.0-test\"} 1\n",
           "loupe_agent_uptime_seconds 12.345\n",
           "loupe_agent_coordinator_registered{coordinator=\"127.0.0.1:7700\"} "
           "1\n",
           "loupe_agent_coordinator_calls_total{coordinator=\"127.0.0.1:7700\","
           "call=\"heartbeat\"} 42\n",
           "loupe_dataplane_up 1\n",
           "loupe_port_received_packets_total{port=\"mirror1\"} 1011\n",
           "loupe_port_recorded_packets_total{port=\"mirror0\"} 1000\n",
           "loupe_port_recorded_bytes_total{port=\"mirror1\"} 64001\n",
           "loupe_port_dropped_packets_total{port=\"mirror0\","
           "reason=\"ring_full\"} 7\n",
           "loupe_port_dropped_packets_total{port=\"mirror0\","
           "reason=\"parse_runt\"} 3\n",
           "loupe_port_dropped_packets_total{port=\"mirror0\","
           "reason=\"nic_missed\"} 0\n",
           "loupe_writer_records_total{lcore=\"2\"} 800\n",
           "loupe_writer_ring_entries{lcore=\"2\"} 1\n",
           "loupe_multilog_published_bytes_total{multilog=\"packets\"} "
           "128000\n",
           "loupe_multilog_retained_bytes{multilog=\"packets\"} 121600\n",
           "loupe_multilog_memory_bytes{multilog=\"app_events\"} 5242880\n",
           "loupe_multilog_alerts_total{multilog=\"packets\"} 3\n",
           "loupe_multilog_indexes{multilog=\"packets\"} 2\n",
           "loupe_alert_sink_failed_total{sink=\"alertmanager:http://"
           "127.0.0.1:9093\",type=\"alertmanager\"} 1\n",
           "loupe_alert_sink_queued_alerts{sink=\"alertmanager:http://"
           "127.0.0.1:9093\",type=\"alertmanager\"} 1\n",
           "loupe_alert_sink_sent_total{sink=\"jsonl:/var/log/loupe/"
           "alerts.jsonl\",type=\"jsonl\"} 3\n",
           "loupe_rpc_calls_total{method=\"Query\"} 10\n",
           "loupe_rpc_errors_total{method=\"Query\"} 1\n",
       }) {
    EXPECT_THAT(text, HasSubstr(want));
  }
  // Every drop reason of every port is a series, zero or not.
  size_t drop_lines = 0;
  for (const std::string& line : Lines(text)) {
    if (line.starts_with("loupe_port_dropped_packets_total{")) ++drop_lines;
  }
  EXPECT_EQ(drop_lines, 2 * dataplane::kNumDropReasons);
  EXPECT_THAT(text, Not(HasSubstr("# loupe:")));
}

TEST(RenderMetricsTest, EscapesOperatorNames) {
  MetricsInput in = PopulatedInput();
  in.multilogs[0].name = "we\"ird\\name\nwith newline";
  in.sinks[0].name = "jsonl:/tmp/caf\xC3\xA9 \xFF.jsonl";
  const std::string text = RenderMetrics(in);
  EXPECT_THAT(text,
              HasSubstr("loupe_multilog_alerts_total{multilog=\"we\\\"ird\\\\"
                        "name\\nwith newline\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("sink=\"jsonl:/tmp/caf\xC3\xA9 \xEF\xBF\xBD"
                              ".jsonl\""));
  if (HavePromtool()) {
    const Promtool check = CheckMetrics(text);
    EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
  }
}

TEST(RenderMetricsTest, PromtoolRejectsWhatTheWriterWouldNotWrite) {
  // The checker is really looking: unescaped quotes do not pass.
  if (!HavePromtool()) GTEST_SKIP() << kPromtool << " is not installed";
  const Promtool check = CheckMetrics(
      "# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"b\"c\"} 1\n");
  EXPECT_NE(check.exit_code, 0);
}

}  // namespace
}  // namespace loupe::agent

// ----------------------------------------------------------------- RpcMetrics

namespace loupe::agent {
namespace {

TEST(RpcMetricsTest, CountsCodesAndCumulativeBucketsAndPassesPromtool) {
  RpcMetrics m;
  const std::string list = "/loupe.v1.Coordinator/ListAgents";
  m.Record(list, grpc::StatusCode::OK, 0.0005);
  m.Record(list, grpc::StatusCode::OK, 0.02);
  m.Record(list, grpc::StatusCode::NOT_FOUND, 20);
  // A client calling methods that do not exist cannot grow it.
  for (int i = 0; i < 300; ++i) {
    m.Record("/x/M" + std::to_string(i), grpc::StatusCode::UNIMPLEMENTED,
             0.001);
  }
  PrometheusTextWriter w;
  m.Render(w, "loupe_test_rpc");
  EXPECT_TRUE(w.status().ok()) << w.status().ToString();
  const std::string text = w.text();
  EXPECT_THAT(text, HasSubstr("# TYPE loupe_test_rpc_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("loupe_test_rpc_requests_total{method=\"" + list +
                              "\",code=\"OK\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("loupe_test_rpc_requests_total{method=\"" + list +
                              "\",code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("loupe_test_rpc_seconds_bucket{method=\"" + list +
                              "\",le=\"0.001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("loupe_test_rpc_seconds_bucket{method=\"" + list +
                              "\",le=\"0.025\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("loupe_test_rpc_seconds_bucket{method=\"" + list +
                              "\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("loupe_test_rpc_seconds_count{method=\"" + list +
                              "\"} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("{method=\"other\",code=\"UNIMPLEMENTED\"} " +
                        std::to_string(300 - (kMaxRpcMethods - 1)) + "\n"));
  if (HavePromtool()) {
    const Promtool check = CheckMetrics(text);
    EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
  }
  // A histogram sample in a counter family, or a bad suffix, is refused.
  PrometheusTextWriter bad;
  bad.Family("x_total", "h", MetricType::kCounter);
  bad.HistogramSample("_bucket", {{"le", "1"}}, uint64_t{1});
  EXPECT_THAT(bad.status().message(), HasSubstr("does not fit its type"));
}

}  // namespace
}  // namespace loupe::agent
