// SPDX-License-Identifier: MIT
#pragma once

#include "config/app_config.hpp"

#include <iosfwd>
#include <variant>

namespace core_interceptor::config {

/// Exit status for a usage or configuration error (SPEC §2).
inline constexpr int exit_usage = 2;

/// Reads the command line, the process environment (`CORE_INTERCEPTOR_<OPTION>`, e.g.
/// CORE_INTERCEPTOR_METRICS_ADDRESS for --metrics-address) and the `--config` INI file into an
/// app_config, validating every value; the command line wins over the environment, the
/// environment over the file. Returns the config to run with, or an exit status: 0 after
/// `--help`/`--version` (printed to `out`), 2 after a one-line message naming the bad option or
/// variable (printed to `err`).
std::variant<app_config, int>
parse(int argc, const char* const argv[], std::ostream& out, std::ostream& err);

/// `parse` with the environment `envp` (NAME=VALUE strings, null-terminated) instead of the
/// process's.
std::variant<app_config, int> parse(int argc,
                                    const char* const argv[],
                                    const char* const* envp,
                                    std::ostream& out,
                                    std::ostream& err);

}  // namespace core_interceptor::config
