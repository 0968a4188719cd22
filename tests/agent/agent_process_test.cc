// loupe-agent as operators run it: real processes started by the test, on
// loopback ports and captures the test makes, driven through loupectl and
// through the gRPC API. Suite "integration".
#include "tests/support/agent_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/proto/loupe.grpc.pb.h"
#include "dataplane/pcap_writer.h"
#include "dataplane/traffic_mix.h"
#include "multilog/packet_schema.h"
#include "tests/agent/alertmanager_process.h"
#include "tests/support/shell.h"

namespace loupe::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test_support::AgentProcess;
using test_support::Env;
using test_support::Slurp;
using test_support::TempDir;
using Agent = AgentProcess;

using test_support::CmdResult;
using test_support::Shell;

CmdResult Ctl(const Agent& a, const std::string& args) {
  return Shell(Env("LOUPECTL_BIN") + " --agent " + a.target() + " " + args);
}

// A capture of the project's traffic mix; `summary` gets its counts.
std::string MakeCapture(const fs::path& dir, uint64_t packets, double malformed,
                        dataplane::MixSummary* summary, bool burst = false) {
  dataplane::MixOptions mo;
  mo.seed = 11;
  mo.packets = packets;
  mo.rate_pps = 10000;
  mo.malformed_fraction = malformed;
  mo.burst = burst;
  auto mix = dataplane::TrafficMix::Create(mo);
  EXPECT_TRUE(mix.ok());
  const fs::path path = dir / "capture.pcap";
  auto w = dataplane::PcapWriter::Create(path.string());
  EXPECT_TRUE(w.ok());
  std::vector<uint8_t> buf(dataplane::kMixMaxFrameBytes);
  dataplane::MixFrame f;
  while (mix->Next(buf.data(), buf.size(), &f)) {
    EXPECT_TRUE(w->Write(f.timestamp_ns, buf.data(), f.length).ok());
  }
  EXPECT_TRUE(w->Close().ok());
  if (summary != nullptr) *summary = mix->summary();
  return path.string();
}

const char* kPacketProgram = R"toml(
[[multilog]]
name = "packets"
schema = "packet"
indexes = ["dst_port"]
filters = [
  { name = "https", expression = "dst_port == 443" },
  { name = "tcp", expression = "proto == tcp" },
]
aggregates = [
  { name = "https_count", filter = "https", expression = "COUNT()" },
  { name = "tcp_count", filter = "tcp", expression = "COUNT()" },
]
)toml";

std::string PortConfig(const std::string& device,
                       const std::string& extra = "") {
  return "[[port]]\nname = \"mirror\"\ndevice = \"" + device + "\"\n" + extra +
         "\n[dataplane]\nmbufs = 65535\n" + kPacketProgram;
}

v1::StatsResponse Stats(const Agent& a) {
  grpc::ClientContext ctx;
  v1::StatsResponse r;
  EXPECT_TRUE(a.Stub()->Stats(&ctx, v1::StatsRequest(), &r).ok());
  return r;
}

// Waits until the dataplane received `n` packets.
v1::StatsResponse AwaitReceived(const Agent& a, uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  v1::StatsResponse s = Stats(a);
  while (std::chrono::steady_clock::now() < deadline &&
         (s.dataplane().ports_size() == 0 ||
          s.dataplane().ports(0).received() < n)) {
    std::this_thread::sleep_for(50ms);
    s = Stats(a);
  }
  return s;
}

