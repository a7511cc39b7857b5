// SPDX-License-Identifier: MIT
// File primitives of the state directory: crash-safe writes, directory syncs, small reads.
#pragma once

#include "co/error.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace core_interceptor::state {

/// Writes `content` to `path` crash-safely: `path.tmp`, fsync, rename over `path`, fsync the
/// directory. Not `durable`: no fsync (after a crash the file may be old, new, or empty).
/// `what` is set to the step that failed. `no_replace`: fails with EEXIST rather than replace
/// an existing `path` (link(2), then unlink of the temporary). Blocking: not on the loop.
error_code try_write_file(const std::filesystem::path& path,
                          std::string_view content,
                          std::string& what,
                          bool durable = true,
                          bool no_replace = false);

/// try_write_file without the step: the error (ENOSPC, EROFS, ...) only.
error_code write_file_atomically(const std::filesystem::path& path,
                                 std::string_view content,
                                 bool durable = true);

namespace detail {

/// The content of a state file; `ok` false when missing, unreadable or larger than a state
/// file can be.
std::string read_small_file(const std::filesystem::path& p, bool& ok);
/// fsync of a directory, after a rename or an unlink in it; errors ignored (best effort).
void sync_dir(const std::filesystem::path& dir);
/// Usable as one path component: not empty, no '/', not "." or "..".
bool safe_component(std::string_view s);
/// Renames a file that is not ours (torn, corrupt) to `<name>.corrupt` and logs why.
void set_aside(const std::filesystem::path& p, std::string_view why);
/// Whether `p` exists; an error reading it counts as "no".
bool exists(const std::filesystem::path& p) noexcept;
/// A spool sequence number as a file name stem: zero-padded, so names sort by number.
std::string seq_name(std::uint64_t seq);

}  // namespace detail
}  // namespace core_interceptor::state
