#include "multilog/internal/rcu.h"

#include <urcu/urcu-memb.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace loupe::internal {
namespace {

struct ThreadRegistration {
  ThreadRegistration() { urcu_memb_register_thread(); }
  ~ThreadRegistration() { urcu_memb_unregister_thread(); }
};

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer cannot see liburcu's grace periods (membarrier and
// uninstrumented atomics). Tell it: the end of every read-side critical
// section happens before the end of the next synchronize, so memory freed
// or reused after a grace period does not race with the readers before it.
char grace_period_token;
#endif

}  // namespace

void RcuRegisterThisThread() { thread_local ThreadRegistration registration; }

RcuReadLock::RcuReadLock() {
  RcuRegisterThisThread();
  urcu_memb_read_lock();
}

RcuReadLock::~RcuReadLock() {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(&grace_period_token);
#endif
  urcu_memb_read_unlock();
}

void RcuSynchronize() {
  urcu_memb_synchronize_rcu();
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(&grace_period_token);
#endif
}

}  // namespace loupe::internal
