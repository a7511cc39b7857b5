#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks core_interceptor(8) against "core_interceptor --help": every option of --help is an
# item of the man page's OPTIONS section (with its short form, if any, and its default, if
# any), no item names an option --help does not know, and the version is the binary's.
# Usage: check-manpage.sh path/to/core_interceptor path/to/core_interceptor.8
set -eu

exe=$1
man=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --help lines: "  -X [ --kafka-property ] K=V   text" or "  --kafka-topic NAME (=cores)   text".
# Prints "long|short|default" per option.
"$exe" --help | sed -n '/^  -/p' |
  sed -e 's/^  \(-[A-Za-z]\) \[ --\([a-z0-9-]*\) \]/  --\2 \1/' -e 's/^  --\([a-z0-9-]*\) \(-[A-Za-z]\)\{0,1\}/\1|\2|/' |
  sed 's/^\([^|]*|[^|]*|\)[^(]*\((=\([^)]*\))\)\{0,1\}.*/\1\3/' >"$tmp/help"
[ -s "$tmp/help" ] || { echo "no options found in --help" >&2; exit 1; }

# Man page OPTIONS items: "tag|body" per .TP, roff escapes, font changes and quotes removed.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(lq\|\\(rq//g' "$man" |
  awk '
    /^\.SH/ { inopts = ($2 == "OPTIONS"); if (item) print item; item = ""; next }
    !inopts { next }
    /^\.TP/ { if (item) print item; item = ""; tag = 1; next }
    {
      line = $0
      sub(/^\.[A-Z]+ */, "", line)
      gsub(/"/, "", line)
      if (tag) { item = line "|"; tag = 0 } else if (item != "") item = item " " line
    }
    END { if (item) print item }
  ' >"$tmp/items"

status=0
while IFS='|' read -r long short default; do
  tag=$(awk -F '|' -v o="--$long" '{ n = split($1, w, /[ ,]+/); for (i = 1; i <= n; i++) if (w[i] == o) print }' "$tmp/items")
  if [ -z "$tag" ]; then
    echo "$man: option --$long of --help is not described under OPTIONS" >&2
    status=1
    continue
  fi
  if [ -n "$short" ] && ! printf '%s\n' "$tag" | cut -d'|' -f1 | tr -s ' ,' '\n\n' | grep -q -x -- "$short"; then
    echo "$man: option --$long: short form $short is missing" >&2
    status=1
  fi
  if [ -n "$default" ] && ! printf '%s\n' "$tag" | cut -d'|' -f2- | grep -q -F -- "Default: $default"; then
    echo "$man: option --$long: default '$default' is missing (\"Default: $default\")" >&2
    status=1
  fi
done <"$tmp/help"

# The other way round: no stale options.
cut -d'|' -f1 "$tmp/items" | grep -o -- '--[a-z0-9-]*' | sed 's/^--//' | while read -r long; do
  cut -d'|' -f1 "$tmp/help" | grep -q -x -- "$long" ||
    { echo "$man: option --$long is not in --help" >&2; exit 1; }
done || status=1

version=$("$exe" --version | sed 's/^core_interceptor //')
grep -q "^\.TH .*\"core_interceptor $version\"" "$man" ||
  { echo "$man: .TH does not name version $version" >&2; status=1; }

exit "$status"
