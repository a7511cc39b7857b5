// SPDX-License-Identifier: MIT
// One connection to a peer, plain or TLS, as a single stream type: what pooled exchanges and
// the streams read and write, whatever the transport.
#pragma once

#include "http/counting_policy.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/basic_stream.hpp>

#include <memory>
#include <utility>

namespace core_interceptor::http::detail {

using protocol = boost::asio::generic::stream_protocol;
using plain_stream =
    boost::beast::basic_stream<protocol, boost::asio::any_io_executor, counting_policy>;
using tls_layer = boost::asio::ssl::stream<plain_stream>;

/// A connected socket (`plain_stream`: deadlines, byte count) with TLS on top once
/// `start_tls` is called. Reads and writes go through TLS when it is on; deadlines and closing
/// act on the socket beneath. Movable: both layers are held by pointer.
class conn_stream {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit conn_stream(plain_stream s) : plain_(std::make_unique<plain_stream>(std::move(s))) {}

    executor_type get_executor() { return lowest().get_executor(); }

    /// The socket with its deadlines, beneath TLS when there is TLS.
    plain_stream& lowest() { return tls_ ? tls_->next_layer() : *plain_; }
    /// The TLS layer, or nullptr on a plain connection.
    tls_layer* tls() noexcept { return tls_.get(); }

    /// Puts TLS over the (connected) socket; the handshake is the caller's.
    void start_tls(boost::asio::ssl::context& ctx)
    {
        tls_ = std::make_unique<tls_layer>(std::move(*plain_), ctx);
        plain_.reset();
    }

    template <class Duration> void expires_after(Duration d) { lowest().expires_after(d); }
    void expires_never() { lowest().expires_never(); }
    protocol::socket& socket() { return lowest().socket(); }
    void close() { lowest().close(); }

    template <class Buffers, class Handler> auto async_read_some(const Buffers& b, Handler&& h)
    {
        if (tls_)
            return tls_->async_read_some(b, std::forward<Handler>(h));
        return plain_->async_read_some(b, std::forward<Handler>(h));
    }

    template <class Buffers, class Handler> auto async_write_some(const Buffers& b, Handler&& h)
    {
        if (tls_)
            return tls_->async_write_some(b, std::forward<Handler>(h));
        return plain_->async_write_some(b, std::forward<Handler>(h));
    }

private:
    std::unique_ptr<plain_stream> plain_;  // null once TLS holds it
    std::unique_ptr<tls_layer> tls_;
};

}  // namespace core_interceptor::http::detail
