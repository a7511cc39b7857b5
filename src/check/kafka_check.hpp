// SPDX-License-Identifier: MIT
#pragma once

#include "build_config.hpp"
#include "check/check.hpp"
#include "check/verdicts.hpp"
#include "sinks/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

namespace core_interceptor::check {

#if CORE_INTERCEPTOR_HAVE_KAFKA
/// Brokers reachable (with the daemon's own client properties) and the topic's metadata; the
/// blocking metadata request runs on `pool`.
boost::asio::awaitable<outcome> check_kafka(sinks::kafka_config cfg,
                                            boost::asio::thread_pool::executor_type pool);
#endif

}  // namespace core_interceptor::check
