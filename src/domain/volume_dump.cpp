// SPDX-License-Identifier: MIT
#include "domain/volume_dump.hpp"

#include "domain/tar.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace core_interceptor::domain {
namespace {

using tar::block;
using tar::padding_of;
constexpr std::uint64_t max_size =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string_view basename(std::string_view path) noexcept
{
    while (path.ends_with('/'))
        path.remove_suffix(1);
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text)
{
    std::size_t i = 0;
    std::uint64_t value = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (value > (max_size - 9) / 10)
            return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    if (i == 0)
        return std::nullopt;
    std::string suffix;
    for (; i < text.size(); ++i)
        suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    unsigned shift = 0;
    if (!suffix.empty() && suffix != "b") {
        switch (suffix[0]) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        case 't': shift = 40; break;
        default: return std::nullopt;
        }
        auto unit = std::string_view(suffix).substr(1);
        if (!unit.empty() && unit != "b" && unit != "ib")
            return std::nullopt;
    }
    if (value > (max_size >> shift))
        return std::nullopt;
    return value << shift;
}

std::string copied_dump_path(std::string_view original)
{
    std::string out(copied_dumps_root);
    if (!original.starts_with('/'))
        out += '/';
    out += original;
    return out;
}

std::optional<std::string> normalize_dump_dir(std::string_view dir)
{
    if (!dir.starts_with('/'))
        return std::nullopt;
    std::string out;
    std::size_t pos = 0;
    while (pos < dir.size()) {
        auto next = dir.find('/', pos);
        auto part =
            dir.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
        pos = next == std::string_view::npos ? dir.size() : next + 1;
        if (part.empty() || part == ".")
            continue;
        if (part == ".." || part.find('\0') != std::string_view::npos)
            return std::nullopt;
        out += '/';
        out += part;
    }
    if (out.empty())
        return std::nullopt;
    return out;
}

// --- dump_recognizer -------------------------------------------------------------------------

dump_recognizer::dump_recognizer(std::string_view dir, std::vector<std::string> patterns)
    : patterns_(std::move(patterns))
{
    auto slash = dir.rfind('/');
    parent_ = std::string(dir.substr(0, slash == std::string_view::npos ? 0 : slash));
}

std::string dump_recognizer::path_of(std::string_view name) const
{
    while (name.starts_with("./"))
        name.remove_prefix(2);
    while (name.ends_with('/'))
        name.remove_suffix(1);
    if (name.empty() || name.starts_with('/'))
        return {};
    // The Engine names members below the directory's own name; ".." would leave it.
    for (std::size_t pos = 0; pos <= name.size();) {
        auto next = std::min(name.find('/', pos), name.size());
        if (name.substr(pos, next - pos) == "..")
            return {};
        pos = next + 1;
    }
    return parent_ + "/" + std::string(name);
}

bool dump_recognizer::candidate(const tar_entry& e) const
{
    return (e.type == '0' || e.type == '\0') && e.size > 0 &&
           matches_dump_pattern(patterns_, basename(e.name)) && !path_of(e.name).empty();
}

// --- volume_probe ----------------------------------------------------------------------------

volume_probe::volume_probe(std::string_view dir,
                           std::vector<std::string> patterns,
                           dump_filter skip)
    : recognizer_(dir, std::move(patterns)), skip_(std::move(skip))
{
}

void volume_probe::on_entry(const tar_entry& e)
{
    collecting_ = verdict_ == verdict::open && recognizer_.candidate(e);
    head_.clear();
    if (collecting_)
        current_ = archive_dump{recognizer_.path_of(e.name), e.size, dump_type::none, e.mtime, {}};
}

void volume_probe::on_content(std::string_view bytes)
{
    if (!collecting_)
        return;
    head_.append(bytes.substr(0, magic_bytes - std::min(magic_bytes, head_.size())));
    if (head_.size() >= magic_bytes)
        decide();
}

void volume_probe::on_entry_end()
{
    if (collecting_)
        decide();
}

void volume_probe::on_end()
{
    if (verdict_ == verdict::open)
        verdict_ = verdict::none;
}

void volume_probe::decide()
{
    collecting_ = false;
    current_.type = classify(head_);
    if (current_.type != dump_type::none && !(skip_ && skip_(current_))) {
        found_ = current_;
        verdict_ = verdict::found;
    }
}

