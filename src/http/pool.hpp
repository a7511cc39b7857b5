// SPDX-License-Identifier: MIT
#pragma once

#include "http/endpoint.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace boost::asio::ssl {
class context;
}

namespace core_interceptor::http {

/// How many connections a pool keeps open while idle, and for how long.
struct pool_config {
    /// Idle connections kept at most; one more is closed when given back. 0: none is kept.
    std::size_t max_idle = 6;
    /// An idle connection older than this is closed (and never reused) the next time the pool
    /// is used: no timer keeps the loop busy for it.
    std::chrono::milliseconds idle_timeout{4000};
};

namespace detail {
struct pool_access;
}

/// Idle connections to one endpoint (unix socket, TCP, or TCP with TLS), kept alive between
/// exchanges (HTTP/1.1 persistent connections), and the count of requests sent and connections
/// opened. A connection goes back only after a response read to its end that lets it stay open; one
/// the peer closed meanwhile is found before reuse, and a request that met it anyway is sent
/// again on a new connection only when that cannot repeat its effect (client.hpp). Loop thread
/// only; destroy it before its io_context.
class connection_pool {
public:
    /// `bytes_read`, when given, counts every byte read on the pool's connections. `tls` (kept
    /// by the caller, outliving the pool) is required for a transport::tls endpoint: every new
    /// connection does its handshake with it.
    connection_pool(endpoint ep,
                    pool_config cfg,
                    std::uint64_t* bytes_read = nullptr,
                    boost::asio::ssl::context* tls = nullptr);
    ~connection_pool();
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    const endpoint& where() const noexcept;
    /// Requests sent through the pool (an exchange sent again counts twice).
    std::uint64_t requests() const noexcept;
    /// Connections opened by the pool.
    std::uint64_t connections() const noexcept;
    /// Connections waiting for their next exchange now.
    std::size_t idle() const noexcept;
    /// Closes every idle connection now.
    void close_idle() noexcept;

private:
    friend struct detail::pool_access;
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace core_interceptor::http
