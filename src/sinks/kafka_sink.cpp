// SPDX-License-Identifier: MIT
#include "sinks/kafka_sink.hpp"

#include "kafka/producer.hpp"

namespace core_interceptor::sinks {

kafka_sink::kafka_sink(kafka::producer& p, std::string topic)
    : producer_(p), topic_(std::move(topic))
{
}

boost::asio::awaitable<result<void>> kafka_sink::deliver(const message& m)
{
    co_return co_await producer_.produce(topic_, m.key, m.body);
}

}  // namespace core_interceptor::sinks
