// loupe-agent: the per-host daemon. See agent/agent.h for what it runs and
// config/default.toml for its configuration. `--check-program FILE` checks
// a control program (agent/program_file.h) and starts nothing.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/log.h"
#include "agent/program_file.h"

namespace {

std::vector<std::string> SplitWords(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// --check-program: 0 and a summary, 2 and every error.
int CheckProgram(const std::string& path, const std::string& schema_text) {
  using namespace loupe::agent;
  loupe::Result<loupe::Schema> schema = ResolveSchema(schema_text);
  if (!schema.ok()) {
    std::fprintf(stderr, "loupe-agent: --schema: %s\n",
                 schema.status().message().c_str());
    return 2;
  }
  loupe::Result<loupe::ControlProgram> program =
      LoadProgram(path, SameSchemaForAll(*schema));
  if (!program.ok()) {
    const bool invalid =
        program.status().code() == loupe::Status::Code::kInvalidArgument;
    std::fprintf(stderr, "%s%s\n",
                 invalid ? "loupe-agent: invalid program:\n" : "loupe-agent: ",
                 program.status().message().c_str());
    return invalid ? 2 : 1;
  }
  std::printf("%s: %s\n", path.c_str(),
              Summarize(CountProgram(*program)).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace loupe::agent;
  CLI::App app{
      "loupe-agent: records a mirror of this host's traffic into atomic "
      "multilogs and serves them over gRPC, /metrics and alert sinks.\n"
      "Stops on SIGINT/SIGTERM: drains the dataplane, flushes durable "
      "multilogs, exits 0.",
      "loupe-agent"};
  app.set_version_flag("--version",
                       std::string("loupe-agent ") + LOUPE_VERSION);
  app.footer(
      "Exit status: 0 after a clean stop (or a valid --check or "
      "--check-program), 1 when start-up fails (a taken port, EAL, a missing "
      "device: one line on stderr says which) or a file cannot be read, 2 "
      "for an invalid configuration or program (every error, each with "
      "file:line: key).\nHealth (gRPC) answers SERVING once everything, the "
      "dataplane included, runs.\nA control program (--check-program) is a "
      "TOML file of [[multilog]] sections, each a name and the indexes, "
      "filters, aggregates and triggers arrays a [[multilog]] of the "
      "configuration takes (config/README.md, config/programs/web.toml).");
  std::string config_path;
  auto* o_config =
      app.add_option("-c,--config", config_path,
                     "TOML configuration file (see config/default.toml); "
                     "required unless --check-program")
          ->check(CLI::ExistingFile);
  std::string program_path;
  std::string program_schema(kPacketSchemaName);
  auto* o_program =
      app.add_option("--check-program", program_path,
                     "validate the control program FILE against --schema and "
                     "exit, printing a summary or every error; starts "
                     "nothing and reads no --config")
          ->check(CLI::ExistingFile)
          ->excludes(o_config);
  app.add_option("--schema", program_schema,
                 "with --check-program: the schema of its multilogs, "
                 "\"packet\" or columns as a configuration's schema takes, "
                 "e.g. \"src:ipv4, bytes:u32\"")
      ->capture_default_str()
      ->needs(o_program);
  std::string listen, metrics_listen, log_level, eal, host;
  std::vector<std::string> ports;
  uint32_t writers = 0;
  bool check_only = false;
  auto* o_listen = app.add_option("--listen", listen,
                                  "gRPC listen address HOST:PORT (overrides "
                                  "[agent] listen)");
  auto* o_metrics = app.add_option(
      "--metrics-listen", metrics_listen,
      "Prometheus /metrics address HOST:PORT, \"\" to disable (overrides "
      "[agent] metrics_listen)");
  auto* o_level = app.add_option("--log-level", log_level,
                                 "error, warn, info or debug (overrides "
                                 "[agent] log_level)");
  auto* o_eal = app.add_option(
      "--eal", eal,
      "DPDK EAL arguments as one string, e.g. '--no-huge -m 512 --no-pci' "
      "(replaces [dpdk] eal_args)");
  auto* o_port = app.add_option(
      "--port", ports,
      "DPDK device string of a mirror port, repeatable, e.g. "
      "'net_pcap0,rx_pcap=x.pcap,infinite_rx=1' (replaces [[port]])");
  auto* o_writers = app.add_option("--writers", writers,
                                   "writer lcores (overrides [dataplane] "
                                   "writers)")
                        ->check(CLI::Range(1, 16));
  auto* o_host = app.add_option("--host", host,
                                "host name in alerts (overrides [agent] host)");
  for (CLI::Option* o :
       {o_listen, o_metrics, o_level, o_eal, o_writers, o_host}) {
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  app.add_flag("--check", check_only,
               "validate the configuration (with the overrides) and exit");
  try {
    app.parse(argc, argv);
    if (o_config->count() == 0 && o_program->count() == 0) {
      throw CLI::RequiredError("--config (or --check-program)");
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (o_program->count() != 0)
    return CheckProgram(program_path, program_schema);

  loupe::Result<AgentConfig> loaded = LoadConfig(config_path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "loupe-agent: invalid configuration:\n%s\n",
                 loaded.status().message().c_str());
    return 2;
  }
  AgentConfig config = std::move(*loaded);
  if (o_listen->count()) config.listen = listen;
  if (o_metrics->count()) config.metrics_listen = metrics_listen;
  if (o_level->count()) config.log_level = log_level;
  if (o_eal->count()) config.eal_args = SplitWords(eal);
  if (o_port->count()) {
    config.ports.clear();
    for (size_t i = 0; i < ports.size(); ++i) {
      PortConfig p;
      p.name = "port" + std::to_string(i);
      p.device = ports[i];
      config.ports.push_back(p);
    }
  }
  if (o_writers->count()) config.dataplane.writers = writers;
  if (o_host->count()) config.host = host;
  if (o_listen->count() || o_metrics->count() || o_level->count() ||
      o_eal->count() || o_port->count() || o_writers->count() ||
      o_host->count()) {
    if (loupe::Status s = ValidateConfig(config); !s.ok()) {
      std::fprintf(stderr, "loupe-agent: invalid configuration:\n%s\n",
                   s.message().c_str());
      return 2;
    }
  }
  loupe::Result<LogLevel> level = ParseLogLevel(config.log_level);
  if (!level.ok()) {
    std::fprintf(stderr, "loupe-agent: %s\n", level.status().message().c_str());
    return 2;
  }
  SetLogLevel(*level);
  if (check_only) {
    std::printf("%s: OK (%zu ports, %zu multilogs, %zu alert sinks)\n",
                config_path.c_str(), config.ports.size(),
                config.multilogs.size(), config.alerts.sinks.size());
    return 0;
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
  loupe::Result<std::unique_ptr<Agent>> agent = Agent::Start(config);
  if (!agent.ok()) {
    std::fprintf(stderr, "loupe-agent: %s\n", agent.status().message().c_str());
    return 1;
  }
  Log(LogLevel::kInfo, "running; SIGINT or SIGTERM stops it");
  const timespec tick{10, 0};
  for (;;) {
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      Log(LogLevel::kInfo,
          std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
      break;
    }
    if (sig < 0 && errno == EAGAIN) (*agent)->LogFigures();
  }
  (*agent)->Stop();
  agent->reset();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}
