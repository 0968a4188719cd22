#include "agent/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <mutex>

namespace loupe::agent {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

std::mutex g_program_mu;
std::string& ProgramName() {  // g_program_mu
  static std::string name = program_invocation_short_name;
  return name;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel l :
       {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug}) {
    if (name == LevelName(l)) return l;
  }
  return Status::InvalidArgument("log level '" + std::string(name) +
                                 "': expected error, warn, info or debug");
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

void SetLogProgram(std::string_view program) {
  std::lock_guard<std::mutex> lock(g_program_mu);
  ProgramName() = std::string(program);
}

std::string LogProgram() {
  std::lock_guard<std::mutex> lock(g_program_mu);
  return ProgramName();
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, const std::string& message) {
  if (!LogEnabled(level)) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const long ms =
      static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                            now.time_since_epoch())
                            .count() %
                        1000);
  std::tm tm;
  localtime_r(&t, &tm);
  char stamp[40];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line = std::string(stamp) + "." + (ms < 100 ? "0" : "") +
                     (ms < 10 ? "0" : "") + std::to_string(ms) + " " +
                     LevelName(level) + " " + LogProgram() + ": " + message +
                     "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace loupe::agent
