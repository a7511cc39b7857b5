// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace core_interceptor::domain {

/// Splits a byte stream into newline-delimited lines as the bytes arrive: a line may be split
/// across feeds and one feed may hold many lines. A line longer than `max_line` is dropped
/// (counted in `dropped()`) up to its newline, so one hostile line never grows the buffer.
class line_framer {
public:
    explicit line_framer(std::size_t max_line = 1 << 20);

    /// Appends bytes from the stream.
    void feed(std::string_view bytes);

    /// The next complete line without its "\n" (and without a trailing "\r"); empty lines are
    /// skipped. nullopt when no complete line is buffered.
    std::optional<std::string> next();

    /// Lines dropped because they were longer than max_line.
    std::size_t dropped() const noexcept { return dropped_; }
    /// Bytes buffered that do not yet form a complete line.
    std::size_t pending() const noexcept { return buffer_.size() - pos_; }

private:
    std::size_t max_line_;
    std::string buffer_;
    std::size_t pos_ = 0;      // start of the unread part of buffer_
    std::size_t tail_ = 0;     // start of the incomplete last line in buffer_
    bool discarding_ = false;  // inside an over-long line: drop bytes up to its newline
    std::size_t dropped_ = 0;
};

}  // namespace core_interceptor::domain
