#!/usr/bin/env bash
# The DPDK-free libraries stay DPDK-free: each binary given links no DPDK
# library (librte_*). The binaries are test programs that link only one of
# the loupe_* libraries (alert sinks, metrics server, log, ...) and the
# daemons and tools that a host without DPDK runs (loupectl,
# loupe-coordinator). A dependency that starts running back up the layers
# (multilog <- dataplane <- agent <- coordinator) fails here by name.
set -u
status=0
for binary in "$@"; do
  if ! libs=$(ldd "$binary" 2>&1); then
    echo "FAIL: ldd $binary: $libs"
    status=1
    continue
  fi
  rte=$(grep -o 'librte_[a-z0-9_]*' <<<"$libs" | sort -u | tr '\n' ' ')
  if [[ -n $rte ]]; then
    echo "FAIL: $(basename "$binary") links DPDK: $rte"
    status=1
  else
    echo "ok: $(basename "$binary") links no DPDK"
  fi
done
exit $status
