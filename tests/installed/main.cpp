// SPDX-License-Identifier: MIT
// The installed end-to-end tests: the Debian package, installed with dpkg into a Debian rootfs
// booted with systemd as PID 1 in the private test dockerd (issue 4), and the container image
// scripts/build-image.sh builds from the same package, run there (issue 14). Environment:
//   CORE_INTERCEPTOR_SOURCE_ROOT       the source tree whose scripts/build-deb.sh builds the
//                                      package (set by `meson test`)
//   CORE_INTERCEPTOR_RUN_SINKS         tests/manual/run_sinks, run inside the booted system
//                                      (set by `meson test`)
//   CORE_INTERCEPTOR_INSTALLED_CACHE   where the rootfs tarballs are kept between runs (set by
//                                      `meson test` to the build directory; empty: no cache)
//   CORE_INTERCEPTOR_DEB               a .deb built already: used instead of building one
//                                      (else one is built, once for both tests)
//   CORE_INTERCEPTOR_DEB_JOBS          parallel jobs of the package build (default: all cores)
//   CORE_INTERCEPTOR_REQUIRE_PARTS=1   a missing part (root, dockerd, docker-registry,
//                                      mmdebstrap, cores in containers) fails instead of
//                                      skipping; so does CI=true
//   CORE_INTERCEPTOR_KEEP_TEMP=1       keep the temp dirs (build log, dockerd, registry logs)
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
