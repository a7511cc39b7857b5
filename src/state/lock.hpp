// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <stdexcept>

namespace core_interceptor::state {

/// Another process holds the lock of the state directory.
struct directory_in_use : std::runtime_error {
    directory_in_use(const std::string& what, pid_t holder)
        : std::runtime_error(what), holder(holder)
    {
    }
    pid_t holder;  ///< the PID written in the lock file, 0 when unreadable
};

/// One state directory, one process (issue 10): an exclusive `flock` on `DIR/lock`, held for
/// the life of the object, the file holding the holder's PID. The kernel drops the lock when
/// the process ends, however it ends, so a killed daemon never leaves a stale lock behind.
class directory_lock {
public:
    /// Creates `dir` if needed and takes the lock without waiting. Throws directory_in_use
    /// when another process holds it, std::system_error when the file cannot be opened.
    explicit directory_lock(const std::filesystem::path& dir);
    ~directory_lock();
    directory_lock(const directory_lock&) = delete;
    directory_lock& operator=(const directory_lock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace core_interceptor::state
