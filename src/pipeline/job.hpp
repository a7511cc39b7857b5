// SPDX-License-Identifier: MIT
#pragma once

#include "docker/api.hpp"
#include "domain/event.hpp"
#include "domain/phase.hpp"
#include "domain/signature_limit.hpp"
#include "pipeline/config.hpp"
#include "pipeline/outcome.hpp"
#include "pipeline/push_retrier.hpp"
#include "sinks/sink.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::state {
class store;
}

namespace core_interceptor::pipeline {

/// A failure of the connection to the Engine (refused, reset, cut short, timed out), or an
/// answer saying the Engine is going away (domain::engine_going_away), as opposed to an answer
/// on the request's merits: the job is worth running again once the daemon is back.
bool transient(const failure& f) noexcept;

/// Counters across every job, read by the daemon's status line and tests.
struct stats {
    std::uint64_t handled = 0;
    std::uint64_t dumps_found = 0;
    std::uint64_t pushed = 0;
    std::uint64_t failed = 0;
    std::uint64_t auto_removed = 0;
    std::uint64_t notified = 0;
    std::uint64_t notify_failed = 0;
    std::uint64_t rate_limited = 0;
    std::uint64_t cores_found = 0;       ///< dumps_found of type core
    std::uint64_t heap_dumps_found = 0;  ///< dumps_found of type hprof
    std::uint64_t push_failed = 0;       ///< pushes given up after the retry window
    std::uint64_t duplicates = 0;        ///< deaths over --max-per-signature, not committed
    /// Deaths that left a core whose signal could be read, by signal name ("SIGSEGV").
    std::map<std::string, std::uint64_t> crashes_by_signal;
};

namespace detail {
struct job_state;
}

/// A death after its probe: either the outcome that ended its job there (no dump, gone, ...),
/// or the dumps found, waiting for job_runner::capture. Move-only.
class probed {
public:
    explicit probed(outcome end);
    explicit probed(std::unique_ptr<detail::job_state> found);
    probed(probed&&) noexcept;
    probed& operator=(probed&&) noexcept;
    ~probed();

    /// The outcome when the job ended at the probe; nullopt when a capture is due.
    std::optional<outcome> end() const noexcept { return end_; }

private:
    friend class job_runner;
    std::optional<outcome> end_;
    std::unique_ptr<detail::job_state> found_;
};

/// Runs the per-container job: probe -> commit -> push -> delete -> notify (SPEC §1, §4).
class job_runner {
public:
    /// `docker`, `sink` (the outbox, in the daemon) and `store` must outlive the runner;
    /// `store` may be null (no memory of reported dumps across restarts).
    job_runner(docker::api& docker, sinks::sink& sink, state::store* store, config cfg);

    /// Handles one die event. Never throws for expected failures: each is logged (errors to
    /// the journal) and reflected in the outcome. Cancellation: a *total* cancellation lets the
    /// step in progress finish and stops before committing, or after notifying once an image
    /// exists; a *terminal* one aborts the Engine call in flight. An image is deleted locally
    /// only after its push succeeded. Loop thread only.
    boost::asio::awaitable<outcome> run(domain::die_event ev);

    /// The cheap half of run(): probes the layer and the mounts and takes stock (no commit).
    /// Cancellation as run(); counts the death as handled.
    boost::asio::awaitable<probed> probe(domain::die_event ev);

    /// The expensive half of run(), for a death whose probe found dumps: names, copies, commits,
    /// pushes, deletes and announces. Must run in the coroutine that called probe(), whose
    /// cancellation state it keeps: after a total cancellation it ends at once as `cancelled`
    /// (nothing committed yet). A `p` whose probe ended the job gives back that outcome.
    /// `engine_done`, when given, is called once the image is pushed and deleted (or left for
    /// the push retrier), before the announcement: the capture's heavy Engine calls are over.
    boost::asio::awaitable<outcome> capture(probed p, std::function<void()> engine_done = {});

    /// Retries, until cancelled, the pushes that failed for good (push_retrier::run).
    boost::asio::awaitable<void> retry_failed_pushes(std::chrono::milliseconds interval)
    {
        return retrier_.run(interval);
    }

    const stats& counters() const noexcept { return stats_; }

    /// Called (on the loop) with how long a phase of a job took: the probe of every death, the
    /// commit of each image made (inspect, copies, commit), every push (all its tries), and
    /// each removal of a pushed image.
    void on_timed(std::function<void(domain::phase, std::chrono::steady_clock::duration)> f)
    {
        on_timed_ = std::move(f);
    }

    /// Called (on the loop) when a death's core could be read, with its crash (the first
    /// core's), before anything is committed.
    void on_crash(std::function<void(const domain::die_event&, const domain::crash_info&)> f)
    {
        on_crash_ = std::move(f);
    }

    /// Called (on the loop) after a job's notification went out, with how many sinks
    /// confirmed it then (the rest spooled or failed).
    void on_notified(std::function<void(const domain::die_event&, std::size_t delivered)> f)
    {
        on_notified_ = std::move(f);
    }

private:
    /// A step of the job: completes with the outcome that ends the job, or nullopt to go on.
    using step = boost::asio::awaitable<std::optional<outcome>>;

