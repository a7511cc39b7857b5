#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails, naming each file, when a C++ source of the tree differs from what clang-format makes
# of it with the project's .clang-format. Run "scripts/check-format.sh --fix" to format them.
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$cf" ]; then
  echo "check-format: clang-format is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h' 2>/dev/null ||
  find src tests -name '*.cpp' -o -name '*.hpp' -o -name '*.h')
if [ "${1:-}" = "--fix" ]; then
  "$cf" -i "${files[@]}"
  exit 0
fi
# One clang-format for every file; each misformatted line is reported as "FILE:LINE:COL: error".
report=$("$cf" --dry-run --Werror "${files[@]}" 2>&1) && status=0 || status=$?
if [ "$status" -ne 0 ]; then
  bad=$(grep -oE '^[^:]+:[0-9]+:[0-9]+: error' <<<"$report" | cut -d: -f1 | sort -u)
  [ -n "$bad" ] || bad=$report
  printf 'not formatted (scripts/check-format.sh --fix): %s\n' $bad >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
