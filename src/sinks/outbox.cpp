// SPDX-License-Identifier: MIT
#include "sinks/outbox.hpp"

#include "co/backoff.hpp"
#include "co/cancel.hpp"
#include "domain/retry_after.hpp"
#include "log/log.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>

namespace asio = boost::asio;

namespace core_interceptor::sinks {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Spooled notifications read per round: bounds the memory of a redelivery, not its speed.
constexpr std::size_t redelivery_batch = 64;
// Rounds the oldest may fail in a row before the one behind it is tried: a sink that is
// down fails both, and the cost is one more attempt every `poison_rounds` rounds.
constexpr unsigned poison_rounds = 5;

asio::awaitable<bool> sleep_for(asio::steady_timer& t, std::chrono::milliseconds d)
{
    t.expires_after(d);
    auto [ec] = co_await t.async_wait(use_tuple);
    co_return !ec;
}

}  // namespace

bool retryable(const failure& f) noexcept
{
    if (f.code == errc::delivery_refused)
        return false;
    return domain::retryable_status(f.status);
}

std::chrono::milliseconds
retry_delay(const failure& f, std::chrono::milliseconds backoff, std::chrono::milliseconds cap)
{
    // Retry-After is the sink's own word on when to come back: at least that, within the cap
    // (--retry-max-backoff) so that a sink asking for a day is still tried again.
    const std::chrono::milliseconds asked = std::chrono::seconds(f.retry_after);
    return std::min(std::max(backoff, asked), cap);
}

