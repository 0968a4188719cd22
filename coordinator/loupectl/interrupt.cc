#include "coordinator/loupectl/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace loupe::ctl::interrupt {
namespace {

struct State {
  std::mutex mu;
  std::condition_variable cv;
  std::function<void()> handler;  // mu
  bool running = false;           // mu: the watcher is in a handler's call
  std::string exit_output;        // mu
  int signals = 0;                // mu
  std::chrono::steady_clock::time_point first;  // mu: of the first signal
};

// A repeat this soon after the first signal is the same interrupt (e.g.
// delivered both to the process and to its process group).
constexpr std::chrono::milliseconds kRepeatWindow(1000);

State& state() {
  static State* s = new State;  // never destroyed: the watcher outlives main
  return *s;
}

sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

[[noreturn]] void ExitAtOnce(const std::string& output, int sig) {
  size_t done = 0;
  while (done < output.size()) {
    const ssize_t n =
        write(STDOUT_FILENO, output.data() + done, output.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  std::_Exit(128 + sig);
}

void Watch() {
  const sigset_t set = WatchedSignals();
  State& s = state();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    std::function<void()> handler;
    std::string exit_output;
    bool second;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      const auto now = std::chrono::steady_clock::now();
      if (++s.signals == 1) s.first = now;
      second = s.signals > 1;
      if (second && now - s.first < kRepeatWindow) continue;
      handler = s.handler;
      exit_output = s.exit_output;
      if (handler && !second) s.running = true;
    }
    s.cv.notify_all();
    if (!handler || second) ExitAtOnce(exit_output, sig);
    handler();
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.running = false;
    }
    s.cv.notify_all();
  }
}

}  // namespace

void Start() {
  const sigset_t set = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A closed pipe (loupectl ... | head) is seen as a failed write instead.
  signal(SIGPIPE, SIG_IGN);
  std::thread(Watch).detach();
}

void OnInterrupt(std::function<void()> handler) {
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mu);
  // A handler being called may use what the caller is about to free
  // (a ClientContext it cancels): wait for it to return.
  s.cv.wait(lock, [&] { return !s.running; });
  s.handler = std::move(handler);
}

void SetExitOutput(std::string text) {
  std::lock_guard<std::mutex> lock(state().mu);
  state().exit_output = std::move(text);
}

bool Interrupted() {
  std::lock_guard<std::mutex> lock(state().mu);
  return state().signals > 0;
}

bool SleepFor(std::chrono::nanoseconds timeout) {
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mu);
  return s.cv.wait_for(lock, timeout, [&] { return s.signals > 0; });
}

}  // namespace loupe::ctl::interrupt
