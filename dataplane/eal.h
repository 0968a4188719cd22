// DPDK EAL set-up for the process: arguments come from the caller (the
// agent's configuration), e.g. {"--no-huge", "-m", "512", "--no-pci",
// "--file-prefix=loupe", "--lcores=0@(0-1),1@0,2@1"}.
//
// DPDK allows one EAL per process: InitEal succeeds once; later calls
// return kFailedPrecondition. After init, the calling thread's CPU
// affinity is reset to every CPU the process may use, so that threads it
// starts later (RPC, the multilogs' maintenance and trigger monitors) float
// instead of sharing the main lcore's CPU with a polling lcore.
#ifndef LOUPE_DATAPLANE_EAL_H_
#define LOUPE_DATAPLANE_EAL_H_

#include <string>
#include <vector>

#include "multilog/status.h"

namespace loupe::dataplane {

// kInvalidArgument with DPDK's reason when rte_eal_init fails.
Status InitEal(const std::vector<std::string>& args);
bool EalInitialized();
// Releases EAL resources (rte_eal_cleanup); call last, after every Pipeline
// is destroyed.
void CleanupEal();

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_EAL_H_
