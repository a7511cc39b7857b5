// SPDX-License-Identifier: MIT
#pragma once

#include "domain/event.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::state {

/// A notification waiting in the spool for one sink.
struct spooled {
    std::filesystem::path file;  ///< empty for one held in memory (it could not be written)
    std::uint64_t seq = 0;       ///< order of arrival
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
///
/// A write that fails (ENOSPC, EDQUOT, EROFS, EIO) never throws and never stops the daemon:
/// it is logged, counted and reported by problem() until catch_up() has written everything
/// again; a notification that cannot be spooled is held in memory meanwhile.
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
    bool reported(std::string_view container_id,
                  std::string_view path,
                  std::int64_t size,
                  std::string_view mtime) const;
    /// Remembers a reported dump, in memory: save_reported() writes them (once per job).
    void mark_reported(std::string_view container_id,
                       std::string_view path,
                       std::int64_t size,
                       std::string_view mtime);
    /// Writes state.json if a dump was marked since it was last written. Marks older than
    /// `reported_ttl` (per container, from its newest mark) are dropped first.
    boost::system::error_code save_reported();

    /// Appends a notification to `sink`'s spool, in a file of a new name (O_EXCL). When it
    /// cannot be written it is held in memory (and logged at error level with its id) until
    /// catch_up() writes it: the error is returned, nothing is lost while the process runs.
    boost::system::error_code
    spool(std::string_view sink, std::string_view id, std::string_view key, std::string_view body);
    /// `sink`'s oldest `limit` spooled notifications, oldest first (the directory is read as a
    /// stream: only `limit` of them are ever held), then those held in memory.
    std::vector<spooled> spooled_for(std::string_view sink, std::size_t limit = 256);
    /// Removes a delivered (or rejected) notification from the spool.
    void unspool(const spooled& s);
    /// Number of notifications spooled for `sink` (a running count, no directory scan).
    std::size_t spool_size(std::string_view sink) const;
    /// Every sink's spool size.
    const std::map<std::string, std::size_t, std::less<>>& spool_sizes() const noexcept
    {
        return spool_count_;
    }

    /// Keeps a notification a sink refuses for good in `dead-letter/`, one file each with the
    /// sink, the reason and the body; logged at error level by the caller.
    boost::system::error_code
    dead_letter(std::string_view sink, const spooled& s, std::string_view reason);
    /// Notifications put in `dead-letter/` (or held, when it could not be written) by this run.
    std::uint64_t dead_letters() const noexcept { return dead_letters_; }

    /// Records an image whose push is to be retried later.
    boost::system::error_code add_pending_push(std::string_view repository,
                                               std::string_view tag,
                                               std::string_view notification);
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

    /// Why the state directory cannot be written, while it cannot (for /healthz).
    std::optional<std::string> problem() const;
    /// Writes that failed since the start (the writer thread's included).
    std::uint64_t write_errors() const;
    /// Retries what could not be written: state.json, held notifications, per-event records.
    /// Cheap when there is nothing to retry.
    void catch_up();
    /// The spool size above which a warning is logged (nothing is dropped).
    void set_spool_warning(std::size_t n) noexcept { spool_warn_ = n; }
    std::size_t spool_warning() const noexcept { return spool_warn_; }

    /// How long a container's reported dumps are remembered after its newest one.
    static constexpr std::chrono::hours reported_ttl{24 * 30};

private:
    void load();
    void count_spool();
    void set_aside(const std::filesystem::path& p, std::string_view why);
    /// Records the outcome of a write: a failure sets problem(), a success with no backlog
    /// clears it.
    void note_write(const boost::system::error_code& ec, std::string_view what);
    bool backlog() const;
    boost::system::error_code write_spooled(const std::string& sink, const spooled& s);

    std::filesystem::path dir_;
    std::int64_t last_event_nano_ = 0;
    // container ID -> "path\nsize\nmtime" keys of reported dumps
    std::map<std::string, std::vector<std::string>, std::less<>> reported_;
    std::map<std::string, std::int64_t, std::less<>>
        reported_at_;  // container -> newest mark (epoch s)
    bool reported_dirty_ = false;
    std::int64_t marked_event_nano_ = 0;  // the event time when the newest mark was made
    std::uint64_t spool_seq_ = 0;
    std::map<std::string, std::size_t, std::less<>> spool_count_;   // on disk + held, per sink
    std::map<std::string, std::deque<spooled>, std::less<>> held_;  // could not be spooled
    std::size_t spool_warn_ = 10000;
    bool spool_warned_ = false;
    std::uint64_t dead_letters_ = 0;
    mutable std::mutex health_mutex_;  // the writer thread reports its failures too
    std::optional<std::string> problem_;
    std::uint64_t write_errors_ = 0;
    class writer;
    std::unique_ptr<writer> writer_;
};

/// Writes `content` to `path` crash-safely: `path.tmp`, fsync, rename over `path`, fsync the
/// directory. Not `durable`: no fsync (after a crash the file may be old, new, or empty).
/// Throws std::system_error on failure.
void write_file_atomically(const std::filesystem::path& path,
                           std::string_view content,
                           bool durable = true);

/// write_file_atomically as a value: the error (ENOSPC, EROFS, ...) instead of an exception,
/// with `what` set to the step that failed. `no_replace`: fails with EEXIST rather than
/// replace an existing `path` (link(2), then unlink of the temporary).
boost::system::error_code try_write_file(const std::filesystem::path& path,
                                         std::string_view content,
                                         std::string& what,
                                         bool durable = true,
                                         bool no_replace = false);

}  // namespace core_interceptor::state
