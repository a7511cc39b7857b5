// SPDX-License-Identifier: MIT
#pragma once

#include "domain/death_queue.hpp"
#include "domain/event.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>

namespace core_interceptor::app {

/// The deaths waiting for a probe slot, in the order of domain::death_queue (crashes first, then
/// other failures, then clean exits; a death that waited `max_wait` goes first), at most
/// `capacity` of them. One producer, and one consumer per probe lane, on the loop thread.
class probe_queue {
public:
    using entry = domain::death_queue::entry;

    probe_queue(boost::asio::any_io_executor ex,
                std::size_t capacity,
                std::chrono::steady_clock::duration max_wait);

    /// Completes once the queue has room: true, or false when the caller's cancellation
    /// state recorded a cancellation.
    boost::asio::awaitable<bool> wait_for_room();

    /// Queues `ev` (never refused: wait_for_room() keeps the bound).
    void push(domain::die_event ev);

    /// The next death of `lane` to probe, waiting for one; nullopt when the caller's
    /// cancellation state recorded a cancellation.
    boost::asio::awaitable<std::optional<entry>> pop(domain::probe_lane lane);

    std::size_t size() const noexcept { return deaths_.size(); }
    bool empty(domain::probe_lane lane) const noexcept { return deaths_.empty(lane); }

private:
    domain::death_queue deaths_;
    std::size_t capacity_;
    std::array<boost::asio::steady_timer, domain::probe_lanes>
        more_;                        // per lane: cancelled to wake its pop()
    boost::asio::steady_timer room_;  // cancelled to wake wait_for_room()
};

}  // namespace core_interceptor::app
