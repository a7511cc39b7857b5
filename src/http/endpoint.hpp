// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <string>
#include <string_view>

namespace core_interceptor::http {

/// Where a request goes: a unix socket, or a TCP host and port with or without TLS.
struct endpoint {
    enum class transport { unix_socket, tcp, tls };
    transport kind = transport::unix_socket;
    std::string path;         ///< unix socket path
    std::string host;         ///< TCP host name or address (no brackets)
    std::string port;         ///< TCP port
    std::string target;       ///< path and query of an http(s) URL ("/" when none)
    std::string host_header;  ///< value for the Host header

    /// "unix:///run/docker.sock", "tcp://127.0.0.1:2375", "https://host:443": for log lines.
    std::string describe() const;
    /// "host:port" ("[v6]:port"), or the socket path: how failure messages name the peer.
    std::string peer() const;
};

/// `--docker-host`: unix:///path, tcp://host:port (plain HTTP), http://host:port.
/// errc::bad_url otherwise.
result<endpoint> parse_docker_host(std::string_view url);

/// An http:// or https:// URL (the REST sink). errc::bad_url otherwise.
result<endpoint> parse_http_url(std::string_view url);

}  // namespace core_interceptor::http
