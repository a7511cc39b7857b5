// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "domain/notification.hpp"

#include <boost/asio/awaitable.hpp>

#include <string_view>

namespace core_interceptor::sinks {

/// Where notifications go: the seam between pipeline and the concrete sinks (Kafka, REST),
/// abstract so that tests can record what a job announces.
class sink {
public:
    virtual ~sink() = default;

    /// "kafka", "rest": for log lines.
    virtual std::string_view name() const noexcept = 0;

    /// Delivers one notification whose JSON body is `body`. Completes once the sink confirmed
    /// it (a Kafka delivery report, a 2xx answer), or with errc::delivery_failed / a transport
    /// error. Honours terminal cancellation. Loop thread only.
    virtual boost::asio::awaitable<result<void>> deliver(const domain::notification& n, std::string_view body) = 0;
};

}  // namespace core_interceptor::sinks
