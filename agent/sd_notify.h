// NotifyService: the systemd readiness protocol (sd_notify(3)) without
// libsystemd. When the service manager started us with NOTIFY_SOCKET in
// the environment (Type=notify units), each call sends one datagram of
// newline-separated assignments ("READY=1", "STOPPING=1",
// "STATUS=...") to that AF_UNIX socket (a path, or "@name" in the abstract
// namespace). Without NOTIFY_SOCKET it does nothing and returns false.
//
// Non-blocking (MSG_DONTWAIT): a service manager that does not read can
// never stall start-up or shutdown. Thread-safe (no shared state).
#ifndef LOUPE_AGENT_SD_NOTIFY_H_
#define LOUPE_AGENT_SD_NOTIFY_H_

#include <string_view>

namespace loupe::agent {

// true if the datagram was sent.
bool NotifyService(std::string_view state);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_SD_NOTIFY_H_
