// SPDX-License-Identifier: MIT
#include "http/tls.hpp"

#include <boost/asio/ssl/context.hpp>

namespace core_interceptor::http {

std::unique_ptr<boost::asio::ssl::context> client_tls_context(bool verify)
{
    namespace ssl = boost::asio::ssl;
    auto tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (verify) {
        tls->set_default_verify_paths();
        tls->set_verify_mode(ssl::verify_peer);
    } else {
        tls->set_verify_mode(ssl::verify_none);
    }
    return tls;
}

}  // namespace core_interceptor::http
