#!/usr/bin/env bash
# The README's main job, until loupe-agent lands: installs dependencies,
# builds, and runs the multilog append benchmark, which prints records/s,
# ns/record and memory per record as it goes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build tests/bench/data_log_bench >/dev/null
exec build/tests/bench/data_log_bench "$@"
