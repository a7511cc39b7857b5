// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// The `X-Docker-Container-Path-Stat` header, decoded (SPEC §4a).
struct path_stat {
    std::string name;
    std::int64_t size = 0;
    std::uint32_t mode = 0;  ///< a Go FileMode: type bits high, permission bits low
    std::string mtime;
    std::string link_target;

    bool is_dir() const noexcept;      ///< ModeDir (1<<31)
    bool is_symlink() const noexcept;  ///< ModeSymlink (1<<27)
    /// No type bit set (dir, symlink, named pipe, socket, device, char device, irregular).
    bool is_regular() const noexcept;
};

/// Decodes the header value: standard base64 (with or without padding) of a JSON object.
/// errc::malformed_response when it is not base64, not JSON, not an object, or a field has the
/// wrong type; errc::limit_exceeded when the value is longer than 64 KiB.
result<path_stat> decode_path_stat(std::string_view header_value);

}  // namespace core_interceptor::domain
