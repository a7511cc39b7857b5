// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// The warning to log for a kernel core_pattern (SPEC §4.4): set when cores are piped to a
/// program (systemd-coredump, apport) and so never land inside containers.
std::optional<std::string> core_pattern_warning(std::string_view core_pattern);

}  // namespace core_interceptor::domain
