// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <list>

namespace core_interceptor::co {

/// Owns a dynamic set of spawned coroutines (one per die event): each gets its own
/// cancellation signal, `emit()` cancels them all, `join()` waits until every one has ended.
/// Modelled on Beast's flex-awaitable server `task_group`.
///
/// Thread safety: none; everything runs on the one io_context thread.
class task_group {
public:
    /// `on_exception` is called (on the loop) with any exception a task let escape — a bug,
    /// which its owner turns into a shutdown with exit status 1.
    task_group(boost::asio::any_io_executor ex,
               std::function<void(std::exception_ptr)> on_exception);
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    /// Spawns `task` on the group's executor; it is bound to a fresh cancellation slot.
    void spawn(boost::asio::awaitable<void> task);

    /// Cancels every running task with `type`.
    void emit(boost::asio::cancellation_type type);

    /// Completes when no task is running. Honours no cancellation of its own.
    boost::asio::awaitable<void> join();

    /// Number of running tasks.
    std::size_t size() const noexcept { return signals_.size(); }

private:
    boost::asio::any_io_executor ex_;
    std::function<void(std::exception_ptr)> on_exception_;
    std::list<boost::asio::cancellation_signal> signals_;
    boost::asio::steady_timer idle_;  // cancelled whenever a task ends, to wake join()
};

}  // namespace core_interceptor::co
