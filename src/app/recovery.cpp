// SPDX-License-Identifier: MIT
#include "app/recovery.hpp"

#include "app/clock.hpp"
#include "co/backoff.hpp"
#include "co/error.hpp"
#include "docker/client.hpp"
#include "domain/filter.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace core_interceptor::app {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

domain::die_event die_event_of(const domain::container_info& info)
{
    domain::die_event ev{info.id, info.name, info.image, info.finished_nano, info.labels};
    ev.attributes.emplace_back("name", info.name);
    ev.attributes.emplace_back("image", info.image);
    ev.attributes.emplace_back("exitCode", std::to_string(info.exit_code));
    return ev;
}

recovery::recovery(docker::client& docker,
                   state::store& store,
                   watcher::job_channel& queue,
                   co::task_group& services,
                   const config::app_config& cfg,
                   const bool& stopping)
    : docker_(docker), store_(store), queue_(queue), services_(services), cfg_(cfg),
      stopping_(stopping)
{
}

asio::awaitable<void> recovery::resume()
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    std::set<std::string> queued;
    auto unfinished = store_.unfinished_jobs();
    if (!unfinished.empty())
        log::info() << "resuming " << unfinished.size()
                    << " death(s) left unfinished by the last run";
    for (auto& ev : unfinished) {
        queued.insert(ev.id);
        auto [ec] = co_await queue_.async_send(error_code{}, std::move(ev), use_tuple);
        if (ec)
            co_return;
    }

    std::int64_t since = store_.last_event_nano();
    if (since == 0 && cfg_.catch_up_since.count() > 0)
        since = now_nano() -
                std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.catch_up_since).count();
    if (since == 0)
        co_return;  // a first run without --catch-up-since: only deaths from now on
    co_await catch_up(since, std::move(queued));
}

void recovery::on_connection_change(bool up)
{
    if (!up) {
        disconnected_at_nano_ = now_nano();
        return;
    }
    if (disconnected_at_nano_ != 0 && !stopping_) {
        // A little before the disconnect: clocks of the daemon and the Engine may differ.
        services_.spawn(catch_up(disconnected_at_nano_ - 5'000'000'000LL, {}));
        disconnected_at_nano_ = 0;
    }
}

asio::awaitable<bool> recovery::wait_for_engine()
{
    asio::steady_timer timer(co_await asio::this_coro::executor);
    co::backoff delays(
        std::chrono::milliseconds(250), cfg_.delivery.backoff_max, co::backoff::jitter::none);
    for (;;) {
        auto v = co_await docker_.negotiate();
        if (v)
            co_return true;
        if (v.error().code == asio::error::operation_aborted)
            co_return false;
        timer.expires_after(delays.next());
        if (auto [ec] = co_await timer.async_wait(use_tuple); ec)
            co_return false;
    }
}

asio::awaitable<void> recovery::catch_up(std::int64_t since, std::set<std::string> skip)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    const bool answered = co_await wait_for_engine();  // not an if condition: see daemon.cpp
    if (!answered)
        co_return;
    auto ids = co_await docker_.exited_containers();
    if (!ids) {
        log::error() << "cannot list exited containers to catch up: " << ids.error().describe();
        co_return;
    }
    std::size_t found = 0;
    for (const auto& id : *ids) {
        if (skip.count(id))
            continue;
        auto info = co_await docker_.inspect(id);
        if (!info || info->finished_nano < since)
            continue;
        auto ev = die_event_of(*info);
        if (std::string why; !domain::accepts(cfg_.watcher.filter, ev, &why)) {
            log::debug({{"CONTAINER_ID", ev.id}})
                << "catch-up: container " << ev.name << " (" << domain::short_id(ev.id)
                << ") not handled: " << why;
            continue;
        }
        if (!cfg_.pipeline.dry_run)
            store_.job_started(ev);  // queued; a failed write is reported by the state's health
        ++found;
        auto [ec] = co_await queue_.async_send(error_code{}, std::move(ev), use_tuple);
        if (ec)
            co_return;
    }
    log::info() << "catch-up: " << found << " container(s) died while no one was watching";
}

}  // namespace core_interceptor::app
