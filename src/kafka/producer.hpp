// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_conf_s;
struct rd_kafka_queue_s;

namespace core_interceptor::kafka {

/// A librdkafka property librdkafka refused: names it and says why.
struct property_error : std::invalid_argument {
    property_error(std::string property, const std::string& why)
        : std::invalid_argument(why), property(std::move(property))
    {
    }
    std::string property;
};

/// A librdkafka producer driven from the Asio loop: its main queue signals a pipe
/// (rd_kafka_queue_io_event_enable) watched by a stream_descriptor, and the loop then serves
/// it with rd_kafka_poll(rk, 0) — delivery reports, errors and logs all run on the loop
/// thread, with no polling thread of ours. Loop thread only.
///
/// librdkafka's own threads wake up about once a second even with nothing to send, so the
/// librdkafka handle lives only while it is needed: made by the first produce(), destroyed
/// once nothing has been outstanding for `idle_close`, and made again by the next produce().
/// An idle daemon has no Kafka thread at all, and one that never notified has not even
/// paged librdkafka in. Brokers are first contacted with the first notification.
class producer {
public:
    /// Checks `properties` (bootstrap.servers among them); the librdkafka handle is made later.
    /// Throws property_error for a property librdkafka refuses.
    producer(boost::asio::any_io_executor ex,
             const std::vector<std::pair<std::string, std::string>>& properties,
             std::chrono::milliseconds idle_close = std::chrono::seconds(10));
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;
    ~producer();

    /// Queues one message and completes when librdkafka's delivery report for it arrives:
    /// success only when the report says so; errc::delivery_failed with librdkafka's reason
    /// otherwise. Cancellation (terminal) stops the wait, not the delivery.
    boost::asio::awaitable<result<void>>
    produce(std::string_view topic, std::string_view key, std::string_view value);

    /// Waits at most `timeout` for outstanding messages, serving their reports; returns how
    /// many are still undelivered. Blocks the loop: for shutdown only.
    std::size_t flush(std::chrono::milliseconds timeout);

    /// Stops watching the queue; the producer is destroyed after the loop has ended.
    void close();

    /// Whether the librdkafka handle (and its threads) exists right now.
    bool is_open() const noexcept { return rk_ != nullptr; }

private:
    /// A configuration with our callbacks and `properties_`; throws property_error.
    rd_kafka_conf_s* make_conf() const;
    /// Makes the librdkafka handle and attaches its main queue to the loop.
    void start();
    /// Destroys the librdkafka handle once nothing is outstanding (its threads end with it).
    void stop();
    void arm();
    void arm_idle_close();

    std::vector<std::pair<std::string, std::string>> properties_;
    std::chrono::milliseconds idle_close_;
    rd_kafka_s* rk_ = nullptr;
    rd_kafka_queue_s* main_queue_ = nullptr;
    boost::asio::posix::stream_descriptor wake_read_;
    int wake_write_ = -1;
    boost::asio::steady_timer idle_timer_;
    std::size_t outstanding_ = 0;  // produce() calls waiting for their delivery report
    unsigned generation_ = 0;      // which librdkafka handle a queued wake-up belongs to
    bool closed_ = false;
};

}  // namespace core_interceptor::kafka
