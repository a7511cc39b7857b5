#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the dependencies, builds core_interceptor from scratch and runs the whole test
# suite: doctest unit tests and integration tests against a private dockerd, docker-registry,
# librdkafka's mock cluster and an HTTP sink (root is needed for dockerd), and the engine
# matrix (suite `engines`: Docker Engine 28 with both image stores and its minimum API version
# raised, Podman), after fetching Docker Engine 28 into its cache (scripts/fetch-engine.sh).
# Prints "N passed, N failed" (doctest cases) as its last line. Under CI=true a missing part
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/as-root.sh
as_root "$@"

scripts/install-deps.sh
# Without it the engines suite fails under CI=true (its engine is missing) and skips otherwise.
scripts/fetch-engine.sh || echo "test.sh: Docker Engine 28 is not at hand for the engines suite" >&2

build=${BUILD_DIR:-build}
integration=auto
if [ "${CI:-}" = "true" ] || [ "${REQUIRE_INTEGRATION:-}" = "1" ]; then
  integration=enabled
fi
if [ -d "$build" ]; then
  meson configure "$build" -Dintegration_tests="$integration" >/dev/null
else
  meson setup "$build" -Dintegration_tests="$integration"
fi
ninja -C "$build"

status=0
meson test -C "$build" --print-errorlogs --num-processes 1 "$@" || status=$?
python3 scripts/summarize-tests.py "$build/meson-logs/testlog.json" || status=1
exit "$status"
