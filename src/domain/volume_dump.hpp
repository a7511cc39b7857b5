// SPDX-License-Identifier: MIT
#pragma once

#include "domain/crash.hpp"
#include "domain/dump.hpp"
#include "domain/tar_walker.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::domain {

/// "2G", "512M", "64KiB", "1048576" -> bytes. Suffixes K, M, G, T (optionally followed by
/// "iB" or "B", any case) are binary multiples. nullopt when malformed or beyond 2^63.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

/// Where dumps found in mounts are copied inside the container, outside every mount.
inline constexpr std::string_view copied_dumps_root = "/core_interceptor/dumps";

/// The path inside the image of a dump copied from `original` (an absolute path in a
/// mount): the original path kept below copied_dumps_root, so that two directories never
/// collide: "/dumps/core" -> "/core_interceptor/dumps/dumps/core".
std::string copied_dump_path(std::string_view original);

/// `--dump-path` normalised: absolute, no "." or ".." component, no trailing or doubled
/// '/'; nullopt when not absolute or when it names "/" or has a ".." component.
std::optional<std::string> normalize_dump_dir(std::string_view dir);

/// A dump found in the archive of a `--dump-path` directory.
struct archive_dump {
    std::string path;  ///< where it is in the container (in the mount)
    std::uint64_t size = 0;
    dump_type type = dump_type::none;
    std::int64_t mtime = 0;
    std::string copied_to;  ///< its path inside the image; "" when not copied
    std::string reason;     ///< why it was not copied ("" when copied)
    /// What a core's notes say, read from the bytes that streamed by (unset when unread).
    std::optional<crash_info> crash;
    /// What an hprof's header says (unset when unread).
    std::optional<heap_info> heap;
};

/// Whether a dump is to be left alone: it is in the writable layer already, or was reported
/// at an earlier death.
using dump_filter = std::function<bool(const archive_dump&)>;

/// What decides, from tar members, whether one is a dump: a non-empty regular file whose
/// basename matches a pattern and whose first bytes are a core or a heap dump (SPEC §4.2).
/// Shared by the probe and the copy.
class dump_recognizer {
public:
    /// `dir`: the normalised directory whose archive is read (its entries are named after
    /// its last component: archive of "/var/crash" holds "crash/core").
    dump_recognizer(std::string_view dir, std::vector<std::string> patterns);

    /// The member's absolute path in the container, or "" for a name we do not trust.
    std::string path_of(std::string_view entry_name) const;
    /// Worth reading the first bytes of.
    bool candidate(const tar_entry& e) const;

private:
    std::string parent_;  // "/var" for "/var/crash"; "" for "/dumps"
    std::vector<std::string> patterns_;
};

/// The probe of one `--dump-path` directory: reads member headers and the first bytes of
/// candidates only, and concludes `found` at the first dump (whose bytes it never reads),
/// `none` at the end of the archive. Until then `open`: the reader decides when to give up.
class volume_probe final : public tar_handler {
public:
    enum class verdict { open, none, found };

    volume_probe(std::string_view dir, std::vector<std::string> patterns, dump_filter skip = {});

    verdict result() const noexcept { return verdict_; }
    /// The dump found (valid when result() is found).
    const archive_dump& found() const noexcept { return found_; }

    void on_entry(const tar_entry& e) override;
    void on_content(std::string_view bytes) override;
    void on_entry_end() override;
    void on_end() override;

private:
    void decide();

    dump_recognizer recognizer_;
    dump_filter skip_;
    verdict verdict_ = verdict::open;
    archive_dump current_;
    bool collecting_ = false;
    std::string head_;
    archive_dump found_;
};

/// The copy of a `--dump-path` directory's dumps: turns the directory's archive into a tar
/// holding only its dumps, each renamed to copied_dump_path() (relative, to be put at "/"),
/// while the bytes stream through. Dumps whose copy (header, content and padding) is larger
/// than what is left of `budget` are recorded but left out. Holds at most one input piece (plus a
/// header) of output at a time: the caller drains output() after each feed.
class dump_extractor final : public tar_handler {
public:
    dump_extractor(std::string_view dir,
                   std::vector<std::string> patterns,
                   std::uint64_t budget,
                   dump_filter skip = {});

    /// Output ready to be sent; clear it once sent.
    std::string& output() noexcept { return out_; }
    /// Appends the end-of-archive marker, once, when anything was written.
    void finish();
    /// The archive read was whole: its end-of-archive marker was seen (so its last member is
    /// complete). A body that ends before it is truncated: nothing of it counts as copied.
    bool complete() const noexcept { return ended_; }
    /// Whether any member was written.
    bool wrote_any() const noexcept { return wrote_any_; }
    /// Every dump seen, copied or not, in archive order.
    const std::vector<archive_dump>& dumps() const noexcept { return dumps_; }
    std::uint64_t budget_left() const noexcept { return budget_; }
    /// The copy budget counted as written: tar headers, content, padding and the end marker
    /// (a thousand tiny dumps are a thousand headers). Unlimited unless set.
    void set_archive_budget(std::uint64_t bytes) noexcept { archive_budget_ = bytes; }
    std::uint64_t archive_budget_left() const noexcept { return archive_budget_; }
    /// Bytes the local spool may still take (free space above the reserve): a dump whose copy
    /// does not fit is recorded, not copied, with the reason. Unlimited unless set.
    void set_space(std::uint64_t bytes) noexcept { space_ = bytes; }
    std::uint64_t space_left() const noexcept { return space_; }
    /// At most `n` dumps are recorded (copied or not); the rest are counted in skipped().
    void set_max_dumps(std::size_t n) noexcept { max_dumps_ = n; }
    std::size_t skipped() const noexcept { return skipped_; }
    /// Bytes of a core's start kept to read its notes (issue 12's --max-notes-size).
    void set_notes_cap(std::size_t bytes) noexcept { notes_cap_ = bytes; }

    void on_entry(const tar_entry& e) override;
    void on_content(std::string_view bytes) override;
    void on_entry_end() override;
    void on_end() override { ended_ = true; }

private:
    void decide();
    void read_notes(std::string_view bytes);
    void triage();

    dump_recognizer recognizer_;
    dump_filter skip_;
    std::uint64_t budget_;
    std::uint64_t archive_budget_ = UINT64_MAX;
    std::uint64_t space_ = UINT64_MAX;
    std::size_t max_dumps_ = SIZE_MAX;
    std::size_t skipped_ = 0;
    enum class mode { ignore, collect, copy } mode_ = mode::ignore;
    archive_dump current_;
    std::uint32_t current_mode_ = 0;
    std::string head_;
    std::string out_;
    bool ended_ = false;
    bool wrote_any_ = false;
    bool finished_ = false;
    std::vector<archive_dump> dumps_;
    std::size_t notes_cap_ = default_notes_cap;
    bool triaging_ = false;  // the last of dumps_ is a core whose notes are being read
    std::string notes_;      // its first bytes, up to the end of its note segment
};

/// A ustar header block (preceded by a PAX member when the name or size needs one) for a
/// regular file: for tests and the extractor.
std::string
tar_file_header(std::string_view name, std::uint64_t size, std::uint32_t mode, std::int64_t mtime);

}  // namespace core_interceptor::domain
