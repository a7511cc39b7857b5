// SPDX-License-Identifier: MIT
#include "metrics/server.hpp"

#include "co/cancel.hpp"
#include "log/log.hpp"
#include "metrics/registry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace core_interceptor::metrics {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// A client that sends nothing more, closes, or is cut off at shutdown: not worth a log line.
bool quiet_end(const error_code& ec)
{
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::operation_aborted || ec == beast::error::timeout ||
           ec == asio::error::connection_reset || ec == asio::error::bad_descriptor;
}

}  // namespace

reply answer(std::string_view method,
             std::string_view target,
             const render_fn& metrics,
             const health_fn& health)
{
    std::string_view path = target.substr(0, target.find('?'));
    reply r;
    if (path != "/metrics" && path != "/healthz") {
        r.status = 404;
        r.body = "not found: only /metrics and /healthz are served\n";
        return r;
    }
    if (method != "GET") {
        r.status = 405;
        r.allow = "GET";
        r.body = "method not allowed: use GET\n";
        return r;
    }
    if (path == "/metrics") {
        r.content_type = std::string(content_type);
        r.body = metrics ? metrics() : std::string{};
        return r;
    }
    auto why = health ? health() : std::optional<std::string>{};
    if (why) {
        r.status = 503;
        r.body = *why + "\n";
    } else {
        r.body = "ok\n";
    }
    return r;
}

server::server(asio::any_io_executor ex, config cfg, render_fn metrics, health_fn health)
    : cfg_(std::move(cfg)), metrics_(std::move(metrics)), health_(std::move(health)), acceptor_(ex),
      connections_(ex, [](std::exception_ptr e) {
          // A bug in rendering one page: that client goes without an answer, the daemon runs on.
          try {
              std::rethrow_exception(e);
          } catch (const std::exception& err) {
              log::error() << "metrics server: a request failed: " << err.what();
          } catch (...) {
              log::error() << "metrics server: a request failed with an unknown exception";
          }
      })
{
}

server::~server() = default;

error_code server::listen()
{
    error_code ec;
    auto address = asio::ip::make_address(cfg_.host, ec);
    if (ec)
        return make_error_code(errc::bad_url);
    const tcp::endpoint where(address, cfg_.port);
    acceptor_.open(where.protocol(), ec);
    if (!ec)
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
        acceptor_.bind(where, ec);
    if (!ec)
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error_code ignored;  // closing a half-open acceptor: the first error is the one to report
        acceptor_.close(ignored);
    }
    return ec;
}

tcp::endpoint server::local_endpoint() const
{
    error_code ec;
    return acceptor_.local_endpoint(ec);
}

asio::awaitable<void> server::run()
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer pause(co_await asio::this_coro::executor);
    log::info() << "serving metrics on http://" << local_endpoint() << "/metrics";
    while (acceptor_.is_open() && !co_await co::cancelled()) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted)
            break;
        if (ec) {
            // Out of descriptors and the like: wait a little instead of spinning on accept.
            log::warning() << "metrics server: cannot accept a connection: " << ec.message();
            pause.expires_after(std::chrono::milliseconds(200));
            if (auto [pec] = co_await pause.async_wait(use_tuple); pec)
                break;
            continue;
        }
        if (connections_.size() >= cfg_.max_connections && evict_idle()) {
            log::debug()
                << "metrics server: every slot taken, an idle connection closed for a new one";
        } else if (connections_.size() >= cfg_.max_connections) {
            log::debug() << "metrics server: " << connections_.size()
                         << " connections open, turning one away";
            error_code ignored;  // the client sees its connection closed; nothing else to do
            socket.close(ignored);
            continue;
        }
        connections_.spawn(serve(std::move(socket)));
    }

    // Shutdown: no new clients; cut the open connections short and wait for them.
    error_code ignored;  // closing an acceptor that may already be closed
    acceptor_.close(ignored);
    for (auto& [s, idle] : open_)
        s->close(ignored);
    connections_.emit(asio::cancellation_type::terminal);
    co_await connections_.join();
    log::debug() << "metrics server stopped";
}

bool server::evict_idle()
{
    for (auto& [s, idle] : open_) {
        if (!idle)
            continue;
        // A connection waiting for its next request; its reader ends quietly.
        error_code ignored;
        s->cancel(ignored);
        s->close(ignored);
        idle = false;
        return true;
    }
    return false;
}

asio::awaitable<void> server::serve(tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    struct registration {
        std::map<tcp::socket*, bool>& open;
        tcp::socket* s;
        ~registration() { open.erase(s); }
    } reg{open_, &stream.socket()};
    open_[&stream.socket()] = true;

    beast::flat_buffer buffer(cfg_.max_request_bytes);
    for (;;) {
        // A body is read (and ignored) so that a POST gets its 405; it counts against the limit.
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(cfg_.max_request_bytes));
        parser.body_limit(cfg_.max_request_bytes);
        open_[&stream.socket()] = buffer.size() == 0;
        stream.expires_after(std::min(cfg_.idle_timeout, cfg_.read_timeout));
        auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
        open_[&stream.socket()] = false;
        if (ec) {
            if (quiet_end(ec))
                break;
            // Malformed or oversized: say so once, then hang up.
            log::debug() << "metrics server: bad request: " << ec.message();
            bhttp::response<bhttp::string_body> bad{bhttp::status::bad_request, 11};
            bad.set(bhttp::field::content_type, "text/plain; charset=utf-8");
            bad.set(bhttp::field::connection, "close");
            bad.body() = "bad request: " + ec.message() + "\n";
            bad.prepare_payload();
            stream.expires_after(cfg_.read_timeout);
            auto [wec, wn] = co_await bhttp::async_write(stream, bad, use_tuple);
            (void)wec;  // the connection is closed next either way
            break;
        }
        const auto& req = parser.get();
        auto r = answer(req.method_string(), req.target(), metrics_, health_);
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status),
                                                req.version()};
        res.set(bhttp::field::content_type, r.content_type);
        if (!r.allow.empty())
            res.set(bhttp::field::allow, r.allow);
        res.keep_alive(req.keep_alive());
        res.body() = std::move(r.body);
        res.prepare_payload();
        stream.expires_after(cfg_.read_timeout);
        auto [wec, wn] = co_await bhttp::async_write(stream, res, use_tuple);
        if (wec || !res.keep_alive())
            break;
    }
    error_code ignored;  // the peer may have gone already
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
}

}  // namespace core_interceptor::metrics
