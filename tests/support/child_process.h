// ChildProcess: a program started by a test (fork/exec of argv[0] with
// its stdout and stderr in files), waited for with a limit, killed
// (SIGKILL) when destroyed unless it exited. The one fork/exec of the
// integration tests (AgentProcess, the coordinator's test). One process
// per object, used from the test's thread.
#ifndef LOUPE_TESTS_SUPPORT_CHILD_PROCESS_H_
#define LOUPE_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace loupe::test_support {

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> args, const std::filesystem::path& out,
               const std::filesystem::path& err) {
    pid_ = fork();
    if (pid_ == 0) {
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Exited() {
    if (exited_) return true;
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      status_ = st;
    }
    return exited_;
  }
  // Waits for the exit; returns the exit code (128 + signal if killed), or
  // -1 if it still runs after `limit`.
  int Wait(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!Exited() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited_) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  void Signal(int sig) { kill(pid_, sig); }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_CHILD_PROCESS_H_
