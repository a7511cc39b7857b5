#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every cross-module include is declared (STYLE §1): a `#include "X/..."` in src/Y/ needs Y's
# meson.build to name a dependency that src/X/meson.build declares (`NAME = declare_dependency`),
# so the build graph says what the sources use. Prints each undeclared include, file:line.
# Usage: include_deps_test.sh SOURCE_ROOT.
set -euo pipefail
src=$1/src
fail=0

# dependency name -> the module whose meson.build declares it ("co_dep co", "error_dep co", …)
declared=$(for build in "$src"/*/meson.build; do
  module=$(basename "$(dirname "$build")")
  sed -n 's/^[[:space:]]*\([a-z0-9_]*_dep\)[[:space:]]*=[[:space:]]*declare_dependency.*/\1/p' \
    "$build" | sed "s/\$/ $module/"
done | sort -u)

for dir in "$src"/*/; do
  module=$(basename "$dir")
  # The modules this one's meson.build names a dependency of (itself included).
  uses=$(printf '%s\n' "$module"
    grep -o '\b[a-z0-9_]*_dep\b' "$dir/meson.build" | sort -u | while read -r dep; do
      printf '%s\n' "$declared" | awk -v d="$dep" '$1 == d { print $2 }'
    done)
  while IFS=: read -r file line text; do
    [ -n "$file" ] || continue
    target=$(printf '%s\n' "$text" | sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z0-9_]*\)\/.*/\1/p')
    [ -n "$target" ] && [ -d "$src/$target" ] || continue
    if ! grep -qx "$target" <<<"$uses"; then
      echo "src/$module/$(basename "$file"):$line includes $target/ but src/$module/meson.build" \
        "declares no dependency of $target"
      fail=1
    fi
  done < <(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z0-9_]*/' \
    "$dir"*.cpp "$dir"*.hpp 2>/dev/null || true)
done

[ "$fail" -eq 0 ] && echo "every cross-module include is declared in its module's meson.build"
exit "$fail"
