// SPDX-License-Identifier: MIT
#include "domain/core_pattern.hpp"

namespace core_interceptor::domain {

std::optional<std::string> core_pattern_warning(std::string_view core_pattern)
{
    auto first = core_pattern.find_first_not_of(" \t");
    if (first == std::string_view::npos || core_pattern[first] != '|')
        return std::nullopt;
    std::string setting(core_pattern.substr(first));
    while (!setting.empty() && (setting.back() == '\n' || setting.back() == ' '))
        setting.pop_back();
    return "kernel.core_pattern is '" + setting +
           "': core dumps are piped to that program and never land inside containers, so only heap "
           "dumps and cores written by the applications themselves can be found (set "
           "kernel.core_pattern to a file name such as 'core' to keep cores in containers)";
}

}  // namespace core_interceptor::domain
