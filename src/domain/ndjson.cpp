// SPDX-License-Identifier: MIT
#include "domain/ndjson.hpp"

namespace core_interceptor::domain {

line_framer::line_framer(std::size_t max_line) : max_line_(max_line) {}

void line_framer::feed(std::string_view bytes)
{
    // Drop what has been read, so the buffer holds only unread lines and the tail.
    if (pos_ > 0 && (pos_ == buffer_.size() || pos_ >= buffer_.size() / 2)) {
        buffer_.erase(0, pos_);
        tail_ -= pos_;
        pos_ = 0;
    }

    while (!bytes.empty()) {
        auto nl = bytes.find('\n');
        if (discarding_) {
            if (nl == std::string_view::npos)
                return;
            bytes.remove_prefix(nl + 1);
            discarding_ = false;
            continue;
        }
        auto segment = nl == std::string_view::npos ? bytes.size() : nl;
        if (buffer_.size() - tail_ + segment > max_line_) {
            buffer_.resize(tail_);
            ++dropped_;
            if (nl == std::string_view::npos) {
                discarding_ = true;
                return;
            }
            bytes.remove_prefix(nl + 1);
            continue;
        }
        if (nl == std::string_view::npos) {
            buffer_.append(bytes);
            return;
        }
        buffer_.append(bytes.substr(0, nl + 1));
        tail_ = buffer_.size();
        bytes.remove_prefix(nl + 1);
    }
}

std::optional<std::string> line_framer::next()
{
    // Only complete lines lie before tail_, so the tail is never rescanned.
    while (pos_ < tail_) {
        auto nl = buffer_.find('\n', pos_);
        std::string_view line(buffer_.data() + pos_, nl - pos_);
        pos_ = nl + 1;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (!line.empty())
            return std::string(line);
    }
    if (pos_ == buffer_.size()) {
        buffer_.clear();
        pos_ = 0;
        tail_ = 0;
    }
    return std::nullopt;
}

}  // namespace core_interceptor::domain
