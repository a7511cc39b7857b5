// SPDX-License-Identifier: MIT
#include "app/dispatcher.hpp"

#include "co/error.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace asio = boost::asio;

namespace core_interceptor::app {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// The waits before a job that lost the Engine runs again: 1 s doubling per try, at most 64 s,
/// and never past --backoff-max; not jittered.
co::backoff requeue_delays(std::chrono::milliseconds backoff_max)
{
    const auto cap = std::min<std::chrono::milliseconds>(std::chrono::seconds(64), backoff_max);
    return co::backoff(std::min<std::chrono::milliseconds>(std::chrono::seconds(1), cap),
                       cap,
                       co::backoff::jitter::none);
}

}  // namespace

dispatcher::dispatcher(watcher::job_channel& queue,
                       co::limiter& limiter,
                       co::task_group& jobs,
                       pipeline::job_runner& runner,
                       state::store& store,
                       const config::app_config& cfg,
                       rm_watch& removals,
                       daemon_counters& counters,
                       const bool& stopping)
    : queue_(queue), limiter_(limiter), jobs_(jobs), runner_(runner), store_(store), cfg_(cfg),
      removals_(removals), counters_(counters), stopping_(stopping)
{
}

asio::awaitable<void> dispatcher::run()
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        auto [ec, ev] = co_await queue_.async_receive(use_tuple);
        if (ec)
            co_return;  // closed or cancelled at shutdown
        if (auto aec = co_await limiter_.acquire()) {
            log::warning({{"CONTAINER_ID", ev.id}})
                << "shutting down: container " << ev.name << " (" << domain::short_id(ev.id)
                << ") is handled at the next start";
            co_return;
        }
        // One job per container at a time: a replayed or caught-up death of a container
        // whose job is running waits for it (and then finds its dumps reported).
        if (!active_.insert(ev.id).second) {
            limiter_.release();
            waiting_[ev.id].push_back(std::move(ev));
            continue;
        }
        jobs_.spawn(run_job(std::move(ev)));
    }
}

asio::awaitable<void> dispatcher::run_job(domain::die_event ev)
{
    struct release_on_exit {
        dispatcher& self;
        bool keep_slot = false;  // handed on to the container's next death
        ~release_on_exit()
        {
            if (!keep_slot)
                self.limiter_.release();
            self.changed();
        }
    } guard{*this};
    changed();
    const auto id = ev.id;
    removals_.remember(ev);
    auto outcome = co_await runner_.run(ev);
    ++counters_.dies_by_outcome[static_cast<std::size_t>(outcome)];
    removals_.on_outcome(id, outcome);
    settle(ev, outcome);
    active_.erase(id);
    guard.keep_slot = start_next(id);
}

void dispatcher::settle(const domain::die_event& ev, pipeline::outcome o)
{
    if (pipeline::retried(o) && !stopping_) {
        auto& delays =
            retries_.try_emplace(ev.id, requeue_delays(cfg_.delivery.backoff_max)).first->second;
        const auto delay = delays.next();
        log::warning({{"CONTAINER_ID", ev.id}})
            << "will handle container " << ev.name << " (" << domain::short_id(ev.id)
            << ") again in " << delay.count() << " ms, once the Docker "
            << "daemon answers";
        jobs_.spawn(requeue_later(ev, delay));
        return;
    }
    if (!pipeline::settled(o) ||
        cfg_.pipeline.dry_run)  // a dry run leaves the death for a real run
        return;
    retries_.erase(ev.id);
    store_.job_finished(ev);  // queued; a failed write is reported by the state's health
}

bool dispatcher::start_next(const std::string& id)
{
    auto it = waiting_.find(id);
    if (it == waiting_.end())
        return false;
    auto next = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty())
        waiting_.erase(it);
    if (stopping_)
        return false;
    active_.insert(id);
    jobs_.spawn(run_job(std::move(next)));
    return true;
}

asio::awaitable<void> dispatcher::requeue_later(domain::die_event ev,
                                                std::chrono::milliseconds delay)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    if (auto [ec] = co_await timer.async_wait(use_tuple); ec)
        co_return;  // shutdown: the record in the state directory resumes it next time
    auto [ec] = co_await queue_.async_send(error_code{}, std::move(ev), use_tuple);
    (void)ec;  // closed at shutdown: same as above
}

void dispatcher::changed() const
{
    if (on_change_)
        on_change_();
}

}  // namespace core_interceptor::app
