// SPDX-License-Identifier: MIT
#include "docker/client.hpp"

#include "docker/encode.hpp"
#include "docker/engine.hpp"
#include "domain/dump.hpp"
#include "domain/engine_answers.hpp"
#include "domain/event.hpp"
#include "domain/json_member.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>

namespace asio = boost::asio;
namespace json = boost::json;

namespace core_interceptor::docker {

using detail::encode;

namespace {

// An error answer's body is the daemon's {"message": …}: short.
constexpr std::size_t max_error_body = 64 * 1024;

}  // namespace

failure api_failure(unsigned status, std::string_view body)
{
    errc e = status == 404 ? errc::not_found : status == 409 ? errc::conflict : errc::http_status;
    return failure(make_error_code(e), status, domain::daemon_message(body));
}

namespace {

engine_connection engine_of(const client_config& cfg)
{
    auto c = engine_connection_of(cfg);
    if (!c)
        throw std::invalid_argument(c.error().describe());
    return std::move(*c);
}

}  // namespace

client::client(client_config cfg)
    : cfg_(std::move(cfg)), engine_(engine_of(cfg_)), endpoint_(engine_.ep),
      pool_(endpoint_,
            {cfg_.max_idle_connections, cfg_.idle_timeout},
            &bytes_read_,
            engine_.tls.get())
{
}

std::string client::path(std::string_view p) const
{
    return prefix_ + std::string(p);
}

http::limits client::limits(std::chrono::seconds timeout) const
{
    http::limits lim;
    lim.connect_timeout = cfg_.connect_timeout;
    lim.timeout = timeout;
    lim.max_header = cfg_.max_header_bytes;
    lim.max_body = cfg_.max_body_bytes;
    return lim;
}

asio::awaitable<result<http::response>> client::call(http::request req,
                                                     std::chrono::seconds timeout)
{
    co_return co_await http::exchange(pool_, req, limits(timeout));
}

asio::awaitable<result<http::stream_reader>> client::open_stream(const http::request& req,
                                                                 const http::limits& lim)
{
    auto s = co_await http::stream_reader::open(pool_, req, lim);
    if (!s || s->status() == 200)
        co_return std::move(s);
    auto body = co_await s->read_rest(max_error_body, cfg_.request_timeout);
    co_return api_failure(s->status(), body ? *body : std::string{});
}

asio::awaitable<result<domain::api_version>> client::negotiate()
{
    http::request req;
    req.target = "/version";  // unversioned: answered by every Engine
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    auto v = domain::parse_engine_version(r->body);
    if (!v)
        co_return v.error();
    auto use = domain::negotiate(domain::our_api_version, v->api, v->min_api);
    prefix_ = "/v" + domain::to_string(use);
    family_ = v->family;
    co_return use;
}

asio::awaitable<result<http::stream_reader>> client::events(std::int64_t since_nano)
{
    http::request req;
    req.target = path("/events?filters=" + encode(domain::die_filter()));
    if (since_nano > 0)
        req.target += "&since=" + domain::since_param(since_nano);
    co_return co_await open_stream(req, limits(cfg_.request_timeout));
}

asio::awaitable<result<std::vector<std::string>>> client::exited_containers()
{
    http::request req;
    req.target = path("/containers/json?all=1&filters=" + encode(domain::exited_filter(family_)));
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    co_return domain::parse_container_ids(r->body);
}

asio::awaitable<result<changes>> client::dump_candidates(std::string_view id,
                                                         const std::vector<std::string>& patterns)
{
    http::request req;
    req.target = path("/containers/" + encode(id) + "/changes");
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    auto c = domain::dump_candidates(r->body, patterns);
    if (!c)
        co_return c.error();
    changes out;
    out.candidates = std::move(*c);
    co_return out;
}

asio::awaitable<result<domain::path_stat>> client::stat_path(std::string_view id,
                                                             std::string_view p)
{
    http::request req;
    req.method = "HEAD";
    req.target = path("/containers/" + encode(id) + "/archive?path=" + encode(p));
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    const std::string* stat = r->header("X-Docker-Container-Path-Stat");
    if (!stat)
        co_return failure(make_error_code(errc::malformed_response),
                          r->status,
                          "no X-Docker-Container-Path-Stat header for " + std::string(p));
    co_return domain::decode_path_stat(*stat);
}

asio::awaitable<result<domain::container_info>> client::inspect(std::string_view id)
{
    http::request req;
    req.target = path("/containers/" + encode(id) + "/json");
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    co_return parse_inspect(r->body);
}

asio::awaitable<result<std::string>> client::commit(const commit_request& c)
{
    json::object labels;
    for (const auto& [k, v] : c.labels)
        labels[k] = v;
    json::object body;
    body["Labels"] = std::move(labels);

    http::request req;
    req.method = "POST";
    req.target =
        path("/commit?container=" + encode(c.container_id) + "&repo=" + encode(c.repository) +
             "&tag=" + encode(c.tag) + "&comment=" + encode(c.comment) + "&pause=false");
    for (const auto& change : domain::commit_label_changes(c.labels))
        req.target += "&changes=" + encode(change);
    req.content_type = "application/json";
    req.body = json::serialize(body);
    auto r = co_await call(std::move(req), cfg_.commit_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 201 && r->status != 200)
        co_return api_failure(r->status, r->body);
    error_code ec;
    auto v = json::parse(r->body, ec);
    if (!ec && v.is_object())
        if (const auto* id = domain::string_member_if(v.as_object(), "Id"))
            co_return std::string(*id);
    co_return failure(
        make_error_code(errc::malformed_response), r->status, "commit answer has no Id");
}

asio::awaitable<result<std::vector<image_summary>>> client::images_labelled(std::string_view label)
{
    json::object filters;
    filters["label"] = json::array{json::string(label)};
    http::request req;
    req.target = path("/images/json?filters=" + encode(json::serialize(filters)));
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    co_return parse_image_list(r->body);
}

asio::awaitable<result<void>> client::remove_image(std::string_view reference)
{
    http::request req;
    req.method = "DELETE";
    req.target = path("/images/" + std::string(reference));
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    if (r->status != 200)
        co_return api_failure(r->status, r->body);
    co_return result<void>{};
}

}  // namespace core_interceptor::docker
