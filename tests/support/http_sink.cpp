// SPDX-License-Identifier: MIT
#include "support/http_sink.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace core_interceptor::test_support {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

constexpr auto token = asio::as_tuple(asio::use_awaitable);

/// "CN=…" of the peer's certificate; empty when it sent none.
std::string peer_subject(SSL* ssl)
{
    X509* cert = ::SSL_get1_peer_certificate(ssl);
    if (!cert)
        return {};
    char buf[256] = {};
    ::X509_NAME_oneline(::X509_get_subject_name(cert), buf, sizeof buf - 1);
    ::X509_free(cert);
    std::string subject = buf;
    return subject.starts_with("/") ? subject.substr(1) : subject;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

std::string http_request::header(std::string_view name) const
{
    for (const auto& [k, v] : headers)
        if (iequals(k, name))
            return v;
    return {};
}

struct http_sink::impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    unsigned short port = 0;
    std::thread thread;

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::vector<http_request> received;
    std::size_t failures_left = 0;
    bool holding = false;
    unsigned failure_status = 503;
    std::optional<asio::ssl::context> tls;
    std::size_t tls_failure_count = 0;
    std::string last_tls_failure;
    std::string tls_failure_log;      // every failed handshake's reason, a line each
    std::string failure_retry_after;  // Retry-After of the failing answers, if any

    // Records the request and picks the status to answer with.
    unsigned record(const http::request<http::string_body>& req, std::string client_subject)
    {
        http_request r;
        r.client_subject = std::move(client_subject);
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        for (const auto& f : req)
            r.headers.emplace_back(f.name_string(), f.value());
        r.body = req.body();
        {
            std::lock_guard lock(mutex);
            if (failures_left > 0) {
                --failures_left;
                r.status = failure_status;
            } else {
                r.status = 200;
            }
            received.push_back(r);
        }
        changed.notify_all();
        return r.status;
    }

    bool held() const
    {
        std::lock_guard lock(mutex);
        return holding;
    }

    // Polls, on the sink's own thread, until answers are no longer held.
    asio::awaitable<void> wait_while_held()
    {
        asio::steady_timer timer(io);
        while (held()) {
            timer.expires_after(std::chrono::milliseconds(20));
            auto [ec] = co_await timer.async_wait(token);
            if (ec)
                co_return;
        }
    }

    // The HTTP exchanges of one connection, plain or TLS.
    template <class Stream>
    asio::awaitable<void> serve(Stream& stream, const std::string& client_subject)
    {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(16 * 1024 * 1024);  // notifications are small; this is a ceiling
            auto [ec, n] = co_await http::async_read(stream, buffer, parser, token);
            if (ec)
                co_return;  // peer closed, or garbage: nothing to answer
            auto req = parser.release();
            const unsigned status = record(req, client_subject);
            co_await wait_while_held();
            http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
            if (status != 200) {
                std::lock_guard lock(mutex);
                if (!failure_retry_after.empty())
                    res.set(http::field::retry_after, failure_retry_after);
            }
            res.set(http::field::server, "core_interceptor-test-sink");
            res.set(http::field::content_type, "application/json");
            res.body() = "{}";
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            auto [wec, wn] = co_await http::async_write(stream, res, token);
            if (wec || !res.keep_alive())
                co_return;
        }
    }

    asio::awaitable<void> session(tcp::socket socket)
    {
        boost::system::error_code ignored;  // closing anyway
        if (!tls) {
            co_await serve(socket, {});
            socket.shutdown(tcp::socket::shutdown_both, ignored);
            co_return;
        }
        asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
        auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, token);
        if (hec) {
            {
                std::lock_guard lock(mutex);
                ++tls_failure_count;
                last_tls_failure = hec.message();
                tls_failure_log += hec.message() + "\n";
            }
            changed.notify_all();
            co_return;
        }
        co_await serve(stream, peer_subject(stream.native_handle()));
        co_await stream.async_shutdown(token);
        stream.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    }

    asio::awaitable<void> listen()
    {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(token);
            if (ec == asio::error::operation_aborted)
                co_return;
            if (ec)
                continue;
            asio::co_spawn(io, session(std::move(socket)), asio::detached);
        }
    }
};

http_sink::http_sink(const tls_files& files) : impl_(std::make_unique<impl>())
{
    namespace ssl = asio::ssl;
    auto& c = impl_->tls.emplace(ssl::context::tls_server);
    c.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    c.use_certificate_chain_file(files.cert_file);
    c.use_private_key_file(files.key_file, ssl::context::pem);
    if (!files.client_ca_file.empty()) {
        c.load_verify_file(files.client_ca_file);
        c.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    start();
}

http_sink::http_sink() : impl_(std::make_unique<impl>())
{
    start();
}

void http_sink::start()
{
    auto& m = *impl_;
    const tcp::endpoint ep{asio::ip::make_address_v4("127.0.0.1"), 0};
    m.acceptor.open(ep.protocol());
    m.acceptor.set_option(tcp::acceptor::reuse_address(true));
    m.acceptor.bind(ep);
    m.acceptor.listen();
    m.port = m.acceptor.local_endpoint().port();
    asio::co_spawn(m.io, m.listen(), asio::detached);
    m.thread = std::thread([&m] { m.io.run(); });
}

http_sink::~http_sink()
{
    impl_->io.stop();
    if (impl_->thread.joinable())
        impl_->thread.join();
}

std::string http_sink::url() const
{
    return std::string(impl_->tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->port) + "/notify";
}

unsigned short http_sink::port() const
{
    return impl_->port;
}

void http_sink::fail_next(std::size_t n, unsigned status, std::string retry_after)
{
    std::lock_guard lock(impl_->mutex);
    impl_->failures_left = n;
    impl_->failure_status = status;
    impl_->failure_retry_after = std::move(retry_after);
}

void http_sink::hold_answers(bool on)
{
    std::lock_guard lock(impl_->mutex);
    impl_->holding = on;
}

bool http_sink::wait_for(std::size_t n, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->received.size() >= n; });
}

std::vector<http_request> http_sink::requests() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->received;
}

std::size_t http_sink::tls_failures() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->tls_failure_count;
}

std::string http_sink::tls_failure_reasons() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->tls_failure_log;
}

std::string http_sink::last_tls_failure() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->last_tls_failure;
}

}  // namespace core_interceptor::test_support
