// SPDX-License-Identifier: MIT
#pragma once

#include "config/app_config.hpp"

#include <iosfwd>
#include <variant>

namespace core_interceptor::config {

/// Exit status for a usage or configuration error (SPEC §2).
inline constexpr int exit_usage = 2;

/// Reads the command line and the `--config` INI file (the command line wins) into an
/// app_config, validating every value. Returns the config to run with, or an exit status:
/// 0 after `--help`/`--version` (printed to `out`), 2 after a one-line message naming the bad
/// option (printed to `err`).
std::variant<app_config, int> parse(int argc, const char* const argv[], std::ostream& out, std::ostream& err);

}  // namespace core_interceptor::config
