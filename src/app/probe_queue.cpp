// SPDX-License-Identifier: MIT
#include "app/probe_queue.hpp"

#include "co/cancel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace core_interceptor::app {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Waits on `t` until it is cancelled: by the other side (a wake-up) or by the caller's
/// cancellation (which the caller tells apart with co::cancelled()).
asio::awaitable<void> sleep_until_woken(asio::steady_timer& t)
{
    t.expires_at(asio::steady_timer::time_point::max());
    auto [ec] = co_await t.async_wait(use_tuple);
    (void)ec;  // always operation_aborted: woken or cancelled
}

}  // namespace

probe_queue::probe_queue(asio::any_io_executor ex,
                         std::size_t capacity,
                         std::chrono::steady_clock::duration max_wait)
    : deaths_(max_wait), capacity_(capacity), more_{asio::steady_timer(ex), asio::steady_timer(ex)},
      room_(ex)
{
}

asio::awaitable<bool> probe_queue::wait_for_room()
{
    // Awaits in statements of their own: g++ 12 miscompiles this loop otherwise.
    bool stopped = co_await co::cancelled();
    while (!stopped && deaths_.size() >= capacity_) {
        co_await sleep_until_woken(room_);
        stopped = co_await co::cancelled();
    }
    co_return !stopped;
}

void probe_queue::push(domain::die_event ev)
{
    const auto kind = deaths_.push(std::move(ev), std::chrono::steady_clock::now());
    more_[static_cast<std::size_t>(domain::lane_of(kind))].cancel();
}

asio::awaitable<std::optional<probe_queue::entry>> probe_queue::pop(domain::probe_lane lane)
{
    bool stopped = co_await co::cancelled();
    while (!stopped && deaths_.empty(lane)) {
        co_await sleep_until_woken(more_[static_cast<std::size_t>(lane)]);
        stopped = co_await co::cancelled();
    }
    if (stopped)
        co_return std::nullopt;
    room_.cancel();
    co_return deaths_.pop(std::chrono::steady_clock::now(), lane);
}

}  // namespace core_interceptor::app
