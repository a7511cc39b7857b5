// SPDX-License-Identifier: MIT
#pragma once

#include "support/private_dockerd.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace core_interceptor::test_support {

/// The environment variable that picks the engine the integration tests run against.
inline constexpr const char* engine_variable = "CORE_INTERCEPTOR_TEST_ENGINE";

/// The environment variable naming the folder where scripts/fetch-engine.sh unpacked Docker
/// Engine 28 (usr/sbin/dockerd, usr/bin/{docker,containerd,...}).
inline constexpr const char* engine_dir_variable = "CORE_INTERCEPTOR_ENGINE_DIR";
/// Where scripts/fetch-engine.sh unpacks Docker Engine 28 by default.
inline constexpr const char* docker28_default_dir =
    "/var/cache/core_interceptor-tests/engines/docker28";

/// The name in CORE_INTERCEPTOR_TEST_ENGINE, "docker" (the machine's dockerd) when unset.
std::string engine_name();

/// CORE_INTERCEPTOR_ENGINE_DIR, else docker28_default_dir.
std::filesystem::path docker28_dir();

/// How to start the engine called `name`: "docker" (the machine's dockerd); Docker Engine 28
/// from docker28_dir() with the machine's runc: "docker28" (overlay2 image store),
/// "docker28-containerd" (the containerd image store), "docker28-minapi" (overlay2, and
/// DOCKER_MIN_API_VERSION=1.44 as Engine 29 enforces); "podman" (Podman's service). Throws
/// missing_part for an engine that is not at hand, std::invalid_argument for an unknown name.
dockerd_options engine_options(std::string_view name);

}  // namespace core_interceptor::test_support
