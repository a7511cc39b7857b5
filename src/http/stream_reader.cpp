// SPDX-License-Identifier: MIT
// A response whose body is read piece by piece as it arrives.
#include "http/client.hpp"

#include "http/wire.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/write.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace core_interceptor::http {

using detail::use_tuple;
using detail::with_context;

struct stream_reader::impl {
    impl(detail::conn_stream&& s, connection_pool* p, const endpoint& e, const limits& l)
        : stream(std::move(s)), pool(p), ep(e), lim(l),
          buf(std::max<std::size_t>(l.read_chunk, 4096)),
          chunk(std::max<std::size_t>(l.read_chunk, 4096))
    {
    }

    /// Sends `req` and reads the response header within `lim.timeout`; on failure, sets
    /// `resend` when the request may go again on a new connection.
    asio::awaitable<result<void>> start(const request& req);

    /// The body has ended: the connection goes back to its pool if it may stay open.
    void release();

    detail::conn_stream stream;
    connection_pool* pool;  ///< null: the connection is closed after the exchange
    bool resend = false;
    bool released = false;
    endpoint ep;
    limits lim;
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::buffer_body> parser;
    std::vector<char> chunk;
    std::vector<header_field> headers;
};

asio::awaitable<result<void>> stream_reader::impl::start(const request& req)
{
    stream.expires_after(lim.timeout);
    auto r = detail::make_request(ep, req, pool != nullptr);
    auto [wec, wn] = co_await bhttp::async_write(stream, r, use_tuple);
    if (wec) {
        resend = detail::may_resend(req, wec, true, false);
        co_return with_context(detail::phase_error(wec, errc::request_timeout), ep);
    }

    parser.header_limit(detail::header_limit(lim));
    parser.body_limit(boost::none);  // streams end when their owner says so
    if (req.method == "HEAD")
        parser.skip(true);
    auto [rec, rn] = co_await bhttp::async_read_header(stream, buf, parser, use_tuple);
    if (rec == bhttp::error::header_limit || rec == bhttp::error::buffer_overflow)
        co_return failure(make_error_code(errc::limit_exceeded), 0, ep.describe());
    if (rec) {
        resend = detail::may_resend(req, rec, false, parser.got_some());
        co_return with_context(detail::phase_error(rec, errc::request_timeout), ep);
    }
    stream.expires_never();
    headers = detail::copy_headers(parser.get().base());
    co_return result<void>{};
}

void stream_reader::impl::release()
{
    if (released || !pool)
        return;
    released = true;
    if (parser.is_done() && parser.get().keep_alive() && buf.size() == 0)
        detail::give_back(*pool, std::move(stream));
    else
        stream.close();
}

stream_reader::stream_reader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
stream_reader::stream_reader(stream_reader&&) noexcept = default;
stream_reader& stream_reader::operator=(stream_reader&&) noexcept = default;
stream_reader::~stream_reader() = default;

asio::awaitable<result<stream_reader>> stream_reader::open(const endpoint& ep,
                                                           const request& req,
                                                           const limits& lim,
                                                           std::uint64_t* bytes_read)
{
    return detail::open_stream<impl>(
        nullptr, ep, req, lim, bytes_read, [](std::unique_ptr<impl> p) {
            return stream_reader(std::move(p));
        });
}

asio::awaitable<result<stream_reader>>
stream_reader::open(connection_pool& pool, const request& req, const limits& lim)
{
    return detail::open_stream<impl>(
        &pool, pool.where(), req, lim, nullptr, [](std::unique_ptr<impl> p) {
            return stream_reader(std::move(p));
        });
}

unsigned stream_reader::status() const noexcept
{
    return impl_->parser.get().result_int();
}

const std::string* stream_reader::header(std::string_view name) const
{
    return detail::find_header(impl_->headers, name);
}

asio::awaitable<result<std::string_view>>
stream_reader::read_some(std::optional<std::chrono::milliseconds> idle)
{
    auto& p = *impl_;
    for (;;) {
        if (p.parser.is_done()) {
            p.release();
            co_return std::string_view{};
        }
        auto& body = p.parser.get().body();
        body.data = p.chunk.data();
        body.size = p.chunk.size();
        if (idle)
            p.stream.expires_after(*idle);
        else
            p.stream.expires_never();
        auto [ec, n] = co_await bhttp::async_read_some(p.stream, p.buf, p.parser, use_tuple);
        if (ec == bhttp::error::need_buffer)
            ec = {};
        if (ec == bhttp::error::end_of_stream || ec == asio::error::eof)
            co_return failure(make_error_code(errc::stream_truncated), 0, p.ep.describe());
        if (ec)
            co_return with_context(detail::phase_error(ec, errc::request_timeout), p.ep);
        std::size_t got = p.chunk.size() - body.size;
        if (got > 0)
            co_return std::string_view(p.chunk.data(), got);
    }
}

asio::awaitable<result<std::string>> stream_reader::read_rest(std::size_t max,
                                                              std::chrono::milliseconds timeout)
{
    std::string out;
    for (;;) {
        auto piece = co_await read_some(timeout);
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            co_return out;
        if (out.size() + piece->size() > max)
            co_return failure(make_error_code(errc::limit_exceeded), 0, impl_->ep.describe());
        out.append(*piece);
    }
}

void stream_reader::close() noexcept
{
    if (impl_ && !impl_->released) {
        impl_->released = true;
        error_code ignored;  // dropping the connection on purpose: nothing to report
        impl_->stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        impl_->stream.close();
    }
}

}  // namespace core_interceptor::http
