// SPDX-License-Identifier: MIT
#pragma once

#include "docker/api.hpp"
#include "docker/config.hpp"
#include "docker/engine.hpp"
#include "domain/api_version.hpp"
#include "domain/engine_answers.hpp"
#include "domain/rfc3339.hpp"
#include "http/client.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <optional>

namespace core_interceptor::docker {

/// The Docker Engine API over its unix socket, tcp:// or TCP with TLS, HTTP/1.1 with Beast;
/// connections are kept alive between calls in a small pool (http::connection_pool). Every
/// request/response call has the deadline of its phase (client_config); streamed bodies are read as
/// they arrive. Runs on the loop thread only.
class client final : public api {
public:
    explicit client(client_config cfg);

    /// `GET /version`: picks the API version (SPEC §4a) and prefixes every later path with it.
    /// Completes with the version in use, or a failure (daemon unreachable, bad answer).
    boost::asio::awaitable<result<domain::api_version>> negotiate();

    /// `GET /events` filtered to container die events, from `since` (timeNano; 0 = now on).
    /// Completes once the response header has arrived; the caller reads the body.
    boost::asio::awaitable<result<http::stream_reader>> events(std::int64_t since_nano);

    /// `GET /containers/json?all=1` filtered to the containers that have exited (which
    /// states those are depends on the Engine: domain::exited_filter): their IDs.
    boost::asio::awaitable<result<std::vector<std::string>>> exited_containers();

    boost::asio::awaitable<result<changes>>
    dump_candidates(std::string_view id, const std::vector<std::string>& patterns) override;
    boost::asio::awaitable<result<domain::path_stat>> stat_path(std::string_view id,
                                                                std::string_view path) override;
    boost::asio::awaitable<result<file_prefix>>
    read_prefix(std::string_view id, std::string_view path, std::size_t n) override;
    boost::asio::awaitable<result<file_prefix>>
    read_head(std::string_view id, std::string_view path, const prefix_need& need) override;
    boost::asio::awaitable<result<file_probe>>
    probe_file(std::string_view id, std::string_view path, const prefix_need& need) override;
    boost::asio::awaitable<result<domain::container_info>> inspect(std::string_view id) override;
    boost::asio::awaitable<result<std::string>> commit(const commit_request& req) override;
    boost::asio::awaitable<result<std::string>> push(std::string_view repository,
                                                     std::string_view tag,
                                                     std::string_view registry_auth) override;
    boost::asio::awaitable<result<void>> remove_image(std::string_view reference) override;
    boost::asio::awaitable<result<std::vector<image_summary>>>
    images_labelled(std::string_view label) override;
    boost::asio::awaitable<result<std::uint64_t>> probe_archive(std::string_view id,
                                                                std::string_view dir,
                                                                domain::volume_probe& probe,
                                                                std::size_t max_bytes) override;
    boost::asio::awaitable<result<std::uint64_t>> copy_archive(
        std::string_view id, std::string_view dir, domain::dump_extractor& extract) override;

    /// The endpoint in use, for log lines.
    const http::endpoint& endpoint() const noexcept { return endpoint_; }
    /// API requests made so far (every HTTP request, events included).
    std::uint64_t calls() const noexcept { return pool_.requests(); }
    /// Connections opened to the Engine so far.
    std::uint64_t connections() const noexcept { return pool_.connections(); }
    /// Bytes read from the Docker socket so far (headers and bodies).
    std::uint64_t bytes_read() const noexcept { return bytes_read_; }

private:
    /// `GET /distribution/{reference}/json`: the digest the registry holds for a pushed
    /// reference, or errc::push_failed when the Engine cannot confirm it.
    boost::asio::awaitable<result<std::string>> confirm_push(std::string reference,
                                                             std::string_view registry_auth);
    std::string path(std::string_view p) const;
    http::limits limits(std::chrono::seconds timeout) const;
    boost::asio::awaitable<result<http::response>> call(http::request req,
                                                        std::chrono::seconds timeout);
    /// A streamed request whose answer is 200; any other answer is read (it is short) and
    /// mapped to a failure.
    boost::asio::awaitable<result<http::stream_reader>> open_stream(const http::request& req,
                                                                    const http::limits& lim);
    /// `GET /containers/{id}/archive?path=P`, opened for a read of its first bytes only.
    boost::asio::awaitable<result<http::stream_reader>> open_archive_head(std::string_view id,
                                                                          std::string_view p);

    client_config cfg_;
    engine_connection engine_;  // its TLS context outlives pool_
    http::endpoint endpoint_;
    std::string prefix_;                                            // "/v1.41" once negotiated
    domain::engine_family family_ = domain::engine_family::docker;  // once negotiated
    std::uint64_t bytes_read_ = 0;
    http::connection_pool pool_;  // after bytes_read_, which it counts into
};

// The parsers of Engine answers live in domain/engine_answers.hpp and domain/rfc3339.hpp;
// callers that know them as docker's still find them here.
using domain::parse_image_list;
using domain::parse_inspect;
using domain::parse_rfc3339_nano;

/// The failure for a non-2xx Engine answer: errc::not_found (404), errc::conflict (409) or
/// errc::http_status, with the status and the daemon's `message`.
failure api_failure(unsigned status, std::string_view body);

}  // namespace core_interceptor::docker
