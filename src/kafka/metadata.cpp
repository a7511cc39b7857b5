// SPDX-License-Identifier: MIT
#include "kafka/metadata.hpp"

#include "kafka/conf.hpp"
#include "kafka/producer.hpp"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <stdexcept>
#include <string_view>

namespace core_interceptor::kafka {
namespace {

/// librdkafka's errors and error-level logs, served by rd_kafka_poll on the calling thread.
struct reasons {
    std::vector<std::string> errors;
};

void on_error(rd_kafka_t* rk, int, const char* reason, void*)
{
    static_cast<reasons*>(rd_kafka_opaque(rk))->errors.emplace_back(reason);
}

void on_log(const rd_kafka_t* rk, int level, const char*, const char* buf)
{
    if (level <= 3)  // syslog error and worse: the connection failures
        static_cast<reasons*>(rd_kafka_opaque(rk))->errors.emplace_back(buf);
}

struct handle_deleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};

}  // namespace

result<cluster_metadata>
fetch_metadata(const std::vector<std::pair<std::string, std::string>>& properties,
               std::string_view topic,
               std::chrono::milliseconds timeout)
{
    reasons seen;
    char err[512];
    // Logs go to the main queue and are served by rd_kafka_poll below, on this thread.
    rd_kafka_conf_t* conf = detail::make_conf(properties);
    rd_kafka_conf_set_opaque(conf, &seen);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    std::unique_ptr<rd_kafka_t, handle_deleter> rk(
        rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("cannot create a Kafka client: ") + err);
    }
    rd_kafka_set_log_queue(rk.get(), nullptr);

    const rd_kafka_metadata_t* md = nullptr;
    auto rc = rd_kafka_metadata(rk.get(), 1, nullptr, &md, static_cast<int>(timeout.count()));
    rd_kafka_poll(rk.get(), 0);  // collects the errors and logs of the attempt
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::string why = rd_kafka_err2str(rc);
        if (rc == RD_KAFKA_RESP_ERR__TIMED_OUT)
            why = "no answer within " + std::to_string(timeout.count() / 1000) + " s";
        if (!seen.errors.empty()) {
            // "[thrd:127.0.0.1:1/bootstrap]: 127.0.0.1:1/bootstrap: Connect to … failed: …"
            std::string_view first = seen.errors.front();
            if (first.starts_with("[thrd:"))
                if (auto end = first.find("]: "); end != std::string_view::npos)
                    first.remove_prefix(end + 3);
            why = std::string(first);
        }
        return failure(make_error_code(errc::request_timeout), 0, why);
    }
    cluster_metadata out;
    for (int i = 0; i < md->broker_cnt; ++i)
        out.brokers.push_back(std::string(md->brokers[i].host) + ":" +
                              std::to_string(md->brokers[i].port));
    for (int i = 0; i < md->topic_cnt; ++i) {
        const auto& t = md->topics[i];
        if (topic != t.topic)
            continue;
        if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            break;
        out.topic_found = true;
        out.partitions = t.partition_cnt;
        if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR)
            out.topic_error = rd_kafka_err2str(t.err);
    }
    rd_kafka_metadata_destroy(md);
    return out;
}

}  // namespace core_interceptor::kafka