TEST(AgentProcessTest, RecordsACaptureAndAnswersThroughRpcAndLoupectl) {
  TempDir dir;
  dataplane::MixSummary sum;
  const std::string pcap = MakeCapture(dir.path(), 30000, 0.01, &sum);
  Agent agent(dir.path(), PortConfig("net_pcap0,rx_pcap=" + pcap));
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
  v1::StatsResponse s = AwaitReceived(agent, sum.packets);
  ASSERT_EQ(s.dataplane().ports_size(), 1);
  const v1::PortStats& p = s.dataplane().ports(0);
  EXPECT_EQ(p.received(), sum.packets);
  EXPECT_EQ(p.recorded(), sum.records);
  EXPECT_EQ(p.received(), p.recorded() + p.dropped());
  uint64_t parse_drops = 0;
  for (const auto& d : p.drops()) {
    if (d.reason().rfind("parse_", 0) == 0) parse_drops += d.count();
  }
  EXPECT_EQ(parse_drops, sum.malformed);

  // Aggregates over everything: they equal the generator's counts.
  auto stub = agent.Stub();
  {
    grpc::ClientContext ctx;
    v1::GetAggregateRequest req;
    req.set_multilog("packets");
    req.set_name("https_count");
    req.set_t1_ns(UINT64_MAX);
    v1::GetAggregateResponse r;
    ASSERT_TRUE(stub->GetAggregate(&ctx, req, &r).ok());
    EXPECT_EQ(static_cast<uint64_t>(r.value()), sum.per_dst_port[443]);
  }
  // The dataplane's multilog at a snapshot: an exact settled time, at or
  // after the last packet recorded (the capture is in), at most the agent's
  // time; and its TSC clock's figures in Stats.
  {
    grpc::ClientContext ctx;
    v1::PrepareSnapshotRequest req;
    req.set_id("settled");
    req.add_multilogs("packets");
    v1::PrepareSnapshotResponse r;
    ASSERT_TRUE(stub->PrepareSnapshot(&ctx, req, &r).ok());
    ASSERT_EQ(r.tails_size(), 1);
    EXPECT_TRUE(r.tails(0).settled_exact());
    EXPECT_LE(r.tails(0).settled_ns(), r.agent_time_ns());
    EXPECT_EQ(r.tails(0).tail(), sum.records * 64);
    grpc::ClientContext rctx;
    v1::ReadRequest read;
    read.set_multilog("packets");
    read.set_offset(r.tails(0).tail() - 64);
    read.set_count(1);
    v1::ReadResponse last;
    ASSERT_TRUE(stub->Read(&rctx, read, &last).ok());
    ASSERT_EQ(last.count(), 1u);
    uint64_t last_ts = 0;
    std::memcpy(&last_ts, last.records().data(), sizeof(last_ts));
    EXPECT_GT(r.tails(0).settled_ns(), last_ts);
    grpc::ClientContext actx;
    v1::AbortSnapshotRequest abort;
    abort.set_id("settled");
    v1::AbortSnapshotResponse aborted;
    EXPECT_TRUE(stub->AbortSnapshot(&actx, abort, &aborted).ok());
  }
  EXPECT_TRUE(s.dataplane().has_clock());
  // The same through loupectl, human and JSON.
  CmdResult r = Ctl(
      agent, "aggregate get tcp_count --from 2000-01-01T00:00:00Z --to now");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(std::to_string(sum.per_proto[6])), std::string::npos)
      << r.out;
  r = Ctl(agent, "--json stats");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"recorded\""), std::string::npos) << r.out;
  r = Ctl(
      agent,
      "query 'dst_port == 22' --from 2000-01-01T00:00:00Z --to now --limit 5");
  EXPECT_EQ(r.code, 0) << r.out;
  r = Ctl(agent, "top --count 1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("FILTER"), std::string::npos) << r.out;

  // Lifecycle: SIGTERM drains and exits 0.
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(), 0) << agent.err();
  EXPECT_NE(agent.err().find("stopped"), std::string::npos);
}

