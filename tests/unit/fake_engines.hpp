// SPDX-License-Identifier: MIT
#pragma once
// Stand-ins for the Engine (docker::api) shared by the unit tests of the pipeline.
#include "docker/api.hpp"
#include "domain/event.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::test {

namespace asio = boost::asio;

/// Stands in for the Engine: files of the container's writable layer, and a call log.
class fake_docker final : public docker::api {
public:
    struct file {
        std::int64_t size;
        std::string content;
        std::uint32_t mode = 0644;
    };
    std::map<std::string, file> files;
    bool gone = false;
    int push_failures = 0;  // the first N pushes fail
    std::vector<std::string> calls;
    std::vector<std::string> images;  // local images
    std::int64_t started_nano = 0;    // State.StartedAt

    asio::awaitable<result<docker::changes>>
    dump_candidates(std::string_view, const std::vector<std::string>& patterns) override
    {
        calls.push_back("changes");
        if (gone)
            co_return failure(make_error_code(errc::not_found), 404, "No such container");
        docker::changes out;
        for (const auto& [path, f] : files)
            if (domain::matches_dump_pattern(patterns, path))
                out.candidates.push_back(path);
        co_return out;
    }
    asio::awaitable<result<domain::path_stat>> stat_path(std::string_view,
                                                         std::string_view path) override
    {
        calls.push_back("stat " + std::string(path));
        auto& f = files.at(std::string(path));
        domain::path_stat st;
        st.name = path;
        st.size = f.size;
        st.mode = f.mode;
        co_return st;
    }
    asio::awaitable<result<docker::file_prefix>>
    read_prefix(std::string_view, std::string_view path, std::size_t n) override
    {
        calls.push_back("read " + std::string(path));
        auto& f = files.at(std::string(path));
        co_return docker::file_prefix{f.content.substr(0, n), f.size};
    }
    // One request whatever the probe needs, as the client makes it.
    asio::awaitable<result<docker::file_prefix>>
    read_head(std::string_view, std::string_view path, const docker::prefix_need& need) override
    {
        calls.push_back("read " + std::string(path));
        const auto& f = files.at(std::string(path));
        std::size_t n = need({});
        for (std::size_t more = 0;
             n < f.content.size() && (more = need(std::string_view(f.content).substr(0, n))) > n;)
            n = more;
        co_return docker::file_prefix{f.content.substr(0, n), f.size};
    }
    asio::awaitable<result<domain::container_info>> inspect(std::string_view id) override
    {
        calls.push_back("inspect");
        domain::container_info info;
        info.id = id;
        info.name = "crashy";
        info.image = "Team/App:2.5-RC1";
        info.image_id = "sha256:" + std::string(64, 'a');
        info.exit_code = 139;
        info.started_nano = started_nano;
        co_return info;
    }
    int commit_failures = 0;      // the first N commits fail (an answer, not an outage)
    bool copy_disk_full = false;  // the copy's local spool fills up after the archive is read
    asio::awaitable<result<std::string>> commit(const docker::commit_request& req) override
    {
        calls.push_back("commit " + req.repository + ":" + req.tag);
        if (commit_failures > 0) {
            --commit_failures;
            co_return failure(make_error_code(errc::http_status), 500, "driver failed");
        }
        images.push_back(req.repository + ":" + req.tag);
        co_return std::string("sha256:" + std::string(64, 'b'));
    }
    asio::awaitable<result<std::string>>
    push(std::string_view repo, std::string_view tag, std::string_view auth) override
    {
        calls.push_back("push " + std::string(repo) + ":" + std::string(tag) +
                        " auth=" + std::string(auth));
        if (push_failures > 0) {
            --push_failures;
            co_return failure(make_error_code(errc::push_failed), 200, "connection refused");
        }
        co_return std::string("sha256:" + std::string(64, 'c'));
    }
    asio::awaitable<result<void>> remove_image(std::string_view ref) override
    {
        calls.push_back("delete " + std::string(ref));
        std::erase(images, std::string(ref));
        co_return result<void>{};
    }
    /// Lists no image; counted apart (`calls` keeps the job's main line of calls).
    std::size_t image_lists = 0;
    std::vector<std::size_t> image_lists_at;  // calls.size() at each list
    asio::awaitable<result<std::vector<docker::image_summary>>>
    images_labelled(std::string_view) override
    {
        ++image_lists;
        image_lists_at.push_back(calls.size());
        co_return std::vector<docker::image_summary>{};
    }

