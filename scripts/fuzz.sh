#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets of tests/fuzz/ with clang in their own build directory and runs
# each for FUZZ_SECONDS (default 600) from a copy of its seed corpus, at most FUZZ_JOBS (default
# 2) at a time. Prints one summary line per target; exits 1 when a target found a crash, a leak
# or a sanitizer report (the input is kept under $BUILD_DIR/fuzz/artifacts/<target>/).
#   scripts/fuzz.sh                      every target
#   FUZZ_SECONDS=60 scripts/fuzz.sh fuzz_image_name fuzz_path_stat
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

build=${BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-2}
export CXX=${CXX:-clang++-14}

all_targets=(fuzz_config_file fuzz_core_notes fuzz_event_stream fuzz_image_name fuzz_path_stat fuzz_push_stream fuzz_registry_auth fuzz_tar_prefix fuzz_volume_dump)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# Build output goes to stderr: stdout is the summary.
if [ -d "$build" ]; then
  meson configure "$build" -Dfuzzing=true -Dtests=true >&2
else
  # Integration tests are off: their dependencies (dockerd, ...) play no part in fuzzing.
  meson setup "$build" -Dfuzzing=true -Dtests=true -Dintegration_tests=disabled >&2
fi
# Only the fuzz targets: they need nothing else, and the rest of the tree does not build with
# clang 14 (libstdc++'s std::source_location, used by the log module, needs clang 15).
meson compile -C "$build" -j "$jobs" "${targets[@]}" >&2

out="$build/fuzz"
mkdir -p "$out"

run_one() {
  local target=$1
  local corpus="$out/corpus/$target" artifacts="$out/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  touch "$out/$target.start"
  # The working corpus grows from a copy of the seeds; the seeds in the source tree stay as they are.
  cp -n tests/fuzz/corpus/"$target"/* "$corpus"/
  local status=0
  "$build/tests/fuzz/$target" "$corpus" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts" -print_final_stats=1 \
    >"$out/$target.log" 2>&1 || status=$?
  echo "$status" >"$out/$target.status"
}

# At most $jobs targets at a time, each one process.
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  echo "fuzzing $target for ${seconds}s (log: $out/$target.log)" >&2
  run_one "$target" &
  running=$((running + 1))
done
wait

failed=0
printf '%-18s %12s %8s %7s %7s %7s %8s  %s\n' \
  target executions exec/s cov ft corpus crashes result
for target in "${targets[@]}"; do
  log="$out/$target.log"
  status=$(cat "$out/$target.status")
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  # The last progress line: "#N DONE cov: C ft: F corp: U/S ..." (or the last pulse/NEW line).
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  field() { sed -n "s/.* $1: \\([^ ]*\\).*/\\1/p" <<<"$last"; }
  crashes=$(find "$out/artifacts/$target" -type f -newer "$out/$target.start" | wc -l)
  result=ok
  if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    result="FAILED (exit $status): see $log"
    failed=1
  fi
  printf '%-18s %12s %8s %7s %7s %7s %8s  %s\n' "$target" \
    "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
    "$(field cov)" "$(field ft)" "$(field corp | cut -d/ -f1)" "$crashes" "$result"
done
exit "$failed"
