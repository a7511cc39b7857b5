// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "http/endpoint.hpp"
#include "http/pool.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace core_interceptor::http {

struct header_field {
    std::string name;
    std::string value;
};

/// An HTTP/1.1 request. An exchange given an endpoint uses its own connection (`Connection:
/// close`: the REST sink, TLS); one given a connection_pool (the Engine) keeps it open for the
/// next. A request that meets a pooled connection the peer has just closed is sent once more on
/// a new connection only when it cannot have been acted on: its write failed, or it is a GET or
/// HEAD whose answer had not begun. A POST whose answer was cut off is never sent again.
struct request {
    std::string method = "GET";
    std::string target;
    std::vector<header_field> headers;
    std::string body;
    std::string content_type;  ///< sent when non-empty
};

/// Deadlines and size limits of one exchange.
struct limits {
    std::chrono::milliseconds connect_timeout{5000};
    /// Whole exchange after connecting; for a stream, until its header has arrived.
    std::chrono::milliseconds timeout{30000};
    std::size_t max_header = 64 * 1024;
    std::size_t max_body = 8 * 1024 * 1024;
    /// Largest single read from the socket when streaming: bounds what a probe that stops
    /// early has pulled off the socket.
    std::size_t read_chunk = 16 * 1024;
};

/// A complete response.
struct response {
    unsigned status = 0;
    std::vector<header_field> headers;
    std::string body;

    /// Case-insensitive header look-up; nullptr when absent.
    const std::string* header(std::string_view name) const;
};

/// The first exchange on a new TLS connection that the peer drops (reset, end of stream) says
/// "right after the TLS handshake" in its message: with TLS 1.3 a server refuses a client
/// certificate only once the client's handshake has ended, and its alert can be lost.

/// Connects to `ep`, sends `req`, reads the whole response within the limits.
/// Completes with the response (any status), or errc::connect_timeout / request_timeout, a
/// socket or TLS error, or limit_exceeded. `tls` is required for transport::tls. Counts the
/// bytes read from the socket into `*bytes_read` when given. Honours terminal cancellation.
boost::asio::awaitable<result<response>> exchange(const endpoint& ep,
                                                  const request& req,
                                                  const limits& lim,
                                                  boost::asio::ssl::context* tls = nullptr,
                                                  std::uint64_t* bytes_read = nullptr);

/// The same over a connection of `pool` (a plain endpoint): an idle one, or a new one; the
/// connection goes back to the pool once the response has been read whole and the peer keeps
/// it open. Counts the request, and the connection when a new one is opened.
boost::asio::awaitable<result<response>>
exchange(connection_pool& pool, const request& req, const limits& lim);

/// A response whose body is read piece by piece as it arrives (events, push progress, archive
/// probes): never buffered whole. Plain connections only (unix socket or TCP).
class stream_reader {
public:
    /// Connects, sends `req`, reads the response header within `lim.timeout`.
    static boost::asio::awaitable<result<stream_reader>> open(const endpoint& ep,
                                                              const request& req,
                                                              const limits& lim,
                                                              std::uint64_t* bytes_read = nullptr);
    /// The same over a connection of `pool`: it goes back to the pool once the body has been
    /// read to its end (read_some() returned empty) and the peer keeps it open; close()d
    /// early, it is dropped.
    static boost::asio::awaitable<result<stream_reader>>
    open(connection_pool& pool, const request& req, const limits& lim);

    stream_reader(stream_reader&&) noexcept;
    stream_reader& operator=(stream_reader&&) noexcept;
    ~stream_reader();

    unsigned status() const noexcept;
    /// Case-insensitive header look-up; nullptr when absent.
    const std::string* header(std::string_view name) const;

    /// The next piece of the body, at most `lim.read_chunk` bytes; empty once the body has
    /// ended. `idle`: longest wait for the next piece (nullopt: wait for ever, for /events).
    /// The view is valid until the next call. Honours terminal cancellation.
    boost::asio::awaitable<result<std::string_view>>
    read_some(std::optional<std::chrono::milliseconds> idle = std::nullopt);

    /// The rest of the body as a string, at most `max` bytes (for error answers).
    boost::asio::awaitable<result<std::string>> read_rest(std::size_t max,
                                                          std::chrono::milliseconds timeout);

    /// Drops the connection without reading the rest of the body.
    void close() noexcept;

private:
    struct impl;
    explicit stream_reader(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

/// A request whose body is sent piece by piece as it is produced (chunked transfer coding),
/// never held whole: an archive streamed from one Engine call into another. Plain
/// connections only (unix socket or TCP).
class stream_writer {
public:
    /// Connects and sends `req`'s header (its body is ignored) within `lim.timeout`.
    static boost::asio::awaitable<result<stream_writer>> open(const endpoint& ep,
                                                              const request& req,
                                                              const limits& lim,
                                                              std::uint64_t* bytes_read = nullptr);
    /// The same over a connection of `pool`, given back once finish() has read the response.
    static boost::asio::awaitable<result<stream_writer>>
    open(connection_pool& pool, const request& req, const limits& lim);

    stream_writer(stream_writer&&) noexcept;
    stream_writer& operator=(stream_writer&&) noexcept;
    ~stream_writer();

    /// Sends one chunk (nothing for an empty piece) within `lim.timeout`. Honours terminal
    /// cancellation.
    boost::asio::awaitable<result<void>> write(std::string_view piece);

    /// Ends the body and reads the whole response within `lim.timeout` and `lim.max_body`.
    boost::asio::awaitable<result<response>> finish();

private:
    struct impl;
    explicit stream_writer(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace core_interceptor::http
