#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the container image of the daemon in one command:
#   scripts/build-image.sh [TAG]          (default: core_interceptor:VERSION of the package)
# From the project's own .deb (scripts/build-deb.sh, unless DEB names one) on a minimal Debian
# rootfs made here with mmdebstrap from this machine's Debian apt sources (nothing is pulled from
# an image registry), `docker import`ed into the Docker engine of DOCKER_HOST (default: the local
# one) with: ENTRYPOINT the daemon (records on stdout), HEALTHCHECK on /healthz of
# CORE_INTERCEPTOR_METRICS_ADDRESS (127.0.0.1:9464), VOLUME /var/lib/core_interceptor (the state
# directory). Options come as arguments, CORE_INTERCEPTOR_<OPTION> variables or a file mounted
# over /etc/core_interceptor/core_interceptor.conf (CORE_INTERCEPTOR_CONFIG in the image):
# README.md, "Running it as a container". Prints the image's tag on stdout, all else on stderr.
# Environment: DEB (a core-interceptor_*.deb to use), VARIANT (mmdebstrap variant, default
# essential; minbase adds apt), CACHE_DIR (keep the rootfs tarball there,
# keyed by what it holds: a second build with the same .deb imports it at once), SKIP_DEPS=1
# (do not call apt-get); JOBS, DEB_BUILD_OPTIONS, SKIP_LINTIAN go to scripts/build-deb.sh.
set -euo pipefail

prog=${0##*/}
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "$prog: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    exec sudo --preserve-env=DEB,CACHE_DIR,SKIP_DEPS,JOBS,DEB_BUILD_OPTIONS,SKIP_LINTIAN,DOCKER_HOST \
      "$0" "$@"
  fi
  die "needs root (mmdebstrap, dpkg and the Docker socket): run it as root"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/core-interceptor-image.XXXXXX")
trap 'rm -rf "$work"; [ -z "${partial:-}" ] || rm -f "$partial"' EXIT

# --- tools ---------------------------------------------------------------------------------
need=()
for tool in mmdebstrap:mmdebstrap dpkg-deb:dpkg docker:docker.io; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "${SKIP_DEPS:-0}" != 1 ] || die "missing: ${need[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
docker version >/dev/null || die "no Docker engine answers at ${DOCKER_HOST:-the default socket}"

# --- the .deb -------------------------------------------------------------------------------
deb=${DEB:-}
if [ -z "$deb" ]; then
  "$top/scripts/build-deb.sh" "$work/dist" >&2
  deb=$(ls "$work"/dist/core-interceptor_*.deb | head -n 1)
fi
[ -f "$deb" ] || die "no such .deb: $deb"
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
version=$(dpkg-deb -f "$deb" Version)
arch=$(dpkg-deb -f "$deb" Architecture)
tag=${1:-core_interceptor:$(printf '%s' "$version" | tr -c 'A-Za-z0-9_.-' '_')}

# --- the machine's Debian apt sources ----------------------------------------------------------
. /etc/os-release
[ "${ID:-}" = debian ] && [ -n "${VERSION_CODENAME:-}" ] ||
  die "not a Debian machine (ID=${ID:-?}): the rootfs is made from its own apt sources"
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  # Debian's archives only (deb.debian.org, a mirror of it): no third-party repositories.
  grep -Eq '^[^#]*https?://[^[:space:]]*debian' "$f" || continue
  sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || echo "$prog: no Debian apt sources here: mmdebstrap uses its default mirror" >&2

# --- the rootfs -------------------------------------------------------------------------------
# The Essential packages (no apt: the image is rebuilt, not upgraded), merged /usr, the package
# and its dependencies (its system user made by the standalone systemd-sysusers, not all of
# systemd); no documentation, man pages or locales.
files="$top/packaging/container"
key=$( (echo "$VERSION_CODENAME $arch ${VARIANT:-essential}"; sha256sum "$deb" "$files/entrypoint" "$files/healthcheck" \
  "$0" | cut -d' ' -f1; for f in "${sources[@]}"; do cat "$f"; done) | sha256sum | cut -c1-16)
cache=${CACHE_DIR:-$work}
mkdir -p "$cache"
rootfs="$cache/image-rootfs-$key.tar"
if [ -f "$rootfs" ]; then
  echo "$prog: rootfs cached: $rootfs" >&2
else
  start=$(date +%s)
  partial="$cache/image-rootfs-$key.partial.tar"
  mmdebstrap --variant="${VARIANT:-essential}" --format=tar --architectures="$arch" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --include="systemd-standalone-sysusers,$deb" \
    --customize-hook="copy-in $files/entrypoint $files/healthcheck /usr/local/bin" \
    --customize-hook='mv "$1/usr/local/bin/entrypoint" "$1/usr/local/bin/core_interceptor-entrypoint"' \
    --customize-hook='mv "$1/usr/local/bin/healthcheck" "$1/usr/local/bin/core_interceptor-healthcheck"' \
    --customize-hook='mkdir -p "$1/var/lib/core_interceptor" && chmod 0700 "$1/var/lib/core_interceptor"' \
    --customize-hook='chroot "$1" /usr/sbin/core_interceptor --version' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log' \
    "$VERSION_CODENAME" "$partial" "${sources[@]}" >&2
  # Only the newest rootfs is kept.
  find "$cache" -maxdepth 1 -name 'image-rootfs-*.tar' ! -name "${partial##*/}" -delete
  mv "$partial" "$rootfs"
  echo "$prog: rootfs made in $(( $(date +%s) - start )) s" >&2
fi

# --- the image --------------------------------------------------------------------------------
# As root: the mounted Docker socket is root's (whoever may use it is root on the host anyway).
docker import \
  --change 'ENTRYPOINT ["/usr/local/bin/core_interceptor-entrypoint"]' \
  --change 'CMD []' \
  --change 'ENV CORE_INTERCEPTOR_CONFIG=/etc/core_interceptor/core_interceptor.conf CORE_INTERCEPTOR_METRICS_ADDRESS=127.0.0.1:9464' \
  --change 'VOLUME /var/lib/core_interceptor' \
  --change 'WORKDIR /var/lib/core_interceptor' \
  --change 'HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/core_interceptor-healthcheck"]' \
  --change "LABEL org.opencontainers.image.title=core_interceptor org.opencontainers.image.version=$version org.opencontainers.image.licenses=MIT" \
  --message "core_interceptor $version from $(basename "$deb")" \
  "$rootfs" "$tag" >&2
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "$prog: built $tag ($(( size / 1024 / 1024 )) MiB)" >&2
echo "$tag"
