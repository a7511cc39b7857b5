// SPDX-License-Identifier: MIT
#pragma once

#include "app/metrics.hpp"
#include "app/rm_watch.hpp"
#include "co/backoff.hpp"
#include "co/limiter.hpp"
#include "co/task_group.hpp"
#include "config/app_config.hpp"
#include "domain/event.hpp"
#include "pipeline/job.hpp"
#include "watcher/watcher.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

namespace core_interceptor::state {
class store;
}

namespace core_interceptor::app {

/// Turns die events into jobs: at most --max-concurrency at once (the limiter), one job per
/// container at a time (a later death of a container waits for its running job), a job that
/// lost the Engine queued again after a pause, and the death recorded as finished in the state
/// directory once its outcome settles it. Jobs run in the `jobs` group, which the daemon joins at
/// shutdown. Loop thread only.
class dispatcher {
public:
    /// Every reference must outlive the dispatcher; `stopping` is the daemon's shutdown flag.
    dispatcher(watcher::job_channel& queue,
               co::limiter& limiter,
               co::task_group& jobs,
               pipeline::job_runner& runner,
               state::store& store,
               const config::app_config& cfg,
               rm_watch& removals,
               daemon_counters& counters,
               const bool& stopping);

    /// Called when a job starts or ends (for the status line).
    void on_change(std::function<void()> f) { on_change_ = std::move(f); }

    /// Takes die events off the queue and spawns a job for each. Ends when the queue is closed,
    /// or on total cancellation (a death then waiting for a slot is handled at the next start).
    boost::asio::awaitable<void> run();

    /// Jobs in flight: containers with a job running now. A job waiting to be queued again
    /// after losing the Engine is not in flight; nor is a later death waiting for its
    /// container's job.
    std::size_t in_flight() const noexcept { return active_.size(); }

private:
    /// One job; frees its concurrency slot however it ends, unless it hands the slot on to
    /// the container's next death.
    boost::asio::awaitable<void> run_job(domain::die_event ev);
    /// After `o`: queue the job again later, or record the death as finished.
    void settle(const domain::die_event& ev, pipeline::outcome o);
    /// Starts the next death of `id` waiting for its job, if any; whether it took the slot.
    bool start_next(const std::string& id);
    /// A job that lost the Engine goes back in the queue after `delay`. Total cancellation
    /// ends the wait (the record in the state directory resumes it at the next start).
    boost::asio::awaitable<void> requeue_later(domain::die_event ev,
                                               std::chrono::milliseconds delay);
    void changed() const;

    watcher::job_channel& queue_;
    co::limiter& limiter_;
    co::task_group& jobs_;
    pipeline::job_runner& runner_;
    state::store& store_;
    const config::app_config& cfg_;
    rm_watch& removals_;
    daemon_counters& counters_;
    const bool& stopping_;
    std::function<void()> on_change_;
    std::set<std::string> active_;  // containers with a job
    std::unordered_map<std::string, std::deque<domain::die_event>> waiting_;  // their next deaths
    std::map<std::string, co::backoff> retries_;  // containers whose job lost the Engine: waits
};

}  // namespace core_interceptor::app
