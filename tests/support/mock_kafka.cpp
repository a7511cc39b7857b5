// SPDX-License-Identifier: MIT
#include "support/mock_kafka.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace core_interceptor::test_support {
namespace {

bool debug()
{
    static const bool on = [] {
        const char* v = std::getenv("CORE_INTERCEPTOR_KAFKA_DEBUG");
        return v && std::string_view(v) == "1";
    }();
    return on;
}

// librdkafka reports connection failures as errors, and tests take the broker down on
// purpose: its log is shown only with CORE_INTERCEPTOR_KAFKA_DEBUG=1.
void log_cb(const rd_kafka_t*, int, const char* fac, const char* buf)
{
    if (debug())
        std::clog << "mock_kafka: " << fac << ": " << buf << '\n';
}

// Transient errors (broker down) are expected in tests: the consumer retries by itself.
void error_cb(rd_kafka_t*, int, const char* reason, void*)
{
    if (debug())
        std::clog << "mock_kafka: consumer error: " << reason << '\n';
}

void set(rd_kafka_conf_t* conf, const char* k, const std::string& v)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("mock_kafka: ") + k + ": " + err);
    }
}

rd_kafka_t* make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf)
{
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);  // owns conf on success
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("mock_kafka: rd_kafka_new: ") + err);
    }
    return rk;
}

}  // namespace

struct mock_kafka::impl {
    std::string topic;
    rd_kafka_t* cluster_owner = nullptr;  // the handle the mock cluster belongs to
    rd_kafka_mock_cluster_t* cluster = nullptr;
    std::string bootstraps;
    rd_kafka_t* consumer = nullptr;
    std::thread poller;
    std::atomic<bool> stopping{false};
    bool down = false;

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::vector<kafka_message> received;

    void poll_loop()
    {
        while (!stopping.load()) {
            rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
            if (!m)
                continue;
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                kafka_message km;
                km.topic = rd_kafka_topic_name(m->rkt);
                km.partition = m->partition;
                km.offset = m->offset;
                if (m->key)
                    km.key.assign(static_cast<const char*>(m->key), m->key_len);
                if (m->payload)
                    km.value.assign(static_cast<const char*>(m->payload), m->len);
                {
                    std::lock_guard lock(mutex);
                    received.push_back(std::move(km));
                }
                changed.notify_all();
            }
            rd_kafka_message_destroy(m);
        }
    }

    ~impl()
    {
        stopping = true;
        if (poller.joinable())
            poller.join();
        if (cluster && down)
            rd_kafka_mock_broker_set_up(cluster, 1);
        // No group was joined and nothing was committed: no consumer close is needed.
        if (consumer)
            rd_kafka_destroy_flags(consumer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        if (cluster)
            rd_kafka_mock_cluster_destroy(cluster);
        if (cluster_owner)
            rd_kafka_destroy(cluster_owner);
    }
};

mock_kafka::mock_kafka(const std::string& topic, int partitions) : impl_(std::make_unique<impl>())
{
    auto& m = *impl_;
    m.topic = topic;

    // The cluster lives on a producer handle of its own that never produces.
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    m.cluster_owner = make_handle(RD_KAFKA_PRODUCER, conf);
    m.cluster = rd_kafka_mock_cluster_new(m.cluster_owner, 1);
    if (!m.cluster)
        throw std::runtime_error("mock_kafka: rd_kafka_mock_cluster_new failed");
    m.bootstraps = rd_kafka_mock_cluster_bootstraps(m.cluster);
    // Tests only ever talk to loopback: refuse a mock that listens anywhere else.
    if (m.bootstraps.rfind("127.0.0.1:", 0) != 0)
        throw std::runtime_error("mock_kafka: the mock cluster is not on 127.0.0.1: " +
                                 m.bootstraps);
    if (auto err = rd_kafka_mock_topic_create(m.cluster, topic.c_str(), partitions, 1))
        throw std::runtime_error("mock_kafka: create topic " + topic + ": " +
                                 rd_kafka_err2str(err));

    std::random_device rd;
    conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", m.bootstraps);
    set(conf, "group.id", "core_interceptor_test_" + std::to_string(rd()));
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "enable.partition.eof", "false");
    set(conf, "enable.auto.commit", "false");
    // Quick recovery after set_up().
    set(conf, "reconnect.backoff.ms", "50");
    set(conf, "reconnect.backoff.max.ms", "500");
    set(conf, "topic.metadata.refresh.interval.ms", "1000");
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    m.consumer = make_handle(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(m.consumer);

    // Every partition assigned from the beginning, without a consumer group: a group would
    // have to rebalance after set_down()/set_up(), and the coordinator waits for the old
    // member's session timeout (45 s) first, which would be counted against the daemon.
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p)
        rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    auto err = rd_kafka_assign(m.consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err)
        throw std::runtime_error(std::string("mock_kafka: assign: ") + rd_kafka_err2str(err));

    m.poller = std::thread([&m] { m.poll_loop(); });
}

mock_kafka::~mock_kafka() = default;

const std::string& mock_kafka::bootstraps() const
{
    return impl_->bootstraps;
}

const std::string& mock_kafka::topic() const
{
    return impl_->topic;
}

bool mock_kafka::wait_for(std::size_t n, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->received.size() >= n; });
}

std::vector<kafka_message> mock_kafka::messages() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->received;
}

void mock_kafka::set_down()
{
    rd_kafka_mock_broker_set_down(impl_->cluster, 1);
    impl_->down = true;
}

void mock_kafka::set_up()
{
    rd_kafka_mock_broker_set_up(impl_->cluster, 1);
    impl_->down = false;
}

void mock_kafka::refuse_next_produce(int n, int err)
{
    std::vector<rd_kafka_resp_err_t> errs(static_cast<std::size_t>(n),
                                          static_cast<rd_kafka_resp_err_t>(err));
    constexpr std::int16_t produce_api_key = 0;  // Kafka protocol: ApiKey 0 is Produce
    rd_kafka_mock_push_request_errors_array(
        impl_->cluster, produce_api_key, errs.size(), errs.data());
}

}  // namespace core_interceptor::test_support
