// SPDX-License-Identifier: MIT
#pragma once

#include "app/metrics.hpp"
#include "app/probe_queue.hpp"
#include "app/rm_watch.hpp"
#include "co/backoff.hpp"
#include "co/limiter.hpp"
#include "co/task_group.hpp"
#include "config/app_config.hpp"
#include "domain/death_queue.hpp"
#include "domain/event.hpp"
#include "pipeline/job.hpp"
#include "watcher/watcher.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
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

/// Turns die events into jobs, in two stages with a bound each: a probe (cheap: is there a
/// dump?) under --max-probes, then, for a death that left one, a capture (commit, push, delete,
/// announce) under `captures` (--max-concurrency). Probes run in two lanes of --max-probes
/// slots each: deaths whose exit code says a failure (core-dumping signals first, then the
/// others, never starving any), and clean exits. So a crash's probe never waits for the probe
/// of a clean exit (which the Engine may hold up while it cleans that container up), nor a
/// capture behind probes. A clean exit's probe also waits until the Engine has nothing more
/// pressing (no failure waiting for or in its probe, no capture waiting or running), or until
/// it has waited probe_max_wait: on a burst, the Engine serves the crashes first. One job
/// per container at a time (a later death of a container waits for its running job), a job
/// that lost the Engine queued again after a pause, and the death recorded as finished in the
/// state directory once its outcome settles it. Jobs run in the `jobs` group, which the daemon
/// joins at shutdown. Loop thread only.
class dispatcher {
public:
    /// Every reference must outlive the dispatcher; `stopping` is the daemon's shutdown flag.
    dispatcher(watcher::job_channel& queue,
               co::limiter& captures,
               co::task_group& jobs,
               pipeline::job_runner& runner,
               state::store& store,
               const config::app_config& cfg,
               rm_watch& removals,
               daemon_counters& counters,
               const bool& stopping);

    /// Called when a job starts or ends (for the status line).
    void on_change(std::function<void()> f) { on_change_ = std::move(f); }

    /// Takes die events off the queue into the probe queue, and starts a job for each as probe
    /// slots free up. Ends on total cancellation (the deaths still waiting for a probe are
    /// handled at the next start: the state directory recorded them).
    boost::asio::awaitable<void> run();

    /// Jobs in flight: containers with a job now (probed, waiting for a capture slot, or
    /// captured). A job waiting to be queued again after losing the Engine is not in flight;
    /// nor is a later death waiting for its container's job.
    std::size_t in_flight() const noexcept { return active_.size(); }

private:
    /// Die events from the channel into the probe queue, while it has room.
    boost::asio::awaitable<void> receive();
    /// Starts the probes of both lanes, until total cancellation.
    boost::asio::awaitable<void> start_probes();
    /// Takes a probe slot of `lane`, then the lane's next death by the probe queue's order, and
    /// spawns its job.
    boost::asio::awaitable<void> start_probes(domain::probe_lane lane);
    /// One job, started holding a probe slot of `lane`: probe, free the slot, and if a dump was
    /// found take a capture slot and capture.
    boost::asio::awaitable<void> run_job(probe_queue::entry e, domain::probe_lane lane);
    co::limiter& probes(domain::probe_lane lane) { return probes_[static_cast<std::size_t>(lane)]; }
    const co::limiter& probes(domain::probe_lane lane) const
    {
        return probes_[static_cast<std::size_t>(lane)];
    }
    /// Waits for a capture slot in a job that probed: true once taken, false on a graceful
    /// stop (the job's cancellation state then still records it).
    boost::asio::awaitable<bool> take_capture_slot();
    /// The job of `ev` ended with `o`: counted, settled, and the container's next death queued.
    void finish(const domain::die_event& ev, pipeline::outcome o);
    /// After `o`: queue the job again later, or record the death as finished.
    void settle(const domain::die_event& ev, pipeline::outcome o);
    /// Queues the next death of `id` waiting for its job, if any.
    void start_next(const std::string& id);
    /// A job that lost the Engine goes back in the queue after `delay`. Total cancellation
    /// ends the wait (the record in the state directory resumes it at the next start).
    boost::asio::awaitable<void> requeue_later(domain::die_event ev,
                                               std::chrono::milliseconds delay);
    /// Wakes the clean exits' lane and tells the status line.
    void changed();
    /// Whether the Engine has work more pressing than a clean exit's probe: a crash or failure
    /// waiting for or in its probe, a capture waiting or running.
    bool pressing() const noexcept;
    /// Waits, in the clean exits' lane, until nothing is pressing or the death queued at
    /// `since` has waited probe_max_wait: false on a graceful stop.
    boost::asio::awaitable<bool> wait_until_quiet(std::chrono::steady_clock::time_point since);

    watcher::job_channel& queue_;
    boost::asio::steady_timer quiet_;  // cancelled by changed(): wakes wait_until_quiet()
    std::array<co::limiter, domain::probe_lanes> probes_;  // per probe lane (--max-probes each)
    co::limiter& captures_;
    co::task_group& jobs_;
    pipeline::job_runner& runner_;
    state::store& store_;
    const config::app_config& cfg_;
    rm_watch& removals_;
    daemon_counters& counters_;
    const bool& stopping_;
    std::function<void()> on_change_;
    probe_queue deaths_;                // waiting for a probe slot
    std::set<std::string> active_;      // containers with a job
    std::size_t awaiting_capture_ = 0;  // probed jobs waiting for a capture slot
    std::unordered_map<std::string, std::deque<domain::die_event>> waiting_;  // their next deaths
    std::map<std::string, co::backoff> retries_;  // containers whose job lost the Engine: waits
};

}  // namespace core_interceptor::app
