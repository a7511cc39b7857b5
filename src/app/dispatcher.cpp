// SPDX-License-Identifier: MIT
#include "app/dispatcher.hpp"

#include "co/cancel.hpp"
#include "co/error.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

namespace asio = boost::asio;

namespace core_interceptor::app {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// A death that waited this long for a probe goes before the crashes queued after it: the
/// crash-first order never starves a clean exit (whose container may hold a child's dump).
constexpr std::chrono::seconds probe_max_wait(10);

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
                       co::limiter& captures,
                       co::task_group& jobs,
                       pipeline::job_runner& runner,
                       state::store& store,
                       const config::app_config& cfg,
                       rm_watch& removals,
                       daemon_counters& counters,
                       const bool& stopping)
    : queue_(queue),
      quiet_(queue.get_executor()), probes_{co::limiter(queue.get_executor(), cfg.max_probes),
                                            co::limiter(queue.get_executor(), cfg.max_probes)},
      captures_(captures), jobs_(jobs), runner_(runner), store_(store), cfg_(cfg),
      removals_(removals), counters_(counters), stopping_(stopping),
      deaths_(queue.get_executor(), cfg.queue_capacity, probe_max_wait)
{
}

asio::awaitable<void> dispatcher::run()
{
    using namespace asio::experimental::awaitable_operators;
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await (receive() && start_probes());
    if (deaths_.size() > 0)
        log::warning() << "shutting down: " << deaths_.size()
                       << " death(s) waiting for a probe are handled at the next start";
}

asio::awaitable<void> dispatcher::receive()
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        const bool room = co_await deaths_.wait_for_room();
        if (!room)
            co_return;  // shutdown
        auto [ec, ev] = co_await queue_.async_receive(use_tuple);
        if (ec)
            co_return;  // closed or cancelled at shutdown
        deaths_.push(std::move(ev));
    }
}

asio::awaitable<void> dispatcher::start_probes()
{
    // Two operands to each &&, each a coroutine taking total cancellation: a nested && would
    // not pass a graceful stop on to its operands.
    using namespace asio::experimental::awaitable_operators;
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await (start_probes(domain::probe_lane::suspect) && start_probes(domain::probe_lane::clean));
}

asio::awaitable<void> dispatcher::start_probes(domain::probe_lane lane)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        // The slot first, then the death: the choice is made when a probe can start, among
        // every death waiting by then.
        const auto ec = co_await probes(lane).acquire();
        if (ec)
            co_return;  // shutdown
        std::optional<probe_queue::entry> e;
        // One job per container at a time: a replayed or caught-up death of a container whose
        // job is running waits for it (and then finds its dumps reported).
        for (;;) {
            e = co_await deaths_.pop(lane);
            if (!e || active_.insert(e->ev.id).second)
                break;
            e->ev.fresh = false;  // the running job may commit this very death
            waiting_[e->ev.id].push_back(std::move(e->ev));
        }
        if (!e) {
            probes(lane).release();
            co_return;  // shutdown
        }
        if (lane == domain::probe_lane::clean) {
            const bool go = co_await wait_until_quiet(e->since);
            if (!go) {
                active_.erase(e->ev.id);
                probes(lane).release();
                co_return;  // shutdown: the state directory recorded the death
            }
        }
        counters_.phases.observe(domain::phase::probe_wait,
                                 std::chrono::steady_clock::now() - e->since);
        jobs_.spawn(run_job(std::move(*e), lane));
    }
}

bool dispatcher::pressing() const noexcept
{
    return probes(domain::probe_lane::suspect).in_use() > 0 ||
           !deaths_.empty(domain::probe_lane::suspect) || captures_.in_use() > 0 ||
           awaiting_capture_ > 0;
}

