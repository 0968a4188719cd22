// The agent's log: one line per event on standard error, with the time
// and level, filtered by the configured level. Thread-safe (one write(2)
// per line). Not for the packet path.
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
bool LogEnabled(LogLevel level);
void Log(LogLevel level, const std::string& message);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_LOG_H_
