// SPDX-License-Identifier: MIT
#include "pipeline/push_retrier.hpp"

#include "pipeline/registry_login.hpp"

#include "log/log.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace core_interceptor::pipeline {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

push_retrier::push_retrier(docker::api& docker,
                           sinks::sink& sink,
                           state::store* store,
                           const config& cfg,
                           std::uint64_t& pushed)
    : docker_(docker), sink_(sink), store_(store), cfg_(cfg), pushed_(pushed)
{
}

void push_retrier::wake()
{
    if (!sleeping_)
        return;  // mid-round: the new record is seen at the next one
    woken_ = true;
    timer_->cancel();
}

asio::awaitable<void> push_retrier::run(std::chrono::milliseconds interval)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    if (!store_ || !cfg_.registry || cfg_.dry_run)
        co_return;
    timer_.emplace(co_await asio::this_coro::executor);
    for (;;) {
        // With nothing waiting, sleep until a push fails for good: an idle daemon never wakes.
        if (store_->pending_pushes().empty())
            timer_->expires_at(asio::steady_timer::time_point::max());
        else
            timer_->expires_after(interval);
        sleeping_ = true;
        woken_ = false;
        auto [wait_ec] = co_await timer_->async_wait(use_tuple);
        sleeping_ = false;
        if (woken_)
            continue;  // a push was recorded: retry it after `interval`
        if (wait_ec || !co_await retry_round())
            break;
    }
    timer_.reset();
}

asio::awaitable<bool> push_retrier::retry_round()
{
    for (const auto& p : store_->pending_pushes()) {
        const std::string reference = p.repository + ":" + p.tag;
        auto r = co_await push_with_login(docker_, cfg_, p.repository, p.tag);
        if (!r) {
            if (r.error().code == asio::error::operation_aborted)
                co_return false;
            if (r.error().code == errc::not_found) {
                log::error() << "image " << reference
                             << " waiting for its push is gone: " << r.error().describe();
                co_await store_->async_remove_pending_push(p);
                continue;
            }
            log::debug() << "push of " << reference << " still failing: " << r.error().describe();
            break;  // the registry is still away: try again at the next round
        }
        ++pushed_;
        log::info() << "pushed " << reference << " " << *r << " (after an earlier failure)";
        if (!cfg_.keep_image)
            if (auto rm = co_await docker_.remove_image(reference); !rm)
                log::error() << "pushed " << reference
                             << " but cannot delete the local copy: " << rm.error().describe();
        // Announce again, same id, now pushed. A named message, not a temporary: g++ 12 may
        // destroy a temporary of a co_await full-expression twice.
        if (auto msg =
                domain::announce_pushed(p.notification, *r, std::chrono::system_clock::now()))
            co_await sink_.send(*msg);
        co_await store_->async_remove_pending_push(p);
    }
    co_return true;
}

}  // namespace core_interceptor::pipeline
