#include "dataplane/eal.h"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>

#include <atomic>
#include <cstring>

namespace loupe::dataplane {
namespace {

std::atomic<bool> g_initialized{false};
std::atomic<bool> g_attempted{false};

}  // namespace

Status InitEal(const std::vector<std::string>& args) {
  if (g_attempted.exchange(true)) {
    return Status::FailedPrecondition(
        "EAL: already initialized in this process (DPDK allows one EAL "
        "per process)");
  }
  cpu_set_t all;
  CPU_ZERO(&all);
  if (sched_getaffinity(0, sizeof(all), &all) != 0) CPU_ZERO(&all);

  std::vector<std::string> storage;
  storage.reserve(args.size() + 1);
  storage.push_back("loupe");
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = rte_eal_init(static_cast<int>(storage.size()), argv.data());
  if (rc < 0) {
    std::string joined;
    for (const std::string& a : args) joined += (joined.empty() ? "" : " ") + a;
    return Status::InvalidArgument(std::string("EAL init failed (") +
                                   rte_strerror(rte_errno) +
                                   ") with arguments: " + joined);
  }
  if (CPU_COUNT(&all) > 0) {
    pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
  }
  g_initialized.store(true);
  return Status::Ok();
}

bool EalInitialized() { return g_initialized.load(); }

void CleanupEal() {
  if (g_initialized.exchange(false)) rte_eal_cleanup();
}

}  // namespace loupe::dataplane
