// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <utility>
#include <vector>

struct rd_kafka_conf_s;

namespace core_interceptor::kafka::detail {

/// A new librdkafka configuration with its logs sent to the main queue (served where the
/// handle is polled) and `properties` applied in order. Throws property_error for a property
/// librdkafka refuses (the configuration is freed then).
rd_kafka_conf_s* make_conf(const std::vector<std::pair<std::string, std::string>>& properties);

}  // namespace core_interceptor::kafka::detail
