#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the RPM from the working tree (build directories left out):
#   packaging/rpm/build-rpm.sh [OUTPUT_DIR [RPMBUILD_OPTIONS...]]   (default: ./dist)
# e.g. on Debian, without the Fedora build dependencies and macros:
#   packaging/rpm/build-rpm.sh dist --nodeps
# Environment: JOBS (parallel jobs, default: all cores).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${1:-$PWD/dist}" && cd "${1:-$PWD/dist}" && pwd)
shift || true
spec="$top/packaging/rpm/core_interceptor.spec"
version=$(sed -n 's/^Version: *//p' "$spec")

work=$(mktemp -d "${TMPDIR:-/tmp}/core-interceptor-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS}

# The sources Meson needs, and the wraps of subprojects/ without anything downloaded.
tar -C "$top" -c --exclude='*.deb' --exclude='*.rpm' \
  --transform="s,^\./,core_interceptor-$version/," \
  ./LICENCE ./README.md ./meson.build ./meson_options.txt ./src ./tests ./packaging ./scripts \
  $(cd "$top" && find ./subprojects -maxdepth 1 -name '*.wrap') |
  gzip -n >"$work/SOURCES/core_interceptor-$version.tar.gz"
cp "$top/packaging/systemd/core_interceptor.sysusers" "$work/SOURCES/core_interceptor.sysusers"
cp "$spec" "$work/SPECS/"

rpmbuild --define "_topdir $work" --define "_smp_mflags -j${JOBS:-$(nproc)}" \
  -bb "$@" "$work/SPECS/core_interceptor.spec"

find "$work/RPMS" -name '*.rpm' -exec cp {} "$out/" \; -exec basename {} \;
