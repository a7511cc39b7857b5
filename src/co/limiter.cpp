// SPDX-License-Identifier: MIT
#include "co/limiter.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <tuple>

namespace asio = boost::asio;

namespace core_interceptor::co {

limiter::limiter(asio::any_io_executor ex, std::size_t capacity) : slots_(ex, capacity) {}

asio::awaitable<boost::system::error_code> limiter::acquire()
{
    auto [ec] = co_await slots_.async_send(boost::system::error_code{},
                                           asio::as_tuple(asio::use_awaitable));
    if (!ec)
        ++in_use_;
    co_return ec;
}

void limiter::release()
{
    if (slots_.try_receive([](boost::system::error_code) {}))
        --in_use_;
}

}  // namespace core_interceptor::co
