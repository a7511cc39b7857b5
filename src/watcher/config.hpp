// SPDX-License-Identifier: MIT
#pragma once

#include "domain/filter.hpp"

#include <chrono>
#include <cstddef>

namespace core_interceptor::watcher {

/// Settings of the event-stream reader.
struct config {
    /// Reconnect backoff after the Docker daemon went away: doubles from min to max, jittered.
    std::chrono::milliseconds reconnect_min{250};
    std::chrono::milliseconds reconnect_max{30000};
    /// (container ID, timeNano) keys remembered to drop replayed events after a reconnect.
    std::size_t dedupe_window = 4096;
    /// Which deaths become jobs; the rest are dropped before any Engine call.
    domain::container_filter filter;
};

}  // namespace core_interceptor::watcher
