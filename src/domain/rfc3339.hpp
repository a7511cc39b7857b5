// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string_view>

namespace core_interceptor::domain {

/// "2026-11-24T21:36:42.311007368Z" (RFC 3339, UTC or with an offset) -> ns since the epoch;
/// 0 for the zero time Docker reports for a container that never ran, or a malformed value.
std::int64_t parse_rfc3339_nano(std::string_view text);

}  // namespace core_interceptor::domain
