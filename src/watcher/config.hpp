// SPDX-License-Identifier: MIT
#pragma once

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
};

}  // namespace core_interceptor::watcher
