// SPDX-License-Identifier: MIT
// The integration suite. Environment:
//   CORE_INTERCEPTOR_BIN               the daemon under test (set by `meson test`)
//   CORE_INTERCEPTOR_REQUIRE_PARTS=1   a missing part (root, dockerd, docker-registry, cores in
//                                      containers) fails instead of skipping; so does CI=true
//   CORE_INTERCEPTOR_EXPECTED_VERSION  what `--version` must print (set by `meson test`)
//   CORE_INTERCEPTOR_KEEP_TEMP=1       keep the temp dirs (daemon, dockerd, registry logs)
//   CORE_INTERCEPTOR_KAFKA_DEBUG=1     show the test consumer's librdkafka log
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