TEST(AgentProcessTest, EveryLoupectlCommandAndErrorCode) {
  TempDir dir;
  Agent agent(dir.path(), kPacketProgram);  // no ports: RPC only
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
  struct Step {
    std::string args;
    int code;
    std::string expect;  // substring of the output
  };
  const std::string kv = (fs::path(dir.path()) / "rows.kv").string();
  std::ofstream(kv) << "timestamp=2024-01-01T00:00:00Z host=a bytes=10\n"
                       "timestamp=2024-01-01T00:00:01Z host=b bytes=20\n";
  const std::vector<Step> steps = {
      {"health", 0, "SERVING"},
      {"multilog create flows --schema 'host:string(8), bytes:u32'", 0, ""},
      {"multilog create flows --schema 'host:string(8)'", 1, "ALREADY_EXISTS"},
      {"multilog list", 0, "flows"},
      {"multilog show flows", 0, "bytes"},
      {"-m flows append " + kv, 0, ""},
      {"-m flows read", 0, "20"},
      {"-m flows index add bytes", 0, ""},
      {"-m flows index list", 0, "bytes"},
      {"-m flows filter add big 'bytes > 15'", 0, ""},
      {"-m flows filter add bad 'bytes >> 1'", 1, "INVALID_ARGUMENT"},
      {"-m flows filter add typo 'byts > 1'", 1, "did you mean"},
      {"-m flows filter list", 0, "big"},
      {"-m flows aggregate add big_sum big 'SUM(bytes)'", 0, ""},
      {"-m flows aggregate list", 0, "big_sum"},
      {"-m flows aggregate get nosuch", 1, "NOT_FOUND"},
      {"-m flows filter remove big", 1, "FAILED_PRECONDITION"},
      {"-m flows trigger add hot 'big_sum > 1000' --period 1s", 0, ""},
      {"-m flows trigger list", 0, "hot"},
      {"-m flows query 'bytes >= 10' --from 2000-01-01T00:00:00Z --to now", 0,
       ""},
      {"-m flows filter query big --from 2000-01-01T00:00:00Z --to now", 0, ""},
      {"-m flows trigger remove hot", 0, ""},
      {"-m flows aggregate remove big_sum", 0, ""},
      {"-m flows filter remove big", 0, ""},
      {"-m flows index remove bytes", 0, ""},
      {"alerts", 0, ""},
      {"stats", 0, ""},
      {"-m nosuch read", 1, "NOT_FOUND"},
      {"multilog drop flows", 0, ""},
      {"multilog drop flows", 1, "NOT_FOUND"},
  };
  for (const Step& st : steps) {
    CmdResult r = Ctl(agent, st.args);
    EXPECT_EQ(r.code, st.code) << "loupectl " << st.args << "\n" << r.out;
    EXPECT_NE(r.out.find(st.expect), std::string::npos)
        << "loupectl " << st.args << "\n"
        << r.out;
  }
  // RESOURCE_EXHAUSTED and INVALID_ARGUMENT straight through the API.
  auto stub = agent.Stub();
  {
    grpc::ClientContext ctx;
    v1::AppendBatchRequest req;
    req.set_multilog("packets");
    req.set_records(std::string(64 * 5000, '\0'));  // > max batch
    v1::AppendResponse resp;
    grpc::Status s = stub->AppendBatch(&ctx, req, &resp);
    EXPECT_TRUE(s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                s.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
        << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    v1::AppendBatchRequest req;
    req.set_multilog("packets");
    req.set_records(std::string(65, '\0'));
    v1::AppendResponse resp;
    grpc::Status s = stub->AppendBatch(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("64"), std::string::npos)
        << s.error_message();
  }
}

// Programs (issue 13, section 2): the configuration's program is
// "packets" version 1; loupectl program diff|apply|list|remove drive
// ApplyProgram on it, and Control cannot remove what it owns.
TEST(AgentProcessTest, ConfiguredProgramIsVersionOneAndLoupectlAppliesNext) {
  TempDir dir;
  Agent agent(dir.path(), kPacketProgram);  // no ports: RPC only
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
  const std::string v2 = (fs::path(dir.path()) / "v2.toml").string();
  std::ofstream(v2) << R"toml([[multilog]]
name = "packets"
indexes = ["dst_port"]
filters = [
  { name = "https", expression = "dst_port == 443" },
  { name = "tcp", expression = "proto == tcp && dst_port != 22" },
  { name = "dns", expression = "dst_port == 53" },
]
aggregates = [
  { name = "https_count", filter = "https", expression = "COUNT()" },
  { name = "tcp_count", filter = "tcp", expression = "COUNT()" },
]
)toml";
  const std::string typo = (fs::path(dir.path()) / "typo.toml").string();
  std::ofstream(typo) << "[[multilog]]\nname = \"packets\"\n"
                         "filters = [{ name = \"x\", expression = "
                         "\"dst_prot == 1\" }]\n"
                         "aggregates = [{ name = \"y\", filter = \"nof\", "
                         "expression = \"COUNT()\" }]\n";
  struct Step {
    std::string args;
    int code;
    std::string expect;
  };
  const std::vector<Step> steps = {
      {"program list", 0, "config"},
      {"-m packets aggregate remove tcp_count", 1, "program \"packets\""},
      {"program diff " + typo + " --name packets --version 2", 1,
       "typo.toml:3: multilog[0].filters[0].expression"},
      {"program diff " + typo + " --name packets --version 2", 1,
       "typo.toml:4: multilog[0].aggregates[0].filter"},
      {"program diff " + v2 + " --name packets --version 2", 0, "~ filter tcp"},
      {"program diff " + v2 + " --name packets --version 2", 0, "+ filter dns"},
      {"program apply " + v2 + " --name packets --version 2 --if-version 0", 1,
       "FAILED_PRECONDITION"},
      {"program apply " + v2 + " --name packets --version 2 --if-version 1", 0,
       "applied"},
      {"program apply " + v2 + " --name packets --version 2", 0, "unchanged"},
      {"program list", 0, "api"},  // no longer the configuration's
      {"-m packets filter list", 0, "dns"},
      {"program remove packets", 0, "removed program packets"},
      {"program remove packets", 1, "NOT_FOUND"},
  };
  for (const Step& st : steps) {
    CmdResult r = Ctl(agent, st.args);
    EXPECT_EQ(r.code, st.code) << "loupectl " << st.args << "\n" << r.out;
    EXPECT_NE(r.out.find(st.expect), std::string::npos)
        << "loupectl " << st.args << "\n"
        << r.out;
  }
  EXPECT_EQ(Ctl(agent, "-m packets filter list").out.find("https"),
            std::string::npos);
}

