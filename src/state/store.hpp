// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "domain/event.hpp"
#include "state/files.hpp"
#include "state/health.hpp"
#include "state/journal.hpp"
#include "state/pushes.hpp"
#include "state/reported.hpp"
#include "state/spool.hpp"
#include "state/writer.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::state {

/// Durable state in `--state-dir` (issue "nothing lost"), one room per concern: the job
/// journal (journal.hpp), the dumps already reported (reported.hpp), the notification spool
/// and dead letters (spool.hpp), the pending pushes and signature counts (pushes.hpp); all
/// written by one writer thread (writer.hpp) with the file primitives of files.hpp. This
/// facade wires them and keeps the directory's health. Loop thread only.
///
/// Every file is written crash-safely; a torn or corrupt file is reported, set aside as
/// `<name>.corrupt` and never stops a start. No operation throws: a write that fails (ENOSPC,
/// EDQUOT, EROFS, EIO) is returned as an error, logged, counted and reported by problem()
/// until catch_up() has written everything again; a notification that cannot be spooled is
/// held in memory meanwhile. The async_ forms await the writer thread while the loop keeps
/// serving: the loop uses them; the others block (start, shutdown, tests).
class store {
public:
    /// Creates the directory layout; a directory that cannot be created or written is
    /// reported by problem(), not fatal.
    explicit store(std::filesystem::path dir);
    /// Writes what is still unwritten, then stops the writer thread.
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    const std::filesystem::path& dir() const noexcept { return dir_; }

    /// timeNano of the newest event seen (0: never ran).
    std::int64_t last_event_nano() const noexcept { return journal_.last_event_nano(); }
    /// Records a newer event time (older ones are ignored), in a file of its own that is
    /// replaced whole but not synced: after a crash an older time may come back (or none, then
    /// the one in state.json), which only widens the next catch-up. The death itself is
    /// already durable: the writer syncs its job_started record first.
    void set_last_event_nano(std::int64_t t) { journal_.set_last_event_nano(t); }
    /// A death received and not yet fully handled; survives a crash or a cancelled shutdown.
    /// Queued for the writer thread: a crash before it is written loses it, but then the
    /// newest event time on disk is older than this death too, so catch-up finds it.
    void job_started(const domain::die_event& ev) { journal_.job_started(ev); }
    /// The death is handled: forget it (its record is dropped unwritten if still queued).
    void job_finished(const domain::die_event& ev) { journal_.job_finished(ev); }
    /// Deaths left unfinished by an earlier run, oldest first (after the queue is written).
    std::vector<domain::die_event> unfinished_jobs() { return journal_.unfinished_jobs(); }
    /// Waits until every queued write is on disk.
    void flush() { writer_.flush(); }

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
    /// Writes state.json if a dump was marked since it was last written, and waits. Marks
    /// older than `reported_ttl` (per container, from its newest mark) are dropped first.
    error_code save_reported();
    /// save_reported() queued for the writer thread: a failure is reported by problem() and
    /// retried by catch_up().
    void queue_save_reported();

    /// Appends a notification to `sink`'s spool, in a file of a new name (O_EXCL). When it
    /// cannot be written it is held in memory (and logged at error level with its id) until
    /// catch_up() writes it: the error is returned, nothing is lost while the process runs.
    error_code
    spool(std::string_view sink, std::string_view id, std::string_view key, std::string_view body);
    boost::asio::awaitable<error_code> async_spool(const std::string& sink,
                                                   const std::string& id,
                                                   const std::string& key,
                                                   const std::string& body);
    /// Whether `sink` has a spool, or a notification on its way into it.
    bool spool_busy(std::string_view sink) const;
    /// `sink`'s oldest `limit` spooled notifications, oldest first (the directory is read as a
    /// stream: only `limit` of them are ever held), then those held in memory.
    std::vector<spooled> spooled_for(std::string_view sink, std::size_t limit = 256);
    /// Removes a delivered (or rejected) notification from the spool.
    void unspool(const spooled& s) { spool_.unspool(s); }
    boost::asio::awaitable<void> async_unspool(const spooled& s);
    /// Number of notifications spooled for `sink` (a running count, no directory scan).
    std::size_t spool_size(std::string_view sink) const { return spool_.size(sink); }
    /// Every sink's spool size.
    const std::map<std::string, std::size_t, std::less<>>& spool_sizes() const noexcept
    {
        return spool_.sizes();
    }

    /// Keeps a notification a sink refuses for good in `dead-letter/`, one file each with the
    /// sink, the reason and the body; logged at error level by the caller.
    error_code dead_letter(std::string_view sink, const spooled& s, std::string_view reason);
    boost::asio::awaitable<error_code>
    async_dead_letter(const std::string& sink, const spooled& s, const std::string& reason);
    /// Notifications put in `dead-letter/` (or held, when it could not be written) by this run.
    std::uint64_t dead_letters() const noexcept { return spool_.dead_letters(); }

    /// Records an image whose push is to be retried later.
    error_code add_pending_push(std::string_view repository,
                                std::string_view tag,
                                std::string_view notification);
    boost::asio::awaitable<error_code> async_add_pending_push(const std::string& repository,
                                                              const std::string& tag,
                                                              const std::string& notification);
    /// Images waiting for a later push, oldest first.
    std::vector<pending_push> pending_pushes() const { return pushes_.list(); }
    /// The image was pushed (or is gone): forget it.
    error_code remove_pending_push(const pending_push& p) { return pushes_.remove(p); }
    boost::asio::awaitable<error_code> async_remove_pending_push(const pending_push& p);

    /// The per-signature counts last saved (signature_limit JSON; "" when none). A file that
    /// is not JSON is set aside as corrupt.
    std::string signatures() const { return pushes_.signatures(); }
    /// Saves the per-signature counts: queued for the writer thread, crash-safely (a crash
    /// before it is written loses only the counts since the last save).
    void save_signatures(std::string json) { pushes_.save_signatures(std::move(json)); }

    /// Why the state directory cannot be written, while it cannot (for /healthz).
    std::optional<std::string> problem() const { return health_.problem(); }
    /// Writes that failed since the start (the writer thread's included).
    std::uint64_t write_errors() const { return health_.write_errors(); }
    /// Retries what could not be written: state.json, held notifications, per-event records.
    /// Cheap when there is nothing to retry; blocks while it writes.
    void catch_up();
    /// catch_up() on the writer thread's time: the loop keeps serving meanwhile.
    boost::asio::awaitable<void> async_catch_up();
    /// The spool size above which a warning is logged (nothing is dropped).
    void set_spool_warning(std::size_t n) noexcept { spool_.set_warning(n); }
    std::size_t spool_warning() const noexcept { return spool_.warning(); }

    /// How long a container's reported dumps are remembered after its newest one.
    static constexpr std::chrono::hours reported_ttl = reported_dumps::ttl;

private:
    bool backlog() const;

    std::filesystem::path dir_;
    health health_;
    bool layout_ = false;  // the directories made: before anything reads them
    writer writer_;
    journal journal_;
    reported_dumps reported_;
    notification_spool spool_;
    pending_pushes_file pushes_;
};

}  // namespace core_interceptor::state
