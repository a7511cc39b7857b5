// SPDX-License-Identifier: MIT
#include "co/cancel.hpp"

#include <algorithm>
#include <random>

namespace core_interceptor::co {

std::chrono::milliseconds jittered(std::chrono::milliseconds d)
{
    thread_local std::minstd_rand rng{std::random_device{}()};
    const long hi = std::max<long>(d.count(), 1);
    std::uniform_int_distribution<long> dist(hi / 2, hi);
    return std::chrono::milliseconds(dist(rng));
}

}  // namespace core_interceptor::co
