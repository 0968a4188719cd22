#include "coordinator/coordinator.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "agent/log.h"
#include "agent/rpc_server.h"
#include "coordinator/metrics.h"

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "unknown"
#endif

namespace loupe::coordinator {

using agent::Log;
using agent::LogLevel;

Result<std::unique_ptr<Coordinator>> Coordinator::Start(
    const CoordinatorConfig& config) {
  std::unique_ptr<Coordinator> c(new Coordinator(config));
  if (Status s = c->StartParts(); !s.ok()) {
    c->Stop();
    return s;
  }
  return c;
}

Coordinator::Coordinator(const CoordinatorConfig& config)
    : config_(config), started_(std::chrono::steady_clock::now()) {}

Coordinator::~Coordinator() { Stop(); }

Status Coordinator::StartParts() {
  // 0. The desired state: a state directory that cannot be made or read
  // stops the start before anything runs.
  Result<std::unique_ptr<ProgramStore>> store =
      ProgramStore::Open(config_.state_directory);
  if (!store.ok()) return store.status();
  program_store_ = std::move(*store);
  Log(LogLevel::kInfo,
      "desired state in " + program_store_->directory() + ": " +
          std::to_string(program_store_->List().size()) + " programs");

  // The snapshot journal: what a previous run left is read before
  // anything is served.
  SnapshotStoreOptions journal;
  journal.coordinator_name = config_.name;
  journal.directory = config_.state_directory + "/snapshots";
  JournalRecovery recovery;
  Result<std::unique_ptr<SnapshotStore>> opened =
      SnapshotStore::Open(journal, &recovery);
  if (!opened.ok()) return opened.status();
  snapshots_ = std::move(*opened);
  for (const std::string& u : recovery.unreadable) {
    Log(LogLevel::kWarn, "state directory: left alone: " + u);
  }

  // 1. The service first, so that a taken port fails before any agent is
  // polled.
  PoolOptions options;
  options.interval = config_.health_interval;
  options.timeout = config_.health_timeout;
  options.down_after = config_.down_after;
  options.max_registered = config_.max_registered_agents;
  const std::string agents_directory = config_.state_directory + "/agents";
  if (::mkdir(agents_directory.c_str(), 0750) != 0 && errno != EEXIST) {
    return Status::Unavailable(
        Status::FromErrno("cannot create " + agents_directory, errno)
            .message() +
        " (registered agents are kept there)");
  }
  options.registrations_file = agents_directory + "/registered";
  // What earlier runs registered is driven whether or not registrations
  // are accepted now: turning them off takes no agent away.
  Result<std::vector<Registration>> restored =
      LoadRegistrations(options.registrations_file);
  if (!restored.ok()) return restored.status();
  if (!restored->empty()) {
    Log(LogLevel::kInfo, std::to_string(restored->size()) +
                             " registered agents kept from a previous run");
  }
  pool_ = std::make_unique<AgentPool>(config_.agents, options,
                                      std::move(*restored));
  RegistryOptions registry;
  registry.coordinator_name = config_.name;
  registry.accept_registrations = config_.accept_registrations;
  registry.heartbeat_interval = config_.health_interval;
  registry.down_after = config_.down_after;
  registry_ = std::make_unique<RegistryService>(pool_.get(), registry);
  service_ = std::make_unique<CoordinatorService>(pool_.get(), snapshots_.get(),
                                                  config_.name);
  ProgramManagerOptions program_options;
  if (const char* pause =
          std::getenv("LOUPE_COORDINATOR_TEST_PAUSE_BEFORE_APPLY_MS")) {
    program_options.pause_before_apply =
        std::chrono::milliseconds(std::strtoul(pause, nullptr, 10));
  }
  programs_ = std::make_unique<ProgramManager>(
      pool_.get(), program_store_.get(), program_options);
  service_->SetPrograms(programs_.get());
  // Snapshots a previous run had not finished, or that expired while it
  // was down: released on their hosts (a prepared cap lifts by itself at
  // lease end anyway).
  for (const v1::FleetSnapshot& s : recovery.to_release) {
    const std::vector<std::string> failed = service_->ReleaseOnHosts(s);
    Log(LogLevel::kInfo,
        "released snapshot " + s.id() + " left " +
            (s.committed() ? "expired" : "unfinished") + " by a previous run" +
            (failed.empty() ? "" : " (not on: " + failed.front() + ")"));
  }
  if (recovery.kept > 0) {
    Log(LogLevel::kInfo, std::to_string(recovery.kept) +
                             " committed snapshots kept from a previous run");
  }
  std::string error;
  server_ = agent::StartServer(
      config_.listen,
      std::vector<grpc::Service*>{service_.get(), registry_.get()}, &error,
      &grpc_port_, rpc_metrics_.InterceptorFactory());
  if (server_ == nullptr) return Status::Unavailable(error);
  Log(LogLevel::kInfo, "gRPC API on " + config_.listen + " (port " +
                           std::to_string(grpc_port_) + ")");

  // The alert fan-in once the port is ours, so that a coordinator that
  // cannot start delivers nothing.
  if (Status s = StartAlertFanIn(); !s.ok()) return s;
  service_->set_alert_fan_in(alert_fan_in_.get());

  // Triggers on merged aggregates, raised into the fan-in's sinks.
  NetworkTriggerOptions network;
  network.coordinator_name = config_.name;
  network.state_file = config_.state_directory + "/network-triggers";
  Result<std::unique_ptr<NetworkTriggers>> triggers = NetworkTriggers::Start(
      service_.get(), program_store_.get(), alert_fan_in_.get(), network);
  if (!triggers.ok()) return triggers.status();
  network_triggers_ = std::move(*triggers);

  // 2. /metrics.
  if (!config_.metrics_listen.empty()) {
    Result<std::unique_ptr<agent::MetricsServer>> m =
        agent::MetricsServer::Start(
            config_.metrics_listen, [this] { return RenderMetricsText(); },
            "loupe-coordinator");
    if (!m.ok()) return m.status();
    metrics_ = std::move(*m);
    Log(LogLevel::kInfo, "metrics on http://" + metrics_->host() + ":" +
                             std::to_string(metrics_->port()) + "/metrics");
  }
  Log(LogLevel::kInfo,
      "polling " + std::to_string(pool_->size()) + " agents every " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                             config_.health_interval)
                             .count()) +
          "ms");
  return Status::Ok();
}

