// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace core_interceptor::metrics {

/// The metrics server (`--metrics-address`): where it listens and what one client may cost.
struct config {
    /// An IP literal (IPv6 without brackets) and a port.
    std::string host = "127.0.0.1";
    std::uint16_t port = 9464;
    /// A client has this long to send its request (and between requests on a kept-alive
    /// connection); a scraper asks within milliseconds.
    std::chrono::milliseconds read_timeout{10000};
    /// A request must have arrived this long after the connection opened or the previous
    /// answer: an idle kept-alive connection is closed then, and sooner when a new client
    /// needs its slot. A scraper sends its request at once.
    std::chrono::milliseconds idle_timeout{1500};
    /// A scrape is a short GET: a larger request header is not one.
    std::size_t max_request_bytes = 8 * 1024;
    /// Connections served at once; one or two scrapers are usual, more are turned away.
    std::size_t max_connections = 8;
};

}  // namespace core_interceptor::metrics
