// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "co/task_group.hpp"
#include "metrics/config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::metrics {

/// Renders the metrics page at scrape time.
using render_fn = std::function<std::string()>;
/// Nothing when healthy, else a one-line reason.
using health_fn = std::function<std::optional<std::string>()>;

/// What the server answers to one request (sans-io, so it is testable without a socket).
struct reply {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::string allow;  ///< the Allow header of a 405
};

/// GET /metrics: 200 with the page; GET /healthz: 200 "ok" or 503 with the reason; any
/// other path 404; any other method 405. A query string is ignored.
reply answer(std::string_view method,
             std::string_view target,
             const render_fn& metrics,
             const health_fn& health);

/// The opt-in HTTP endpoint for Prometheus (`--metrics-address`): /metrics and /healthz.
/// Runs on the daemon's own loop (one thread, no timers of its own while idle): each
/// connection is a coroutine with a read deadline, a bounded request size, and a cap on how
/// many are served at once. Loop thread only.
class server {
public:
    server(boost::asio::any_io_executor ex, config cfg, render_fn metrics, health_fn health);
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server();

    /// Opens the listening socket (with SO_REUSEADDR). Fails with the socket error, e.g.
    /// address_in_use, or errc::bad_url when the host is not an IP address.
    error_code listen();

    /// Where it listens, once listen() succeeded.
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Accepts and serves connections until cancelled (total or terminal), then closes the
    /// listening socket and every open connection and completes once they have ended.
    /// Never throws for I/O errors.
    boost::asio::awaitable<void> run();

private:
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
    /// Closes one idle connection (waiting for a request, nothing of it read); false if none.
    bool evict_idle();

    config cfg_;
    render_fn metrics_;
    health_fn health_;
    boost::asio::ip::tcp::acceptor acceptor_;
    co::task_group connections_;
    /// Open connections, to close them at shutdown; true while one waits for a request (idle),
    /// so that a new client may take its place when every slot is taken.
    std::map<boost::asio::ip::tcp::socket*, bool> open_;
};

}  // namespace core_interceptor::metrics
