// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace core_interceptor::test {

/// Runs a coroutine on a fresh io_context for at most `limit`: a hang fails the test, it never
/// stalls the suite. Rethrows what the coroutine threw.
template <class T>
T run_coro(boost::asio::awaitable<T> op, std::chrono::milliseconds limit = std::chrono::seconds(10))
{
    boost::asio::io_context io;
    std::optional<T> value;
    std::exception_ptr error;
    bool done = false;
    boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e)
            value = std::move(v);
        done = true;
    });
    io.run_for(limit);
    if (!done)
        throw std::runtime_error("coroutine did not finish in time");
    if (error)
        std::rethrow_exception(error);
    return std::move(*value);
}

}  // namespace core_interceptor::test
