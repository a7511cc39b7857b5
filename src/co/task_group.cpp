// SPDX-License-Identifier: MIT
#include "co/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace core_interceptor::co {

task_group::task_group(asio::any_io_executor ex,
                       std::function<void(std::exception_ptr)> on_exception)
    : ex_(ex), on_exception_(std::move(on_exception)),
      idle_(ex, asio::steady_timer::time_point::max())
{
}

void task_group::spawn(asio::awaitable<void> task)
{
    auto it = signals_.emplace(signals_.end());
    asio::co_spawn(ex_,
                   std::move(task),
                   asio::bind_cancellation_slot(it->slot(), [this, it](std::exception_ptr e) {
                       signals_.erase(it);
                       idle_.cancel();
                       if (e && on_exception_)
                           on_exception_(e);
                   }));
}

void task_group::emit(asio::cancellation_type type)
{
    for (auto& s : signals_)
        s.emit(type);
}

asio::awaitable<void> task_group::join()
{
    while (!signals_.empty()) {
        idle_.expires_at(asio::steady_timer::time_point::max());
        // operation_aborted is the wake-up from a task ending, not an error.
        co_await idle_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

}  // namespace core_interceptor::co
