// SPDX-License-Identifier: MIT
#include "docker/engine.hpp"

#include "http/tls.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

namespace core_interceptor::docker {

result<engine_connection> engine_connection_of(const client_config& cfg)
{
    auto ep = http::parse_docker_host(cfg.host);
    if (!ep)
        return failure(
            ep.error().code, 0, "--docker-host " + cfg.host + ": " + ep.error().describe());
    engine_connection c{std::move(*ep), nullptr};
    if (!cfg.tls_verify || c.ep.kind == http::endpoint::transport::unix_socket)
        return c;
    c.ep.kind = http::endpoint::transport::tls;
    http::tls_client_config t;
    t.ca_file = cfg.cert_path + "/ca.pem";
    t.cert_file = cfg.cert_path + "/cert.pem";
    t.key_file = cfg.cert_path + "/key.pem";
    try {
        c.tls = http::client_tls_context(t);
    } catch (const http::tls_file_error& e) {
        return failure(make_error_code(errc::not_configured),
                       0,
                       std::string("TLS to the Engine: ") + e.what());
    }
    return c;
}

std::optional<std::string> clear_text_warning(const http::endpoint& ep)
{
    if (ep.kind != http::endpoint::transport::tcp || ep.host == "localhost")
        return std::nullopt;
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(ep.host, ec);
    if (!ec && a.is_loopback())
        return std::nullopt;
    return "the Engine at " + ep.describe() +
           " is reached over plain TCP: registry credentials and images cross the network in "
           "the clear (use TLS: --docker-tls-verify and --docker-cert-path)";
}

}  // namespace core_interceptor::docker
