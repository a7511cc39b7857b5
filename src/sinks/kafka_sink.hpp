// SPDX-License-Identifier: MIT
#pragma once

#include "sinks/sink.hpp"

#include <string>

namespace core_interceptor::kafka {
class producer;
}

namespace core_interceptor::sinks {

/// Notifications on a Kafka topic, keyed "IMAGE_NAME:TAG" (SPEC §5); delivered only when
/// librdkafka's delivery report says so.
class kafka_sink final : public sink {
public:
    /// `p` must outlive the sink.
    kafka_sink(kafka::producer& p, std::string topic);

    std::string_view name() const noexcept override { return "kafka"; }
    bool retries_itself() const noexcept override { return true; }
    boost::asio::awaitable<result<void>> deliver(const message& m) override;

private:
    kafka::producer& producer_;
    std::string topic_;
};

}  // namespace core_interceptor::sinks
