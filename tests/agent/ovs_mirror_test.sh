#!/usr/bin/env bash
# loupe-agent beside Open vSwitch, as on a hypervisor (config/ovs-mirror.toml):
# a userspace (netdev) bridge with two network namespaces on it, a mirror of
# every port to a veth pair, and loupe-agent reading the far end through
# DPDK's net_af_packet. The test sends a known number of UDP datagrams from
# one namespace to the other and checks that the agent recorded each exactly
# once, with the right addresses and ports, and that its counters balance
# (received = recorded + drops).
#
# Usage: ovs_mirror_test.sh LOUPE_AGENT LOUPECTL. Needs root and Open
# vSwitch (openvswitch-switch); exits 77 (skipped) without them. Starts
# ovs-vswitchd if it is not running and stops it again; creates and removes
# its own bridge, namespaces and veths (names carry this process's id), and
# never touches other bridges or addresses.
set -euo pipefail

AGENT_BIN=${1:?usage: $0 LOUPE_AGENT LOUPECTL}
LOUPECTL=${2:?usage: $0 LOUPE_AGENT LOUPECTL}
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl
PY=/usr/bin/python3
PACKETS=2000

skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, Open vSwitch)"
[[ -x $OVS_CTL ]] || skip "Open vSwitch is not installed (openvswitch-switch)"
command -v ip >/dev/null || skip "iproute2 is not installed"

id=$(($$ % 100000))
br=lpbr$id        # the bridge
nsa=lp-$id-a      # sender namespace, 10.211.0.1
nsb=lp-$id-b      # receiver namespace, 10.211.0.2
mirror=lpm$id     # the veth end the agent reads; its peer is on the bridge
work=$(mktemp -d /tmp/loupe-ovs-XXXXXX)
started_ovs=0
agent_pid=

vsctl() { timeout 20 ovs-vsctl "$@"; }

cleanup() {
  set +e
  if [[ -n $agent_pid ]]; then
    kill -TERM "$agent_pid" 2>/dev/null
    wait "$agent_pid" 2>/dev/null
  fi
  vsctl --if-exists del-br "$br"
  ip netns del "$nsa" 2>/dev/null
  ip netns del "$nsb" 2>/dev/null
  ip link del "$mirror" 2>/dev/null
  if [[ $started_ovs == 1 ]]; then
    timeout 30 "$OVS_CTL" stop >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f $work/agent.err ]]; then
    echo "--- agent log" >&2
    tail -n 30 "$work/agent.err" >&2
  fi
  exit 1
}

# --- Open vSwitch -----------------------------------------------------------
if ! timeout 5 ovs-vsctl show >/dev/null 2>&1; then
  echo "starting Open vSwitch"
  timeout 60 "$OVS_CTL" start --system-id=random --no-mlockall \
    >"$work/ovs-ctl.log" 2>&1 || { cat "$work/ovs-ctl.log"; fail "ovs-ctl start"; }
  started_ovs=1
fi
vsctl add-br "$br" -- set bridge "$br" datapath_type=netdev

# --- two namespaces on the bridge, and the mirror ---------------------------
ip netns add "$nsa"
ip netns add "$nsb"
for side in a b; do
  ns=lp-$id-$side
  ip link add "lp${side}$id" type veth peer name "lp${side}o$id"
  ip link set "lp${side}$id" netns "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "lp${side}$id" up
  # netdev bridges do not complete checksums the sender offloaded.
  ip netns exec "$ns" ethtool -K "lp${side}$id" tx off >/dev/null 2>&1 || true
  ip link set "lp${side}o$id" up
  vsctl add-port "$br" "lp${side}o$id"
done
ip -n "$nsa" addr add 10.211.0.1/24 dev "lpa$id"
ip -n "$nsb" addr add 10.211.0.2/24 dev "lpb$id"

ip link add "$mirror" type veth peer name "${mirror}o"
# The agent's end carries only the mirror: no addresses, no IPv6 chatter.
sysctl -qw "net.ipv6.conf.$mirror.disable_ipv6=1" 2>/dev/null || true
ip link set "$mirror" up
ip link set "${mirror}o" up
vsctl add-port "$br" "${mirror}o" -- \
  --id=@p get port "${mirror}o" -- \
  --id=@m create mirror name=loupe select-all=true output-port=@p -- \
  set bridge "$br" mirrors=@m >/dev/null