TEST(AgentProcessTest, AlertStreamsWhileATriggerFires) {
  TempDir dir;
  const std::string pcap = MakeCapture(dir.path(), 20000, 0, nullptr, true);
  std::string cfg = PortConfig("net_pcap0,rx_pcap=" + pcap + ",infinite_rx=1",
                               "max_pps = 20000");
  cfg += R"toml(triggers = [
  { name = "busy", condition = "tcp_count > 100", period = "100ms" },
]
)toml";
  Agent agent(dir.path(), cfg);
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
  auto stub = agent.Stub();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::SubscribeAlertsRequest req;
  auto reader = stub->SubscribeAlerts(&ctx, req);
  v1::AlertEvent ev;
  ASSERT_TRUE(reader->Read(&ev)) << agent.err();
  EXPECT_TRUE(ev.synced());
  ASSERT_TRUE(reader->Read(&ev)) << agent.err();
  EXPECT_EQ(ev.alert().trigger(), "busy");
  EXPECT_EQ(ev.alert().multilog(), "packets");
  EXPECT_GT(ev.alert().value(), 100);
  ctx.TryCancel();
  // loupectl alerts --follow shows them too.
  CmdResult r = Shell("timeout -s INT 3 " + Env("LOUPECTL_BIN") + " --agent " +
                      agent.target() + " alerts --follow");
  EXPECT_NE(r.out.find("busy"), std::string::npos) << r.out;
}