/// One sink's redelivery state: a wake-up timer (cancelled to wake the loop early).
struct outbox::lane {
    explicit lane(asio::any_io_executor ex) : wake(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer wake;
    std::string head_id;         // the oldest spooled notification that failed last round
    unsigned head_failures = 0;  // rounds in a row it failed
};

outbox::outbox(asio::any_io_executor ex,
               std::vector<sink*> sinks,
               state::store* store,
               delivery_config cfg)
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
    const std::string sink_name(s.name());  // named: a co_await's temporaries, see above
    // Behind a non-empty spool: join the queue so the sink sees notifications in order.
    if (store_ && store_->spool_busy(s.name())) {
        // Held in memory when it cannot be written.
        co_await store_->async_spool(sink_name, m.id, m.key, m.body);
        ++stats_[i].spooled;
        lanes_[i]->wake.cancel();
        log::info({{"NOTIFICATION_ID", m.id}})
            << s.name() << ": notification " << m.id << " queued behind the spool";
        co_return false;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    co::backoff delays(cfg_.backoff_initial, cfg_.backoff_max);
    const auto handed = std::chrono::steady_clock::now();
    for (unsigned attempt = 1;; ++attempt) {
        auto r = co_await s.deliver(m);
        if (r) {
            ++stats_[i].delivered;
            if (on_delivered_)
                on_delivered_(s.name(), std::chrono::steady_clock::now() - handed);
            co_return true;
        }
        ++stats_[i].failed;
        if (r.error().code == asio::error::operation_aborted) {
            // Shutdown cut the delivery short: keep it for the next start (at least once).
            if (store_) {
                co_await store_->async_spool(sink_name, m.id, m.key, m.body);
                ++stats_[i].spooled;
            }
            co_return false;
        }
        const bool again = retryable(r.error());
        if (!again) {
            // Named, not temporaries: see pipeline/job_notify.cpp.
            const state::spooled item{{}, 0, m.id, m.key, m.body};
            const std::string reason = r.error().describe();
            co_await reject(i, item, reason);
            co_return false;
        }
        if (attempt >= (s.retries_itself() ? 1u : cfg_.attempts)) {
            if (store_) {
                co_await store_->async_spool(sink_name, m.id, m.key, m.body);
                ++stats_[i].spooled;
                lanes_[i]->wake.cancel();
                log::error({{"NOTIFICATION_ID", m.id}})
                    << "cannot notify " << s.name() << " of " << m.key << " after " << attempt
                    << " attempts: " << r.error().describe() << "; spooled for redelivery";
            } else {
                log::error({{"NOTIFICATION_ID", m.id}}) << "cannot notify " << s.name() << " of "
                                                        << m.key << ": " << r.error().describe();
            }
            co_return false;
        }
        log::warning({{"NOTIFICATION_ID", m.id}})
            << s.name() << " delivery of " << m.id << " failed (attempt " << attempt
            << "): " << r.error().describe();
        if (!co_await sleep_for(timer, retry_delay(r.error(), delays.next(), cfg_.backoff_max)))
            co_return false;
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

asio::awaitable<result<void>> outbox::deliver(const message& m)
{
    const std::size_t delivered = co_await send(m);
    if (delivered < sinks_.size())
        co_return failure(make_error_code(errc::delivery_failed),
                          0,
                          std::to_string(sinks_.size() - delivered) + " of " +
                              std::to_string(sinks_.size()) + " sink(s) did not confirm");
    co_return result<void>{};
}

asio::awaitable<void>
outbox::reject(std::size_t i, const state::spooled& item, const std::string& reason)
{
    sink& s = *sinks_[i];
    ++stats_[i].rejected;
    if (!store_) {
        log::error({{"NOTIFICATION_ID", item.id}})
            << s.name() << " refused notification " << item.id << ": " << reason << "; not retried";
        co_return;
    }
    // Kept for an operator, out of the way of the notifications behind it (its failure is
    // logged by the store with the body).
    const std::string sink_name(s.name());
    co_await store_->async_dead_letter(sink_name, item, reason);
    log::error({{"NOTIFICATION_ID", item.id}})
        << s.name() << " refused notification " << item.id << " for good: " << reason
        << "; kept in " << (store_->dir() / "dead-letter").string();
}

asio::awaitable<void> outbox::redeliver(std::size_t i)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    sink& s = *sinks_[i];
    lane& l = *lanes_[i];
    co::backoff delays(cfg_.backoff_initial, cfg_.backoff_max);
    for (;;) {
        if (co_await co::cancelled())
            co_return;
        // A batch of the oldest, read from disk as a stream: the spool may be large.
        auto items = store_->spooled_for(s.name(), redelivery_batch);
        std::optional<failure> stalled;
        for (std::size_t k = 0; k < items.size(); ++k) {
            const auto& item = items[k];
            const message m{item.id, item.key, item.body};  // named: see pipeline/push_retrier.cpp
            auto r = co_await s.deliver(m);
            if (r) {
                co_await store_->async_unspool(item);
                ++stats_[i].delivered;
                delays.reset();
                l.head_failures = item.id == l.head_id ? 0 : l.head_failures;
                log::info({{"NOTIFICATION_ID", item.id}})
                    << "redelivered notification " << item.id << " to " << s.name();
                continue;
            }
            ++stats_[i].failed;
            if (r.error().code == asio::error::operation_aborted)
                co_return;
            if (!retryable(r.error())) {
                co_await store_->async_unspool(item);
                const std::string reason = r.error().describe();
                co_await reject(i, item, reason);
                continue;
            }
            // The same head failing round after round while the sink may be up: try the one
            // behind it; if that one is taken, the head is what the sink refuses (issue 10:
            // never retry only the oldest for ever).
            if (k == 0 && item.id == l.head_id && ++l.head_failures >= poison_rounds &&
                items.size() > 1) {
                const message next{items[1].id, items[1].key, items[1].body};
                auto r2 = co_await s.deliver(next);
                if (r2) {
                    co_await store_->async_unspool(items[1]);
                    ++stats_[i].delivered;
                    co_await store_->async_unspool(item);
                    const std::string reason = "failed " + std::to_string(l.head_failures) +
                                               " times while " + std::string(s.name()) +
                                               " took the next one: " + r.error().describe();
                    co_await reject(i, item, reason);
                    l.head_failures = 0;
                    ++k;  // items[1] is delivered
                    continue;
                }
                l.head_failures = 0;  // both failed: the sink is down; probe again in a few rounds
            }
            if (k == 0 && item.id != l.head_id) {
                l.head_id = item.id;
                l.head_failures = 1;
            }
            log::debug() << s.name() << " still unavailable: " << r.error().describe();
            stalled = r.error();
            break;
        }
        // Wait: after a failure, the backoff (or what the sink asked for); with an empty
        // spool, until a new spool entry.
        if (stalled) {
            if (!co_await sleep_for(l.wake, retry_delay(*stalled, delays.next(), cfg_.backoff_max)))
                if (co_await co::cancelled())
                    co_return;
        } else if (store_->spool_size(s.name()) == 0) {
            l.wake.expires_at(asio::steady_timer::time_point::max());
            co_await l.wake.async_wait(
                use_tuple);  // woken by a cancel() from send_one or by shutdown
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
    auto [order, exceptions] =
        co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (auto& e : exceptions)
        if (e)
            std::rethrow_exception(e);
}

}  // namespace core_interceptor::sinks
