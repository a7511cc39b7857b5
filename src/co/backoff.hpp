// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>

namespace core_interceptor::co {

/// The waits of a retry loop: each attempt waits `next()`, a random time in [d/2, d] (so a
/// fleet does not retry in lockstep) where d starts at `initial` and doubles after each wait up
/// to `max`; `reset()` after a success starts again from `initial`. With `jitter::none` each
/// wait is d itself.
class backoff {
public:
    enum class jitter : bool { none, half };

    backoff(std::chrono::milliseconds initial,
            std::chrono::milliseconds max,
            jitter j = jitter::half) noexcept
        : initial_(initial), max_(max), delay_(initial), jitter_(j)
    {
    }

    /// The wait before the next attempt (jittered unless `jitter::none`); the delay doubles (up
    /// to max) for the one after.
    std::chrono::milliseconds next();

    /// The delay the next wait is drawn from (before jitter).
    std::chrono::milliseconds delay() const noexcept { return delay_; }

    /// Back to `initial`: the next failure is retried soon.
    void reset() noexcept { delay_ = initial_; }

private:
    std::chrono::milliseconds initial_;
    std::chrono::milliseconds max_;
    std::chrono::milliseconds delay_;
    jitter jitter_;
};

}  // namespace core_interceptor::co
