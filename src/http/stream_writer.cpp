// SPDX-License-Identifier: MIT
// A request whose body is sent piece by piece (chunked) as it is produced.
#include "http/client.hpp"

#include "http/wire.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace core_interceptor::http {

using detail::use_tuple;
using detail::with_context;

struct stream_writer::impl {
    impl(detail::conn_stream&& s, connection_pool* p, const endpoint& e, const limits& l)
        : stream(std::move(s)), pool(p), ep(e), lim(l), serializer(message)
    {
    }

    /// Sends `req`'s header (chunked; its body is ignored) within `lim.timeout`; on failure,
    /// sets `resend` when nothing reached the peer.
    asio::awaitable<result<void>> start(const request& req);

    detail::conn_stream stream;
    connection_pool* pool;  ///< null: the connection is closed after the exchange
    bool resend = false;
    endpoint ep;
    limits lim;
    bhttp::request<bhttp::buffer_body> message;
    bhttp::request_serializer<bhttp::buffer_body> serializer;  // refers to `message`
};

asio::awaitable<result<void>> stream_writer::impl::start(const request& req)
{
    detail::set_head(message, ep, req, pool != nullptr);
    message.chunked(true);
    message.body().data = nullptr;
    message.body().size = 0;
    message.body().more = true;
    stream.expires_after(lim.timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, use_tuple);
    if (ec) {
        resend = detail::may_resend(req, ec, true, false);
        co_return with_context(detail::phase_error(ec, errc::request_timeout), ep);
    }
    co_return result<void>{};
}

stream_writer::stream_writer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
stream_writer::stream_writer(stream_writer&&) noexcept = default;
stream_writer& stream_writer::operator=(stream_writer&&) noexcept = default;
stream_writer::~stream_writer() = default;

asio::awaitable<result<stream_writer>> stream_writer::open(const endpoint& ep,
                                                           const request& req,
                                                           const limits& lim,
                                                           std::uint64_t* bytes_read)
{
    return detail::open_stream<impl>(
        nullptr, ep, req, lim, bytes_read, [](std::unique_ptr<impl> p) {
            return stream_writer(std::move(p));
        });
}

asio::awaitable<result<stream_writer>>
stream_writer::open(connection_pool& pool, const request& req, const limits& lim)
{
    return detail::open_stream<impl>(
        &pool, pool.where(), req, lim, nullptr, [](std::unique_ptr<impl> p) {
            return stream_writer(std::move(p));
        });
}

asio::awaitable<result<void>> stream_writer::write(std::string_view piece)
{
    auto& p = *impl_;
    if (piece.empty())
        co_return result<void>{};
    auto& body = p.message.body();
    body.data = const_cast<char*>(piece.data());  // only read by the serializer
    body.size = piece.size();
    body.more = true;
    p.stream.expires_after(p.lim.timeout);
    auto [ec, n] = co_await bhttp::async_write(p.stream, p.serializer, use_tuple);
    // need_buffer: the chunk went out and the serializer asks for the next one.
    if (ec && ec != bhttp::error::need_buffer)
        co_return with_context(detail::phase_error(ec, errc::request_timeout), p.ep);
    co_return result<void>{};
}

asio::awaitable<result<response>> stream_writer::finish()
{
    auto& p = *impl_;
    auto& body = p.message.body();
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    p.stream.expires_after(p.lim.timeout);
    auto [wec, wn] = co_await bhttp::async_write(p.stream, p.serializer, use_tuple);
    if (wec)
        co_return with_context(detail::phase_error(wec, errc::request_timeout), p.ep);
    detail::read_state st;
    auto out = co_await detail::read_response(p.stream, p.ep, p.lim, false, &st);
    if (out && st.reusable && p.pool)
        detail::give_back(*p.pool, std::move(p.stream));
    co_return out;
}

}  // namespace core_interceptor::http
