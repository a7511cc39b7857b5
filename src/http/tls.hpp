// SPDX-License-Identifier: MIT
#pragma once

#include <memory>

namespace boost::asio::ssl {
class context;
}

namespace core_interceptor::http {

/// A TLS client context for http::exchange: TLS 1.2 or newer; the peer's certificate is
/// verified against the system CAs unless `verify` is false (an explicit opt-in only).
std::unique_ptr<boost::asio::ssl::context> client_tls_context(bool verify);

}  // namespace core_interceptor::http
