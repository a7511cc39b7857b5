// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::domain {

/// One `name = value` line of the `--config` INI file.
struct config_entry {
    std::string name;
    std::string value;
    std::size_t line = 0;  ///< 1-based
};

/// Reads the `--config` INI file the way Boost.Program_options does: `#` starts a comment,
/// names and values are trimmed of blanks, `[section]` prefixes the names that follow with
/// `section.`, a blank line is skipped. A line that is none of these is errc::malformed_response
/// with its line number only: the file holds secrets (SASL passwords, Authorization headers), so an
/// error never quotes a line.
result<std::vector<config_entry>> parse_config_file(std::string_view text);

/// True when `name` may be echoed in an error: lowercase letters, digits, '-', '.' and '_',
/// at most 64 characters, as every option name is. Anything else may be a misplaced secret.
bool printable_option_name(std::string_view name) noexcept;

}  // namespace core_interceptor::domain
