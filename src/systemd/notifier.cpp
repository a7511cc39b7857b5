// SPDX-License-Identifier: MIT
#include "systemd/notifier.hpp"

#include "build_config.hpp"

#if CORE_INTERCEPTOR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include <string>

namespace core_interceptor::systemd {
namespace {

void send([[maybe_unused]] const std::string& message)
{
#if CORE_INTERCEPTOR_HAVE_SYSTEMD
    // Failing to notify is not worth more than ignoring: without systemd there is no socket.
    sd_notify(0, message.c_str());
#endif
}

std::string one_line(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        if (c == '\n')
            c = ' ';
    return out;
}

}  // namespace

void notifier::ready(std::string_view s) const
{
    send("READY=1\nSTATUS=" + one_line(s));
}

void notifier::status(std::string_view s) const
{
    send("STATUS=" + one_line(s));
}

void notifier::watchdog() const
{
    send("WATCHDOG=1");
}

void notifier::stopping(std::string_view s) const
{
    send("STOPPING=1\nSTATUS=" + one_line(s));
}

std::optional<std::chrono::microseconds> notifier::watchdog_interval()
{
#if CORE_INTERCEPTOR_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        return std::chrono::microseconds(usec / 2);
#endif
    return std::nullopt;
}

}  // namespace core_interceptor::systemd
