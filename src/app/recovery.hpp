// SPDX-License-Identifier: MIT
#pragma once

#include "co/task_group.hpp"
#include "config/app_config.hpp"
#include "domain/event.hpp"
#include "domain/notification.hpp"
#include "watcher/watcher.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace core_interceptor::docker {
class client;
}
namespace core_interceptor::state {
class store;
}

namespace core_interceptor::app {

/// The die event of an exited container, as the event stream would have carried it: the
/// time is State.FinishedAt, the attributes are its labels plus name, image and exit code.
domain::die_event die_event_of(const domain::container_info& info);

/// Finds the deaths no event brought (SPEC §4a: the Engine's event replay is not enough): the
/// jobs an earlier run left unfinished, the containers that died while no one was watching,
/// and those that died while the Docker daemon was away. Each goes in the job queue. Loop
/// thread only.
class recovery {
public:
    /// Every reference must outlive the recovery; catch-ups after a reconnect run in
    /// `services`; `stopping` is the daemon's shutdown flag.
    recovery(docker::client& docker,
             state::store& store,
             watcher::job_channel& queue,
             co::task_group& services,
             const config::app_config& cfg,
             const bool& stopping);

    /// Resumes what an earlier run left unfinished, then catches up since the last event seen
    /// (or --catch-up-since on a first run). Ends when done, when the queue is closed, or on
    /// total cancellation.
    boost::asio::awaitable<void> resume();

    /// The event stream went down (`up` false) or came back: after the Docker daemon came back,
    /// lists who died meanwhile, since its event history does not survive its own restart.
    void on_connection_change(bool up);

private:
    /// Queues every container that exited at or after `since` (ns) and is not in `skip`.
    /// Honours total cancellation.
    boost::asio::awaitable<void> catch_up(std::int64_t since, std::set<std::string> skip);
    /// Waits until the Engine answers (the watcher reconnects on its own schedule); false
    /// when cancelled.
    boost::asio::awaitable<bool> wait_for_engine();

    docker::client& docker_;
    state::store& store_;
    watcher::job_channel& queue_;
    co::task_group& services_;
    const config::app_config& cfg_;
    const bool& stopping_;
    std::int64_t disconnected_at_nano_ = 0;
};

}  // namespace core_interceptor::app