void Coordinator::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // First: it asks the service and raises into the fan-in.
  if (network_triggers_ != nullptr) network_triggers_->Stop();
  if (service_ != nullptr) service_->Shutdown();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
    server_.reset();
  }
  if (metrics_ != nullptr) metrics_->Stop();
  if (programs_ != nullptr) programs_->Stop();
  // Before the pool, whose stubs its streams use.
  if (alert_fan_in_ != nullptr) alert_fan_in_->Stop();
  if (pool_ != nullptr) pool_->Stop();
  metrics_.reset();
  service_.reset();
  registry_.reset();
  programs_.reset();
  network_triggers_.reset();
  alert_fan_in_.reset();
  pool_.reset();
  snapshots_.reset();
  program_store_.reset();
}

Status Coordinator::StartAlertFanIn() {
  const std::string directory = config_.state_directory + "/alerts";
  if (::mkdir(directory.c_str(), 0750) != 0 && errno != EEXIST) {
    return Status::Unavailable(
        Status::FromErrno("cannot create " + directory, errno).message() +
        " (the alert fan-in keeps its cursors there)");
  }
  std::vector<std::unique_ptr<agent::AlertSink>> sinks;
  for (const agent::AlertSinkConfig& c : config_.alert_sinks) {
    Result<std::unique_ptr<agent::AlertSink>> sink =
        agent::MakeSink(agent::ToSinkConfig(c), config_.name);
    if (!sink.ok()) {
      return sink.status().Annotate(config_.source + ":" +
                                    std::to_string(c.line));
    }
    sinks.push_back(std::move(*sink));
  }
  agent::DispatcherOptions dispatcher;
  dispatcher.queue_capacity = config_.alert_queue;
  dispatcher.drain_timeout = kAlertDrainTimeout;
  FanInOptions options;
  options.cursor_file = directory + "/cursors";
  Result<std::unique_ptr<AlertFanIn>> fan_in = AlertFanIn::Start(
      pool_.get(), std::move(sinks), std::move(dispatcher), options);
  if (!fan_in.ok()) return fan_in.status();
  alert_fan_in_ = std::move(*fan_in);
  Log(LogLevel::kInfo, "alert fan-in: following " +
                           std::to_string(pool_->size()) + " agents into " +
                           std::to_string(config_.alert_sinks.size()) +
                           " sinks; cursors in " + options.cursor_file);
  return Status::Ok();
}

std::string Coordinator::Summary() const {
  if (pool_ == nullptr) return "stopped";
  size_t up = 0, down = 0, unknown = 0;
  std::string down_names;
  for (const AgentStatus& a : pool_->Snapshot()) {
    up += a.state == AgentState::kUp;
    unknown += a.state == AgentState::kUnknown;
    if (a.state == AgentState::kDown) {
      ++down;
      if (down <= 8)
        down_names += (down_names.empty() ? "" : ", ") + a.entry.name;
    }
  }
  std::string out = "agents: " + std::to_string(up) + " up, " +
                    std::to_string(down) + " down, " + std::to_string(unknown) +
                    " unknown";
  if (!down_names.empty())
    out += " (down: " + down_names + (down > 8 ? ", ..." : "") + ")";
  return out;
}

std::string Coordinator::RenderMetricsText() const {
  CoordinatorMetricsInput in;
  in.version = LOUPE_VERSION;
  in.name = config_.name;
  in.uptime = std::chrono::steady_clock::now() - started_;
  in.agents = pool_->Snapshot();
  in.registry = registry_->stats();
  in.snapshots_open = snapshots_->open();
  in.snapshots_committed = snapshots_->created();
  in.snapshots_aborted = snapshots_->aborted();
  in.snapshot_create_ns_sum = snapshots_->create_ns_sum();
  if (programs_ != nullptr) in.programs = programs_->stats();
  if (network_triggers_ != nullptr) in.network = network_triggers_->stats();
  if (alert_fan_in_ != nullptr) {
    in.alert_agents = alert_fan_in_->stats();
    in.alert_sinks = alert_fan_in_->sink_stats();
  }
  in.rpc = &rpc_metrics_;
  return RenderCoordinatorMetrics(in);
}

}  // namespace loupe::coordinator
