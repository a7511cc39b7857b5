// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// How many characters of a container or image ID `docker ps` shows.
inline constexpr std::size_t short_id_length = 12;

/// The first 12 characters of a container or image ID, as log lines name it.
inline std::string short_id(std::string_view id)
{
    return std::string(id.substr(0, short_id_length));
}

}  // namespace core_interceptor::domain
