// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct rd_kafka_s;
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
class producer {
public:
    /// Creates the producer with `properties` (bootstrap.servers among them).
    /// Throws property_error for a property librdkafka refuses, std::runtime_error otherwise.
    producer(boost::asio::any_io_executor ex, const std::vector<std::pair<std::string, std::string>>& properties);
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;
    ~producer();

    /// Queues one message and completes when librdkafka's delivery report for it arrives:
    /// success only when the report says so; errc::delivery_failed with librdkafka's reason
    /// otherwise. Cancellation (terminal) stops the wait, not the delivery.
    boost::asio::awaitable<result<void>> produce(std::string_view topic, std::string_view key, std::string_view value);

    /// Waits at most `timeout` for outstanding messages, serving their reports; returns how
    /// many are still undelivered. Blocks the loop: for shutdown only.
    std::size_t flush(std::chrono::milliseconds timeout);

    /// Stops watching the queue; the producer is destroyed after the loop has ended.
    void close();

private:
    void arm();

    rd_kafka_s* rk_ = nullptr;
    rd_kafka_queue_s* main_queue_ = nullptr;
    boost::asio::posix::stream_descriptor wake_read_;
    int wake_write_ = -1;
    bool closed_ = false;
};

}  // namespace core_interceptor::kafka
