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

    /// The first header called `name` (case-insensitive); empty if absent.
    std::string header(std::string_view name) const;
};

/// A small HTTP/1.1 server on 127.0.0.1 and a port of its own, on its own thread: records every
/// request and answers 200 with `{}`, or a chosen status for the first N requests (to test
/// retries). Keep-alive is honoured. The public calls are thread safe.
class http_sink {
public:
    /// Listens and serves until destroyed. Throws boost::system::system_error if it cannot bind.
    http_sink();
    http_sink(const http_sink&) = delete;
    http_sink& operator=(const http_sink&) = delete;
    ~http_sink();

    /// "http://127.0.0.1:PORT/notify", for `--rest-url`.
    std::string url() const;
    unsigned short port() const;

    /// The next `n` requests are answered with `status` (e.g. 503) instead of 200, with a
    /// `Retry-After: retry_after` header when it is not empty.
    void fail_next(std::size_t n, unsigned status = 503, std::string retry_after = {});

    /// Waits until at least `n` requests were received; false on timeout.
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
    /// Every request received so far, in arrival order.
    std::vector<http_request> requests() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace core_interceptor::test_support