ip netns exec "$nsa" ping -c 3 -i 0.2 -W 2 10.211.0.2 >/dev/null ||
  fail "no connectivity across the bridge $br"

# --- loupe-agent on the mirror ----------------------------------------------
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
rpc=127.0.0.1:$(free_port)
metrics=127.0.0.1:$(free_port)
cat >"$work/agent.toml" <<EOF
[agent]
host = "hv-ovs-test"

[dpdk]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix=loupe-ovs-$id",
            "--lcores=0@(0-1),1@0,2@1", "--log-level=*:warning"]

[[port]]
name = "mirror"
device = "net_af_packet0,iface=$mirror,framecnt=16384"

[dataplane]
mbufs = 16383

[[multilog]]
name = "packets"
schema = "packet"
indexes = ["dst_port"]
filters = [{ name = "probe", expression = "dst_port == 5555 && proto == udp" }]
aggregates = [{ name = "probe_count", filter = "probe", expression = "COUNT()" }]
EOF
"$AGENT_BIN" --config "$work/agent.toml" --listen "$rpc" \
  --metrics-listen "$metrics" >"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
ctl() { "$LOUPECTL" --agent "$rpc" "$@"; }
for _ in $(seq 1 100); do
  ctl health >/dev/null 2>&1 && break
  kill -0 "$agent_pid" 2>/dev/null || fail "loupe-agent exited at start"
  sleep 0.2
done
ctl health >/dev/null || fail "loupe-agent never became healthy"

# --- traffic: $PACKETS datagrams, paced (about 5 kpps) ----------------------
ip netns exec "$nsa" "$PY" - "$PACKETS" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.211.0.1", 4444))
for i in range(int(sys.argv[1])):
    s.sendto(i.to_bytes(4, "big") * 25, ("10.211.0.2", 5555))
    if i % 10 == 9:
        time.sleep(0.002)
EOF

# --- what the agent recorded -------------------------------------------------
count=0
for _ in $(seq 1 50); do
  count=$(ctl --json aggregate get probe_count |
    "$PY" -c 'import json,sys; print(int(json.load(sys.stdin).get("value", 0)))')
  [[ $count -ge $PACKETS ]] && break
  sleep 0.2
done
sleep 1  # a duplicate, if the mirror made one, would arrive by now
count=$(ctl --json aggregate get probe_count |
  "$PY" -c 'import json,sys; print(int(json.load(sys.stdin).get("value", 0)))')
echo "recorded $count of $PACKETS datagrams sent across $br"
[[ $count -eq $PACKETS ]] || fail "the mirror's datagrams were recorded $count times, not $PACKETS"

ctl --json query 'dst_port == 5555' --limit 1 >"$work/query.json"
"$PY" - "$work/query.json" <<'EOF' || fail "the recorded datagram's fields are wrong: $(cat "$work/query.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = doc.get("records") or doc.get("rows") or []
assert rows, "no rows"
r = rows[0]
want = {"src_ip": "10.211.0.1", "dst_ip": "10.211.0.2", "src_port": 4444,
        "dst_port": 5555, "proto": 17, "frame_len": 14 + 20 + 8 + 100}
for k, v in want.items():
    assert str(r.get(k)) == str(v), f"{k}: {r.get(k)!r} != {v!r}"
EOF

ctl --json stats >"$work/stats.json"
"$PY" - "$work/stats.json" <<'EOF' || fail "counters do not balance: $(cat "$work/stats.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
port = doc["dataplane"]["ports"][0]
drops = sum(int(d.get("count", 0)) for d in port.get("drops", []))
received, recorded = int(port["received"]), int(port["recorded"])
print(f"port {port.get('name')}: received {received}, recorded {recorded}, drops {drops}")
assert received == recorded + drops
assert drops == int(port.get("dropped", 0))
assert recorded >= 2000
EOF

kill -TERM "$agent_pid"
wait "$agent_pid" || fail "loupe-agent exited $? on SIGTERM"
agent_pid=
echo "PASS"
