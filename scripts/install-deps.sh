#!/usr/bin/env bash
# Installs, with apt-get, every Debian package loupe builds, tests or runs with.
# Idempotent: quiet and fast when everything is already installed; exits
# non-zero, naming the packages, when an install fails.
set -euo pipefail

PACKAGES=(
  # toolchain and build
  build-essential meson ninja-build pkg-config clang-format
  # libraries
  liburcu-dev libcli11-dev
  dpdk dpdk-dev libdpdk-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing: clang++ and its libFuzzer runtime (libclang_rt.fuzzer)
  clang libclang-rt-14-dev libtomlplusplus-dev libcpp-httplib-dev prometheus prometheus-alertmanager python3-scapy iproute2 libpcap-dev
  # the OVS mirror integration test
  openvswitch-switch ethtool iputils-ping
  # systemd-analyze verify of the units
  systemd
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or with sudo) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
  echo "install-deps: apt-get update failed" >&2
  exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/loupe-install-deps.log 2>&1; then
  tail -n 30 /tmp/loupe-install-deps.log >&2
  echo "install-deps: apt-get install failed for: ${missing[*]} (full log: /tmp/loupe-install-deps.log)" >&2
  exit 1
fi
echo "install-deps: done"
