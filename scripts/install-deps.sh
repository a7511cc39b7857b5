#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs everything needed to build core_interceptor and run its tests, from Debian 12
# packages. Safe to run again: it does nothing when everything is there.
set -euo pipefail

packages=(
  # build
  g++ meson ninja-build pkg-config cmake
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-log1.81-dev
  libboost-program-options1.81-dev libboost-thread1.81-dev
  librdkafka-dev libsystemd-dev libssl-dev doctest-dev
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # the real parts the integration tests and the demo start
  docker.io containerd runc docker-registry busybox-static kcat
  # Podman's Docker-compatible service, one engine of the test matrix (conmon comes with it)
  podman
  # certificates of the TLS tests (a private CA, server and client certificates)
  openssl
  # the installed test (tests/installed): a Debian rootfs booted with systemd
  mmdebstrap
  # promtool for the alerting rules' tests (packaging/monitoring). The package also brings a
  # Prometheus server (port 9090), which its postinst starts wherever services may be started;
  # the tests need only promtool and use no fixed port
  prometheus
  # the formatting check (scripts/check-format.sh); the version pins the output
  clang-format-14
  # scripts
  python3 curl ca-certificates iproute2 procps
  # benchmark charts (scripts/bench.sh)
  gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
