// Interrupts: how loupectl ends on Ctrl-C. Start() blocks SIGINT, SIGTERM
// and SIGHUP in the calling thread -- call it in main() before any other
// thread exists (gRPC's included), so that every thread inherits the mask --
// and starts one thread that waits for them with sigwait().
//
// On a signal, the watcher runs the handler set with OnInterrupt (a
// long-running command cancels its stream, wakes its loop and exits 0 after
// restoring the terminal). Without a handler, or on a second signal, it
// exits the process at once with 128 + signal, as the default action would.
// A repeat within a second of the first signal counts as the same one.
//
// Thread-safe. One per process; lives until exit (the thread is detached).
#ifndef LOUPE_COORDINATOR_LOUPECTL_INTERRUPT_H_
#define LOUPE_COORDINATOR_LOUPECTL_INTERRUPT_H_

#include <chrono>
#include <functional>
#include <string>

namespace loupe::ctl {

namespace interrupt {

void Start();

// Replaces the handler; nullptr restores exit-at-once. The handler runs on
// the watcher thread and must not block; OnInterrupt waits for a call of
// the old one in progress to return, so that what it uses may be freed
// after OnInterrupt(nullptr).
void OnInterrupt(std::function<void()> handler);

// Written to stdout before an exit at once: what puts the terminal back
// (e.g. "show the cursor, leave the alternate screen"). Empty: nothing.
void SetExitOutput(std::string text);

// True once a signal arrived.
bool Interrupted();

// Sleeps up to `timeout`; returns early, with true, on a signal.
bool SleepFor(std::chrono::nanoseconds timeout);

}  // namespace interrupt

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_INTERRUPT_H_
