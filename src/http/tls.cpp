// SPDX-License-Identifier: MIT
#include "http/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace core_interceptor::http {
namespace {

namespace ssl = boost::asio::ssl;

/// OpenSSL's reason for a failure: the error the call reported, else the first one queued
/// (the cause; what failed because of it is queued after it).
std::string openssl_reason(const boost::system::error_code& ec)
{
    if (ec)
        return ec.message();
    if (const unsigned long e = ::ERR_get_error())
        if (const char* r = ::ERR_reason_error_string(e))
            return r;
    return "unknown OpenSSL error";
}

}  // namespace

tls_file_error::tls_file_error(role r, const std::string& path, const std::string& why)
    : std::runtime_error("cannot use '" + path + "': " + why), which(r)
{
}

std::unique_ptr<ssl::context> client_tls_context(bool verify)
{
    tls_client_config cfg;
    cfg.verify = verify;
    return client_tls_context(cfg);
}

std::unique_ptr<ssl::context> client_tls_context(const tls_client_config& cfg)
{
    using role = tls_file_error::role;
    auto tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    // An encrypted key would make OpenSSL prompt on the terminal: answer with no passphrase.
    tls->set_password_callback([](std::size_t, ssl::context::password_purpose) { return ""; });
    boost::system::error_code ec;
    if (!cfg.verify) {
        tls->set_verify_mode(ssl::verify_none);
    } else {
        ::ERR_clear_error();
        if (cfg.ca_file.empty())
            tls->set_default_verify_paths();
        else if (tls->load_verify_file(cfg.ca_file, ec); ec)
            throw tls_file_error(role::ca, cfg.ca_file, openssl_reason(ec));
        tls->set_verify_mode(ssl::verify_peer);
    }
    if (cfg.cert_file.empty())
        return tls;
    ::ERR_clear_error();
    if (tls->use_certificate_chain_file(cfg.cert_file, ec); ec)
        throw tls_file_error(role::cert, cfg.cert_file, openssl_reason(ec));
    if (tls->use_private_key_file(cfg.key_file, ssl::context::pem, ec); ec)
        throw tls_file_error(role::key, cfg.key_file, openssl_reason(ec));
    if (::SSL_CTX_check_private_key(tls->native_handle()) != 1)
        throw tls_file_error(role::key,
                             cfg.key_file,
                             "it is not the key of '" + cfg.cert_file + "' (" + openssl_reason({}) +
                                 ")");
    return tls;
}

}  // namespace core_interceptor::http
