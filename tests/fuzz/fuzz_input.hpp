// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

/// Aborts with the failed condition, so that libFuzzer records the input as a crash. Used
/// instead of assert(): the targets check their properties in release builds too.
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)

namespace core_interceptor::fuzz {

/// One fuzz input read as a byte stream that arrives in pieces, as it does from a socket:
///
///     byte 0         a parameter for the target (a maximum line length, a tag, ...)
///     byte 1         n, the number of cuts (low 6 bits)
///     bytes 2..n+1   one cut each: low 7 bits the length of a piece, high bit "now read
///                    everything that is complete"
///     the rest       the stream; the bytes after the last cut are the last piece
///
/// A seed that is a plain stream gets the two bytes "\0\0" in front: parameter 0 (the
/// default) and no cuts. Lengths come before the stream rather than inside it, so the
/// fuzzer can move a cut without changing the bytes of the stream.
class cut_input {
public:
    cut_input(const std::uint8_t* data, std::size_t size) noexcept
    {
        std::string_view all(reinterpret_cast<const char*>(data), size);
        if (!all.empty()) {
            param_ = static_cast<std::uint8_t>(all[0]);
            all.remove_prefix(1);
        }
        std::size_t n = 0;
        if (!all.empty()) {
            n = static_cast<std::uint8_t>(all[0]) & 0x3f;
            all.remove_prefix(1);
        }
        n = n < all.size() ? n : all.size();
        cuts_ = all.substr(0, n);
        stream_ = all.substr(n);
    }

    std::uint8_t param() const noexcept { return param_; }
    /// The whole stream, for a reference run that gets it in one piece.
    std::string_view stream() const noexcept { return stream_; }

    /// Calls `on_piece(piece, read_now)` for each piece in order; the pieces make up stream().
    /// The last piece always has read_now set.
    template <class F> void for_each_piece(F&& on_piece) const
    {
        std::string_view rest = stream_;
        for (char c : cuts_) {
            auto cut = static_cast<std::uint8_t>(c);
            std::size_t len = cut & 0x7f;
            len = len < rest.size() ? len : rest.size();
            on_piece(rest.substr(0, len), (cut & 0x80) != 0);
            rest.remove_prefix(len);
        }
        on_piece(rest, true);
    }

private:
    std::uint8_t param_ = 0;
    std::string_view cuts_;
    std::string_view stream_;
};

}  // namespace core_interceptor::fuzz
