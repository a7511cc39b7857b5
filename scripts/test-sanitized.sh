#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite built with AddressSanitizer and UndefinedBehaviorSanitizer (any report
# fails the run). Leak detection is on for the unit tests; for the integration tests it is off,
# because LeakSanitizer's stop-the-world tracer is a child task of the daemon and the shutdown
# test asserts the daemon has no child process.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/as-root.sh
as_root "$@"

scripts/install-deps.sh
build=${BUILD_DIR:-build-sanitize}
integration=auto
if [ "${CI:-}" = "true" ] || [ "${REQUIRE_INTEGRATION:-}" = "1" ]; then
  integration=enabled
fi
if [ ! -d "$build" ]; then
  meson setup "$build" -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
    -Dintegration_tests="$integration"
fi
ninja -C "$build"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  meson test -C "$build" --print-errorlogs --suite unit || status=$?
cp "$build/meson-logs/testlog.json" "$build/meson-logs/testlog-unit.json"
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  meson test -C "$build" --print-errorlogs --num-processes 1 --suite integration || status=$?
cat "$build/meson-logs/testlog-unit.json" >> "$build/meson-logs/testlog.json"
python3 scripts/summarize-tests.py "$build/meson-logs/testlog.json" || status=1
exit "$status"
