// SPDX-License-Identifier: MIT
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <iosfwd>
#include <string>
#include <type_traits>

namespace core_interceptor {

using boost::system::error_code;

/// Failures the daemon expects and handles as values (see STYLE §3, "One error model").
enum class errc {
    connect_timeout = 1,  ///< connecting to a peer took longer than its connect timeout
    request_timeout,      ///< a request/response exchange took longer than its timeout
    http_status,          ///< the peer answered with a non-success HTTP status
    not_found,            ///< 404: the container or image is gone
    conflict,             ///< 409: e.g. commit of a container being removed
    malformed_response,   ///< the peer's answer could not be parsed
    malformed_event,      ///< a line of the event stream is not a valid event
    limit_exceeded,       ///< a size read from a peer is over its limit
    push_failed,          ///< the push progress stream ended with an error line
    stream_truncated,     ///< a stream ended before its final message
    bad_url,              ///< an URL or address could not be parsed
    delivery_failed,      ///< a notification was not confirmed by its sink
    not_configured,       ///< the operation needs an option that is not set
    local_io,  ///< a read or write of our own files failed (full disk, I/O error): not the peer
    delivery_refused,  ///< the sink refuses this notification for good (no retry can cure it)
    no_space,          ///< not enough free space in the state directory for a copy
};

/// The "core_interceptor" error category.
const boost::system::error_category& error_category() noexcept;

inline error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

/// An error code plus what the peer said: the HTTP status and its message, if any.
struct failure {
    error_code code;
    unsigned status = 0;       ///< HTTP status when the peer answered, else 0
    std::string message;       ///< the peer's own message ("No such container: …"), may be empty
    unsigned retry_after = 0;  ///< seconds the peer asked us to wait (HTTP Retry-After), 0: none

    failure() = default;
    failure(error_code c) : code(c) {}             // NOLINT: implicit on purpose, like error_code
    failure(errc e) : code(make_error_code(e)) {}  // NOLINT
    failure(error_code c, unsigned s, std::string m) : code(c), status(s), message(std::move(m)) {}

    /// One line for the log: "<code message>[ (HTTP <status>)][: <peer message>]".
    std::string describe() const;
};

/// Writes describe(): lets test frameworks and log lines print a failure.
std::ostream& operator<<(std::ostream& os, const failure& f);

/// Throws a system_error carrying the failure's description; used by result<T>::value().
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

/// Expected outcomes are values: a T or a failure.
template <class T = void> using result = boost::system::result<T, failure>;

}  // namespace core_interceptor

namespace boost::system {
template <> struct is_error_code_enum<core_interceptor::errc> : std::true_type {
};
}  // namespace boost::system
