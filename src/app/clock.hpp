// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>

namespace core_interceptor::app {

/// Now on the wall clock, in ns since the epoch: the unit of the Engine's event times.
inline std::int64_t now_nano()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace core_interceptor::app