// The whole path to the NOC: a trigger fires in a real agent, its
// Alertmanager sink posts to a real Alertmanager, which notifies a webhook;
// once the capture (replayed once) ends, the trigger stops firing and the
// alert is resolved.
TEST(AgentProcessTest, AlertmanagerGetsTheAlertAndItsResolution) {
  if (access(test_support::kAlertmanager, X_OK) != 0) {
    GTEST_SKIP() << test_support::kAlertmanager << " is not installed";
  }
  TempDir dir;
  test_support::WebhookReceiver hook;
  test_support::AlertmanagerProcess am(dir.path(), hook.url());
  std::string error;
  ASSERT_TRUE(am.Start(&error)) << error;
  // 20,000 packets at 20,000/s: a second of traffic, then none.
  const std::string pcap = MakeCapture(dir.path(), 20000, 0, nullptr, true);
  std::string cfg = PortConfig("net_pcap0,rx_pcap=" + pcap, "max_pps = 20000");
  cfg += R"toml(triggers = [
  { name = "busy", condition = "tcp_count > 100", period = "100ms" },
]

[[alerts.sink]]
type = "alertmanager"
url = ")toml" +
         am.url() +
         R"toml("
resolve_after = "1s"
)toml";
  Agent agent(dir.path(), cfg, {"--host", "hv-it"});
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();

  ASSERT_TRUE(test_support::WaitFor(
      [&] {
        return !test_support::Notifications(hook, "busy", "firing").empty();
      },
      30s))
      << "no firing notification; agent:\n"
      << agent.err() << "\nalertmanager:\n"
      << am.log();
  const auto firing = test_support::Notifications(hook, "busy", "firing");
  const auto& labels = test_support::Obj(firing.front(), "labels");
  EXPECT_EQ(test_support::Str(labels, "host"), "hv-it");
  EXPECT_EQ(test_support::Str(labels, "multilog"), "packets");
  EXPECT_EQ(test_support::Str(labels, "trigger"), "busy");
  const auto& annotations = test_support::Obj(firing.front(), "annotations");
  EXPECT_EQ(test_support::Str(annotations, "threshold"), "100");
  EXPECT_GT(std::stod(test_support::Str(annotations, "value")), 100);

  ASSERT_TRUE(test_support::WaitFor(
      [&] {
        return !test_support::Notifications(hook, "busy", "resolved").empty();
      },
      30s))
      << "no resolved notification; agent:\n"
      << agent.err() << "\nalertmanager:\n"
      << am.log();
  EXPECT_FALSE(test_support::FindListed(am.url(), "busy", "hv-it").has_value());
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(), 0) << agent.err();
}

TEST(AgentProcessTest, MetricsPagePassesPromtool) {
  if (!fs::exists("/usr/bin/promtool")) GTEST_SKIP() << "promtool missing";
  TempDir dir;
  dataplane::MixSummary sum;
  const std::string pcap = MakeCapture(dir.path(), 5000, 0.01, &sum);
  Agent agent(dir.path(), PortConfig("net_pcap0,rx_pcap=" + pcap));
  ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
  AwaitReceived(agent, sum.packets);
  const fs::path page = fs::path(dir.path()) / "metrics.txt";
  CmdResult get = Shell("bash -c \"exec 3<>/dev/tcp/127.0.0.1/" +
                        std::to_string(agent.metrics_port()) +
                        " && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && "
                        "sed '1,/^\\r$/d' <&3 > " +
                        page.string() + "\"");
  ASSERT_EQ(get.code, 0) << get.out;
  const std::string text = Slurp(page);
  EXPECT_NE(text.find("# HELP"), std::string::npos) << text.substr(0, 500);
  EXPECT_NE(text.find("parse_"), std::string::npos);
  CmdResult check = Shell("/usr/bin/promtool check metrics < " + page.string());
  EXPECT_EQ(check.code, 0) << check.out;
}

