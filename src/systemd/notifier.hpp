// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace core_interceptor::systemd {

/// The service manager's notification socket (sd_notify): READY=1, STATUS=, WATCHDOG=1,
/// STOPPING=1. Every call is a no-op when not started by systemd (no $NOTIFY_SOCKET) or when
/// built without libsystemd.
class notifier {
public:
    /// READY=1 with a first STATUS=.
    void ready(std::string_view status) const;
    /// STATUS=…
    void status(std::string_view status) const;
    /// WATCHDOG=1
    void watchdog() const;
    /// STOPPING=1 with a last STATUS=.
    void stopping(std::string_view status) const;

    /// How often to send WATCHDOG=1: half of WatchdogSec=, or nullopt when it is not set.
    static std::optional<std::chrono::microseconds> watchdog_interval();
};

}  // namespace core_interceptor::systemd
