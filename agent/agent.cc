#include "agent/agent.h"

#include <grpcpp/grpcpp.h>

#include <cstdio>

#include "agent/alert_dispatcher.h"
#include "agent/alert_sinks.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/metrics_server.h"
#include "agent/multilog_registry.h"
#include "agent/program_file.h"
#include "agent/program_registry.h"
#include "agent/registrar.h"
#include "agent/rpc_server.h"
#include "agent/service.h"
#include "dataplane/eal.h"
#include "dataplane/pipeline.h"
#include "multilog/control.h"

namespace loupe::agent {
namespace {

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// "12.3M", "456k", "789".
std::string Human(double v) {
  if (v >= 1e9) return Fixed(v / 1e9, 2) + "G";
  if (v >= 1e6) return Fixed(v / 1e6, 2) + "M";
  if (v >= 1e3) return Fixed(v / 1e3, 1) + "k";
  return Fixed(v, 0);
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Start(const AgentConfig& config) {
  std::unique_ptr<Agent> agent(new Agent(config));
  Status s = agent->StartParts();
  if (!s.ok()) {
    agent->Stop();
    return s;
  }
  return agent;
}

Agent::Agent(const AgentConfig& config)
    : config_(config),
      started_(std::chrono::steady_clock::now()),
      last_figures_(started_) {}

Agent::~Agent() { Stop(); }

Status Agent::StartParts() {
  // 1. Alert sinks and the one dispatcher every multilog's alerts feed
  // (the registry subscribes each multilog it opens: configured, created
  // over RPC, re-created) and the gRPC subscribers consume.
  std::vector<std::unique_ptr<AlertSink>> sinks;
  for (const AlertSinkConfig& c : config_.alerts.sinks) {
    Result<std::unique_ptr<AlertSink>> sink =
        MakeSink(ToSinkConfig(c), config_.host);
    if (!sink.ok()) {
      return sink.status().Annotate(config_.source + ":" +
                                    std::to_string(c.line));
    }
    sinks.push_back(std::move(*sink));
  }
  DispatcherOptions dopt;
  dopt.queue_capacity = config_.alerts.queue;
  dopt.observer = [](const AlertEvent& e) {
    const Alert& a = e.alert;
    Log(LogLevel::kInfo, "alert: " + e.multilog + "/" + a.trigger + ": " +
                             a.aggregate + " = " + Fixed(a.value, 2) +
                             ", threshold " + Fixed(a.threshold, 2));
  };
  dispatcher_ = std::make_unique<AlertDispatcher>(std::move(sinks), dopt);

  // 2. Multilogs and their startup programs.
  RegistryOptions ropt;
  ropt.host = config_.host;
  ropt.alert_log.max_alerts = config_.alerts.log_max_alerts;
  ropt.alert_log.max_age = config_.alerts.log_max_age;
  registry_ = std::make_unique<MultilogRegistry>(ropt, dispatcher_.get());
  for (const MultilogConfig& m : config_.multilogs) {
    const std::string where =
        config_.source + ":" + std::to_string(m.line) + ": multilog " + m.name;
    Result<Schema> schema = ResolveSchema(m.schema);
    if (!schema.ok()) return schema.status().Annotate(where);
    OpenReport report;
    Result<std::shared_ptr<Multilog>> log =
        registry_->Create(m.name, *schema, ToMultilogOptions(m), &report);
    if (!log.ok()) {
      return log.status().Annotate(where);
    }
    if (report.reopened) {
      Log(LogLevel::kInfo,
          "multilog " + m.name + ": reopened " + m.directory + ", " +
              std::to_string(report.recovered_bytes) + " bytes recovered" +
              (report.detail.empty() ? "" : "; " + report.detail));
    }
    Multilog& ml = **log;
    auto fail = [&](int line, const Status& st) {
      return st.Annotate(config_.source + ":" + std::to_string(line) +
                         ": multilog " + m.name);
    };
    for (const ControlStatement& statement : m.program.statements) {
      if (Status st = Apply(ml, statement); !st.ok()) {
        return fail(statement.line, st);
      }
    }
    const ProgramCounts n = CountSection(m.program);
    Log(LogLevel::kInfo, "multilog " + m.name + ": " +
                             std::to_string(n.indexes) + " indexes, " +
                             std::to_string(n.filters) + " filters, " +
                             std::to_string(n.aggregates) + " aggregates, " +
                             std::to_string(n.triggers) + " triggers");
  }

  // 3. The gRPC service: a port already taken fails here, before DPDK.
  service_ = std::make_unique<AgentService>(
      registry_.get(), config_.host,
      [this]() -> std::optional<dataplane::PipelineStats> {
        dataplane::Pipeline* p =
            shown_pipeline_.load(std::memory_order_acquire);
        if (p == nullptr) return std::nullopt;
        return p->stats();
      },
      [this]() -> std::optional<uint64_t> {
        dataplane::Pipeline* p =
            shown_pipeline_.load(std::memory_order_acquire);
        // Not yet running: nothing is received before the pipeline starts.
        return p == nullptr ? std::nullopt : p->settled_ns();
      });
  service_->set_ready(false);  // until the dataplane runs
  // The configuration's programs: named after their multilog, version 1.
  for (const MultilogConfig& m : config_.multilogs) {
    if (m.program.statements.empty()) continue;
    if (Status st = service_->programs().RegisterInstalled(
            ConfiguredProgram(m.name, m.program));
        !st.ok()) {
      return st;
    }
  }
  std::string error;
  server_ = StartServer(config_.listen, service_.get(), &error, &grpc_port_);
  if (server_ == nullptr) return Status::Unavailable(error);
  Log(LogLevel::kInfo, "gRPC API on " + config_.listen + " (port " +
                           std::to_string(grpc_port_) + ")");

  // 4. /metrics.
  if (!config_.metrics_listen.empty()) {
    Result<std::unique_ptr<MetricsServer>> m = MetricsServer::Start(
        config_.metrics_listen, [this] { return RenderMetricsText(); });
    if (!m.ok()) return m.status();
    metrics_ = std::move(*m);
    Log(LogLevel::kInfo, "metrics on http://" + metrics_->host() + ":" +
                             std::to_string(metrics_->port()) + "/metrics");
  }

  // 5. The dataplane.
  if (!config_.ports.empty()) {
    if (Status st = dataplane::InitEal(config_.eal_args); !st.ok()) return st;
    eal_ = true;
    Result<std::shared_ptr<Multilog>> log =
        registry_->Find(config_.dataplane.multilog);
    if (!log.ok()) return log.status();
    dataplane::PipelineOptions po;
    for (const PortConfig& p : config_.ports) {
      dataplane::PortOptions o;
      o.name = p.name;
      o.device = p.device;
      o.rx_descriptors = p.rx_descriptors;
      o.max_pps = p.max_pps;
      o.mbufs = config_.dataplane.mbufs;
      o.mbuf_cache = config_.dataplane.mbuf_cache;
      po.ports.push_back(o);
    }
    po.writers = config_.dataplane.writers;
    po.rx_lcores.assign(config_.dataplane.rx_lcores.begin(),
                        config_.dataplane.rx_lcores.end());
    po.writer_lcores.assign(config_.dataplane.writer_lcores.begin(),
                            config_.dataplane.writer_lcores.end());
    po.burst = config_.dataplane.burst;
    po.ring_size = config_.dataplane.ring_size;
    Result<std::unique_ptr<dataplane::Pipeline>> p =
        dataplane::Pipeline::Create(log->get(), po);
    if (!p.ok()) return p.status();
    if (Status st = registry_->Pin(config_.dataplane.multilog); !st.ok()) {
      return st;
    }
    if (Status st = (*p)->Start(); !st.ok()) return st;
    pipeline_ = std::move(*p);
    shown_pipeline_.store(pipeline_.get(), std::memory_order_release);
    std::string ports;
    for (const PortConfig& pc : config_.ports) {
      ports += (ports.empty() ? "" : ", ") + pc.name + " (" + pc.device + ")";
    }
    Log(LogLevel::kInfo, "dataplane: recording " + ports + " into multilog " +
                             config_.dataplane.multilog + " with " +
                             std::to_string(po.writers) + " writer lcore(s)");
  }
  service_->set_ready(true);

  // 6. Joining a coordinator, once there is something to serve it.
  if (!config_.coordinator.empty()) {
    RegistrarOptions r;
    r.coordinator = config_.coordinator;
    r.name = config_.host;
    r.address = config_.advertise;
    if (r.address.empty()) {
      r.address = config_.listen;
      if (r.address.ends_with(":0")) {
        r.address.resize(r.address.size() - 1);
        r.address += std::to_string(grpc_port_);
      }
    }
    r.labels = config_.labels;
    r.start_time_ns = registry_->incarnation();
    r.version = LOUPE_VERSION;
    Log(LogLevel::kInfo, "joining coordinator " + r.coordinator + " as " +
                             r.name + " at " + r.address);
    registrar_ = std::make_unique<Registrar>(std::move(r));
  }
  return Status::Ok();
}

void Agent::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Heartbeats end first: the coordinator sees this agent go.
  if (registrar_ != nullptr) registrar_->Stop();
  if (service_ != nullptr) service_->Shutdown();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
    server_.reset();
  }
  if (metrics_ != nullptr) metrics_->Stop();
  if (pipeline_ != nullptr) {
    pipeline_->Stop();
    const dataplane::PipelineStats s = pipeline_->stats();
    Log(LogLevel::kInfo,
        "dataplane stopped: " + std::to_string(s.total.received) +
            " packets received, " + std::to_string(s.total.recorded) +
            " recorded, " + std::to_string(s.total.dropped()) + " dropped");
    shown_pipeline_.store(nullptr, std::memory_order_release);
    pipeline_.reset();
  }
  if (registry_ != nullptr) {
    for (const HostedMultilog& h : registry_->List()) {
      if (h.multilog->data_log().options().mode == StorageMode::kInMemory) {
        continue;
      }
      Status s = h.multilog->data_log().Flush();
      if (!s.ok()) {
        Log(LogLevel::kError,
            "multilog " + h.name + ": flush failed: " + s.ToString());
      }
    }
  }
  if (dispatcher_ != nullptr) dispatcher_->Stop();
  metrics_.reset();
  service_.reset();
  if (eal_) {
    dataplane::CleanupEal();
    eal_ = false;
  }
}

std::string Agent::RenderMetricsText() const {
  MetricsInput in;
  in.version = LOUPE_VERSION;
  in.uptime = std::chrono::steady_clock::now() - started_;
  if (dataplane::Pipeline* p = shown_pipeline_.load(std::memory_order_acquire);
      p != nullptr) {
    in.pipeline = p->stats();
  }
  for (const HostedMultilog& h : registry_->List()) {
    MultilogMetrics m;
    m.name = h.name;
    m.data_log = h.multilog->data_log().stats();
    m.memory_bytes = h.multilog->memory_bytes();
    m.alerts = h.multilog->alerts().size();
    m.indexes = h.multilog->ListIndexes().size();
    m.filters = h.multilog->ListFilters().size();
    m.aggregates = h.multilog->ListAggregates().size();
    m.triggers = h.multilog->ListTriggers().size();
    in.multilogs.push_back(std::move(m));
  }
  if (dispatcher_ != nullptr) {
    in.sinks = dispatcher_->stats();
    in.sinks.push_back(dispatcher_->subscriber_stats());
  }
  if (service_ != nullptr) {
    for (const RpcMethodStats& r : service_->rpc_stats()) {
      in.rpc.push_back({r.method, r.calls, r.errors});
    }
  }
  if (registrar_ != nullptr) {
    const RegistrarStats r = registrar_->stats();
    in.coordinator =
        CoordinatorLinkMetrics{config_.coordinator, r.registered,
                               r.registrations, r.heartbeats, r.failures};
  }
  return RenderMetrics(in);
}

void Agent::LogFigures() {
  const auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_figures_).count();
  last_figures_ = now;
  if (pipeline_ == nullptr || dt <= 0) return;
  const dataplane::PipelineStats s = pipeline_->stats();
  const double pps =
      static_cast<double>(s.total.recorded - last_recorded_) / dt;
  const double bps =
      static_cast<double>(s.total.recorded_bytes - last_bytes_) / dt;
  const uint64_t dropped = s.total.dropped();
  std::string line = "recorded " + Human(pps) + " packets/s, " +
                     Human(bps * 8) + "bit/s; total " +
                     std::to_string(s.total.recorded) + " recorded, " +
                     std::to_string(dropped) + " dropped";
  if (dropped != last_dropped_) {
    line += " (+" + std::to_string(dropped - last_dropped_) + ":";
    for (size_t d = 0; d < dataplane::kNumDropReasons; ++d) {
      if (s.total.drops[d] != 0) {
        line += std::string(" ") + dataplane::DropReasonName(d) + "=" +
                std::to_string(s.total.drops[d]);
      }
    }
    line += ")";
  }
  last_recorded_ = s.total.recorded;
  last_bytes_ = s.total.recorded_bytes;
  last_dropped_ = dropped;
  Log(LogLevel::kInfo, line);
}

}  // namespace loupe::agent
