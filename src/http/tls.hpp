// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace core_interceptor::http {

/// How a TLS client proves who it talks to, and who it is.
struct tls_client_config {
    /// Verify the peer's certificate (and that it names the host); false is an explicit opt-in.
    bool verify = true;
    /// PEM bundle of the CAs trusted *instead of* the system's; empty: the system CAs.
    std::string ca_file;
    /// PEM client certificate (and its chain) for peers that ask for one; empty: none.
    std::string cert_file;
    /// The unencrypted PEM private key of `cert_file`.
    std::string key_file;
};

/// A file of tls_client_config that OpenSSL cannot use. what(): "cannot use 'FILE': <why>";
/// never the file's content.
class tls_file_error : public std::runtime_error {
public:
    enum class role { ca, cert, key };
    tls_file_error(role r, const std::string& path, const std::string& why);
    role which;
};

/// A TLS client context for http::exchange: TLS 1.2 or newer; the peer's certificate is
/// verified against the system CAs unless `verify` is false (an explicit opt-in only).
std::unique_ptr<boost::asio::ssl::context> client_tls_context(bool verify);

/// The same with a CA bundle and a client certificate. Throws tls_file_error when a file cannot
/// be read or parsed, or the key is not the certificate's. Never prompts for a passphrase.
std::unique_ptr<boost::asio::ssl::context> client_tls_context(const tls_client_config& cfg);

}  // namespace core_interceptor::http
