// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::kafka {

/// What the cluster says about itself and one topic.
struct cluster_metadata {
    std::vector<std::string> brokers;  ///< "host:port" of every broker of the cluster
    bool topic_found = false;
    int partitions = 0;
    std::string topic_error;  ///< librdkafka's words for an error the topic reports, if any
};

/// Asks the cluster at `properties` (bootstrap.servers among them) for its metadata, all
/// topics (a request for one topic could create it on a broker that auto-creates topics),
/// within `timeout`. Blocks the calling thread for at most about `timeout`: run it off the
/// loop. Completes with the metadata, or a failure whose message is librdkafka's reason (the
/// first connection error it reported, e.g. "… Connection refused"). Throws property_error
/// for a property librdkafka refuses.
result<cluster_metadata>
fetch_metadata(const std::vector<std::pair<std::string, std::string>>& properties,
               std::string_view topic,
               std::chrono::milliseconds timeout);

}  // namespace core_interceptor::kafka
