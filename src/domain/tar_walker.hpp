// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// One member of a tar stream, its PAX `path`/`size` and GNU long name applied.
struct tar_entry {
    std::string name;
    char type = '0';  ///< typeflag: '0' (or NUL) regular file, '5' directory, ...
    std::uint64_t size = 0;
    std::uint32_t mode = 0;
    std::int64_t mtime = 0;
};

/// Receives what a tar_walker reads.
class tar_handler {
public:
    virtual ~tar_handler() = default;
    /// A member's header; its content follows through on_content, then on_entry_end.
    virtual void on_entry(const tar_entry& e) = 0;
    virtual void on_content(std::string_view bytes) = 0;
    virtual void on_entry_end() = 0;
    /// The end-of-archive marker.
    virtual void on_end() = 0;
};

/// Reads a tar stream (the body of `GET /containers/{id}/archive`) incrementally, sans-io:
/// feed bytes as they arrive, in pieces of any size. Understands ustar, PAX ('x' path and
/// size; 'g' skipped) and GNU long names ('L'; 'K' skipped).
class tar_walker {
public:
    explicit tar_walker(tar_handler& h) : handler_(h) {}

    /// Consumes all of `bytes` unless the stream ends or fails within them.
    void feed(std::string_view bytes);

    /// The end-of-archive marker was read.
    bool ended() const noexcept { return state_ == state::ended; }
    /// The stream is not a tar we understand; error() says why.
    bool failed() const noexcept { return state_ == state::failed; }
    const std::string& error() const noexcept { return error_; }

private:
    enum class state { header, extension, content, padding, ended, failed };
    void on_header();
    void on_extension();
    void fail(std::string why);

    tar_handler& handler_;
    state state_ = state::header;
    std::string block_;  // the header being assembled
    std::string ext_;    // content of a PAX or GNU long-name member
    char ext_type_ = 0;
    std::uint64_t left_ = 0;     // content or padding bytes still to come
    std::uint64_t padding_ = 0;  // padding after the current content
    std::optional<std::string> next_name_;
    std::optional<std::uint64_t> next_size_;
    std::string error_;
};

}  // namespace core_interceptor::domain
