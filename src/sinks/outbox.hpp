// SPDX-License-Identifier: MIT
#pragma once

#include "sinks/config.hpp"
#include "sinks/sink.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace core_interceptor::state {
class store;
struct spooled;
}  // namespace core_interceptor::state

namespace core_interceptor::sinks {

/// Per-sink delivery counters.
struct sink_stats {
    std::uint64_t delivered = 0;
    std::uint64_t failed = 0;    ///< attempts that failed
    std::uint64_t spooled = 0;   ///< notifications put in the spool
    std::uint64_t rejected = 0;  ///< refused for good (4xx, a permanent Kafka error): dead-lettered
};

/// Delivers every notification to every sink, concurrently, at least once: each sink gets a
/// few attempts with backoff (retryable failures only: transport errors, timeouts, 408, 429
/// honouring Retry-After, 5xx, failed Kafka deliveries; another 4xx or a permanent Kafka error
/// is final and goes to the dead-letter directory); what is still undelivered goes to the spool in
/// the state directory, and a redelivery loop per sink sends the spool oldest first as soon as
/// the sink answers again — and at the next start. While a sink has a spool, new notifications
/// queue behind it, keeping the order. To the pipeline it is one more `sink`, `width()` wide.
/// Loop thread only.
class outbox final : public sink {
public:
    /// `store` may be null: then nothing is spooled and a failure is only logged.
    outbox(boost::asio::any_io_executor ex,
           std::vector<sink*> sinks,
           state::store* store,
           delivery_config cfg);
    ~outbox() override;

    std::string_view name() const noexcept override { return "outbox"; }
    std::size_t width() const noexcept override { return sinks_.size(); }

    /// Sends `m` to every sink; completes when each has confirmed it or spooled it. Returns how
    /// many sinks confirmed it now.
    boost::asio::awaitable<std::size_t> send(const message& m) override;

    /// send(), completing with errc::delivery_failed unless every sink confirmed `m` now.
    boost::asio::awaitable<result<void>> deliver(const message& m) override;

    /// Runs every sink's redelivery loop until cancelled (total or terminal).
    boost::asio::awaitable<void> run_redelivery();

    std::size_t sink_count() const noexcept { return sinks_.size(); }
    const std::vector<sink_stats>& stats() const noexcept { return stats_; }
    /// The name of sink `i` ("kafka", "rest"), in the order of stats().
    std::string_view sink_name(std::size_t i) const noexcept { return sinks_[i]->name(); }
    /// Notifications in sink `i`'s spool now, waiting for redelivery (0 without a store).
    std::size_t spool_size(std::size_t i) const;

    /// Called (on the loop) when a sink confirms a notification send() handed it, with the sink's
    /// name and the time from the hand-over to the confirmation (retries included). Deliveries
    /// from the spool are not timed: their wait is the sink's outage.
    void on_delivered(std::function<void(std::string_view, std::chrono::steady_clock::duration)> f)
    {
        on_delivered_ = std::move(f);
    }

private:
    struct lane;
    boost::asio::awaitable<bool> send_one(std::size_t i, const message& m);
    boost::asio::awaitable<void> redeliver(std::size_t i);
    /// A notification sink `i` refuses for good: counted, logged, put in the dead-letter
    /// directory (when there is a store).
    boost::asio::awaitable<void>
    reject(std::size_t i, const state::spooled& item, const std::string& reason);

    std::vector<sink*> sinks_;
    state::store* store_;
    delivery_config cfg_;
    std::vector<sink_stats> stats_;
    std::vector<std::unique_ptr<lane>> lanes_;
    std::function<void(std::string_view, std::chrono::steady_clock::duration)> on_delivered_;
};

/// Whether a failed delivery is worth retrying: transport errors, timeouts, 408, 429 and 5xx
/// are; another 4xx, or errc::delivery_refused (a Kafka error no retry cures), means the sink
/// refuses this notification and retrying cannot help.
bool retryable(const failure& f) noexcept;

/// The wait before the next attempt: `backoff`, or longer when the sink asked for it
/// (Retry-After), never more than `cap`.
std::chrono::milliseconds
retry_delay(const failure& f, std::chrono::milliseconds backoff, std::chrono::milliseconds cap);

}  // namespace core_interceptor::sinks
