// SPDX-License-Identifier: MIT
#include "domain/dump.hpp"

#include "domain/json_member.hpp"
#include "domain/tar.hpp"

#include <boost/json.hpp>

#include <fnmatch.h>

#include <algorithm>
#include <limits>

namespace core_interceptor::domain {
namespace json = boost::json;

namespace {

constexpr std::uint16_t et_core = 4;

// The header checksum: an octal field, read strictly.
bool checksum_ok(std::string_view header) noexcept
{
    auto stored = tar::parse_octal(header.substr(148, 8));
    return stored && tar::checksum_matches(header, *stored);
}

std::string_view basename(std::string_view path) noexcept
{
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string_view to_string(dump_type t) noexcept
{
    switch (t) {
    case dump_type::core: return "core";
    case dump_type::hprof: return "hprof";
    case dump_type::none: break;
    }
    return "none";
}

dump_type classify(std::string_view first_bytes) noexcept
{
    constexpr std::string_view hprof_magic = "JAVA PROFILE ";
    if (first_bytes.substr(0, hprof_magic.size()) == hprof_magic)
        return dump_type::hprof;

    constexpr std::string_view elf_magic = "\x7f"
                                           "ELF";
    if (first_bytes.size() < 18 || first_bytes.substr(0, 4) != elf_magic)
        return dump_type::none;
    auto lo = static_cast<unsigned char>(first_bytes[16]);
    auto hi = static_cast<unsigned char>(first_bytes[17]);
    std::uint16_t e_type = 0;
    switch (first_bytes[5]) {  // EI_DATA
    case 1: e_type = static_cast<std::uint16_t>(lo | (hi << 8)); break;
    case 2: e_type = static_cast<std::uint16_t>((lo << 8) | hi); break;
    default: return dump_type::none;
    }
    return e_type == et_core ? dump_type::core : dump_type::none;
}

std::vector<std::string> default_dump_patterns()
{
    return {"core", "core.*", "*.core", "*.hprof"};
}

bool matches_dump_pattern(const std::vector<std::string>& patterns, std::string_view path)
{
    auto name = basename(path);
    if (name.empty())
        return false;
    // fnmatch wants NUL-terminated strings, and a NUL inside would cut the name short.
    if (name.find('\0') != std::string_view::npos)
        return false;
    const std::string subject(name);
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
        return ::fnmatch(p.c_str(), subject.c_str(), 0) == 0;
    });
}

result<std::vector<std::string>> dump_candidates(std::string_view changes_json,
                                                 const std::vector<std::string>& patterns,
                                                 std::size_t max_entries)
{
    boost::system::error_code ec;
    json::value doc = json::parse(changes_json, ec);
    if (ec)
        return failure(make_error_code(errc::malformed_response), 0, "changes: not JSON");
    std::vector<std::string> out;
    if (doc.is_null())
        return out;
    const auto* entries = doc.if_array();
    if (entries == nullptr)
        return failure(make_error_code(errc::malformed_response), 0, "changes: not an array");
    if (entries->size() > max_entries)
        return failure(make_error_code(errc::limit_exceeded),
                       0,
                       "changes: " + std::to_string(entries->size()) + " entries");

    for (const auto& entry : *entries) {
        const auto* obj = entry.if_object();
        const json::string* path = obj ? string_member_if(*obj, "Path") : nullptr;
        const json::value* kind = obj ? obj->if_contains("Kind") : nullptr;
        if (path == nullptr || kind == nullptr || !kind->is_number())
            return failure(make_error_code(errc::malformed_response), 0, "changes: bad entry");
        boost::system::error_code kind_ec;
        auto k = kind->to_number<std::int64_t>(kind_ec);
        if (kind_ec)
            return failure(make_error_code(errc::malformed_response), 0, "changes: bad Kind");
        // Kind: 0 modified, 1 added, 2 deleted.
        if (k != 0 && k != 1)
            continue;
        std::string_view p = *path;
        if (matches_dump_pattern(patterns, p))
            out.emplace_back(p);
    }
    return out;
}

tar_prefix_reader::tar_prefix_reader(std::size_t want) : want_(want)
{
    header_.reserve(tar::block);
}

std::size_t tar_prefix_reader::feed(std::string_view bytes)
{
    std::size_t used = 0;
    while (used < bytes.size()) {
        auto rest = bytes.substr(used);
        switch (state_) {
        case state::header: {
            auto n = std::min(tar::block - header_.size(), rest.size());
            header_.append(rest.substr(0, n));
            used += n;
            if (header_.size() == tar::block)
                on_header();
            break;
        }
        case state::skip: {
            auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_left_, rest.size()));
            skip_left_ -= n;
            used += n;
            if (skip_left_ == 0) {
                header_.clear();
                state_ = state::header;
            }
            break;
        }
        case state::content: {
            auto target = static_cast<std::size_t>(
                std::min<std::uint64_t>(want_, static_cast<std::uint64_t>(file_size_)));
            auto n = std::min(target - content_.size(), rest.size());
            content_.append(rest.substr(0, n));
            used += n;
            if (content_.size() == target)
                state_ = state::done;
            break;
        }
        case state::done:
        case state::failed: return used;
        }
    }
    return used;
}

void tar_prefix_reader::want(std::size_t want) noexcept
{
    if (want <= want_)
        return;
    want_ = want;
    if (state_ == state::done && content_.size() < static_cast<std::uint64_t>(file_size_))
        state_ = state::content;
}

void tar_prefix_reader::on_header()
{
    const std::string_view h = header_;
    if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) {
        state_ = state::failed;  // end of archive before any regular file
        return;
    }
    if (!checksum_ok(h)) {
        state_ = state::failed;
        return;
    }
    auto size = tar::parse_number(h.substr(124, 12));
    constexpr auto max_size = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!size || *size > max_size) {
        state_ = state::failed;
        return;
    }

    switch (h[156]) {  // typeflag
    case '0':
    case '\0':
        file_size_ = static_cast<std::int64_t>(*size);
        content_.clear();
        state_ = (*size == 0 || want_ == 0) ? state::done : state::content;
        return;
    case 'x':
    case 'g':
    case 'L':
    case 'K':
        if (*size > tar::max_extension_size) {
            state_ = state::failed;
            return;
        }
        skip_left_ = *size + tar::padding_of(*size);  // whole blocks
        header_.clear();
        state_ = skip_left_ == 0 ? state::header : state::skip;
        return;
    default: state_ = state::failed; return;
    }
}

}  // namespace core_interceptor::domain
