// SPDX-License-Identifier: MIT
#pragma once

#include "docker/api.hpp"
#include "pipeline/config.hpp"
#include "sinks/sink.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

namespace core_interceptor::state {
class store;
}

namespace core_interceptor::pipeline {

/// Pushes again the images whose push failed for good (recorded in the state directory by the
/// job), then deletes them locally (unless --keep-image) and announces them again, same `id`,
/// with `pushed: true`.
class push_retrier {
public:
    /// Every reference must outlive the retrier; `store` may be null (nothing is retried).
    /// `pushed` counts the images it pushed.
    push_retrier(docker::api& docker,
                 sinks::sink& sink,
                 state::store* store,
                 const config& cfg,
                 std::uint64_t& pushed);

    /// Retries until cancelled (total or terminal), sleeping with no timer while nothing
    /// waits: every `interval`, each recorded image is pushed again; a round stops at the
    /// first push that fails but for a missing image (forgotten). Loop thread only.
    boost::asio::awaitable<void> run(std::chrono::milliseconds interval);

    /// A push was recorded: a sleeping run() retries after `interval` from now. Loop thread.
    void wake();

private:
    /// One round over the recorded images; false when cancelled.
    boost::asio::awaitable<bool> retry_round();

    docker::api& docker_;
    sinks::sink& sink_;
    state::store* store_;
    const config& cfg_;
    std::uint64_t& pushed_;
    std::optional<boost::asio::steady_timer> timer_;  // run()'s sleep; set while it runs
    bool sleeping_ = false;                           // run() waits on timer_
    bool woken_ = false;                              // its sleep was ended by wake()
};

}  // namespace core_interceptor::pipeline
