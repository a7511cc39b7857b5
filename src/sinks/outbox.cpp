// SPDX-License-Identifier: MIT
#include "sinks/outbox.hpp"

#include "co/cancel.hpp"
#include "log/log.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace asio = boost::asio;

namespace core_interceptor::sinks {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<bool> sleep_for(asio::steady_timer& t, std::chrono::milliseconds d)
{
    t.expires_after(d);
    auto [ec] = co_await t.async_wait(use_tuple);
    co_return !ec;
}

}  // namespace

bool retryable(const failure& f) noexcept
{
    return f.status == 0 || f.status >= 500;
}

/// One sink's redelivery state: a wake-up timer (cancelled to wake the loop early).
struct outbox::lane {
    explicit lane(asio::any_io_executor ex) : wake(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer wake;
};

outbox::outbox(asio::any_io_executor ex, std::vector<sink*> sinks, state::store* store, delivery_config cfg)
    : sinks_(std::move(sinks)), store_(store), cfg_(cfg), stats_(sinks_.size())
{
    for (std::size_t i = 0; i < sinks_.size(); ++i)
        lanes_.push_back(std::make_unique<lane>(ex));
}

outbox::~outbox() = default;

std::size_t outbox::spool_size(std::size_t i) const
{
    return store_ ? store_->spool_size(sinks_[i]->name()) : 0;
}

asio::awaitable<bool> outbox::send_one(std::size_t i, const message& m)
{
    sink& s = *sinks_[i];
    // Behind a non-empty spool: join the queue so the sink sees notifications in order.
    if (store_ && store_->spool_size(s.name()) > 0) {
        store_->spool(s.name(), m.id, m.key, m.body);
        ++stats_[i].spooled;
        lanes_[i]->wake.cancel();
        log::info({{"NOTIFICATION_ID", m.id}}) << s.name() << ": notification " << m.id << " queued behind the spool";
        co_return false;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto delay = cfg_.backoff_initial;
    for (unsigned attempt = 1;; ++attempt) {
        auto r = co_await s.deliver(m);
        if (r) {
            ++stats_[i].delivered;
            co_return true;
        }
        ++stats_[i].failed;
        if (r.error().code == asio::error::operation_aborted) {
            // Shutdown cut the delivery short: keep it for the next start (at least once).
            if (store_) {
                store_->spool(s.name(), m.id, m.key, m.body);
                ++stats_[i].spooled;
            }
            co_return false;
        }
        const bool again = retryable(r.error());
        if (!again) {
            ++stats_[i].rejected;
            log::error({{"NOTIFICATION_ID", m.id}}) << s.name() << " refused notification " << m.id << ": "
                                                    << r.error().describe() << "; not retried";
            co_return false;
        }
        if (attempt >= (s.retries_itself() ? 1u : cfg_.attempts)) {
            if (store_) {
                store_->spool(s.name(), m.id, m.key, m.body);
                ++stats_[i].spooled;
                lanes_[i]->wake.cancel();
                log::error({{"NOTIFICATION_ID", m.id}})
                    << "cannot notify " << s.name() << " of " << m.key << " after " << attempt
                    << " attempts: " << r.error().describe() << "; spooled for redelivery";
            } else {
                log::error({{"NOTIFICATION_ID", m.id}}) << "cannot notify " << s.name() << " of " << m.key << ": "
                                                        << r.error().describe();
            }
            co_return false;
        }
        log::warning({{"NOTIFICATION_ID", m.id}}) << s.name() << " delivery of " << m.id << " failed (attempt "
                                                  << attempt << "): " << r.error().describe();
        if (!co_await sleep_for(timer, co::jittered(delay)))
            co_return false;
        delay = std::min(delay * 2, cfg_.backoff_max);
    }
}

asio::awaitable<std::size_t> outbox::send(const message& m)
{
    if (sinks_.empty())
        co_return 0;
    auto ex = co_await asio::this_coro::executor;
    using op_type = decltype(asio::co_spawn(ex, send_one(0, m), asio::deferred));
    std::vector<op_type> ops;
    for (std::size_t i = 0; i < sinks_.size(); ++i)
        ops.push_back(asio::co_spawn(ex, send_one(i, m), asio::deferred));
    auto group = asio::experimental::make_parallel_group(std::move(ops));
    auto [order, exceptions, results] =
        co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    std::size_t delivered = 0;
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
        if (exceptions[i])
            std::rethrow_exception(exceptions[i]);  // a bug in a sink: the owner shuts down
        delivered += results[i] ? 1 : 0;
    }
    co_return delivered;
}

asio::awaitable<void> outbox::redeliver(std::size_t i)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    sink& s = *sinks_[i];
    lane& l = *lanes_[i];
    auto delay = cfg_.backoff_initial;
    for (;;) {
        if (co_await co::cancelled())
            co_return;
        auto items = store_->spooled_for(s.name());
        bool stalled = false;
        for (const auto& item : items) {
            const message m{item.id, item.key, item.body};  // named: see pipeline/job.cpp
            auto r = co_await s.deliver(m);
            if (r) {
                store_->unspool(item);
                ++stats_[i].delivered;
                delay = cfg_.backoff_initial;
                log::info({{"NOTIFICATION_ID", item.id}}) << "redelivered notification " << item.id << " to "
                                                          << s.name();
                continue;
            }
            ++stats_[i].failed;
            if (r.error().code == asio::error::operation_aborted)
                co_return;
            if (!retryable(r.error())) {
                store_->unspool(item);
                ++stats_[i].rejected;
                log::error({{"NOTIFICATION_ID", item.id}}) << s.name() << " refused spooled notification " << item.id
                                                           << ": " << r.error().describe() << "; dropped";
                continue;
            }
            log::debug() << s.name() << " still unavailable: " << r.error().describe();
            stalled = true;
            break;
        }
        // Wait: after a failure, the backoff; with an empty spool, until a new spool entry.
        if (stalled) {
            if (!co_await sleep_for(l.wake, co::jittered(delay)))
                if (co_await co::cancelled())
                    co_return;
            delay = std::min(delay * 2, cfg_.backoff_max);
        } else if (store_->spool_size(s.name()) == 0) {
            l.wake.expires_at(asio::steady_timer::time_point::max());
            co_await l.wake.async_wait(use_tuple);  // woken by a cancel() from send_one or by shutdown
        }
    }
}

asio::awaitable<void> outbox::run_redelivery()
{
    if (!store_ || sinks_.empty())
        co_return;
    auto ex = co_await asio::this_coro::executor;
    using op_type = decltype(asio::co_spawn(ex, redeliver(0), asio::deferred));
    std::vector<op_type> ops;
    for (std::size_t i = 0; i < sinks_.size(); ++i)
        ops.push_back(asio::co_spawn(ex, redeliver(i), asio::deferred));
    auto group = asio::experimental::make_parallel_group(std::move(ops));
    auto [order, exceptions] = co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (auto& e : exceptions)
        if (e)
            std::rethrow_exception(e);
}

}  // namespace core_interceptor::sinks
