// SPDX-License-Identifier: MIT
#include "state/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

namespace core_interceptor::state {

directory_lock::directory_lock(const std::filesystem::path& dir)
{
    std::filesystem::create_directories(dir);
    const auto path = dir / "lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "cannot open " + path.string());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        char buf[32] = {};
        const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
        const pid_t holder = n > 0 ? static_cast<pid_t>(std::strtol(buf, nullptr, 10)) : 0;
        ::close(fd_);
        fd_ = -1;
        if (e != EWOULDBLOCK)
            throw std::system_error(e, std::generic_category(), "cannot lock " + path.string());
        throw directory_in_use(
            "the state directory " + dir.string() + " is in use by another core_interceptor" +
                (holder > 0 ? " (PID " + std::to_string(holder) + ")" : std::string{}),
            holder);
    }
    // Ours now: the PID for the message of the next one that tries. No fsync: the lock is
    // the truth, the PID only a hint, and a crash drops both.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
        // A full disk still locks: the PID is a courtesy (the lock works without it).
    }
}

directory_lock::~directory_lock()
{
    if (fd_ >= 0)
        ::close(fd_);  // releases the flock
}

}  // namespace core_interceptor::state
