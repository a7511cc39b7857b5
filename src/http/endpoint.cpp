// SPDX-License-Identifier: MIT
#include "http/endpoint.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace core_interceptor::http {
namespace {

result<endpoint>
from_url(boost::urls::url_view u, endpoint::transport kind, std::string_view dflt_port)
{
    endpoint ep;
    ep.kind = kind;
    ep.host = std::string(u.encoded_host_address());
    if (ep.host.size() > 2 && ep.host.front() == '[' && ep.host.back() == ']')
        ep.host = ep.host.substr(1, ep.host.size() - 2);
    if (ep.host.empty())
        return failure(
            make_error_code(errc::bad_url), 0, "no host in '" + std::string(u.buffer()) + "'");
    ep.port = u.has_port() ? std::string(u.port()) : std::string(dflt_port);
    ep.host_header = std::string(u.encoded_host_and_port());
    ep.target = std::string(u.encoded_path());
    if (ep.target.empty())
        ep.target = "/";
    if (u.has_query()) {
        ep.target += '?';
        ep.target += std::string(u.encoded_query());
    }
    return ep;
}

}  // namespace

std::string endpoint::describe() const
{
    switch (kind) {
    case transport::unix_socket: return "unix://" + path;
    case transport::tcp: return "tcp://" + host + ":" + port;
    case transport::tls: return "https://" + host + ":" + port;
    }
    return {};
}

std::string endpoint::peer() const
{
    if (kind == transport::unix_socket)
        return path;
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

result<endpoint> parse_docker_host(std::string_view url)
{
    if (url.starts_with("unix://")) {
        endpoint ep;
        ep.kind = endpoint::transport::unix_socket;
        ep.path = std::string(url.substr(7));
        if (ep.path.empty() || ep.path.front() != '/')
            return failure(make_error_code(errc::bad_url), 0, "unix socket path must be absolute");
        ep.host_header = "docker";
        ep.target = "/";
        return ep;
    }
    std::string text(url);
    if (text.starts_with("tcp://"))
        text = "http://" + text.substr(6);
    auto u = boost::urls::parse_absolute_uri(text);
    if (!u || u->scheme() != "http")
        return failure(make_error_code(errc::bad_url), 0, "expected unix:// or tcp:// URL");
    return from_url(*u, endpoint::transport::tcp, "2375");
}

result<endpoint> parse_http_url(std::string_view url)
{
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u)
        return failure(make_error_code(errc::bad_url), 0, "not an absolute URL");
    if (u->scheme() == "http")
        return from_url(*u, endpoint::transport::tcp, "80");
    if (u->scheme() == "https")
        return from_url(*u, endpoint::transport::tls, "443");
    return failure(make_error_code(errc::bad_url), 0, "scheme must be http or https");
}

}  // namespace core_interceptor::http
