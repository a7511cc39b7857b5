// SPDX-License-Identifier: MIT
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// A Docker Engine API version, "1.41".
struct api_version {
    int major = 1;
    int minor = 0;
    auto operator<=>(const api_version&) const = default;
};

/// The newest API version this daemon speaks.
inline constexpr api_version our_api_version{1, 47};

/// Parses "1.41"; nullopt for anything else.
std::optional<api_version> parse_api_version(std::string_view text);

/// "1.41".
std::string to_string(api_version v);

/// The version to use (SPEC §4a): the lower of ours and the daemon's, raised to the daemon's
/// minimum when that is higher than ours' lower bound.
api_version negotiate(api_version ours, api_version daemon, std::optional<api_version> minimum);

}  // namespace core_interceptor::domain
