#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks the default configuration against the daemon: every option of --help (but help,
# version, config and the command-line mode check) is listed in it, and the daemon accepts it both as installed (all
# commented out) and with every "#key = default" line uncommented.
# Usage: check-config.sh path/to/core_interceptor path/to/core_interceptor.conf
set -eu

exe=$1
conf=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$exe" --help >"$tmp/help"
sed -n 's/^  \(-[A-Za-z] \[ \)\{0,1\}--\([a-z][a-z0-9-]*\).*/\2/p' "$tmp/help" |
  grep -v -x -e help -e version -e config -e check >"$tmp/options"
[ -s "$tmp/options" ] || { echo "no options found in --help" >&2; exit 1; }

status=0
while read -r opt; do
  grep -q "^#$opt =" "$conf" || { echo "$conf: option '$opt' is missing" >&2; status=1; }
done <"$tmp/options"

# Keys that are not options would make the daemon refuse the file once uncommented.
sed -n 's/^#\([a-z][a-z0-9-]*\) =.*/\1/p' "$conf" | sort -u >"$tmp/keys"
while read -r key; do
  grep -q -x -e "$key" "$tmp/options" || { echo "$conf: '$key' is not an option" >&2; status=1; }
done <"$tmp/keys"

# The daemon runs (waiting for a Docker daemon that is not there, its state in the temporary
# directory) until SIGTERM, then exits 0; a configuration error exits 2 at once.
run() {
  rc=0
  timeout --preserve-status 2 "$exe" --config "$1" --docker-host "unix://$tmp/no-docker.sock" \
    --state-dir "$tmp/state" --log-level error 2>"$tmp/stderr" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "$2: core_interceptor exited with status $rc:" >&2
    cat "$tmp/stderr" >&2
    status=1
  fi
}
# A copy, private as the daemon wants it (a source tree's files are world-readable).
install -m 0600 "$conf" "$tmp/installed.conf"
run "$tmp/installed.conf" "$conf as installed"
sed 's/^#\([a-z][a-z0-9-]* = ..*\)$/\1/' "$conf" >"$tmp/defaults.conf"
chmod 0600 "$tmp/defaults.conf"
run "$tmp/defaults.conf" "$conf with the defaults uncommented"

exit "$status"
