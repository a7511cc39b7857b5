// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "domain/engine_answers.hpp"
#include "domain/notification.hpp"
#include "domain/path_stat.hpp"
#include "domain/volume_dump.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::docker {

/// The first bytes of a file in a container, read through the archive endpoint.
struct file_prefix {
    std::string content;    ///< at most the bytes asked for
    std::int64_t size = 0;  ///< the file's size per its tar header
};

/// How many bytes of a file's start a probe wants, given those read so far (the file's first
/// bytes): reading stops once it asks for no more than it was given, or the file ends.
using prefix_need = std::function<std::size_t(std::string_view head)>;

/// A candidate dump as one archive read sees it: its stat, and its first bytes when it is a
/// non-empty regular file (else none were read).
struct file_probe {
    domain::path_stat stat;
    std::optional<file_prefix> head;
};

/// A container's changed files, as far as dump detection cares.
struct changes {
    std::vector<std::string> candidates;  ///< added or modified paths whose basename matches
};

/// What `POST /commit` is asked to create.
struct commit_request {
    std::string container_id;
    std::string repository;  ///< "127.0.0.1:5000/team/app_1.0" or "team/app_1.0"
    std::string tag;
    std::string comment;
    std::vector<std::pair<std::string, std::string>> labels;
};

/// A local image as `GET /images/json` lists it.
using image_summary = domain::image_summary;

/// The Engine API calls one job makes: the seam between pipeline and docker, abstract so a
/// test can stand in for the daemon. Every call completes with a value or a failure carrying
/// the HTTP status and the daemon's message (errc::not_found for 404, errc::conflict for
/// 409); each honours terminal cancellation; all run on the loop thread.
class api {
public:
    virtual ~api() = default;

    /// `GET /containers/{id}/changes`: added or modified paths whose basename matches.
    virtual boost::asio::awaitable<result<changes>>
    dump_candidates(std::string_view id, const std::vector<std::string>& patterns) = 0;

    /// `HEAD /containers/{id}/archive?path=`: the decoded X-Docker-Container-Path-Stat.
    virtual boost::asio::awaitable<result<domain::path_stat>> stat_path(std::string_view id,
                                                                        std::string_view path) = 0;

    /// `GET /containers/{id}/archive?path=`: the first `n` bytes of the file; the connection
    /// is dropped as soon as they have arrived, whatever the file's size.
    virtual boost::asio::awaitable<result<file_prefix>>
    read_prefix(std::string_view id, std::string_view path, std::size_t n) = 0;

    /// `GET /containers/{id}/archive?path=`: the file's first bytes, as many as `need` asks
    /// for (asked first with none, then again as bytes arrive), in one request whose
    /// connection is dropped as soon as they have arrived, whatever the file's size. The
    /// default, for a stand-in, asks read_prefix() again for each larger need.
    virtual boost::asio::awaitable<result<file_prefix>>
    read_head(std::string_view id, std::string_view path, const prefix_need& need)
    {
        auto head = co_await read_prefix(id, path, need({}));
        // Until the need is met, the file ends, or a read brings nothing new.
        for (std::size_t had = 0; head && head->content.size() > had;) {
            had = head->content.size();
            const std::size_t more = need(head->content);
            if (more <= had || had >= static_cast<std::uint64_t>(head->size))
                break;
            head = co_await read_prefix(id, path, more);
        }
        co_return head;
    }

    /// stat_path(), then read_head() when the stat says a non-empty regular file (SPEC §4.2).
    /// The client does both with one `GET …/archive`: its X-Docker-Container-Path-Stat header
    /// is read before any of the body, which is dropped unread when the path is not such a
    /// file. The default, for a stand-in, makes the two calls.
    virtual boost::asio::awaitable<result<file_probe>>
    probe_file(std::string_view id, std::string_view path, const prefix_need& need)
    {
        auto st = co_await stat_path(id, path);
        if (!st)
            co_return st.error();
        file_probe out{*st, std::nullopt};
        if (!st->is_regular() || st->size <= 0)
            co_return out;
        auto head = co_await read_head(id, path, need);
        if (!head)
            co_return head.error();
        out.head = std::move(*head);
        co_return out;
    }

    /// `GET /containers/{id}/json`.
    virtual boost::asio::awaitable<result<domain::container_info>> inspect(std::string_view id) = 0;

    /// `POST /commit`: completes with the new image's ID.
    virtual boost::asio::awaitable<result<std::string>> commit(const commit_request& req) = 0;

    /// `POST /images/{repository}/push?tag=`: reads the progress stream to its end; completes
    /// with the digest, from the stream or else from the Engine's `GET /distribution` answer for
    /// the reference; errc::push_failed with the error line's message, or when neither confirms
    /// the push (the local image must then be kept).
    virtual boost::asio::awaitable<result<std::string>>
    push(std::string_view repository, std::string_view tag, std::string_view registry_auth) = 0;

    /// `DELETE /images/{reference}`.
    virtual boost::asio::awaitable<result<void>> remove_image(std::string_view reference) = 0;

    /// `GET /images/json?filters={"label":["KEY=VALUE"]}`: the local images carrying the label
    /// (the commits of one death, by their `core_interceptor.death` label). The default, for
    /// stand-ins that commit nothing, lists none.
    virtual boost::asio::awaitable<result<std::vector<image_summary>>>
    images_labelled(std::string_view label)
    {
        (void)label;
        co_return std::vector<image_summary>{};
    }

    /// `GET /containers/{id}/archive?path=DIR` (mounts resolved on a stopped container): feeds
    /// the tar stream to `probe` until it reaches a verdict, the archive ends or `max_bytes`
    /// have been read, then drops the connection. Completes with the bytes of archive read;
    /// errc::not_found when DIR does not exist. Defaults to errc::not_configured for a stand-in
    /// that knows no archives.
    virtual boost::asio::awaitable<result<std::uint64_t>> probe_archive(std::string_view id,
                                                                        std::string_view dir,
                                                                        domain::volume_probe& probe,
                                                                        std::size_t max_bytes)
    {
        (void)id, (void)dir, (void)probe, (void)max_bytes;
        co_return failure(make_error_code(errc::not_configured), 0, "archive probes not supported");
    }

    /// `GET /containers/{id}/archive?path=DIR` read through `extract`, then what it kept put
    /// with `PUT /containers/{id}/archive?path=/`: the dumps of DIR land in the container's own
    /// filesystem, never held in memory whole (spooled to an unlinked file in between: the
    /// Engine locks the container while an archive is read). The PUT is made only when
    /// `extract` keeps anything. Completes with the bytes put; errc::not_found when DIR does
    /// not exist.
    virtual boost::asio::awaitable<result<std::uint64_t>>
    copy_archive(std::string_view id, std::string_view dir, domain::dump_extractor& extract)
    {
        (void)id, (void)dir, (void)extract;
        co_return failure(make_error_code(errc::not_configured), 0, "archive copies not supported");
    }
};

}  // namespace core_interceptor::docker
