// SPDX-License-Identifier: MIT
// Idle connections kept for the next exchange, their expiry, and the checks before reuse.
#include "http/pool.hpp"

#include "http/wire.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <deque>

namespace asio = boost::asio;

namespace core_interceptor::http {

using clock = std::chrono::steady_clock;

struct connection_pool::state {
    struct idle_connection {
        detail::conn_stream stream;
        clock::time_point since;
    };

    endpoint ep;
    pool_config cfg;
    std::uint64_t* bytes_read;
    asio::ssl::context* tls;
    std::uint64_t requests = 0;
    std::uint64_t connections = 0;
    std::deque<idle_connection> idle;  // oldest first

    /// Closes the connections idle for `cfg.idle_timeout` or longer.
    void close_expired(clock::time_point now)
    {
        while (!idle.empty() && now - idle.front().since >= cfg.idle_timeout)
            idle.pop_front();  // closed by its destructor
    }
};

struct detail::pool_access {
    static connection_pool::state& of(connection_pool& p) { return *p.state_; }
};

connection_pool::connection_pool(endpoint ep,
                                 pool_config cfg,
                                 std::uint64_t* bytes_read,
                                 asio::ssl::context* tls)
    : state_(std::make_unique<state>(state{std::move(ep), cfg, bytes_read, tls}))
{
}

connection_pool::~connection_pool()
{
    close_idle();
}

const endpoint& connection_pool::where() const noexcept
{
    return state_->ep;
}

std::uint64_t connection_pool::requests() const noexcept
{
    return state_->requests;
}

std::uint64_t connection_pool::connections() const noexcept
{
    return state_->connections;
}

std::size_t connection_pool::idle() const noexcept
{
    return state_->idle.size();
}

void connection_pool::close_idle() noexcept
{
    state_->idle.clear();
}

namespace detail {
namespace {

/// The peer has not closed `s` and sent nothing unasked: a peek that would block.
bool still_open(conn_stream& s)
{
    if (!s.socket().is_open())
        return false;
    char c;
    const auto n = ::recv(s.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && errno == EAGAIN;  // EWOULDBLOCK is EAGAIN on Linux
}

}  // namespace

asio::awaitable<result<lease>> acquire(connection_pool* pool,
                                       const endpoint& ep,
                                       const limits& lim,
                                       std::uint64_t* bytes_read,
                                       asio::ssl::context* tls)
{
    if (pool) {
        auto& st = pool_access::of(*pool);
        ++st.requests;
        st.close_expired(clock::now());
        // The most recently used first: the likeliest to be open still.
        while (!st.idle.empty()) {
            auto c = std::move(st.idle.back());
            st.idle.pop_back();
            if (still_open(c.stream))
                co_return lease{std::move(c.stream), true};
        }
        bytes_read = st.bytes_read;
        tls = st.tls;
    }
    // (The executor is awaited apart: g++ 12 mishandles a co_await inside a braced init.)
    auto ex = co_await asio::this_coro::executor;
    lease l{conn_stream(plain_stream(counting_policy(bytes_read), ex))};
    if (pool)
        ++pool_access::of(*pool).connections;
    if (auto ec = co_await connect(l.stream.lowest(), ep, lim.connect_timeout))
        co_return with_context(ec, ep);
    if (ep.kind != endpoint::transport::tls)
        co_return l;
    if (!tls)
        co_return failure(
            make_error_code(errc::not_configured), 0, "TLS context for " + ep.describe());
    auto hs = co_await tls_handshake(l.stream, ep, lim, *tls);
    if (!hs)
        co_return hs.error();
    co_return l;
}

void give_back(connection_pool& pool, conn_stream&& s)
{
    auto& st = pool_access::of(pool);
    if (st.cfg.max_idle == 0 || !s.socket().is_open())
        return;
    const auto now = clock::now();
    st.close_expired(now);
    if (st.idle.size() >= st.cfg.max_idle)
        st.idle.pop_front();  // the oldest makes room
    s.expires_never();
    st.idle.push_back({std::move(s), now});
}

bool peer_gone(error_code ec)
{
    return ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
           ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message;
}

failure first_exchange_failure(failure f, bool fresh_tls)
{
    if (fresh_tls && peer_gone(f.code))
        f.message += " (the peer closed the connection right after the TLS handshake: it may "
                     "refuse the client certificate)";
    return f;
}

bool may_resend(const request& req, error_code ec, bool write_failed, bool received)
{
    if (!peer_gone(ec))
        return false;
    if (write_failed)
        return true;
    return !received && (req.method == "GET" || req.method == "HEAD");
}

}  // namespace detail
}  // namespace core_interceptor::http
