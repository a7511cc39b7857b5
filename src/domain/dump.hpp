// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::domain {

/// What a candidate file turned out to be (SPEC §4.2).
enum class dump_type { none, core, hprof };

/// "core", "hprof" or "none".
std::string_view to_string(dump_type t) noexcept;

/// Bytes of a file's start that `classify` needs to decide.
inline constexpr std::size_t magic_bytes = 32;

/// ELF (either byte order) with e_type ET_CORE -> core; starts with "JAVA PROFILE " -> hprof;
/// anything else, including a prefix too short to tell, -> none.
dump_type classify(std::string_view first_bytes) noexcept;

/// The default `--dump-pattern` list: core, core.*, *.core, *.hprof.
std::vector<std::string> default_dump_patterns();

/// True when the basename of `path` matches one of the globs (fnmatch, no flags).
bool matches_dump_pattern(const std::vector<std::string>& patterns, std::string_view path);

/// Candidate dump paths from a `GET /containers/{id}/changes` body: entries added (Kind 1) or
/// modified (Kind 0) whose basename matches a pattern, in the order given.
/// errc::malformed_response when the body is not the expected JSON array ("null" is an empty
/// list); errc::limit_exceeded when it has more than `max_entries` entries.
result<std::vector<std::string>> dump_candidates(std::string_view changes_json,
                                                 const std::vector<std::string>& patterns,
                                                 std::size_t max_entries = 1'000'000);

/// Reads the start of a tar stream (the body of `GET /containers/{id}/archive`) and extracts
/// the first bytes of the first regular file in it, skipping PAX ('x', 'g') and GNU long-name
/// ('L', 'K') entries. Sans-io: feed bytes as they arrive until `done()`.
class tar_prefix_reader {
public:
    /// `want`: how many bytes of the file's content to collect (at most).
    explicit tar_prefix_reader(std::size_t want = magic_bytes);

    /// Consumes bytes; returns how many were used. Stops consuming once done() or failed().
    std::size_t feed(std::string_view bytes);

    /// Raises how many bytes of the content to collect; once done() with fewer than the file
    /// holds, feeding goes on. A smaller `want` changes nothing.
    void want(std::size_t want) noexcept;
    /// The header of the file was read and its content is being collected.
    bool collecting() const noexcept { return state_ == state::content; }

    /// The file's first bytes are collected (or the file ended before `want`).
    bool done() const noexcept { return state_ == state::done; }
    /// The stream is not a tar we understand, or its first member is not a regular file.
    bool failed() const noexcept { return state_ == state::failed; }
    /// The collected prefix of the file's content (valid once done()).
    const std::string& content() const noexcept { return content_; }
    /// The size of the file as the tar header states it (valid once done()).
    std::int64_t file_size() const noexcept { return file_size_; }

private:
    enum class state { header, skip, content, done, failed };
    void on_header();

    std::size_t want_;
    state state_ = state::header;
    std::string header_;           // the 512-byte header being assembled
    std::uint64_t skip_left_ = 0;  // bytes of an extension entry (rounded to 512) to skip
    std::string content_;
    std::int64_t file_size_ = 0;
};

}  // namespace core_interceptor::domain
