// A daemon's log: one line per event on standard error, with the time,
// level and program name ("2026-01-01T12:00:00.000 info loupe-agent: ..."),
// filtered by the configured level. Any loupe daemon links it (library
// loupe_log; no DPDK). Thread-safe: one write(2) per line; the level and
// the program name may be set at any time (set them once, at start-up).
// Not for the packet path.
#ifndef LOUPE_AGENT_LOG_H_
#define LOUPE_AGENT_LOG_H_

#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe::agent {

enum class LogLevel { kError = 0, kWarn, kInfo, kDebug };

// "error", "warn", "info", "debug"; kInvalidArgument otherwise.
Result<LogLevel> ParseLogLevel(std::string_view name);
void SetLogLevel(LogLevel level);
// The name each line carries; until set, the process's own name
// (program_invocation_short_name, e.g. "loupe-agent").
void SetLogProgram(std::string_view program);
std::string LogProgram();
bool LogEnabled(LogLevel level);
void Log(LogLevel level, const std::string& message);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_LOG_H_
