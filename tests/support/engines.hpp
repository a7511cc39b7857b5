// SPDX-License-Identifier: MIT
#pragma once

#include "support/private_dockerd.hpp"

#include <string>
#include <string_view>

namespace core_interceptor::test_support {

/// The environment variable that picks the engine the integration tests run against.
inline constexpr const char* engine_variable = "CORE_INTERCEPTOR_TEST_ENGINE";

/// The name in CORE_INTERCEPTOR_TEST_ENGINE, "docker" (the machine's dockerd) when unset.
std::string engine_name();

/// How to start the engine called `name`: "docker" (the machine's dockerd), "podman" (Podman's
/// service). Throws missing_part for an engine that is not at hand, std::invalid_argument for
/// an unknown name.
dockerd_options engine_options(std::string_view name);

}  // namespace core_interceptor::test_support