TEST(AgentProcessTest, DurableAppendBatchSurvivesKill9) {
  TempDir dir;
  const std::string cfg =
      "[[multilog]]\nname = \"events\"\n"
      "schema = \"seq:u64, value:u32\"\n"
      "storage = \"durable\"\ndirectory = \"" +
      (fs::path(dir.path()) / "events").string() + "\"\n";
  const uint32_t kBatches = 20, kPerBatch = 4096;
  uint64_t acked = 0;
  {
    Agent agent(dir.path(), cfg);
    ASSERT_TRUE(agent.AwaitHealthy()) << agent.err();
    auto stub = agent.Stub();
    const uint32_t rs = 24;  // timestamp, seq, value (+4 padding?)
    grpc::ClientContext lctx;
    v1::ListMultilogsRequest lreq;
    v1::ListMultilogsResponse lresp;
    ASSERT_TRUE(stub->ListMultilogs(&lctx, lreq, &lresp).ok());
    ASSERT_EQ(lresp.multilogs_size(), 1);
    const uint32_t record_size = lresp.multilogs(0).record_size();
    ASSERT_GE(record_size, rs - 4);
    for (uint32_t b = 0; b < kBatches; ++b) {
      std::string records(record_size * kPerBatch, '\0');
      for (uint32_t i = 0; i < kPerBatch; ++i) {
        const uint64_t ts = 1000 + acked + i;
        const uint64_t seq = acked + i;
        std::memcpy(&records[i * record_size], &ts, 8);
        std::memcpy(&records[i * record_size + 8], &seq, 8);
      }
      grpc::ClientContext ctx;
      v1::AppendBatchRequest req;
      req.set_multilog("events");
      req.set_records(records);
      v1::AppendResponse resp;
      grpc::Status s = stub->AppendBatch(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
      acked += resp.count();
    }
    agent.Signal(SIGKILL);
    EXPECT_EQ(agent.Wait(), 128 + SIGKILL);
  }
  Agent again(dir.path(), cfg);
  ASSERT_TRUE(again.AwaitHealthy()) << again.err();
  auto stub = again.Stub();
  grpc::ClientContext ctx;
  v1::ListMultilogsRequest req;
  v1::ListMultilogsResponse resp;
  ASSERT_TRUE(stub->ListMultilogs(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.multilogs_size(), 1);
  const auto& info = resp.multilogs(0);
  EXPECT_GE(info.read_tail() / info.record_size(), acked)
      << "every acknowledged record survives kill -9";
  grpc::ClientContext rctx;
  v1::ReadRequest rreq;
  rreq.set_multilog("events");
  rreq.set_offset((acked - 1) * info.record_size());
  rreq.set_count(1);
  v1::ReadResponse rresp;
  grpc::Status s = stub->Read(&rctx, rreq, &rresp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GE(rresp.records().size(), 16u);
  uint64_t seq;
  std::memcpy(&seq, rresp.records().data() + 8, 8);
  EXPECT_EQ(seq, acked - 1);
}

TEST(AgentProcessTest, StartupFailuresSayWhyInOneLine) {
  TempDir dir;
  // A bad configuration: exit 2, file:line: key.
  {
    Agent bad(dir.path(), "[agent]\nlisten = \"127.0.0.1:7070\"\nlistne = 1\n");
    EXPECT_EQ(bad.Wait(), 2);
    EXPECT_NE(bad.err().find(".toml:3"), std::string::npos) << bad.err();
    EXPECT_NE(bad.err().find("listne"), std::string::npos) << bad.err();
  }
  // A second agent on a taken port.
  {
    Agent first(dir.path(), kPacketProgram);
    ASSERT_TRUE(first.AwaitHealthy()) << first.err();
    Agent second(dir.path(), kPacketProgram, {"--listen", first.target()});
    EXPECT_EQ(second.Wait(), 1);
    EXPECT_NE(second.err().find("already in use"), std::string::npos)
        << second.err();
  }
  // A port that does not exist.
  {
    Agent noport(dir.path(), PortConfig("net_nosuchdriver0"));
    EXPECT_EQ(noport.Wait(), 1);
    EXPECT_NE(noport.err().find("net_nosuchdriver0"), std::string::npos)
        << noport.err();
  }
  // An EAL that cannot start.
  {
    Agent noeal(dir.path(), PortConfig("net_null0"),
                {"--eal", "--no-huge -m 512 --bogus-eal-flag"});
    EXPECT_EQ(noeal.Wait(), 1);
    EXPECT_NE(noeal.err().find("EAL init failed"), std::string::npos)
        << noeal.err();
  }
}

}  // namespace
}  // namespace loupe::agent
