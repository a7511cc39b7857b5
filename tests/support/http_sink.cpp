// SPDX-License-Identifier: MIT
#include "support/http_sink.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace core_interceptor::test_support {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

constexpr auto token = asio::as_tuple(asio::use_awaitable);

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
        if (iequals(k, name)) return v;
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
    unsigned failure_status = 503;
    std::string failure_retry_after;  // Retry-After of the failing answers, if any

    // Records the request and picks the status to answer with.
    unsigned record(const http::request<http::string_body>& req)
    {
        http_request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        for (const auto& f : req) r.headers.emplace_back(f.name_string(), f.value());
        r.body = req.body();
        {
            std::lock_guard lock(mutex);
            if (failures_left > 0) {
                --failures_left;
                r.status = failure_status;
            }
            else {
                r.status = 200;
            }
            received.push_back(r);
        }
        changed.notify_all();
        return r.status;
    }

    asio::awaitable<void> session(tcp::socket socket)
    {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(16 * 1024 * 1024);  // notifications are small; this is a ceiling
            auto [ec, n] = co_await http::async_read(socket, buffer, parser, token);
            if (ec) co_return;  // peer closed, or garbage: nothing to answer
            auto req = parser.release();
            const unsigned status = record(req);
            http::response<http::string_body> res{static_cast<http::status>(status),
                                                  req.version()};
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
            auto [wec, wn] = co_await http::async_write(socket, res, token);
            if (wec || !res.keep_alive()) {
                boost::system::error_code ignored;  // closing anyway
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                co_return;
            }
        }
    }

    asio::awaitable<void> listen()
    {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(token);
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) continue;
            asio::co_spawn(io, session(std::move(socket)), asio::detached);
        }
    }
};

http_sink::http_sink() : impl_(std::make_unique<impl>())
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
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::string http_sink::url() const
{
    return "http://127.0.0.1:" + std::to_string(impl_->port) + "/notify";
}

unsigned short http_sink::port() const { return impl_->port; }

void http_sink::fail_next(std::size_t n, unsigned status, std::string retry_after)
{
    std::lock_guard lock(impl_->mutex);
    impl_->failures_left = n;
    impl_->failure_status = status;
    impl_->failure_retry_after = std::move(retry_after);
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

}  // namespace core_interceptor::test_support
