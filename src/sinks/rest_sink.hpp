// SPDX-License-Identifier: MIT
#pragma once

#include "http/endpoint.hpp"
#include "sinks/config.hpp"
#include "sinks/sink.hpp"

#include <memory>

namespace boost::asio::ssl {
class context;
}

namespace core_interceptor::sinks {

/// The TLS client context for `cfg`'s https endpoint: `--rest-ca-file` (else the system CAs),
/// `--rest-client-cert`/`--rest-client-key`, `--rest-insecure`. Throws std::invalid_argument
/// naming the option and the file when OpenSSL cannot use one ("--rest-ca-file: cannot use
/// 'FILE': <reason>").
std::unique_ptr<boost::asio::ssl::context> rest_tls_context(const rest_config& cfg);

/// Notifications POSTed as JSON to an http:// or https:// endpoint (SPEC §5); any 2xx is
/// delivered. https verifies the certificate (rest_tls_context) unless `insecure`.
class rest_sink final : public sink {
public:
    /// Throws std::invalid_argument for a URL that is not http(s), or a TLS file that cannot
    /// be used (rest_tls_context).
    explicit rest_sink(rest_config cfg);
    ~rest_sink() override;

    std::string_view name() const noexcept override { return "rest"; }
    boost::asio::awaitable<result<void>> deliver(const message& m) override;

private:
    rest_config cfg_;
    http::endpoint endpoint_;
    std::unique_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace core_interceptor::sinks
