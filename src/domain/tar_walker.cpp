// SPDX-License-Identifier: MIT
#include "domain/tar_walker.hpp"

#include "domain/tar.hpp"

#include <algorithm>
#include <limits>

namespace core_interceptor::domain {
namespace {

using tar::block;
using tar::c_string;
using tar::max_extension_size;
using tar::padding_of;
constexpr std::uint64_t max_size =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// Numeric fields here read as GNU tar reads them: octal or base-256, and an all-blank field is 0.
std::optional<std::uint64_t> parse_number(std::string_view field) noexcept
{
    return tar::parse_number(field, tar::blank::zero);
}

bool checksum_ok(std::string_view h) noexcept
{
    auto stored = parse_number(h.substr(148, 8));
    return stored && tar::checksum_matches(h, *stored);
}

}  // namespace

void tar_walker::fail(std::string why)
{
    state_ = state::failed;
    error_ = std::move(why);
}

void tar_walker::feed(std::string_view bytes)
{
    while (!bytes.empty()) {
        switch (state_) {
        case state::header: {
            auto n = std::min(block - block_.size(), bytes.size());
            block_.append(bytes.substr(0, n));
            bytes.remove_prefix(n);
            if (block_.size() == block)
                on_header();
            break;
        }
        case state::extension: {
            auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, bytes.size()));
            ext_.append(bytes.substr(0, n));
            bytes.remove_prefix(n);
            left_ -= n;
            if (left_ == 0)
                on_extension();
            break;
        }
        case state::content: {
            auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, bytes.size()));
            handler_.on_content(bytes.substr(0, n));
            bytes.remove_prefix(n);
            left_ -= n;
            if (left_ == 0) {
                handler_.on_entry_end();
                left_ = padding_;
                state_ = left_ == 0 ? state::header : state::padding;
            }
            break;
        }
        case state::padding: {
            auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, bytes.size()));
            bytes.remove_prefix(n);
            left_ -= n;
            if (left_ == 0)
                state_ = state::header;
            break;
        }
        case state::ended:
        case state::failed: return;
        }
    }
}

void tar_walker::on_header()
{
    const std::string h = std::move(block_);
    block_.clear();
    if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) {
        state_ = state::ended;
        handler_.on_end();
        return;
    }
    if (!checksum_ok(h))
        return fail("bad tar header checksum");
    auto size = parse_number(std::string_view(h).substr(124, 12));
    if (!size || *size > max_size)
        return fail("bad tar member size");
    const char type = h[156];
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        if (*size > max_extension_size)
            return fail("tar extension member of " + std::to_string(*size) + " bytes");
        ext_.clear();
        ext_type_ = type;
        left_ = *size;
        padding_ = padding_of(*size);
        state_ = state::extension;
        if (left_ == 0)
            on_extension();
        return;
    }

    tar_entry e;
    std::string_view hv = h;
    if (next_name_) {
        e.name = std::move(*next_name_);
    } else {
        auto prefix = c_string(hv.substr(345, 155));
        if (hv.substr(257, 5) == "ustar" && !prefix.empty())
            e.name = std::string(prefix) + "/";
        e.name += c_string(hv.substr(0, 100));
    }
    e.type = type;
    e.size = next_size_ ? *next_size_ : *size;
    e.mode = static_cast<std::uint32_t>(parse_number(hv.substr(100, 8)).value_or(0));
    e.mtime =
        static_cast<std::int64_t>(std::min(parse_number(hv.substr(136, 12)).value_or(0), max_size));
    next_name_.reset();
    next_size_.reset();
    // Only regular files carry content here; links, directories and devices have none even
    // if their size field says otherwise (as GNU tar reads them).
    if (type != '0' && type != '\0' && type != '7')
        e.size = 0;
    if (e.size > max_size)
        return fail("bad tar member size");
    handler_.on_entry(e);
    left_ = e.size;
    padding_ = padding_of(e.size);
    if (left_ == 0) {
        handler_.on_entry_end();
        left_ = padding_;
        state_ = left_ == 0 ? state::header : state::padding;
    } else {
        state_ = state::content;
    }
}

void tar_walker::on_extension()
{
    if (ext_type_ == 'L') {
        next_name_ = std::string(c_string(ext_));
    } else if (ext_type_ == 'x') {
        // Records: "<len> key=value\n".
        std::string_view rest = ext_;
        while (!rest.empty()) {
            auto space = rest.find(' ');
            if (space == std::string_view::npos)
                return fail("bad PAX record");
            std::size_t len = 0;
            for (char c : rest.substr(0, space)) {
                if (c < '0' || c > '9' || len > max_extension_size)
                    return fail("bad PAX record length");
                len = len * 10 + static_cast<std::size_t>(c - '0');
            }
            if (len <= space + 1 || len > rest.size() || rest[len - 1] != '\n')
                return fail("bad PAX record");
            auto record = rest.substr(space + 1, len - space - 2);
            rest.remove_prefix(len);
            auto eq = record.find('=');
            if (eq == std::string_view::npos)
                return fail("bad PAX record");
            auto key = record.substr(0, eq);
            auto value = record.substr(eq + 1);
            if (key == "path") {
                next_name_ = std::string(value);
            } else if (key == "size") {
                std::uint64_t v = 0;
                if (value.empty())
                    return fail("bad PAX size");
                for (char c : value) {
                    if (c < '0' || c > '9' || v > (max_size - 9) / 10)
                        return fail("bad PAX size");
                    v = v * 10 + static_cast<std::uint64_t>(c - '0');
                }
                next_size_ = v;
            }
        }
    }
    ext_.clear();
    left_ = padding_;
    state_ = left_ == 0 ? state::header : state::padding;
}

}  // namespace core_interceptor::domain
