// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace core_interceptor::test_support {

/// One record read back from the mock cluster.
struct kafka_message {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string key;
    std::string value;
};

/// librdkafka's mock cluster (a real Kafka-protocol broker on 127.0.0.1) with one topic, read
/// from the beginning of every partition by a real consumer (assigned, no consumer group, so
/// that a broker outage costs no rebalance) on its own thread. The public calls are thread safe.
class mock_kafka {
public:
    /// Starts a one-broker cluster with `topic` created and the consumer subscribed.
    /// Throws std::runtime_error when librdkafka refuses.
    explicit mock_kafka(const std::string& topic = "cores", int partitions = 1);
    mock_kafka(const mock_kafka&) = delete;
    mock_kafka& operator=(const mock_kafka&) = delete;
    ~mock_kafka();

    /// "127.0.0.1:PORT", for `--kafka-brokers`.
    const std::string& bootstraps() const;
    const std::string& topic() const;

    /// Waits until at least `n` records were consumed; false on timeout.
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
    /// Every record consumed so far, in arrival order.
    std::vector<kafka_message> messages() const;

    /// The broker stops answering (connections are closed) / answers again.
    void set_down();
    void set_up();

    /// The next `n` Produce requests are answered with the broker error `err` (an
    /// rd_kafka_resp_err_t, e.g. RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE): a message refused.
    void refuse_next_produce(int n, int err);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace core_interceptor::test_support
