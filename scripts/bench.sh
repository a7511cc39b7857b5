#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every benchmark against the real parts (a private dockerd, docker-registry, librdkafka's
# mock cluster, an HTTP sink) and prints their markdown tables; tables (*.md) and charts (*.png)
# land in BUILD/bench. Needs root (it starts dockerd). Takes about 12 minutes on 2 cores.
# The daemon is measured as it ships: linked with link-time optimisation (-Dlto=enabled), in a
# build directory of its own.
# Usage: scripts/bench.sh [BUILD_DIR]   (default: build-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/as-root.sh
as_root "$@"
build=${1:-build-bench}

scripts/install-deps.sh
[ -d "$build" ] || meson setup "$build" -Dintegration_tests=enabled -Dlto=enabled
out="$(realpath "$build")/bench"
rm -rf "$out"
mkdir -p "$out"

status=0
meson test -C "$build" --benchmark --print-errorlogs --num-processes 1 || status=$?

echo
echo "== results (tables and charts in $out)"
for f in probe burst e2e; do
  [ -f "$out/$f.md" ] && cat "$out/$f.md"
done
echo
ls -1 "$out"/*.png 2>/dev/null || echo "no charts (gnuplot missing?)"
exit $status
