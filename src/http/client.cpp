// SPDX-License-Identifier: MIT
#include "http/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cstring>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace core_interceptor::http {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// A Beast rate policy that limits nothing and counts the bytes read from the socket: the
/// figure behind "probing costs the same whatever the dump size".
class counting_policy {
public:
    explicit counting_policy(std::uint64_t* counter) : counter_(counter) {}

private:
    friend beast::rate_policy_access;
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

using protocol = asio::generic::stream_protocol;
using plain_stream = beast::basic_stream<protocol, asio::any_io_executor, counting_policy>;

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

const std::string* find_header(const std::vector<header_field>& headers, std::string_view name)
{
    for (const auto& h : headers)
        if (iequals(h.name, name))
            return &h.value;
    return nullptr;
}

template <class Fields> std::vector<header_field> copy_headers(const Fields& fields)
{
    std::vector<header_field> out;
    for (const auto& f : fields)
        out.push_back({std::string(f.name_string()), std::string(f.value())});
    return out;
}

bhttp::request<bhttp::string_body> make_request(const endpoint& ep, const request& req)
{
    bhttp::request<bhttp::string_body> r;
    r.method_string(req.method);
    r.target(req.target);
    r.version(11);
    r.set(bhttp::field::host, ep.host_header);
    r.set(bhttp::field::user_agent, "core_interceptor/" CORE_INTERCEPTOR_VERSION);
    r.set(bhttp::field::connection, "close");
    for (const auto& h : req.headers)
        r.set(h.name, h.value);
    if (!req.content_type.empty())
        r.set(bhttp::field::content_type, req.content_type);
    r.body() = req.body;
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT")
        r.prepare_payload();
    return r;
}

/// Maps Beast's timeout to the phase that timed out, so the journal says *what* timed out.
error_code phase_error(error_code ec, errc on_timeout)
{
    if (ec == beast::error::timeout)
        return make_error_code(on_timeout);
    return ec;
}

failure with_context(error_code ec, const endpoint& ep)
{
    return failure(ec, 0, ep.describe());
}

/// Connects a plain stream to a unix socket or to the first reachable resolved TCP address.
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

/// Writes the request and reads a whole response on a connected stream.
template <class Stream>
asio::awaitable<result<response>>
round_trip(Stream& s, const endpoint& ep, const request& req, const limits& lim)
{
    auto r = make_request(ep, req);
    auto [wec, wn] = co_await bhttp::async_write(s, r, use_tuple);
    if (wec)
        co_return with_context(phase_error(wec, errc::request_timeout), ep);

    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(lim.max_header, UINT32_MAX)));
    parser.body_limit(lim.max_body);
    if (req.method == "HEAD")
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

/// TLS handshake as a client on a connected stream, within `lim.timeout`. A certificate that is
/// not accepted fails with OpenSSL's reason ("unable to get local issuer certificate", "IP
/// address mismatch") after the endpoint.
asio::awaitable<result<void>>
handshake(beast::ssl_stream<beast::tcp_stream>& s, const endpoint& ep, const limits& lim)
{
    if (!expect_peer_name(s.native_handle(), ep.host))
        co_return failure(
            make_error_code(errc::bad_url), 0, "cannot set TLS server name " + ep.host);
    beast::get_lowest_layer(s).expires_after(lim.timeout);
    auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (!ec)
        co_return result<void>{};
    auto f = with_context(phase_error(ec, errc::request_timeout), ep);
    if (const long v = ::SSL_get_verify_result(s.native_handle()); v != X509_V_OK)
        f.message += std::string(": ") + ::X509_verify_cert_error_string(v);
    co_return f;
}

}  // namespace

const std::string* response::header(std::string_view name) const
{
    return find_header(headers, name);
}

asio::awaitable<result<response>> exchange(const endpoint& ep,
                                           const request& req,
                                           const limits& lim,
                                           asio::ssl::context* tls,
                                           std::uint64_t* bytes_read)
{
    auto ex = co_await asio::this_coro::executor;
    if (ep.kind != endpoint::transport::tls) {
        plain_stream s(counting_policy(bytes_read), ex);
        if (auto ec = co_await connect(s, ep, lim.connect_timeout))
            co_return with_context(ec, ep);
        s.expires_after(lim.timeout);
        co_return co_await round_trip(s, ep, req, lim);
    }

    if (!tls)
        co_return failure(
            make_error_code(errc::not_configured), 0, "TLS context for " + ep.describe());
    beast::ssl_stream<beast::tcp_stream> s(ex, *tls);
    {
        asio::ip::tcp::resolver resolver(ex);
        auto [rec, results] = co_await resolver.async_resolve(ep.host, ep.port, use_tuple);
        if (rec)
            co_return with_context(rec, ep);
        beast::get_lowest_layer(s).expires_after(lim.connect_timeout);
        auto [cec, cep] = co_await beast::get_lowest_layer(s).async_connect(results, use_tuple);
        if (cec)
            co_return with_context(phase_error(cec, errc::connect_timeout), ep);
    }
    if (auto hs = co_await handshake(s, ep, lim); !hs)
        co_return hs.error();
    auto out = co_await round_trip(s, ep, req, lim);
    // A peer that closes without close_notify is common and harmless here: the response is
    // complete (its length was known), so the shutdown result is not checked.
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(1));
    co_await s.async_shutdown(use_tuple);
    co_return out;
}

