// SPDX-License-Identifier: MIT
#pragma once

#include "docker/api.hpp"
#include "domain/event.hpp"
#include "domain/signature_limit.hpp"
#include "pipeline/config.hpp"
#include "pipeline/outcome.hpp"
#include "sinks/outbox.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace core_interceptor::state {
class store;
}

namespace core_interceptor::pipeline {

/// A failure of the connection to the Engine (refused, reset, cut short, timed out), as
/// opposed to an answer: the job is worth running again once the daemon is back.
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

/// Runs the per-container job: probe -> commit -> push -> delete -> notify (SPEC §1, §4).
class job_runner {
public:
    /// `docker`, `outbox` and `store` must outlive the runner; `store` may be null (no
    /// memory of reported dumps across restarts).
    job_runner(docker::api& docker, sinks::outbox& outbox, state::store* store, config cfg);

    /// Handles one die event. Never throws for expected failures: each is logged (errors to
    /// the journal) and reflected in the outcome. Cancellation: a *total* cancellation lets the
    /// step in progress finish and stops before committing, or after notifying once an image
    /// exists; a *terminal* one aborts the Engine call in flight. An image is deleted locally
    /// only after its push succeeded. Loop thread only.
    boost::asio::awaitable<outcome> run(domain::die_event ev);

    /// Retries, until cancelled, the pushes that failed for good (sleeping, with no timer, while
    /// there are none): every `interval`, each image
    /// recorded in the state directory is pushed again; once pushed it is deleted locally
    /// (unless --keep-image) and announced again, same `id`, with `pushed: true`.
    boost::asio::awaitable<void> retry_failed_pushes(std::chrono::milliseconds interval);

    const stats& counters() const noexcept { return stats_; }

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
    boost::asio::awaitable<outcome> run_steps(const domain::die_event& ev);

    /// Whether `container_id` had --max-per-container commits within the window already.
    bool over_rate_limit(const std::string& container_id);
    /// Over --max-per-signature: announces the death as a duplicate of `of`, commits nothing.
    boost::asio::awaitable<outcome>
    announce_duplicate(const domain::die_event& ev,
                       const domain::container_info& info,
                       const std::vector<domain::dump_info>& dumps,
                       const std::vector<std::string>& mtimes,
                       const std::string& of,
                       const std::vector<std::pair<std::string, std::string>>& fields);
    /// Counts the commit of `reference` about to be made for the crash signature of `dumps`
    /// (before it is made, so that concurrent deaths of one crash are decided in turn; one that
    /// then fails still counts) and queues the counts for the state directory.
    void count_signature(const std::vector<domain::dump_info>& dumps, const std::string& reference);
    /// Remembers `dumps` as reported (restart policy: a later death must not report them again).
    void mark_reported(const domain::die_event& ev,
                       const std::vector<domain::dump_info>& dumps,
                       const std::vector<std::string>& mtimes);
    /// Sends `note` to every sink and counts the deliveries.
    boost::asio::awaitable<void>
    notify(const domain::die_event& ev,
           const domain::notification& note,
           const std::string& body,
           const std::vector<std::pair<std::string, std::string>>& fields);
    /// Records a commit made, for over_rate_limit.
    void count_commit(const std::string& container_id);
    /// --dry-run: logs the commit, push, delete and notification a real run would make.
    outcome would_handle(const domain::die_event& ev,
                         const domain::container_info& info,
                         const std::vector<domain::dump_info>& dumps,
                         const std::string& name,
                         const std::string& repo,
                         const std::string& tag,
                         const std::vector<std::pair<std::string, std::string>>& fields);
    /// The notification of SPEC §5 for an image made of `ev`'s container.
    domain::notification notification_for(const domain::die_event& ev,
                                          const domain::container_info& info,
                                          const std::vector<domain::dump_info>& dumps,
                                          const std::string& name,
                                          const std::string& tag,
                                          const std::string& reference,
                                          bool pushed,
                                          const std::string& digest) const;
    /// Counts and reports a container removed before its probe (SPEC §4a, --rm).
    outcome removed(const domain::die_event& ev,
                    const std::vector<std::pair<std::string, std::string>>& fields);

    docker::api& docker_;
    sinks::outbox& outbox_;
    state::store* store_;
    config cfg_;
    stats stats_;
    std::map<std::string, std::deque<std::chrono::steady_clock::time_point>>
        commits_;  // per container
    std::function<void(const domain::die_event&, std::size_t)> on_notified_;
    std::function<void(const domain::die_event&, const domain::crash_info&)> on_crash_;
    domain::signature_limit signatures_;  // commits per crash signature, saved in the store
    boost::asio::steady_timer* retry_wake_ =
        nullptr;                // retry_failed_pushes' sleep, while it sleeps
    bool retry_woken_ = false;  // its sleep was ended by a failed push
};

}  // namespace core_interceptor::pipeline
