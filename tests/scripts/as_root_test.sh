#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# README's two commands run as written (SPEC §8): they carry no sudo, and every script that
# needs root, started by a user who is not root, re-runs itself with sudo when there is one
# (a recording stand-in here) and otherwise stops with one line saying what to do.
# Usage: as_root_test.sh SOURCE_ROOT. Needs root (to become nobody); skips (77) without it.
set -uo pipefail
top=$1
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# The lines of the first code block under "## Two commands", comments and blank lines left out.
commands=$(awk '/^## Two commands/ { section = 1; next }
                section && /^```/ { if (inside) exit; inside = 1; next }
                inside && !/^#/ && NF' "$top/README.md")
check "README gives two commands" '[ "$(printf "%s\n" "$commands" | wc -l)" -eq 2 ]'
check "README's commands carry no sudo" '! printf "%s\n" "$commands" | grep -qw sudo'
check "README's commands name scripts/demo.sh and scripts/test.sh" \
  'printf "%s\n" "$commands" | grep -qx "scripts/demo.sh" && printf "%s\n" "$commands" | grep -qx "scripts/test.sh"'

if [ "$(id -u)" -ne 0 ]; then
  echo "not root: cannot run the scripts as another user"
  [ "$fail" -eq 0 ] && exit 77
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
# A bin folder with only what the scripts need before they ask for root: no sudo in it.
mkdir "$work/bin" "$work/with-sudo"
for tool in bash env id basename dirname cat; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
# The stand-in sudo records its arguments and what it was asked to keep.
cat >"$work/with-sudo/sudo" <<'SUDO'
#!/bin/sh
printf '%s\n' "$*" >"$SUDO_RECORD"
SUDO
chmod 755 "$work/with-sudo/sudo"
# The scripts run from a copy readable by nobody (the tree may sit in a private home).
mkdir -p "$work/tree"
cp -r "$top/scripts" "$work/tree/"
chmod -R a+rX "$work/tree"
touch "$work/record"
chmod 666 "$work/record"

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH="$1" SUDO_RECORD="$work/record" bash "$2" arg1; }

for script in demo.sh test.sh test-sanitized.sh bench.sh; do
  out=$(as_nobody "$work/bin" "$work/tree/scripts/$script" 2>&1)
  status=$?
  check "$script without sudo: exit 1" '[ "$status" -eq 1 ]'
  check "$script without sudo: one line naming what to do" \
    '[ "$(printf "%s\n" "$out" | wc -l)" -eq 1 ] && printf "%s" "$out" | grep -q "run it from a root shell"'
  : >"$work/record"
  out=$(as_nobody "$work/with-sudo:$work/bin" "$work/tree/scripts/$script" 2>&1)
  status=$?
  check "$script with sudo: re-runs itself through sudo" \
    '[ "$status" -eq 0 ] && [ "$(cat "$work/record")" = "-E $work/tree/scripts/$script arg1" ]'
done
exit "$fail"
