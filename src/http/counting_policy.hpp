// SPDX-License-Identifier: MIT
#pragma once

#include <boost/beast/core/rate_policy.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace core_interceptor::http::detail {

/// A Beast rate policy that limits nothing and counts the bytes read from the socket: the
/// figure behind "probing costs the same whatever the dump size".
class counting_policy {
public:
    explicit counting_policy(std::uint64_t* counter) : counter_(counter) {}

private:
    friend boost::beast::rate_policy_access;
    std::size_t available_read_bytes() const noexcept
    {
        return (std::numeric_limits<std::size_t>::max)();
    }
    std::size_t available_write_bytes() const noexcept
    {
        return (std::numeric_limits<std::size_t>::max)();
    }
    void transfer_read_bytes(std::size_t n) noexcept
    {
        if (counter_)
            *counter_ += n;
    }
    void transfer_write_bytes(std::size_t) noexcept {}
    void on_timer() noexcept {}

    std::uint64_t* counter_;
};

}  // namespace core_interceptor::http::detail
