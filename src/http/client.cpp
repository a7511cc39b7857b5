// SPDX-License-Identifier: MIT
// The whole exchange: one request, one complete response, over a plain or a TLS connection.
// The streams are in stream_reader.cpp and stream_writer.cpp; what all share in wire.hpp.
#include "http/client.hpp"

#include "http/wire.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace core_interceptor::http {
namespace {

using detail::use_tuple;
using detail::with_context;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// Writes the request and reads a whole response on a connected stream.
template <class Stream>
asio::awaitable<result<response>>
round_trip(Stream& s, const endpoint& ep, const request& req, const limits& lim)
{
    auto r = detail::make_request(ep, req);
    auto [wec, wn] = co_await bhttp::async_write(s, r, use_tuple);
    if (wec)
        co_return with_context(detail::phase_error(wec, errc::request_timeout), ep);
    co_return co_await detail::read_response(s, ep, lim, req.method == "HEAD");
}

/// The peer must be `ep.host`: OpenSSL checks the certificate's names during the handshake (a
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

/// Connects the TCP stream under `s` to the first reachable resolved address of `ep`.
asio::awaitable<result<void>> connect_tls(tls_stream& s, const endpoint& ep, const limits& lim)
{
    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [rec, results] = co_await resolver.async_resolve(ep.host, ep.port, use_tuple);
    if (rec)
        co_return with_context(rec, ep);
    beast::get_lowest_layer(s).expires_after(lim.connect_timeout);
    auto [cec, cep] = co_await beast::get_lowest_layer(s).async_connect(results, use_tuple);
    if (cec)
        co_return with_context(detail::phase_error(cec, errc::connect_timeout), ep);
    co_return result<void>{};
}

/// TLS handshake as a client on a connected stream, within `lim.timeout`. A certificate that is
/// not accepted fails with OpenSSL's reason ("unable to get local issuer certificate", "IP
/// address mismatch") after the endpoint.
asio::awaitable<result<void>> handshake(tls_stream& s, const endpoint& ep, const limits& lim)
{
    if (!expect_peer_name(s.native_handle(), ep.host))
        co_return failure(
            make_error_code(errc::bad_url), 0, "cannot set TLS server name " + ep.host);
    beast::get_lowest_layer(s).expires_after(lim.timeout);
    auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (!ec)
        co_return result<void>{};
    auto f = with_context(detail::phase_error(ec, errc::request_timeout), ep);
    if (const long v = ::SSL_get_verify_result(s.native_handle()); v != X509_V_OK)
        f.message += std::string(": ") + ::X509_verify_cert_error_string(v);
    co_return f;
}

/// The exchange over TLS: connect, handshake, round trip, and a short shutdown.
asio::awaitable<result<response>>
exchange_tls(const endpoint& ep, const request& req, const limits& lim, asio::ssl::context& tls)
{
    tls_stream s(co_await asio::this_coro::executor, tls);
    if (auto c = co_await connect_tls(s, ep, lim); !c)
        co_return c.error();
    if (auto hs = co_await handshake(s, ep, lim); !hs)
        co_return hs.error();
    auto out = co_await round_trip(s, ep, req, lim);
    // A peer that closes without close_notify is common and harmless here: the response is
    // complete (its length was known), so the shutdown result is not checked.
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(1));
    co_await s.async_shutdown(use_tuple);
    co_return out;
}

}  // namespace

const std::string* response::header(std::string_view name) const
{
    return detail::find_header(headers, name);
}

asio::awaitable<result<response>> exchange(const endpoint& ep,
                                           const request& req,
                                           const limits& lim,
                                           asio::ssl::context* tls,
                                           std::uint64_t* bytes_read)
{
    if (ep.kind == endpoint::transport::tls) {
        if (!tls)
            co_return failure(
                make_error_code(errc::not_configured), 0, "TLS context for " + ep.describe());
        co_return co_await exchange_tls(ep, req, lim, *tls);
    }
    detail::plain_stream s(detail::counting_policy(bytes_read), co_await asio::this_coro::executor);
    if (auto ec = co_await detail::connect(s, ep, lim.connect_timeout))
        co_return with_context(ec, ep);
    s.expires_after(lim.timeout);
    co_return co_await round_trip(s, ep, req, lim);
}

asio::awaitable<result<response>>
exchange(connection_pool& pool, const request& req, const limits& lim)
{
    const endpoint& ep = pool.where();
    if (ep.kind == endpoint::transport::tls)
        co_return failure(make_error_code(errc::not_configured), 0, "pooled TLS connections");
    const auto r = detail::make_request(ep, req, true);
    for (bool first = true;; first = false) {
        auto l = co_await detail::acquire(&pool, ep, lim, nullptr);
        if (!l)
            co_return l.error();
        auto& s = l->stream;
        s.expires_after(lim.timeout);
        auto [wec, wn] = co_await bhttp::async_write(s, r, use_tuple);
        if (wec) {
            if (first && l->reused && detail::may_resend(req, wec, true, false))
                continue;
            co_return with_context(detail::phase_error(wec, errc::request_timeout), ep);
        }
        detail::read_state st;
        auto out = co_await detail::read_response(s, ep, lim, req.method == "HEAD", &st);
        if (!out && first && l->reused &&
            detail::may_resend(req, out.error().code, false, st.received))
            continue;
        if (out && st.reusable)
            detail::give_back(pool, std::move(s));
        co_return out;
    }
}

}  // namespace core_interceptor::http