    // Mounts: the archive of each directory, and what was put into the container.
    std::map<std::string, std::string> archives;
    std::string put;
    std::size_t probe_bytes = 0;  // archive bytes the probes consumed
    asio::awaitable<result<std::uint64_t>> probe_archive(std::string_view,
                                                         std::string_view dir,
                                                         domain::volume_probe& probe,
                                                         std::size_t max_bytes) override
    {
        calls.push_back("probe " + std::string(dir));
        auto it = archives.find(std::string(dir));
        if (it == archives.end())
            co_return failure(make_error_code(errc::not_found), 404, "Could not find the file");
        domain::tar_walker tar(probe);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < it->second.size() && seen < max_bytes &&
                                probe.result() == domain::volume_probe::verdict::open;
             i += 512) {
            auto piece = std::string_view(it->second).substr(i, 512);
            seen += piece.size();
            tar.feed(piece);
        }
        probe_bytes += seen;
        co_return seen;
    }
    asio::awaitable<result<std::uint64_t>>
    copy_archive(std::string_view, std::string_view dir, domain::dump_extractor& extract) override
    {
        calls.push_back("copy " + std::string(dir));
        auto it = archives.find(std::string(dir));
        if (it == archives.end())
            co_return failure(make_error_code(errc::not_found), 404, "Could not find the file");
        domain::tar_walker tar(extract);
        tar.feed(it->second);
        extract.finish();
        if (copy_disk_full)
            co_return failure(make_error_code(errc::local_io),
                              0,
                              "writing the dump spool: No space left on device");
        auto n = extract.output().size();
        put += extract.output();
        if (n > 0)
            calls.push_back("put /");
        co_return n;
    }
};

/// Stands in for the Engine: files whose first bytes are known, served as a stream of 512-byte
/// pieces to read_head, which counts requests and bytes as the real client would.
class streaming_docker final : public docker::api {
public:
    struct file {
        std::int64_t size;
        std::string head;  ///< the first bytes (the rest is zeros up to `size`)
    };
    std::map<std::string, file> files;
    std::vector<std::string> calls;
    std::vector<docker::commit_request> commits;
    std::size_t bytes_served = 0;

    asio::awaitable<result<docker::changes>>
    dump_candidates(std::string_view, const std::vector<std::string>&) override
    {
        calls.push_back("changes");
        docker::changes out;
        for (const auto& [path, f] : files)
            out.candidates.push_back(path);
        co_return out;
    }
    asio::awaitable<result<domain::path_stat>> stat_path(std::string_view,
                                                         std::string_view path) override
    {
        calls.push_back("stat");
        domain::path_stat st;
        st.name = path;
        st.size = files.at(std::string(path)).size;
        st.mode = 0600;
        co_return st;
    }
    asio::awaitable<result<docker::file_prefix>>
    read_prefix(std::string_view, std::string_view, std::size_t) override
    {
        calls.push_back("read_prefix");  // the probe must not fall back on repeated requests
        co_return failure(make_error_code(errc::not_configured), 0, "one request only");
    }
    asio::awaitable<result<docker::file_prefix>>
    read_head(std::string_view, std::string_view path, const docker::prefix_need& need) override
    {
        calls.push_back("read_head");
        const auto& f = files.at(std::string(path));
        std::string have;
        std::size_t want = need({});
        bool enough = false;
        for (std::size_t at = 0; !enough && at < static_cast<std::size_t>(f.size); at += 512) {
            std::string piece = at < f.head.size() ? f.head.substr(at, 512) : std::string{};
            piece.resize(std::min<std::size_t>(512, static_cast<std::size_t>(f.size) - at), '\0');
            bytes_served += piece.size();
            have += piece;
            // As the client: each need met is asked again with what it asked for.
            while (!enough && have.size() >= want) {
                const std::size_t more = need(std::string_view(have).substr(0, want));
                if (more <= want)
                    enough = true;
                else
                    want = more;
            }
        }
        have.resize(std::min(have.size(), want));
        co_return docker::file_prefix{have, f.size};
    }
    asio::awaitable<result<domain::container_info>> inspect(std::string_view id) override
    {
        calls.push_back("inspect");
        domain::container_info info;
        info.id = id;
        info.name = "crashy-" + std::string(id.substr(0, 4));
        info.image = "team/app:1.0";
        info.image_id = "sha256:" + std::string(64, 'a');
        info.exit_code = 139;
        co_return info;
    }
    asio::awaitable<result<std::string>> commit(const docker::commit_request& req) override
    {
        calls.push_back("commit");
        commits.push_back(req);
        co_return std::string("sha256:" + std::string(64, 'b'));
    }
    asio::awaitable<result<std::string>>
    push(std::string_view, std::string_view, std::string_view) override
    {
        calls.push_back("push");
        co_return std::string("sha256:" + std::string(64, 'c'));
    }
    asio::awaitable<result<void>> remove_image(std::string_view) override
    {
        calls.push_back("delete");
        co_return result<void>{};
    }
};

}  // namespace core_interceptor::test
