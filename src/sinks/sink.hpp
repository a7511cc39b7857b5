// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace core_interceptor::sinks {

/// One notification as the sinks send it.
struct message {
    std::string id;    ///< unique to the death, for consumers to deduplicate
    std::string key;   ///< Kafka key "IMAGE_NAME:TAG"
    std::string body;  ///< the JSON document
};

/// Where notifications go: the seam between pipeline and the concrete sinks (Kafka, REST),
/// abstract so that tests can record what a job announces.
class sink {
public:
    virtual ~sink() = default;

    /// "kafka", "rest": for log lines.
    virtual std::string_view name() const noexcept = 0;

    /// True when one deliver() already retries until its own timeout (librdkafka does):
    /// the outbox then makes a single attempt before spooling.
    virtual bool retries_itself() const noexcept { return false; }

    /// Delivers one notification. Completes once the sink confirmed it (a Kafka delivery
    /// report, a 2xx answer), or with errc::delivery_failed (with the HTTP status for REST) or
    /// a transport error. Honours terminal cancellation. Loop thread only.
    virtual boost::asio::awaitable<result<void>> deliver(const message& m) = 0;
};

}  // namespace core_interceptor::sinks