    /// The one place that turns a failed Engine call into the job's decision: our own
    /// cancellation ends the job as `cancelled`, a lost connection (transient) as
    /// `engine_unavailable`; an answer ends it as `answered`, or lets it go on when nullopt.
    static std::optional<outcome> decide(const failure& f, std::optional<outcome> answered);

    boost::asio::awaitable<std::optional<outcome>> probe_steps(detail::job_state& j);
    boost::asio::awaitable<outcome> capture_steps(detail::job_state& j,
                                                  const std::function<void()>& engine_done);
    /// Counts a failed job (commit_failed, probe_failed) and gives back `o`.
    outcome counted(outcome o);
    /// Reports how long `step` took since `start`.
    void timed(domain::phase step, std::chrono::steady_clock::time_point start) const;

    // job_probe.cpp
    /// Lists the layer's changes and probes each candidate (stat, first bytes: SPEC §4.2).
    step probe_layer(detail::job_state& j);
    /// Probes one candidate of the layer; a dump found is added to `j.dumps`.
    step probe_candidate(detail::job_state& j, const std::string& path);
    /// Probes the --dump-path mounts for dumps not in the layer (SPEC §4a).
    step probe_mounts(detail::job_state& j);
    /// Counts the dumps found, reports the crash, and stops on a graceful stop or over
    /// --max-per-container.
    step take_stock(detail::job_state& j);
    /// Copies the dumps of the mounts into the container's filesystem, so the image holds them.
    step copy_mounts(detail::job_state& j);
    /// Whether an archive member of a mount is no dump of this death: listed in the layer, or
    /// reported at an earlier death.
    bool skip_volume_dump(const detail::job_state& j, const domain::archive_dump& d) const;

    // job_commit.cpp
    /// Inspects the container and names its image; a death over --max-per-signature is
    /// announced as a duplicate here.
    step name_image(detail::job_state& j);
    /// Commits the container (or reuses a killed try's commit).
    step commit(detail::job_state& j);
    /// Whether `container_id` had --max-per-container commits within the window already.
    bool over_rate_limit(const std::string& container_id);
    /// Records a commit made, for over_rate_limit.
    void count_commit(const std::string& container_id);
    /// --dry-run: logs the commit, push, delete and notification a real run would make.
    outcome would_handle(const detail::job_state& j);

    // job_push.cpp
    /// Pushes with retry for a window (SPEC §5), then deletes the local copy.
    boost::asio::awaitable<void> push(detail::job_state& j);
    /// Drops a killed try's late commit of this death (after the announcement: it changes
    /// nothing the notification says).
    boost::asio::awaitable<void> remove_late_commits(const detail::job_state& j);
    /// Pushes `j`'s image, retrying with backoff within --push-retry-window; true once pushed.
    boost::asio::awaitable<bool> push_with_retry(detail::job_state& j);

    // job_notify.cpp
    /// Announces the committed image to the sinks and remembers its dumps as reported.
    boost::asio::awaitable<outcome> announce(detail::job_state& j);
    /// Over --max-per-signature: announces the death as a duplicate of `of`, commits nothing.
    boost::asio::awaitable<outcome> announce_duplicate(detail::job_state& j, const std::string& of);
    /// Counts the commit of `reference` about to be made for the crash signature of `dumps`
    /// (before it is made, so that concurrent deaths of one crash are decided in turn; one that
    /// then fails still counts) and queues the counts for the state directory.
    void count_signature(const std::vector<domain::dump_info>& dumps, const std::string& reference);
    /// Remembers `dumps` as reported (restart policy: a later death must not report them again).
    void mark_reported(const domain::die_event& ev,
                       const std::vector<domain::dump_info>& dumps,
                       const std::vector<std::string>& mtimes);
    /// Sends `msg` to every sink and counts the deliveries.
    boost::asio::awaitable<void>
    notify(const detail::job_state& j, const sinks::message& msg, const std::string& what);
    /// The notification of SPEC §5 for `j`'s image, every field known: whether it was
    /// `pushed` (with `j.digest`); for a death announced as a duplicate, no image and the one
    /// it duplicates.
    domain::notification notification_for(const detail::job_state& j,
                                          bool pushed,
                                          const std::string& duplicate_of = {}) const;
    /// Counts and reports a container removed before its probe (SPEC §4a, --rm).
    outcome removed(const detail::job_state& j);

    docker::api& docker_;
    sinks::sink& sink_;
    state::store* store_;
    config cfg_;
    stats stats_;
    std::map<std::string, std::deque<std::chrono::steady_clock::time_point>>
        commits_;  // per container
    std::function<void(const domain::die_event&, std::size_t)> on_notified_;
    std::function<void(const domain::die_event&, const domain::crash_info&)> on_crash_;
    std::function<void(domain::phase, std::chrono::steady_clock::duration)> on_timed_;
    domain::signature_limit signatures_;  // commits per crash signature, saved in the store
    push_retrier retrier_;                // over docker_, sink_, store_, cfg_, stats_.pushed
};

}  // namespace core_interceptor::pipeline
