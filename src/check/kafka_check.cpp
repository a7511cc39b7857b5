// SPDX-License-Identifier: MIT
// The Kafka check of `--check`: librdkafka's metadata request, off the loop.
#include "check/kafka_check.hpp"

#if CORE_INTERCEPTOR_HAVE_KAFKA
#include "kafka/metadata.hpp"
#include "kafka/producer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace core_interceptor::check {
namespace {

/// Runs on the thread pool: librdkafka's metadata request blocks.
asio::awaitable<result<kafka::cluster_metadata>>
fetch_off_loop(std::vector<std::pair<std::string, std::string>> properties, std::string topic)
{
    co_return kafka::fetch_metadata(properties, topic, check_timeout);
}

/// Brokers reachable (with the daemon's own client properties) and the topic's metadata.
}  // namespace

asio::awaitable<outcome> check_kafka(sinks::kafka_config cfg, asio::thread_pool::executor_type pool)
{
    std::vector<std::pair<std::string, std::string>> props{
        {"bootstrap.servers", cfg.brokers},
        {"client.id", "core_interceptor"},
    };
    props.insert(props.end(), cfg.properties.begin(), cfg.properties.end());
    try {
        auto op =
            asio::co_spawn(pool, fetch_off_loop(std::move(props), cfg.topic), asio::use_awaitable);
        auto md = co_await std::move(op);
        result<kafka_answer> answer =
            md ? result<kafka_answer>(
                     kafka_answer{md->brokers, md->topic_found, md->partitions, md->topic_error})
               : result<kafka_answer>(md.error());
        co_return kafka_outcome(cfg.brokers, cfg.topic, answer);
    } catch (const kafka::property_error& e) {
        co_return outcome{
            "kafka", verdict::fail, "--kafka-property " + e.property + ": " + e.what()};
    }
}

}  // namespace core_interceptor::check
#endif
