// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace core_interceptor::test_support {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
unsigned short free_port();

/// A response read by `http_get`.
struct http_reply {
    unsigned status = 0;
    std::string headers;  ///< the raw header block, status line excluded
    std::string body;
};

/// `GET target` as HTTP/1.0 (the server closes after the answer) to 127.0.0.1:port.
/// Nothing when the connection fails, the answer is malformed or `timeout` passes.
std::optional<http_reply>
http_get(unsigned short port, const std::string& target, std::chrono::milliseconds timeout);

/// `POST target` with `body` as HTTP/1.0 to 127.0.0.1:port, like `http_get`.
std::optional<http_reply> http_post(unsigned short port,
                                    const std::string& target,
                                    const std::string& content_type,
                                    const std::string& body,
                                    std::chrono::milliseconds timeout);

/// The same over a Unix socket (e.g. a Docker daemon's API socket).
std::optional<http_reply> http_get_unix(const std::filesystem::path& socket,
                                        const std::string& target,
                                        std::chrono::milliseconds timeout);

}  // namespace core_interceptor::test_support
