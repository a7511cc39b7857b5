// SPDX-License-Identifier: MIT
#pragma once

#include "config/app_config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::app {

/// Runs the daemon until SIGTERM/SIGINT: owns the loop, the event watcher, every job and the
/// sinks. Returns the exit status: 0 after a clean shutdown, 1 after a fatal runtime error,
/// 2 when a setting is refused at start-up (e.g. a librdkafka property).
int run(const config::app_config& cfg);

/// The warning to log for a kernel core_pattern (SPEC §4.4): set when cores are piped to a
/// program (systemd-coredump, apport) and so never land inside containers.
std::optional<std::string> core_pattern_warning(std::string_view core_pattern);

}  // namespace core_interceptor::app
