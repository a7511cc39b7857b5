// SPDX-License-Identifier: MIT
// What the whole exchange and the two streams share: the counted plain stream, the request
// head, connecting, reading a whole response, and opening a stream.
#pragma once

#include "http/client.hpp"

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

namespace core_interceptor::http::detail {

namespace bhttp = boost::beast::http;

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

/// A Beast rate policy that limits nothing and counts the bytes read from the socket: the
/// figure behind "probing costs the same whatever the dump size".
class counting_policy {
public:
    explicit counting_policy(std::uint64_t* counter) : counter_(counter) {}

private:
    friend boost::beast::rate_policy_access;
    std::size_t available_read_bytes() const noexcept
    {
        return (std::numeric_limits<std::size_t>::max)();
    }
    std::size_t available_write_bytes() const noexcept
    {
        return (std::numeric_limits<std::size_t>::max)();
    }
    void transfer_read_bytes(std::size_t n) noexcept
    {
        if (counter_)
            *counter_ += n;
    }
    void transfer_write_bytes(std::size_t) noexcept {}
    void on_timer() noexcept {}

    std::uint64_t* counter_;
};

using protocol = boost::asio::generic::stream_protocol;
using plain_stream =
    boost::beast::basic_stream<protocol, boost::asio::any_io_executor, counting_policy>;

const std::string* find_header(const std::vector<header_field>& headers, std::string_view name);

template <class Fields> std::vector<header_field> copy_headers(const Fields& fields)
{
    std::vector<header_field> out;
    for (const auto& f : fields)
        out.push_back({std::string(f.name_string()), std::string(f.value())});
    return out;
}

/// The request line and header fields of `req` for `ep`, on a message of any body type.
template <class Body> void set_head(bhttp::request<Body>& m, const endpoint& ep, const request& req)
{
    m.method_string(req.method);
    m.target(req.target);
    m.version(11);
    m.set(bhttp::field::host, ep.host_header);
    m.set(bhttp::field::user_agent, "core_interceptor/" CORE_INTERCEPTOR_VERSION);
    m.set(bhttp::field::connection, "close");
    for (const auto& h : req.headers)
        m.set(h.name, h.value);
    if (!req.content_type.empty())
        m.set(bhttp::field::content_type, req.content_type);
}

/// `req` as a whole message, its length set.
bhttp::request<bhttp::string_body> make_request(const endpoint& ep, const request& req);

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

/// Reads a whole response on a stream whose request is sent, within `lim` (the header only for
/// the answer to a HEAD request).
template <class Stream>
boost::asio::awaitable<result<response>>
read_response(Stream& s, const endpoint& ep, const limits& lim, bool head)
{
    boost::beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(header_limit(lim));
    parser.body_limit(lim.max_body);
    if (head)
        parser.skip(true);
    auto [rec, rn] = co_await bhttp::async_read(s, buf, parser, use_tuple);
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

/// The state of a streaming exchange (a stream_reader's or stream_writer's impl), connected
/// and started with `Impl::start(req)`: there is no TLS for streams.
template <class Impl>
boost::asio::awaitable<result<std::unique_ptr<Impl>>>
open_stream(const endpoint& ep, const request& req, const limits& lim, std::uint64_t* bytes_read)
{
    if (ep.kind == endpoint::transport::tls)
        co_return failure(make_error_code(errc::not_configured), 0, "streaming over TLS");
    auto p = std::make_unique<Impl>(co_await boost::asio::this_coro::executor, bytes_read, ep, lim);
    if (auto ec = co_await connect(p->stream, ep, lim.connect_timeout))
        co_return with_context(ec, ep);
    if (auto started = co_await p->start(req); !started)
        co_return started.error();
    co_return p;
}

}  // namespace core_interceptor::http::detail
