#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian package in one command:
#   scripts/build-deb.sh [OUTPUT_DIR]        (default: ./dist)
# Installs the packaging tools and the Build-Depends of packaging/debian/control, copies the
# working tree (build directories left out) to a temporary directory with packaging/debian as
# debian/, runs "dpkg-buildpackage -us -uc -b" there, puts the .deb, .buildinfo and .changes
# into OUTPUT_DIR and runs lintian on them (failing on any error or warning).
# Environment: JOBS (parallel jobs, default: all cores), DEB_BUILD_OPTIONS (e.g. nocheck),
# SKIP_DEPS=1 (do not call apt-get), SKIP_LINTIAN=1.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$PWD/dist}" && cd "${1:-$PWD/dist}" && pwd)
jobs=${JOBS:-$(nproc)}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

work=$(mktemp -d "${TMPDIR:-/tmp}/core-interceptor-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- a clean copy of the tree ------------------------------------------------------------
version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version 2>/dev/null ||
  sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$top/packaging/debian/changelog")
src="$work/core-interceptor-${version}"
mkdir -p "$src"
tar -C "$top" -c \
  --exclude=./.git --exclude='./build' --exclude='./build-*' --exclude='./builddir' \
  --exclude='./dist' --exclude='./obj-*' --exclude='./debian' \
  --exclude='./subprojects/*' --exclude='*.deb' --exclude='*.rpm' \
  . | tar -C "$src" -x
for w in "$top"/subprojects/*.wrap; do   # wraps only, no downloaded sources
  [ ! -e "$w" ] || cp "$w" "$src/subprojects/"
done
cp -a "$top/packaging/debian" "$src/debian"

# --- packaging tools and Build-Depends ----------------------------------------------------
if [ "${SKIP_DEPS:-0}" != 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  need=()
  for p in dpkg-dev debhelper lintian; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ] || ! (cd "$src" && dpkg-checkbuilddeps >/dev/null 2>&1); then
    $sudo apt-get update -q
    [ ${#need[@]} -eq 0 ] || $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
    # apt reads Build-Depends (and build profiles) straight from the unpacked tree.
    $sudo apt-get build-dep -y -q --no-install-recommends "$src"
  fi
fi

# --- build ---------------------------------------------------------------------------------
(cd "$src" && dpkg-buildpackage -us -uc -b -j"$jobs")

changes=$(cd "$work" && ls core-interceptor_"${version}"_*.changes)
for f in $(sed -n '/^Files:/,/^[A-Z]/s/^ [0-9a-f]\{32\} [0-9]* [^ ]* [^ ]* //p' "$work/$changes") "$changes"; do
  cp "$work/$f" "$out/"
done
echo "built in $out:" >&2
(cd "$out" && ls -l $(sed -n '/^Files:/,/^[A-Z]/s/^ [0-9a-f]\{32\} [0-9]* [^ ]* [^ ]* //p' "$changes") "$changes") >&2

# --- lintian -------------------------------------------------------------------------------
if [ "${SKIP_LINTIAN:-0}" != 1 ]; then
  lintian --info --display-info --fail-on error,warning "$out/$changes"
  echo "lintian: no errors or warnings" >&2
fi
