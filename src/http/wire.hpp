// SPDX-License-Identifier: MIT
// What the whole exchange and the two streams share: the counted plain stream, the request
// head, connecting, reading a whole response, and opening a stream.
#pragma once

#include "http/client.hpp"
#include "http/conn_stream.hpp"
#include "http/pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>

namespace core_interceptor::http::detail {

namespace bhttp = boost::beast::http;

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

const std::string* find_header(const std::vector<header_field>& headers, std::string_view name);

template <class Fields> std::vector<header_field> copy_headers(const Fields& fields)
{
    std::vector<header_field> out;
    for (const auto& f : fields)
        out.push_back({std::string(f.name_string()), std::string(f.value())});
    return out;
}

/// The request line and header fields of `req` for `ep`, on a message of any body type. A
/// request on a pooled connection (`keep_alive`) leaves the connection open (HTTP/1.1's
/// default); any other asks the peer to close it after the response.
template <class Body>
void set_head(bhttp::request<Body>& m,
              const endpoint& ep,
              const request& req,
              bool keep_alive = false)
{
    m.method_string(req.method);
    m.target(req.target);
    m.version(11);
    m.set(bhttp::field::host, ep.host_header);
    m.set(bhttp::field::user_agent, "core_interceptor/" CORE_INTERCEPTOR_VERSION);
    if (!keep_alive)
        m.set(bhttp::field::connection, "close");
    for (const auto& h : req.headers)
        m.set(h.name, h.value);
    if (!req.content_type.empty())
        m.set(bhttp::field::content_type, req.content_type);
}

/// `req` as a whole message, its length set.
bhttp::request<bhttp::string_body>
make_request(const endpoint& ep, const request& req, bool keep_alive = false);

/// The parser's header limit: `lim.max_header`, at most what Beast can count.
inline std::uint32_t header_limit(const limits& lim)
{
    return static_cast<std::uint32_t>(std::min<std::size_t>(lim.max_header, UINT32_MAX));
}

/// Maps Beast's timeout to the phase that timed out, so the journal says *what* timed out.
error_code phase_error(error_code ec, errc on_timeout);

failure with_context(error_code ec, const endpoint& ep);

/// Connects a plain stream to a unix socket or to the first reachable resolved TCP address.
boost::asio::awaitable<error_code>
connect(plain_stream& s, const endpoint& ep, std::chrono::milliseconds timeout);

/// What a response read left of its connection.
struct read_state {
    bool received = false;  ///< some bytes of the response arrived
    bool reusable = false;  ///< read to its end, nothing after it, and the peer keeps it open
};

/// Reads a whole response on a stream whose request is sent, within `lim` (the header only for
/// the answer to a HEAD request). `st`, when given, says what became of the connection.
template <class Stream>
boost::asio::awaitable<result<response>>
read_response(Stream& s, const endpoint& ep, const limits& lim, bool head, read_state* st = nullptr)
{
    boost::beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(header_limit(lim));
    parser.body_limit(lim.max_body);
    if (head)
        parser.skip(true);
    auto [rec, rn] = co_await bhttp::async_read(s, buf, parser, use_tuple);
    if (st) {
        st->received = parser.got_some();
        st->reusable = !rec && parser.is_done() && parser.get().keep_alive() && buf.size() == 0;
    }
    if (rec == bhttp::error::body_limit || rec == bhttp::error::header_limit)
        co_return failure(make_error_code(errc::limit_exceeded), 0, ep.describe());
    if (rec)
        co_return with_context(phase_error(rec, errc::request_timeout), ep);

    response out;
    out.status = parser.get().result_int();
    out.headers = copy_headers(parser.get().base());
    out.body = std::move(parser.get().body());
    co_return out;
}

/// A connection for one exchange: taken from a pool (`reused`) or newly connected.
struct lease {
    conn_stream stream;
    bool reused = false;
};

/// An idle connection of `pool` that the peer has not closed, else a new one (counted); a new
/// unpooled one when `pool` is null. Counts the request about to be sent on it. A new
/// connection to a TLS endpoint has done its handshake (the pool's context, else `tls`).
boost::asio::awaitable<result<lease>> acquire(connection_pool* pool,
                                              const endpoint& ep,
                                              const limits& lim,
                                              std::uint64_t* bytes_read,
                                              boost::asio::ssl::context* tls = nullptr);

/// TLS over the connected `s`, and the client handshake within `lim.timeout`: the peer's
/// certificate must name `ep.host` (a DNS name, or an IP address SAN for an IP literal). A
/// refused handshake fails with the endpoint and OpenSSL's reason ("certificate verify failed:
/// unable to get local issuer certificate", "tlsv13 alert certificate required").
boost::asio::awaitable<result<void>> tls_handshake(conn_stream& s,
                                                   const endpoint& ep,
                                                   const limits& lim,
                                                   boost::asio::ssl::context& ctx);

/// Keeps `s`, idle after a complete exchange, for the next one (or closes it when the pool is
/// full).
void give_back(connection_pool& pool, conn_stream&& s);

/// The error says the peer had closed the connection before the request reached it (a stale
/// pooled connection): end of stream, reset, broken pipe.
bool peer_gone(error_code ec);

/// The failure of the first exchange on a new TLS connection, which the peer dropped (reset,
/// end of stream): with TLS 1.3 a server refuses a client certificate only after the client's
/// handshake has ended, and its alert can be lost in the reset, so the message says so.
failure first_exchange_failure(failure f, bool fresh_tls);

/// May a request that failed on a reused connection be sent again on a new one? Only when
/// the failure is the peer's close, and the request cannot have been acted on: its write
/// failed, or nothing of the answer arrived and the method is GET or HEAD.
bool may_resend(const request& req, error_code ec, bool write_failed, bool received);

/// A streaming exchange (a stream_reader's or stream_writer's), its state `Impl` connected and
/// started with `Impl::start(req)`, which sets `Impl::resend` when it may be sent again
/// (may_resend); `wrap` turns the state into the handle.
template <class Impl, class Wrap>
boost::asio::awaitable<result<std::invoke_result_t<Wrap, std::unique_ptr<Impl>>>>
open_stream(connection_pool* pool,
            const endpoint& ep,
            const request& req,
            const limits& lim,
            std::uint64_t* bytes_read,
            Wrap wrap)
{
    for (bool first = true;; first = false) {
        auto l = co_await acquire(pool, ep, lim, bytes_read);
        if (!l)
            co_return l.error();
        const bool reused = l->reused;
        const bool fresh_tls = !reused && l->stream.tls() != nullptr;
        auto p = std::make_unique<Impl>(std::move(l->stream), pool, ep, lim);
        auto started = co_await p->start(req);
        if (started)
            co_return wrap(std::move(p));
        if (!(first && reused && p->resend))
            co_return first_exchange_failure(started.error(), fresh_tls);
    }
}

}  // namespace core_interceptor::http::detail
