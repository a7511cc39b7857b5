// SPDX-License-Identifier: MIT
#pragma once

#include "check/verdicts.hpp"
#include "config/app_config.hpp"

#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>

namespace core_interceptor::check {

/// Deadline of each network check (connect, then answer): a check never hangs.
inline constexpr std::chrono::seconds check_timeout{5};

/// Deadline of the Docker daemon's `POST /auth`: the daemon itself connects to the registry,
/// perhaps twice (https, then http for an insecure registry), with timeouts of its own.
inline constexpr std::chrono::seconds dockerd_login_timeout{15};

/// `--check`: runs every check the configuration calls for, concurrently on one loop, and
/// prints one line per check to `out` (format()), in a fixed order: docker, core_pattern,
/// state-dir, then registry-auth, registry and registry-dockerd (with `--registry`), kafka
/// (with `--kafka-brokers`) and rest (with `--rest-url`). Sends no notification and changes
/// nothing. Returns the exit status: 0 when no check failed, 1 otherwise.
int run(const config::app_config& cfg, std::ostream& out);

/// The state-dir check: an existing directory must be writable; a missing one must be
/// creatable in its nearest existing parent. Both are tried for real (a file or directory
/// made and removed at once): nothing is left behind.
outcome state_dir_outcome(const std::filesystem::path& dir);

/// The registry-auth check: `file` is readable, not readable by other users, and has
/// credentials for `registry_host`.
outcome registry_auth_outcome(const std::string& file, std::string_view registry_host);

}  // namespace core_interceptor::check
