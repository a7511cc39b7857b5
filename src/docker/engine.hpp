// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "docker/config.hpp"
#include "http/endpoint.hpp"

#include <memory>
#include <optional>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace core_interceptor::docker {

/// How the Engine is reached: its endpoint and, for TLS, the context every connection
/// (events, calls, `--check`) does its handshake with.
struct engine_connection {
    http::endpoint ep;
    std::shared_ptr<boost::asio::ssl::context> tls;  ///< set for a transport::tls endpoint
};

/// The connection `cfg` describes: `cfg.host` parsed, and with `cfg.tls_verify` a tcp:// host
/// turned into TLS with `cfg.cert_path`'s ca.pem, cert.pem and key.pem. A failure names the
/// bad value or file (never a file's content).
result<engine_connection> engine_connection_of(const client_config& cfg);

/// The warning for an Engine reached over plain TCP anywhere but loopback: registry
/// credentials and images cross the network in the clear. nullopt otherwise.
std::optional<std::string> clear_text_warning(const http::endpoint& ep);

}  // namespace core_interceptor::docker
