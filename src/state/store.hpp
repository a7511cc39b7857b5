// SPDX-License-Identifier: MIT
#pragma once

#include "domain/event.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::state {

/// A notification waiting in the spool for one sink.
struct spooled {
    std::filesystem::path file;
    std::string id;
    std::string key;
    std::string body;
};

/// An image committed whose push failed for good (its window is over): retried later.
struct pending_push {
    std::filesystem::path file;
    std::string repository;
    std::string tag;
    std::string notification;  ///< the JSON announced with pushed: false
};

/// Durable state in `--state-dir` (issue "nothing lost"): the last event time, the deaths not
/// yet fully handled, the dumps already reported and the notifications not yet delivered.
/// Every file is written crash-safely (write a new file, fsync, rename, fsync the directory);
/// a torn or corrupt file is reported, set aside as `<name>.corrupt` and never stops a start.
/// The per-event records (job_started, job_finished, set_last_event_nano) are written in order
/// by a thread of their own, so that their fsyncs never hold up the loop, and a death handled
/// before its record reached the disk costs no write at all; the rest is synchronous file I/O
/// on small files. Loop thread only.
class store {
public:
    /// Creates the directory layout. Throws std::filesystem::filesystem_error when the
    /// directory cannot be created or written.
    explicit store(std::filesystem::path dir);
    /// Writes what is still queued, then stops the writer thread.
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    const std::filesystem::path& dir() const noexcept { return dir_; }

    /// timeNano of the newest event seen (0: never ran).
    std::int64_t last_event_nano() const noexcept { return last_event_nano_; }
    /// Records a newer event time (older ones are ignored), in a file of its own that is
    /// replaced whole but not synced: after a crash an older time may come back (or none, then
    /// the one in state.json), which only widens the next catch-up. The death itself is
    /// already durable: the writer syncs its job_started record first.
    void set_last_event_nano(std::int64_t t);

    /// A death received and not yet fully handled; survives a crash or a cancelled shutdown.
    /// Queued for the writer thread: a crash before it is written loses it, but then the
    /// newest event time on disk is older than this death too, so catch-up finds it. A write
    /// that fails is logged as an error.
    void job_started(const domain::die_event& ev);
    /// The death is handled: forget it (its record is dropped unwritten if still queued).
    void job_finished(const domain::die_event& ev);
    /// Deaths left unfinished by an earlier run, oldest first (after the queue is written).
    std::vector<domain::die_event> unfinished_jobs();
    /// Waits until every queued record is on disk.
    void flush();

    /// Whether this dump (container, path, size, mtime) was reported already.
    bool reported(std::string_view container_id, std::string_view path, std::int64_t size, std::string_view mtime) const;
    /// Remembers a reported dump.
    void mark_reported(std::string_view container_id, std::string_view path, std::int64_t size, std::string_view mtime);

    /// Appends a notification to `sink`'s spool.
    void spool(std::string_view sink, std::string_view id, std::string_view key, std::string_view body);
    /// `sink`'s spooled notifications, oldest first.
    std::vector<spooled> spooled_for(std::string_view sink);
    /// Removes a delivered (or rejected) notification from the spool.
    void unspool(const spooled& s);
    /// Number of notifications spooled for `sink`.
    std::size_t spool_size(std::string_view sink);

    /// Records an image whose push is to be retried later.
    void add_pending_push(std::string_view repository, std::string_view tag, std::string_view notification);
    /// Images waiting for a later push, oldest first.
    std::vector<pending_push> pending_pushes();
    /// The image was pushed (or is gone): forget it.
    void remove_pending_push(const pending_push& p);

    /// The per-signature counts last saved (signature_limit JSON; "" when none). A file that
    /// is not JSON is set aside as corrupt.
    std::string signatures();
    /// Saves the per-signature counts: queued for the writer thread, crash-safely (a crash
    /// before it is written loses only the counts since the last save).
    void save_signatures(std::string json);

private:
    void load();
    void save();
    void set_aside(const std::filesystem::path& p, std::string_view why);

    std::filesystem::path dir_;
    std::int64_t last_event_nano_ = 0;
    // container ID -> "path\nsize\nmtime" keys of reported dumps
    std::map<std::string, std::vector<std::string>, std::less<>> reported_;
    std::uint64_t spool_seq_ = 0;
    class writer;
    std::unique_ptr<writer> writer_;
};

/// Writes `content` to `path` crash-safely: `path.tmp`, fsync, rename over `path`, fsync the
/// directory. Not `durable`: no fsync (after a crash the file may be old, new, or empty).
/// Throws std::system_error on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view content, bool durable = true);

}  // namespace core_interceptor::state
