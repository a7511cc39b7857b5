// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>

namespace core_interceptor::co {

/// True once the calling coroutine's cancellation state recorded any cancellation: checked
/// between steps by coroutines that let a total cancellation finish the step in flight.
inline boost::asio::awaitable<bool> cancelled()
{
    auto cs = co_await boost::asio::this_coro::cancellation_state;
    co_return cs.cancelled() != boost::asio::cancellation_type::none;
}

/// A random wait in [d/2, d] (at least 1 ms): retries across a fleet do not run in lockstep.
std::chrono::milliseconds jittered(std::chrono::milliseconds d);

}  // namespace core_interceptor::co
