// SPDX-License-Identifier: MIT
#include "sinks/rest_sink.hpp"

#include "domain/retry_after.hpp"
#include "http/client.hpp"
#include "http/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace core_interceptor::sinks {

std::unique_ptr<boost::asio::ssl::context> rest_tls_context(const rest_config& cfg)
{
    http::tls_client_config tls;
    tls.verify = !cfg.insecure;
    tls.ca_file = cfg.ca_file;
    tls.cert_file = cfg.client_cert_file;
    tls.key_file = cfg.client_key_file;
    try {
        return http::client_tls_context(tls);
    } catch (const http::tls_file_error& e) {
        using role = http::tls_file_error::role;
        const char* option = e.which == role::ca     ? "--rest-ca-file"
                             : e.which == role::cert ? "--rest-client-cert"
                                                     : "--rest-client-key";
        throw std::invalid_argument(std::string(option) + ": " + e.what());
    }
}

rest_sink::rest_sink(rest_config cfg) : cfg_(std::move(cfg))
{
    auto ep = http::parse_http_url(cfg_.url);
    if (!ep)
        throw std::invalid_argument("--rest-url: " + ep.error().describe());
    endpoint_ = std::move(*ep);
    if (endpoint_.kind == http::endpoint::transport::tls)
        tls_ = rest_tls_context(cfg_);
}

rest_sink::~rest_sink() = default;

boost::asio::awaitable<result<void>> rest_sink::deliver(const message& m)
{
    http::request req;
    req.method = "POST";
    req.target = endpoint_.target;
    req.content_type = "application/json";
    req.body = m.body;
    for (const auto& [k, v] : cfg_.headers)
        req.headers.push_back({k, v});
    http::limits lim;
    lim.timeout = cfg_.timeout;
    lim.connect_timeout = cfg_.timeout;
    lim.max_body = 1024 * 1024;  // the answer is not used; a sink that sends more is broken
    auto r = co_await http::exchange(endpoint_, req, lim, tls_.get());
    if (!r)
        co_return r.error();
    if (r->status < 200 || r->status > 299) {
        failure f(make_error_code(domain::retryable_status(r->status) ? errc::delivery_failed
                                                                      : errc::delivery_refused),
                  r->status,
                  r->body.substr(0, 200));
        if (const auto* h = r->header("Retry-After"))
            if (auto wait = domain::parse_retry_after(*h, std::chrono::system_clock::now()))
                f.retry_after = static_cast<unsigned>(
                    std::min<std::chrono::seconds::rep>(wait->count(), 86400));
        co_return f;
    }
    co_return result<void>{};
}

}  // namespace core_interceptor::sinks
