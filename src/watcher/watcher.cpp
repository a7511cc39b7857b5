// SPDX-License-Identifier: MIT
#include "watcher/watcher.hpp"

#include "co/backoff.hpp"
#include "co/cancel.hpp"
#include "docker/client.hpp"
#include "domain/ndjson.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace asio = boost::asio;

namespace core_interceptor::watcher {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::int64_t now_nano()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

watcher::watcher(docker::client& docker, config cfg, job_channel& out, state::store* store)
    : docker_(docker), cfg_(cfg), out_(out), store_(store)
{
    if (store_)
        last_time_nano_ = store_->last_event_nano();
}

bool watcher::remember(const domain::die_event& ev)
{
    std::string key = ev.id + '@' + std::to_string(ev.time_nano);
    if (!seen_.insert(key).second)
        return false;
    seen_order_.push_back(std::move(key));
    if (seen_order_.size() > cfg_.dedupe_window) {
        seen_.erase(seen_order_.front());
        seen_order_.pop_front();
    }
    return true;
}

void watcher::set_connected(bool c)
{
    if (c == connected_)
        return;
    connected_ = c;
    if (on_change_)
        on_change_(c);
}

asio::awaitable<void> watcher::run()
{
    // Stopping must end the (endless) stream read at once: pass total cancellation through.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);

    co::backoff backoff(cfg_.reconnect_min, cfg_.reconnect_max);
    asio::steady_timer timer(co_await asio::this_coro::executor);

    while (!co_await co::cancelled()) {
        bool was_open = co_await read_stream();
        set_connected(false);
        if (co_await co::cancelled())
            break;
        if (was_open)
            backoff.reset();  // it worked until now: retry soon
        // Jittered exponential backoff, so a fleet does not reconnect in lockstep.
        auto wait = backoff.next();
        log::debug() << "reconnecting to the Docker daemon in " << wait.count() << " ms";
        timer.expires_after(wait);
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec)
            break;
    }
    log::debug() << "event watcher stopped";
}

void watcher::lost(const std::string& what, const failure& f)
{
    last_error_ = what + ": " + f.describe();
    if (f.code != asio::error::operation_aborted)
        log::warning() << what << ": " << f.describe();
}

asio::awaitable<bool> watcher::read_stream()
{
    const auto where = docker_.endpoint().describe();
    auto version = co_await docker_.negotiate();
    if (!version) {
        lost("Docker daemon at " + where + " is not answering", version.error());
        co_return false;
    }

    // Resume from the last event seen; after a gap with none, from when the stream was
    // first opened; on the very first open, from now on.
    std::int64_t since = last_time_nano_ != 0 ? last_time_nano_ : opened_at_nano_;
    auto stream = co_await docker_.events(since);
    if (!stream) {
        lost("cannot open the event stream of " + where, stream.error());
        co_return false;
    }
    if (opened_at_nano_ == 0)
        opened_at_nano_ = now_nano();
    set_connected(true);
    log::info() << "watching events on " << where << " (API " << domain::to_string(*version) << ")";
    co_await read_events(*stream, where);
    co_return true;
}

asio::awaitable<void> watcher::read_events(http::stream_reader& stream, const std::string& where)
{
    domain::line_framer lines(1024 * 1024);  // an event is a few hundred bytes; labels add some
    std::size_t dropped = 0;
    for (;;) {
        auto piece = co_await stream.read_some();
        if (!piece) {
            lost("event stream of " + where + " ended", piece.error());
            co_return;
        }
        if (piece->empty()) {
            last_error_ = "event stream of " + where + " ended";
            log::warning() << "event stream of " << where << " ended";
            co_return;
        }
        lines.feed(*piece);
        while (auto line = lines.next()) {
            if (!co_await on_line(*line))
                co_return;
        }
        if (lines.dropped() != dropped) {
            dropped = lines.dropped();
            ++malformed_;
            log::warning() << "skipping an event line longer than 1 MiB";
        }
    }
}

asio::awaitable<bool> watcher::on_line(std::string_view line)
{
    auto parsed = domain::parse_event_line(line);
    if (!parsed) {
        ++malformed_;
        log::warning() << "skipping a malformed event: " << parsed.error().describe() << ": "
                       << line.substr(0, 200);
        co_return true;
    }
    if (parsed->kind == domain::event_kind::destroy && on_destroy_) {
        on_destroy_(parsed->event);
        co_return true;
    }
    if (parsed->kind != domain::event_kind::die || !accept(parsed->event))
        co_return true;
    auto& ev = parsed->event;
    ev.fresh = true;
    if (store_) {
        // Queued for the writer thread: a failed write is logged, counted and
        // retried by the store; the death is handled now either way.
        store_->job_started(ev);
        store_->set_last_event_nano(ev.time_nano);
    }
    log::debug({{"CONTAINER_ID", ev.id}})
        << "container " << ev.name << " (" << domain::short_id(ev.id) << ") died";
    if (!out_.try_send(error_code{}, ev)) {
        log::warning() << "job queue full: waiting for a free slot before reading more events";
        auto [ec] = co_await out_.async_send(error_code{}, std::move(ev), use_tuple);
        if (ec)
            co_return false;
    }
    co_return true;
}

bool watcher::accept(const domain::die_event& ev)
{
    last_time_nano_ = std::max(last_time_nano_, ev.time_nano);
    if (!remember(ev)) {
        log::debug() << "skipping replayed event of container " << domain::short_id(ev.id);
        return false;
    }
    ++events_;
    if (std::string why; !domain::accepts(cfg_.filter, ev, &why)) {
        ++filtered_;
        log::debug({{"CONTAINER_ID", ev.id}})
            << "container " << ev.name << " (" << domain::short_id(ev.id)
            << ") died; not handled: " << why;
        return false;
    }
    return true;
}

}  // namespace core_interceptor::watcher
