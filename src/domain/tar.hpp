// SPDX-License-Identifier: MIT
#pragma once

// Primitives of the tar format shared by the readers in dump.cpp and tar_walker.cpp and the
// writer in tar_file_header.cpp.
// Internal to the domain library.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace core_interceptor::domain::tar {

inline constexpr std::size_t block = 512;
// PAX and GNU long-name members hold a path and a few attributes; anything bigger is not a
// tar Docker wrote, and skipping or buffering it would make the cost grow with the archive.
inline constexpr std::uint64_t max_extension_size = 1 << 20;

/// How a numeric field without digits (only spaces and NULs) reads.
enum class blank { invalid, zero };

/// Zero bytes that pad `n` bytes of content to a whole block.
constexpr std::uint64_t padding_of(std::uint64_t n) noexcept
{
    return (block - n % block) % block;
}

/// An octal field: optional leading spaces, digits, then NUL or space padding.
std::optional<std::uint64_t> parse_octal(std::string_view field,
                                         blank if_blank = blank::invalid) noexcept;

/// A numeric field: octal, or GNU base-256 when the first byte's high bit is set (sizes beyond
/// 8 GiB, far mtimes). `field` must not be empty.
std::optional<std::uint64_t> parse_number(std::string_view field,
                                          blank if_blank = blank::invalid) noexcept;

/// True when `stored` is the checksum of the 512-byte `header` (its checksum field counted as
/// spaces), summed as unsigned or, as some old tars did, signed chars (GNU tar accepts both).
bool checksum_matches(std::string_view header, std::uint64_t stored) noexcept;

/// A NUL-terminated name field, without the NUL and what follows it.
std::string_view c_string(std::string_view field) noexcept;

}  // namespace core_interceptor::domain::tar
