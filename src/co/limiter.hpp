// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>

namespace core_interceptor::co {

/// At most N holders at once (`--max-concurrency`): a channel of capacity N; acquiring sends,
/// releasing receives. Thread safety: none (one loop thread).
class limiter {
public:
    limiter(boost::asio::any_io_executor ex, std::size_t capacity);

    /// Completes once a slot is free, with an error only when cancelled or closed.
    boost::asio::awaitable<boost::system::error_code> acquire();

    /// Frees a slot taken by acquire().
    void release();

    /// Slots in use.
    std::size_t in_use() const noexcept { return in_use_; }

private:
    boost::asio::experimental::channel<void(boost::system::error_code)> slots_;
    std::size_t in_use_ = 0;
};

}  // namespace core_interceptor::co
