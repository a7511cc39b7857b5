// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace core_interceptor::domain {

/// The wait a `Retry-After` header asks for (RFC 9110 §10.2.3): delay-seconds ("120") or an
/// HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT", also the obsolete RFC 850 and asctime forms),
/// counted from `now`. A date in the past is 0 s. nullopt when malformed; the caller caps it.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

/// Whether an HTTP status from a notification sink is worth retrying: no answer (0), 408
/// Request Timeout, 429 Too Many Requests and 5xx are; any other status (a 4xx, a redirect)
/// means the sink refuses this notification for good.
bool retryable_status(unsigned status) noexcept;

}  // namespace core_interceptor::domain
