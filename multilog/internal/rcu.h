// RCU helpers over liburcu's membarrier flavour (urcu-memb). A thread that
// reads RCU-protected multilog state must be registered with liburcu; these
// helpers register the calling thread on first use and unregister it when
// it exits, so embedders (gRPC handlers, tests, DPDK lcores) need not.
//
// RcuReadLock is a scoped read-side critical section; it nests. Synchronize
// waits for every critical section that began before it (it must not be
// called inside one). Both are safe from any thread.
#ifndef LOUPE_MULTILOG_INTERNAL_RCU_H_
#define LOUPE_MULTILOG_INTERNAL_RCU_H_

namespace loupe::internal {

// Registers the calling thread with liburcu if it is not yet.
void RcuRegisterThisThread();

class RcuReadLock {
 public:
  RcuReadLock();
  ~RcuReadLock();
  RcuReadLock(const RcuReadLock&) = delete;
  RcuReadLock& operator=(const RcuReadLock&) = delete;
};

void RcuSynchronize();

}  // namespace loupe::internal

#endif  // LOUPE_MULTILOG_INTERNAL_RCU_H_
