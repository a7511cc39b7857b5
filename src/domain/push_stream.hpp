// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// Folds the lines of a `POST /images/{name}/push` progress stream (SPEC §4a) into an outcome.
/// Feed every line; once the stream has ended, `succeeded()` says whether the push worked.
class push_stream_parser {
public:
    /// `tag`: the tag being pushed, to recognise "<tag>: digest: sha256:… size: N".
    explicit push_stream_parser(std::string tag = {});

    /// One line of the stream. A line that is not JSON is remembered as malformed (not fatal).
    void on_line(std::string_view line);

    /// An `error`/`errorDetail` line was seen.
    bool failed() const noexcept { return failed_; }
    /// No error line and a digest was seen (from aux or the status line).
    bool succeeded() const noexcept { return !failed_ && !digest_.empty(); }
    /// The error message from the first error line ("" when none).
    const std::string& error() const noexcept { return error_; }
    /// "sha256:<64 hex>" from aux.Digest, else from the status line; "" when none.
    const std::string& digest() const noexcept { return digest_; }
    /// Lines that were not JSON objects.
    std::size_t malformed_lines() const noexcept { return malformed_; }

private:
    std::string tag_;
    bool failed_ = false;
    std::string error_;
    std::string digest_;
    std::size_t malformed_ = 0;
};

/// The digest the Engine reports for a reference in the registry: `Descriptor.digest` of the
/// `GET /distribution/{name}/json` answer, when plausible ("sha256:<hex>"); "" otherwise. What
/// confirms a push whose progress stream named no digest.
std::string distribution_digest(std::string_view body);

}  // namespace core_interceptor::domain