// --- dump_extractor --------------------------------------------------------------------------

dump_extractor::dump_extractor(std::string_view dir,
                               std::vector<std::string> patterns,
                               std::uint64_t budget,
                               dump_filter skip)
    : recognizer_(dir, std::move(patterns)), skip_(std::move(skip)), budget_(budget)
{
}

void dump_extractor::on_entry(const tar_entry& e)
{
    head_.clear();
    mode_ = recognizer_.candidate(e) ? mode::collect : mode::ignore;
    if (mode_ == mode::collect) {
        current_ = archive_dump{recognizer_.path_of(e.name), e.size, dump_type::none, e.mtime, {}};
        current_mode_ = e.mode;
    }
}

void dump_extractor::on_content(std::string_view bytes)
{
    if (mode_ == mode::copy)
        out_.append(bytes);
    if (triaging_) {
        read_notes(bytes);
        return;
    }
    if (mode_ != mode::collect)
        return;
    auto n = magic_bytes - std::min(magic_bytes, head_.size());
    head_.append(bytes.substr(0, n));
    if (head_.size() >= magic_bytes) {
        decide();
        const auto rest = bytes.substr(std::min(n, bytes.size()));
        if (mode_ == mode::copy)
            out_.append(rest);
        if (triaging_)
            read_notes(rest);
    }
}

void dump_extractor::read_notes(std::string_view bytes)
{
    // core_notes_end asks in steps (header, first program header, notes): keep asking while
    // this piece has bytes.
    while (triaging_) {
        const auto want = core_notes_end(notes_, notes_cap_);
        if (want <= notes_.size()) {
            triage();
            return;
        }
        if (bytes.empty())
            return;
        const auto take = std::min(want - notes_.size(), bytes.size());
        notes_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
    }
}

void dump_extractor::triage()
{
    if (!triaging_)
        return;
    triaging_ = false;
    if (auto crash = read_core_notes(notes_))
        dumps_.back().crash = std::move(*crash);
    notes_.clear();
    notes_.shrink_to_fit();
}

void dump_extractor::on_entry_end()
{
    if (mode_ == mode::collect)
        decide();
    triage();
    if (mode_ == mode::copy)
        out_.append(padding_of(current_.size), '\0');
    mode_ = mode::ignore;
}

void dump_extractor::decide()
{
    current_.type = classify(head_);
    if (current_.type == dump_type::none || (skip_ && skip_(current_))) {
        mode_ = mode::ignore;
        return;
    }
    mode_ = mode::ignore;
    if (dumps_.size() >= max_dumps_) {
        ++skipped_;
        return;
    }
    // Whether copied or not, the dump streams by: its notes (a core) or header (an hprof) are
    // read from it as the probe of the writable layer reads them.
    if (current_.type == dump_type::hprof)
        current_.heap = read_hprof_header(head_);
    triaging_ = current_.type == dump_type::core;
    if (triaging_)
        notes_ = head_;
    // What the copy costs on disk is what it writes: its tar header(s), its bytes and their
    // padding, plus the end-of-archive marker once.
    const std::string copied_to = copied_dump_path(current_.path);
    std::string header = tar_file_header(
        std::string_view(copied_to).substr(1), current_.size, current_mode_ & 0777, current_.mtime);
    const std::uint64_t cost =
        header.size() + current_.size + padding_of(current_.size) + (wrote_any_ ? 0 : 2 * block);
    if (current_.size > budget_ || cost > archive_budget_) {
        current_.reason = "more than is left of --max-dump-size";
        dumps_.push_back(current_);
        return;
    }
    if (cost > space_) {
        current_.reason = "not enough free space in the state directory (--state-reserve)";
        dumps_.push_back(current_);
        return;
    }
    budget_ -= current_.size;
    archive_budget_ -= cost;
    space_ -= cost;
    current_.copied_to = copied_to;
    dumps_.push_back(current_);
    mode_ = mode::copy;
    wrote_any_ = true;
    out_ += header;
    out_ += head_;
}

void dump_extractor::finish()
{
    if (wrote_any_ && !finished_)
        out_.append(2 * block, '\0');
    finished_ = true;
}

}  // namespace core_interceptor::domain
