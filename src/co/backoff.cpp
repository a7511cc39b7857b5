// SPDX-License-Identifier: MIT
#include "co/backoff.hpp"

#include "co/cancel.hpp"

#include <algorithm>

namespace core_interceptor::co {

std::chrono::milliseconds backoff::next()
{
    const auto wait = jitter_ == jitter::none ? delay_ : jittered(delay_);
    delay_ = std::min(delay_ * 2, max_);
    return wait;
}

}  // namespace core_interceptor::co
