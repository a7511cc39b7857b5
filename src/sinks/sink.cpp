// SPDX-License-Identifier: MIT
#include "sinks/sink.hpp"

namespace core_interceptor::sinks {

boost::asio::awaitable<std::size_t> sink::send(const message& m)
{
    auto r = co_await deliver(m);
    co_return r ? 1 : 0;
}

}  // namespace core_interceptor::sinks
