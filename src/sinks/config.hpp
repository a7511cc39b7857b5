// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace core_interceptor::sinks {

/// The Kafka sink (SPEC §5): enabled by `--kafka-brokers`.
struct kafka_config {
    std::string brokers;
    std::string topic = "cores";
    /// Extra librdkafka properties (`-X K=V`), applied after ours so they win.
    std::vector<std::pair<std::string, std::string>> properties;
    /// How long librdkafka may try to deliver one notification (`message.timeout.ms`).
    std::chrono::milliseconds delivery_timeout{60000};
    /// Bounded wait for outstanding deliveries at shutdown.
    std::chrono::milliseconds flush_timeout{1500};
};

/// The REST sink (SPEC §5): enabled by `--rest-url`.
struct rest_config {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  ///< `--rest-header`
    std::chrono::seconds timeout{10};
    bool insecure = false;  ///< skip certificate verification (explicit opt-in only)
    /// `--rest-ca-file`: PEM CAs trusted instead of the system's for an https endpoint.
    std::string ca_file;
    /// `--rest-client-cert` and `--rest-client-key`: PEM, for endpoints that ask for a client
    /// certificate (mutual TLS); both or neither.
    std::string client_cert_file;
    std::string client_key_file;
};

}  // namespace core_interceptor::sinks

namespace core_interceptor::sinks {

/// How hard a notification is pushed through before it goes to the spool, and how the spool
/// is retried.
struct delivery_config {
    /// Attempts per notification before spooling (REST: 5xx, connection errors, timeouts;
    /// Kafka: librdkafka retries inside one attempt until message.timeout.ms).
    unsigned attempts = 3;
    std::chrono::milliseconds backoff_initial{500};
    std::chrono::milliseconds backoff_max{60000};  ///< `--retry-max-backoff`
};

}  // namespace core_interceptor::sinks
