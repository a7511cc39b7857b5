// SPDX-License-Identifier: MIT
// `POST /images/{name}/push`: the progress stream read to its end, and the Engine's
// confirmation of the pushed digest when the stream names none.
#include "docker/client.hpp"

#include "docker/encode.hpp"
#include "domain/ndjson.hpp"
#include "domain/push_stream.hpp"

namespace asio = boost::asio;

namespace core_interceptor::docker {

using detail::encode;

asio::awaitable<result<std::string>>
client::push(std::string_view repository, std::string_view tag, std::string_view registry_auth)
{
    http::request req;
    req.method = "POST";
    // The repository keeps its '/' and ':': the Engine routes /images/{name:.*}/push.
    req.target = path("/images/" + std::string(repository) + "/push?tag=" + encode(tag));
    // Sent even for anonymous pushes: the Engine refuses a push without it (SPEC §4a).
    req.headers.push_back({"X-Registry-Auth", std::string(registry_auth)});
    auto s = co_await open_stream(req, limits(cfg_.request_timeout));
    if (!s)
        co_return s.error();
    domain::line_framer lines(cfg_.max_line_bytes);
    domain::push_stream_parser progress{std::string(tag)};
    for (;;) {
        auto piece = co_await s->read_some(std::chrono::milliseconds(cfg_.push_idle_timeout));
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            break;
        lines.feed(*piece);
        while (auto line = lines.next())
            progress.on_line(*line);
    }
    if (progress.failed())
        co_return failure(make_error_code(errc::push_failed), 200, progress.error());
    if (!progress.digest().empty())
        co_return progress.digest();
    // No digest in the stream (Podman sends no aux line; a stream may end early): only the
    // Engine's own answer for the reference in the registry confirms the push.
    co_return co_await confirm_push(std::string(repository) + ":" + std::string(tag),
                                    registry_auth);
}

asio::awaitable<result<std::string>> client::confirm_push(std::string reference,
                                                          std::string_view registry_auth)
{
    http::request req;
    req.target = path("/distribution/" + reference + "/json");
    req.headers.push_back({"X-Registry-Auth", std::string(registry_auth)});
    auto r = co_await call(std::move(req), cfg_.request_timeout);
    if (!r)
        co_return r.error();
    auto digest = r->status == 200 ? domain::distribution_digest(r->body) : std::string();
    if (digest.empty())
        co_return failure(make_error_code(errc::push_failed),
                          0,
                          "the push of " + reference +
                              " named no digest and the Engine does not confirm it (GET "
                              "/distribution: " +
                              (r->status == 200 ? std::string("no digest")
                                                : "HTTP " + std::to_string(r->status)) +
                              ")");
    co_return digest;
}

}  // namespace core_interceptor::docker
