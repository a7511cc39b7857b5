// SPDX-License-Identifier: MIT
// The whole exchange: one request, one complete response, over a plain or a TLS connection.
// The streams are in stream_reader.cpp and stream_writer.cpp; what all share in wire.hpp.
#include "http/client.hpp"

#include "http/wire.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/write.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace core_interceptor::http {
namespace {

using detail::use_tuple;
using detail::with_context;

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
    auto l = co_await detail::acquire(nullptr, ep, lim, bytes_read, tls);
    if (!l)
        co_return l.error();
    auto& s = l->stream;
    s.expires_after(lim.timeout);
    auto out = co_await round_trip(s, ep, req, lim);
    if (!out)
        out = detail::first_exchange_failure(out.error(), s.tls() != nullptr);
    if (auto* t = s.tls()) {
        // A peer that closes without close_notify is common and harmless here: the response is
        // complete (its length was known), so the shutdown result is not checked.
        s.expires_after(std::chrono::seconds(1));
        co_await t->async_shutdown(use_tuple);
    }
    co_return out;
}

asio::awaitable<result<response>>
exchange(connection_pool& pool, const request& req, const limits& lim)
{
    const endpoint& ep = pool.where();
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
        if (!out)
            co_return detail::first_exchange_failure(out.error(), !l->reused && s.tls());
        co_return out;
    }
}

}  // namespace core_interceptor::http
