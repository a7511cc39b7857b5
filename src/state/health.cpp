// SPDX-License-Identifier: MIT
#include "state/health.hpp"

#include "log/log.hpp"

namespace core_interceptor::state {

void health::note(const error_code& ec, std::string_view what)
{
    if (!ec)
        return;  // the common case: costs a branch, no lock
    std::lock_guard lock(mutex_);
    ++write_errors_;
    const bool first = !problem_;
    problem_ = "state directory " + dir_.string() + " not writable: " + ec.message() + " (" +
               std::string(what) + ")";
    if (first)
        log::error({{"STATE_DIR", dir_.string()}})
            << *problem_ << "; going on, holding in memory what cannot be written";
}

void health::clear()
{
    std::lock_guard lock(mutex_);
    if (!problem_)
        return;
    log::info({{"STATE_DIR", dir_.string()}})
        << "state directory " << dir_.string() << " is writable again; the state has caught up";
    problem_.reset();
}

std::optional<std::string> health::problem() const
{
    std::lock_guard lock(mutex_);
    return problem_;
}

std::uint64_t health::write_errors() const
{
    std::lock_guard lock(mutex_);
    return write_errors_;
}

}  // namespace core_interceptor::state
