// SPDX-License-Identifier: MIT
#include "domain/api_version.hpp"

#include <algorithm>
#include <charconv>

namespace core_interceptor::domain {
namespace {

// A component with more digits than this is not a version any daemon sends.
constexpr std::size_t max_digits = 4;

std::optional<int> parse_component(std::string_view s) noexcept
{
    if (s.empty() || s.size() > max_digits ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    int value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return value;
}

}  // namespace

std::optional<api_version> parse_api_version(std::string_view text)
{
    auto dot = text.find('.');
    if (dot == std::string_view::npos)
        return std::nullopt;
    auto major = parse_component(text.substr(0, dot));
    auto minor = parse_component(text.substr(dot + 1));
    if (!major || !minor)
        return std::nullopt;
    return api_version{*major, *minor};
}

std::string to_string(api_version v)
{
    return std::to_string(v.major) + "." + std::to_string(v.minor);
}

api_version negotiate(api_version ours, api_version daemon, std::optional<api_version> minimum)
{
    auto chosen = std::min(ours, daemon);
    // A daemon refuses versions below its minimum (Engine 29.0–29.2: 1.44), so older is useless.
    if (minimum && chosen < *minimum)
        chosen = *minimum;
    return chosen;
}

}  // namespace core_interceptor::domain
