// loupe-coordinator: the fleet's daemon. It knows its agents (a static
// list in the configuration), asks each one's Health every second, and
// serves loupe.v1.Coordinator (coordinator/proto/coordinator.proto: Health,
// ListAgents with host selectors, programs across the agents, distributed
// atomic snapshots, merged network-wide queries) with gRPC health and
// reflection, and /metrics. See coordinator/coordinator.h for what runs and
// config/coordinator.toml for the configuration. Alert fan-in comes with a
// later slice of the coordinator issue. It links only DPDK-free libraries.
//
// Exit status:
//   0  a clean stop on SIGINT/SIGTERM, a valid --check, --help, --version
//   1  start-up failed (a taken port, a state directory it cannot create:
//      one line on stderr says which)
//   2  bad usage, or a configuration that cannot be read or is invalid
//      (every error, each with file:line: key)
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>

#include "agent/log.h"
#include "agent/sd_notify.h"
#include "coordinator/config.h"
#include "coordinator/coordinator.h"

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "unknown"
#endif

namespace {

constexpr int kExitOk = 0;
constexpr int kExitStartFailed = 1;
constexpr int kExitUsage = 2;

int Main(int argc, char** argv) {
  using namespace loupe::coordinator;
  using loupe::agent::Log;
  using loupe::agent::LogLevel;
  using loupe::agent::NotifyService;
  CLI::App app{
      "loupe-coordinator: the fleet's daemon. Polls the health of the agents "
      "its configuration lists and serves loupe.v1.Coordinator over gRPC "
      "(Health, ListAgents with host selectors such as "
      "\"host=hv[1-8],rack=r2\"; programs applied to the agents all or "
      "nothing, kept in the state directory and reconciled; distributed "
      "atomic snapshots, journaled there too; GetAggregate, GetTopK, "
      "GetGroupBy, ExecuteFilter, QueryFilter, Stats and GetAlerts merged "
      "across agents; SubscribeAlerts) and Prometheus /metrics.\n"
      "Alert fan-in: follows every agent's alert stream from cursors kept "
      "in the state directory and delivers each alert once to the [alerts] "
      "sinks (jsonl, syslog, Alertmanager).\nStops on SIGINT/SIGTERM "
      "within a few seconds, exit 0.",
      "loupe-coordinator"};
  app.set_version_flag("--version", "loupe-coordinator " LOUPE_VERSION);
  app.footer(
      "Exit status: 0 after a clean stop (or a valid --check), 1 when "
      "start-up fails (a taken port: one line on stderr says which), 2 for "
      "bad usage or a configuration that cannot be read or is invalid "
      "(every error, each with file:line: key).\nUntil TLS is supported, "
      "the gRPC listen address must be loopback.\nThe configuration: "
      "config/coordinator.toml documents every key.");
  std::string config_path;
  app.add_option("-c,--config", config_path,
                 "TOML configuration file (see config/coordinator.toml)")
      ->type_name("FILE")
      ->required();
  std::string listen, metrics_listen, state_directory, name;
  auto* o_listen = app.add_option("--listen", listen,
                                  "gRPC listen address HOST:PORT, loopback "
                                  "only (overrides [coordinator] listen)");
  auto* o_metrics = app.add_option(
      "--metrics-listen", metrics_listen,
      "Prometheus /metrics address HOST:PORT, \"\" to disable (overrides "
      "[coordinator] metrics_listen)");
  auto* o_state = app.add_option("--state-directory", state_directory,
                                 "Absolute path of the coordinator's state "
                                 "(programs, snapshot journal, alert "
                                 "cursors; created 0750 when missing; "
                                 "overrides [coordinator] state_directory)");
  auto* o_name = app.add_option("--name", name,
                                "The coordinator's name (overrides "
                                "[coordinator] name)");
  for (CLI::Option* o : {o_listen, o_metrics, o_state, o_name}) {
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  bool check_only = false;
  app.add_flag("--check", check_only,
               "Validate the configuration (with the overrides), print what "
               "would run and exit; starts nothing");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  ConfigOverrides overrides;
  if (o_listen->count()) overrides.listen = listen;
  if (o_metrics->count()) overrides.metrics_listen = metrics_listen;
  if (o_state->count()) overrides.state_directory = state_directory;
  if (o_name->count()) overrides.name = name;
  loupe::Result<CoordinatorConfig> loaded = LoadConfig(config_path, overrides);
  if (!loaded.ok()) {
    const bool invalid =
        loaded.status().code() == loupe::Status::Code::kInvalidArgument;
    std::fprintf(stderr, "loupe-coordinator: %s%s\n",
                 invalid ? "invalid configuration:\n" : "",
                 loaded.status().message().c_str());
    return kExitUsage;
  }
  const CoordinatorConfig config = std::move(*loaded);
  loupe::Result<LogLevel> level = loupe::agent::ParseLogLevel(config.log_level);
  if (!level.ok()) {
    std::fprintf(stderr, "loupe-coordinator: %s\n",
                 level.status().message().c_str());
    return kExitUsage;
  }
  loupe::agent::SetLogLevel(*level);
  if (check_only) {
    std::printf("%s: OK\n%s", config_path.c_str(), Describe(config).c_str());
    return kExitOk;
  }

  // Every thread started from here inherits this mask; main takes the
  // signals with sigtimedwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Log(LogLevel::kInfo,
      std::string("starting ") + LOUPE_VERSION + " with " + config_path);
  loupe::Result<std::unique_ptr<Coordinator>> coordinator =
      Coordinator::Start(config);
  if (!coordinator.ok()) {
    std::fprintf(stderr, "loupe-coordinator: %s\n",
                 coordinator.status().message().c_str());
    return kExitStartFailed;
  }
  Log(LogLevel::kInfo, "running; SIGINT or SIGTERM stops it");
  // Type=notify units (config/systemd/loupe-coordinator.service).
  NotifyService("READY=1\nSTATUS=serving on " + config.listen);
  // Every 10 s, the agents' states when they changed.
  const timespec tick{10, 0};
  std::string last_summary;
  for (;;) {
    const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      Log(LogLevel::kInfo,
          std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
      break;
    }
    if (sig < 0 && errno == EAGAIN) {
      std::string summary = (*coordinator)->Summary();
      if (summary != last_summary) Log(LogLevel::kInfo, summary);
      last_summary = std::move(summary);
    }
  }
  NotifyService("STOPPING=1");
  (*coordinator)->Stop();
  coordinator->reset();
  Log(LogLevel::kInfo, "stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
