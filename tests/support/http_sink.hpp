// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::test_support {

/// One request the sink received, with the status it answered.
struct http_request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    unsigned status = 0;
    /// Over TLS: the subject of the client's certificate ("CN=…"), empty when it sent none.
    std::string client_subject;

    /// The first header called `name` (case-insensitive); empty if absent.
    std::string header(std::string_view name) const;
};

/// TLS for an http_sink: its certificate and key, and the CA whose client certificates it
/// requires (none: no client certificate is asked for).
struct tls_files {
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;
};

/// A small HTTP/1.1 server on 127.0.0.1 and a port of its own, on its own thread: records every
/// request and answers 200 with `{}`, or a chosen status for the first N requests (to test
/// retries). Keep-alive is honoured. Plain HTTP, or HTTPS (TLS 1.2 or newer). The public calls
/// are thread safe.
class http_sink {
public:
    /// Listens and serves until destroyed. Throws boost::system::system_error if it cannot bind.
    http_sink();
    /// The same over TLS; throws boost::system::system_error if a file cannot be used.
    explicit http_sink(const tls_files& tls);
    http_sink(const http_sink&) = delete;
    http_sink& operator=(const http_sink&) = delete;
    ~http_sink();

    /// "http://127.0.0.1:PORT/notify" (https:// over TLS), for `--rest-url`.
    std::string url() const;
    unsigned short port() const;

    /// The next `n` requests are answered with `status` (e.g. 503) instead of 200, with a
    /// `Retry-After: retry_after` header when it is not empty.
    void fail_next(std::size_t n, unsigned status = 503, std::string retry_after = {});

    /// While on, requests are recorded as they arrive but answered only once it is turned off
    /// (a slow endpoint); each connection waits for its own answer.
    void hold_answers(bool on);

    /// Waits until at least `n` requests were received; false on timeout.
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
    /// Every request received so far, in arrival order.
    std::vector<http_request> requests() const;
    /// TLS handshakes that failed (a client that did not trust us, or sent no certificate),
    /// and the reason of the last one.
    std::size_t tls_failures() const;
    std::string last_tls_failure() const;
    /// The reason of every failed handshake so far, one a line (a retry or a closing daemon
    /// may fail a later handshake for another reason).
    std::string tls_failure_reasons() const;

private:
    void start();

    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace core_interceptor::test_support
