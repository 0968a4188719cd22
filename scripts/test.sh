#!/usr/bin/env bash
# The README's test command. On a fresh Debian 12 machine, as root: installs
# the dependencies, builds, and runs every test suite:
#   build/       release build: suites unit, stress and integration (real
#                loupe-agent processes, Alertmanager, promtool)
#   build-tsan/  ThreadSanitizer: suite stress (the lock-free code)
#   build-asan/  AddressSanitizer + UBSan: suites unit and stress
# Exits non-zero on the first failure. Ends with one line
# "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/install-deps.sh

JOBS=${JOBS:-$(nproc)}

# setup DIR ARGS...: configure DIR, or reconfigure it if it exists.
# Meson says why on standard output, so that is kept for a failure.
setup() {
  local dir=$1; shift
  local cmd=(meson setup "$dir" "$@")
  [[ -f $dir/build.ninja ]] && cmd=(meson configure "$dir" "$@")
  local out
  if ! out=$("${cmd[@]}" 2>&1); then
    tail -n 30 <<<"$out" >&2
    echo "test.sh: ${cmd[*]} failed" >&2
    return 1
  fi
}

# run_suites DIR all|only SUITE...: build DIR -- every target (all), or
# only what the suites' tests need (only: scripts/suite-targets; the
# sanitizer builds skip the benchmarks, tools and process tests) -- and run
# the suites in it. Prints how long each step took.
run_suites() {
  local dir=$1 what=$2; shift 2
  local args=() targets=() start=$SECONDS
  for s in "$@"; do args+=(--suite "$s"); done
  if [[ $what == only ]]; then
    mapfile -t targets < <(scripts/suite-targets "$dir" "$@")
  fi
  echo "== $dir: building ${targets[*]:+${#targets[@]} targets for suites $*}"
  if ! ninja -C "$dir" -j "$JOBS" "${targets[@]}" >"$dir/ninja.log" 2>&1; then
    grep -E -A4 '^FAILED|error:' "$dir/ninja.log" | head -n 60 >&2
    echo "test.sh: building $dir failed (whole log: $dir/ninja.log)" >&2
    return 1
  fi
  echo "== $dir: built in $((SECONDS - start)) s; suites $*"
  start=$SECONDS
  meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "$JOBS" \
    "${args[@]}"
  echo "== $dir: suites $* in $((SECONDS - start)) s"
}

setup build --buildtype=release
run_suites build all unit stress integration

# The sanitizer trees: -O1 with line tables only (-g1), which the
# sanitizers' reports need, and which compiles far faster than -O2 -g on
# two cores; the sanitizers themselves recommend -O1.
# GCC 12 at -O1 reports bounds it cannot see are dead in inlined library
# code (-Wstringop-overflow, -Warray-bounds); the release tree (-O3,
# -Werror) keeps those warnings.
SANITIZER_FLAGS=(--buildtype=plain -Doptimization=1 -Ddebug=false
  -Dc_args=-g1
  "-Dcpp_args=['-g1','-Wno-stringop-overflow','-Wno-array-bounds']")

setup build-tsan "${SANITIZER_FLAGS[@]}" -Db_sanitize=thread
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  run_suites build-tsan only stress

setup build-asan "${SANITIZER_FLAGS[@]}" -Db_sanitize=address,undefined \
  -Db_lundef=false
ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
  run_suites build-asan only unit stress

# libFuzzer (clang++, with ASan and UBSan) on the expression language and
# the header parser: coverage-guided runs from the seed corpus of the
# GCC-built driver, each bounded by RUNS and by 55 s (about 40 s for 200000
# runs of expression_fuzz on a 2-core VM, a few seconds of
# packet_parser_fuzz).
fuzz_libfuzzer() {
  local name=$1 runs=$2
  local targets
  targets=$(ninja -C build -t targets all 2>/dev/null || true)
  if ! grep -q "^tests/${name}_libfuzzer:" <<<"$targets"; then
    meson setup --reconfigure build >/dev/null  # clang++ came after setup
  fi
  echo "== build: libFuzzer $name, $runs runs"
  if ! ninja -C build -j "$JOBS" "tests/${name}_libfuzzer" \
      >"build/${name}_libfuzzer.ninja.log" 2>&1; then
    grep -E -A4 '^FAILED|error:' "build/${name}_libfuzzer.ninja.log" |
      head -n 60 >&2
    echo "test.sh: building ${name}_libfuzzer failed" >&2
    return 1
  fi
  local work
  work=$(mktemp -d)
  "build/tests/$name" --write-seeds "$work" >/dev/null
  mkdir -p build/fuzz-artifacts
  if ! "build/tests/${name}_libfuzzer" -runs="$runs" -max_total_time=55 \
      -max_len=4096 -timeout=10 -print_final_stats=1 \
      -artifact_prefix=build/fuzz-artifacts/ "$work" >"build/$name.log" 2>&1; then
    tail -n 40 "build/$name.log" >&2
    echo "fuzz: $name failed; the input is in build/fuzz-artifacts/" >&2
    rm -rf "$work"
    return 1
  fi
  rm -rf "$work"
  grep -E '^(Done|stat::number_of_executed_units)' "build/$name.log" || true
}
if command -v clang++ >/dev/null; then
  fuzz_libfuzzer expression_fuzz 200000
  fuzz_libfuzzer packet_parser_fuzz 200000
else
  echo "== fuzz: clang++ not found; skipped the libFuzzer run"
fi

/usr/bin/python3 - "$ROOT" <<'PY'
import json, pathlib, sys
passed = failed = 0
for d in ("build", "build-tsan", "build-asan"):
    log = pathlib.Path(sys.argv[1], d, "meson-logs", "testlog.json")
    if not log.exists():
        continue
    for line in log.read_text().splitlines():
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL", "SKIP"):
            passed += r != "SKIP"
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