asio::awaitable<bool> dispatcher::wait_until_quiet(std::chrono::steady_clock::time_point since)
{
    const auto deadline = since + probe_max_wait;
    // Awaits in statements of their own (g++ 12).
    bool stopped = co_await co::cancelled();
    while (!stopped && pressing() && std::chrono::steady_clock::now() < deadline) {
        quiet_.expires_at(deadline);
        auto [ec] = co_await quiet_.async_wait(use_tuple);
        (void)ec;  // woken by changed(), the deadline, or a cancellation
        stopped = co_await co::cancelled();
    }
    co_return !stopped;
}

asio::awaitable<void> dispatcher::run_job(probe_queue::entry e, domain::probe_lane lane)
{
    struct release_on_exit {
        dispatcher& self;
        co::limiter* slot;
        ~release_on_exit()
        {
            if (slot)
                slot->release();
            self.changed();
        }
        void release()
        {
            if (auto* s = std::exchange(slot, nullptr))
                s->release();
        }
    } guard{*this, &probes(lane)};
    changed();
    const auto ev = std::move(e.ev);
    removals_.remember(ev);
    auto probed = co_await runner_.probe(ev);  // takes total cancellation from here on
    guard.release();
    if (auto end = probed.end()) {
        finish(ev, *end);
        co_return;
    }
    const auto waiting_since = std::chrono::steady_clock::now();
    ++awaiting_capture_;
    const bool slot = co_await take_capture_slot();
    --awaiting_capture_;
    if (!slot) {
        log::warning({{"CONTAINER_ID", ev.id}})
            << "shutting down: container " << ev.name << " (" << domain::short_id(ev.id)
            << ") left a dump; it is captured at the next start";
        finish(ev, pipeline::outcome::cancelled);
        co_return;
    }
    guard.slot = &captures_;
    counters_.phases.observe(domain::phase::capture_wait,
                             std::chrono::steady_clock::now() - waiting_since);
    // The slot goes back once the image is pushed and deleted: the next capture need not wait
    // for this one's announcement.
    auto engine_done = [this, &guard] {
        guard.release();
        changed();
    };
    const auto o = co_await runner_.capture(std::move(probed), engine_done);  // (g++ 12)
    finish(ev, o);
}

asio::awaitable<bool> dispatcher::take_capture_slot()
{
    // The job passes only terminal cancellation on to what it awaits (an Engine call finishes
    // its step), but the wait for a slot must end on a graceful stop too; a stop that comes as
    // the slot is taken ends the job here. Awaits in statements of their own (g++ 12).
    const bool stopped_before = co_await co::cancelled();
    if (stopped_before)
        co_return false;
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    const auto ec = co_await captures_.acquire();
    const bool stopped = co_await co::cancelled();
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation(),
                                                       asio::enable_terminal_cancellation());
    if (!ec && stopped)
        captures_.release();  // taken as the stop came: nothing is captured now
    co_return !ec && !stopped;
}

void dispatcher::finish(const domain::die_event& ev, pipeline::outcome o)
{
    ++counters_.dies_by_outcome[static_cast<std::size_t>(o)];
    removals_.on_outcome(ev.id, o);
    settle(ev, o);
    active_.erase(ev.id);
    start_next(ev.id);
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

void dispatcher::start_next(const std::string& id)
{
    auto it = waiting_.find(id);
    if (it == waiting_.end())
        return;
    auto next = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty())
        waiting_.erase(it);
    if (!stopping_)  // else the record in the state directory resumes it at the next start
        deaths_.push(std::move(next));
}

asio::awaitable<void> dispatcher::requeue_later(domain::die_event ev,
                                                std::chrono::milliseconds delay)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    if (auto [ec] = co_await timer.async_wait(use_tuple); ec)
        co_return;     // shutdown: the record in the state directory resumes it next time
    ev.fresh = false;  // the Engine may have finished the lost try's commit
    auto [ec] = co_await queue_.async_send(error_code{}, std::move(ev), use_tuple);
    (void)ec;  // closed at shutdown: same as above
}

void dispatcher::changed()
{
    quiet_.cancel();
    if (on_change_)
        on_change_();
}

}  // namespace core_interceptor::app