namespace {

// The state of a streaming exchange (a stream_reader's or stream_writer's impl), connected:
// there is no TLS for streams.
template <class Impl>
asio::awaitable<result<std::unique_ptr<Impl>>>
open_stream(const endpoint& ep, const limits& lim, std::uint64_t* bytes_read)
{
    if (ep.kind == endpoint::transport::tls)
        co_return failure(make_error_code(errc::not_configured), 0, "streaming over TLS");
    auto p = std::make_unique<Impl>(co_await asio::this_coro::executor, bytes_read, ep, lim);
    if (auto ec = co_await connect(p->stream, ep, lim.connect_timeout))
        co_return with_context(ec, ep);
    co_return p;
}

}  // namespace

// --- stream_reader -------------------------------------------------------------------------

struct stream_reader::impl {
    impl(asio::any_io_executor ex, std::uint64_t* counter, const endpoint& e, const limits& l)
        : stream(counting_policy(counter), ex), ep(e), lim(l),
          buf(std::max<std::size_t>(l.read_chunk, 4096)),
          chunk(std::max<std::size_t>(l.read_chunk, 4096))
    {
    }
    plain_stream stream;
    endpoint ep;
    limits lim;
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::buffer_body> parser;
    std::vector<char> chunk;
    std::vector<header_field> headers;
};

stream_reader::stream_reader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
stream_reader::stream_reader(stream_reader&&) noexcept = default;
stream_reader& stream_reader::operator=(stream_reader&&) noexcept = default;
stream_reader::~stream_reader() = default;

asio::awaitable<result<stream_reader>> stream_reader::open(const endpoint& ep,
                                                           const request& req,
                                                           const limits& lim,
                                                           std::uint64_t* bytes_read)
{
    auto opened = co_await open_stream<impl>(ep, lim, bytes_read);
    if (!opened)
        co_return opened.error();
    auto p = std::move(*opened);

    p->stream.expires_after(lim.timeout);
    auto r = make_request(ep, req);
    auto [wec, wn] = co_await bhttp::async_write(p->stream, r, use_tuple);
    if (wec)
        co_return with_context(phase_error(wec, errc::request_timeout), ep);

    p->parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(lim.max_header, UINT32_MAX)));
    p->parser.body_limit(boost::none);  // streams end when their owner says so
    if (req.method == "HEAD")
        p->parser.skip(true);
    auto [rec, rn] = co_await bhttp::async_read_header(p->stream, p->buf, p->parser, use_tuple);
    if (rec == bhttp::error::header_limit || rec == bhttp::error::buffer_overflow)
        co_return failure(make_error_code(errc::limit_exceeded), 0, ep.describe());
    if (rec)
        co_return with_context(phase_error(rec, errc::request_timeout), ep);
    p->stream.expires_never();
    p->headers = copy_headers(p->parser.get().base());
    co_return stream_reader(std::move(p));
}

unsigned stream_reader::status() const noexcept
{
    return impl_->parser.get().result_int();
}

const std::string* stream_reader::header(std::string_view name) const
{
    return find_header(impl_->headers, name);
}

asio::awaitable<result<std::string_view>>
stream_reader::read_some(std::optional<std::chrono::milliseconds> idle)
{
    auto& p = *impl_;
    for (;;) {
        if (p.parser.is_done())
            co_return std::string_view{};
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
            co_return with_context(phase_error(ec, errc::request_timeout), p.ep);
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
    if (impl_) {
        error_code ignored;  // dropping the connection on purpose: nothing to report
        impl_->stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        impl_->stream.close();
    }
}

// --- stream_writer -------------------------------------------------------------------------

struct stream_writer::impl {
    impl(asio::any_io_executor ex, std::uint64_t* counter, const endpoint& e, const limits& l)
        : stream(counting_policy(counter), ex), ep(e), lim(l), serializer(message)
    {
    }
    plain_stream stream;
    endpoint ep;
    limits lim;
    bhttp::request<bhttp::buffer_body> message;
    bhttp::request_serializer<bhttp::buffer_body> serializer;  // refers to `message`
};

stream_writer::stream_writer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
stream_writer::stream_writer(stream_writer&&) noexcept = default;
stream_writer& stream_writer::operator=(stream_writer&&) noexcept = default;
stream_writer::~stream_writer() = default;

asio::awaitable<result<stream_writer>> stream_writer::open(const endpoint& ep,
                                                           const request& req,
                                                           const limits& lim,
                                                           std::uint64_t* bytes_read)
{
    auto opened = co_await open_stream<impl>(ep, lim, bytes_read);
    if (!opened)
        co_return opened.error();
    auto p = std::move(*opened);

    auto& m = p->message;
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
    m.chunked(true);
    m.body().data = nullptr;
    m.body().size = 0;
    m.body().more = true;
    p->stream.expires_after(lim.timeout);
    auto [ec, n] = co_await bhttp::async_write_header(p->stream, p->serializer, use_tuple);
    if (ec)
        co_return with_context(phase_error(ec, errc::request_timeout), ep);
    co_return stream_writer(std::move(p));
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
        co_return with_context(phase_error(ec, errc::request_timeout), p.ep);
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
        co_return with_context(phase_error(wec, errc::request_timeout), p.ep);

    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(p.lim.max_header, UINT32_MAX)));
    parser.body_limit(p.lim.max_body);
    auto [rec, rn] = co_await bhttp::async_read(p.stream, buf, parser, use_tuple);
    if (rec == bhttp::error::body_limit || rec == bhttp::error::header_limit)
        co_return failure(make_error_code(errc::limit_exceeded), 0, p.ep.describe());
    if (rec)
        co_return with_context(phase_error(rec, errc::request_timeout), p.ep);
    response out;
    out.status = parser.get().result_int();
    out.headers = copy_headers(parser.get().base());
    out.body = std::move(parser.get().body());
    co_return out;
}

}  // namespace core_interceptor::http
