// SPDX-License-Identifier: MIT
#pragma once

#include "config/app_config.hpp"

namespace core_interceptor::app {

/// Runs the daemon until SIGTERM/SIGINT: owns the loop, the event watcher, every job and the
/// sinks. Returns the exit status: 0 after a clean shutdown, 1 after a fatal runtime error,
/// 2 when a setting is refused at start-up (e.g. a librdkafka property).
int run(const config::app_config& cfg);

}  // namespace core_interceptor::app
