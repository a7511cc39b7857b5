// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace core_interceptor::state::detail {

/// The content of a state file; `ok` false when missing, unreadable or larger than a state
/// file can be.
std::string read_small_file(const std::filesystem::path& p, bool& ok);
/// fsync of a directory, after a rename or an unlink in it; errors ignored (best effort).
void sync_dir(const std::filesystem::path& dir);
/// Usable as one path component: not empty, no '/', not "." or "..".
bool safe_component(std::string_view s);

}  // namespace core_interceptor::state::detail
