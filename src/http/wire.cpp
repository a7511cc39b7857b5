// SPDX-License-Identifier: MIT
#include "http/wire.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cctype>

namespace asio = boost::asio;

namespace core_interceptor::http::detail {
namespace {

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

/// The peer must be `host`: OpenSSL checks the certificate's names during the handshake (a
/// DNS name, or an IP address SAN for an IP literal), so a mismatch has a verify reason too.
bool expect_peer_name(SSL* ssl, const std::string& host)
{
    error_code ec;
    asio::ip::make_address(host, ec);
    if (!ec)
        return ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(ssl), host.c_str()) == 1;
    // SNI for names only: RFC 6066 §3 has no IP literals in it.
    return ::SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
           ::SSL_set1_host(ssl, host.c_str()) == 1;
}

}  // namespace

asio::awaitable<result<void>>
tls_handshake(conn_stream& s, const endpoint& ep, const limits& lim, asio::ssl::context& ctx)
{
    s.start_tls(ctx);
    auto& t = *s.tls();
    if (!expect_peer_name(t.native_handle(), ep.host))
        co_return failure(
            make_error_code(errc::bad_url), 0, "cannot set TLS server name " + ep.host);
    s.expires_after(lim.timeout);
    auto [ec] = co_await t.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (!ec)
        co_return result<void>{};
    auto f = with_context(phase_error(ec, errc::request_timeout), ep);
    if (const long v = ::SSL_get_verify_result(t.native_handle()); v != X509_V_OK)
        f.message += std::string(": ") + ::X509_verify_cert_error_string(v);
    co_return f;
}

const std::string* find_header(const std::vector<header_field>& headers, std::string_view name)
{
    for (const auto& h : headers)
        if (iequals(h.name, name))
            return &h.value;
    return nullptr;
}

bhttp::request<bhttp::string_body>
make_request(const endpoint& ep, const request& req, bool keep_alive)
{
    bhttp::request<bhttp::string_body> r;
    set_head(r, ep, req, keep_alive);
    r.body() = req.body;
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT")
        r.prepare_payload();
    return r;
}

error_code phase_error(error_code ec, errc on_timeout)
{
    if (ec == boost::beast::error::timeout)
        return make_error_code(on_timeout);
    return ec;
}

failure with_context(error_code ec, const endpoint& ep)
{
    return failure(ec, 0, ep.describe());
}

asio::awaitable<error_code>
connect(plain_stream& s, const endpoint& ep, std::chrono::milliseconds timeout)
{
    if (ep.kind == endpoint::transport::unix_socket) {
        s.expires_after(timeout);
        auto [ec] = co_await s.async_connect(
            protocol::endpoint(asio::local::stream_protocol::endpoint(ep.path)), use_tuple);
        co_return phase_error(ec, errc::connect_timeout);
    }
    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [rec, results] = co_await resolver.async_resolve(ep.host, ep.port, use_tuple);
    if (rec)
        co_return rec;
    error_code last = asio::error::host_not_found;
    for (const auto& r : results) {
        s.expires_after(timeout);
        auto [ec] = co_await s.async_connect(protocol::endpoint(r.endpoint()), use_tuple);
        if (!ec) {
            co_return error_code{};
        }
        last = phase_error(ec, errc::connect_timeout);
        if (last == asio::error::operation_aborted)
            break;
        error_code ignored;  // the socket is reopened by the next connect
        s.socket().close(ignored);
    }
    co_return last;
}

}  // namespace core_interceptor::http::detail
