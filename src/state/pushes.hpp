// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "state/writer.hpp"

#include <boost/asio/awaitable.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::state {

/// An image committed whose push failed for good (its window is over): retried later.
struct pending_push {
    std::filesystem::path file;
    std::string repository;
    std::string tag;
    std::string notification;  ///< the JSON announced with pushed: false
};

/// The images waiting for a later push (`pushes/`, one file per tag) and the per-signature
/// counts (`signatures.json`). Files are written by the writer thread: the async_ forms await
/// it while the loop keeps serving, the others block (not for the loop).
class pending_pushes_file {
public:
    pending_pushes_file(std::filesystem::path dir, writer& w) : dir_(std::move(dir)), writer_(w) {}

    error_code
    add(std::string_view repository, std::string_view tag, std::string_view notification);
    boost::asio::awaitable<error_code> async_add(const std::string& repository,
                                                 const std::string& tag,
                                                 const std::string& notification);
    /// Images waiting for a later push, oldest first.
    std::vector<pending_push> list() const;
    error_code remove(const pending_push& p);
    boost::asio::awaitable<error_code> async_remove(const pending_push& p);

    /// The per-signature counts last saved ("" when none); a file that is not JSON is set aside.
    std::string signatures() const;
    /// Queued for the writer thread.
    void save_signatures(std::string json);

private:
    /// The task writing a pending push; an invalid tag (not one path component) is an error.
    result<writer::task> add_task(std::string_view repository,
                                  std::string_view tag,
                                  std::string_view notification) const;

    std::filesystem::path dir_;
    writer& writer_;
};

}  // namespace core_interceptor::state
