// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "domain/notification.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string_view>

namespace core_interceptor::sinks {

/// One notification as the sinks send it (id, Kafka key, JSON body), made by domain::announce.
using message = domain::announcement;

/// Where notifications go: the seam between pipeline and the concrete sinks (Kafka, REST, and
/// the outbox that fans out to them), abstract so that tests can record what a job announces.
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

    /// How many sinks a send() reaches: one, or for a fan-out (the outbox) the sinks behind it.
    virtual std::size_t width() const noexcept { return 1; }

    /// Sends `m` to each of the width() sinks; completes with how many confirmed it now (the
    /// others spooled it or failed, as the sink logs). Here: one deliver(). Loop thread only.
    virtual boost::asio::awaitable<std::size_t> send(const message& m);
};

}  // namespace core_interceptor::sinks
