// SPDX-License-Identifier: MIT
#include "kafka/conf.hpp"

#include "kafka/producer.hpp"

#include <librdkafka/rdkafka.h>

namespace core_interceptor::kafka::detail {

rd_kafka_conf_s* make_conf(const std::vector<std::pair<std::string, std::string>>& properties)
{
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log.queue", "true", nullptr, 0);
    for (const auto& [k, v] : properties) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            throw property_error(k, err);
        }
    }
    return conf;
}

}  // namespace core_interceptor::kafka::detail
