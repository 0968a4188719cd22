#!/usr/bin/env bash
# The README's main job: loupe on a sample capture, live.
#
# Installs dependencies, builds, generates a sample capture with the
# project's traffic generator (a few hundred VM hosts, IPv4 and IPv6, a
# flash crowd toward 10.0.0.80:8080 in the middle), starts loupe-agent on it
# (net_pcap replaying it in a loop at 10,000 packets/s) with
# config/default.toml, whose trigger flash_crowd fires during each burst,
# and runs `loupectl top` until Ctrl-C. Then it stops the agent (which
# drains and exits) and everything else it started.
#
#   scripts/run.sh               live view until Ctrl-C
#   scripts/run.sh --count 30    30 refreshes, then stop (also when piped)
#
# Hugepages are used when they can be reserved and mounted, else --no-huge.
# The agent's log goes to build/loupe-agent.log, its alert feed (JSON
# lines) to build/alerts.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release >/dev/null
fi
echo "run: building loupe-agent, loupectl and loupe-gen ..." >&2
ninja -C build agent/loupe-agent coordinator/loupectl/loupectl dataplane/loupe-gen \
  >/dev/null

capture=build/sample.pcap
if [[ ! -f $capture ]]; then
  build/dataplane/loupe-gen --out "$capture" --packets 100000 --rate 10000 \
    --burst-start 0.5 --burst-end 0.6 --burst-factor 4 >&2
fi

# EAL memory: hugepages if we can have 512 x 2 MiB of them, else plain
# pages. (The sample capture sits in ~300 MB of mbufs.)
eal=(--no-huge -m 1024)
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [[ -w $hp ]]; then
  [[ $(cat "$hp") -ge 512 ]] || echo 512 > "$hp" 2>/dev/null || true
  mkdir -p /dev/hugepages
  mountpoint -q /dev/hugepages ||
    mount -t hugetlbfs none /dev/hugepages 2>/dev/null || true
  free_hp=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
  if mountpoint -q /dev/hugepages && [[ $free_hp -ge 512 ]]; then
    eal=(-m 1024)
  fi
fi
eal+=(--no-pci --file-prefix=loupe-run-$$ "--lcores=0@(0-1),1@0,2@1")
if [[ ${eal[0]} == --no-huge ]]; then
  echo "run: no hugepages available; EAL runs with --no-huge" >&2
else
  echo "run: EAL uses hugepages" >&2
fi

agent_pid=
cleanup() {
  if [[ -n $agent_pid ]] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
    echo "run: loupe-agent stopped (its log: build/loupe-agent.log)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LOUPE_CAPTURE="$root/$capture" build/agent/loupe-agent \
  --config config/default.toml --eal "${eal[*]}" \
  >build/alerts.jsonl 2>build/loupe-agent.log &
agent_pid=$!

# Wait until the agent runs (Health says SERVING once the dataplane is
# up), or fails.
for _ in $(seq 1 300); do
  if ! kill -0 "$agent_pid" 2>/dev/null; then
    echo "run: loupe-agent failed to start:" >&2
    tail -n 20 build/loupe-agent.log >&2
    agent_pid=
    exit 1
  fi
  build/coordinator/loupectl/loupectl --timeout 1s health >/dev/null 2>&1 && break
  sleep 0.2
done
echo "run: loupe-agent is up (gRPC 127.0.0.1:7070, metrics" \
  "http://127.0.0.1:9470/metrics); the flash_crowd alert fires within" \
  "about 10 s, every 10 s. Ctrl-C stops." >&2
build/coordinator/loupectl/loupectl top "$@"
