// SPDX-License-Identifier: MIT
#pragma once

namespace core_interceptor::kafka {

/// Whether a librdkafka error (an `rd_kafka_resp_err_t`, from a delivery report or from
/// produce) is one that no retry cures: the broker refuses this message as it is (too large,
/// invalid, a record rejected) or refuses us the topic (authorization). Such a notification
/// goes to the dead-letter directory instead of blocking the ones behind it. Broker outages,
/// timeouts, leader changes and an unknown topic (it may be created) are not permanent.
bool permanent_error(int err) noexcept;

}  // namespace core_interceptor::kafka
