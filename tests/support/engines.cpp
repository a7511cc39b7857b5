// SPDX-License-Identifier: MIT
#include "support/engines.hpp"

#include <cstdlib>
#include <stdexcept>

namespace core_interceptor::test_support {

std::string engine_name()
{
    const char* name = std::getenv(engine_variable);
    return name != nullptr && *name != '\0' ? name : "docker";
}

dockerd_options engine_options(std::string_view name)
{
    dockerd_options o;
    if (name == "docker")
        return o;
    if (name == "podman") {
        o.kind = dockerd_options::engine_kind::podman;
        return o;
    }
    throw std::invalid_argument(std::string(engine_variable) + "=" + std::string(name) +
                                ": unknown engine");
}

}  // namespace core_interceptor::test_support
