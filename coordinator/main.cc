// loupe-coordinator: the fleet's daemon, which will drive many loupe-agents
// (programs sent to them, answers gathered from them). This is its
// skeleton: the command line and the configuration file's presence; its
// service comes with the coordinator issue. It links only DPDK-free
// libraries (loupe_text, multilog), as the real daemon will.
//
// Exit status: 0 --check passed (or --help/--version), 1 the service is not
// there yet, 2 bad usage or an unreadable configuration.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "unknown"
#endif

namespace {

constexpr int kExitOk = 0;
constexpr int kExitNotImplemented = 1;
constexpr int kExitUsage = 2;

int Main(int argc, char** argv) {
  CLI::App app{
      "loupe-coordinator: the fleet's daemon, driving many loupe-agents.\n"
      "This build is a skeleton: it checks its command line and that the "
      "configuration can be read; the service comes with the coordinator "
      "issue.",
      "loupe-coordinator"};
  app.set_version_flag("--version", "loupe-coordinator " LOUPE_VERSION);
  std::string config;
  bool check = false;
  app.add_option("-c,--config", config, "The configuration file (TOML)")
      ->type_name("FILE");
  app.add_flag("--check", check,
               "Check the configuration and exit (0: it can be used)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  if (config.empty()) {
    std::fprintf(stderr,
                 "loupe-coordinator: no configuration: give --config FILE "
                 "(see --help)\n");
    return kExitUsage;
  }
  std::ifstream in(config, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "loupe-coordinator: cannot read config %s: %s\n",
                 config.c_str(), std::strerror(errno));
    return kExitUsage;
  }
  if (check) {
    std::printf("%s: readable (the skeleton checks nothing more)\n",
                config.c_str());
    return kExitOk;
  }
  std::fprintf(stderr,
               "loupe-coordinator: this is a skeleton; its service comes "
               "with the coordinator issue\n");
  return kExitNotImplemented;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
