// SPDX-License-Identifier: MIT
#pragma once

#include "co/limiter.hpp"
#include "co/task_group.hpp"
#include "config/app_config.hpp"
#include "domain/event.hpp"
#include "pipeline/job.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace core_interceptor::docker {
class client;
}

namespace core_interceptor::app {

/// --process: handles the named containers now, with no event stream. Loop thread only.
class process_mode {
public:
    /// Every reference must outlive the object; jobs run in `jobs` under `limiter`;
    /// `stopping` is the daemon's shutdown flag.
    process_mode(docker::client& docker,
                 pipeline::job_runner& runner,
                 co::limiter& limiter,
                 co::task_group& jobs,
                 const config::app_config& cfg,
                 const bool& stopping);

    /// Resolves each name, runs a job for each exited container (at most max_concurrency at
    /// once), waits for every job, and prints one line per name on stdout. Completes with
    /// whether every container was handled (pipeline::succeeded). Once `stopping` is set
    /// (SIGTERM), the names not yet started are "not handled: interrupted"; the jobs themselves
    /// are cancelled by their group's owner.
    boost::asio::awaitable<bool> run(std::vector<std::string> names);

    /// Jobs in flight: containers with a job running now.
    std::size_t in_flight() const noexcept { return running_; }

private:
    /// What became of one name given.
    struct entry {
        std::string line;  // printed after the name
        bool ok = false;   // counts as handled
        std::optional<pipeline::outcome> outcome;
        std::string id;                      // the container's, once its job started
        std::optional<std::size_t> same_as;  // an earlier name of the same container
    };
    using first_names = std::map<std::string, std::size_t>;  // container ID -> first name given

    /// Inspects name `i` and starts its job, or says in `e` why not.
    boost::asio::awaitable<void>
    start(const std::string& name, std::size_t i, entry& e, first_names& first);
    /// One job: its outcome in `out`; frees its concurrency slot however it ends. `out` lives
    /// in run(), which joins every job before it returns.
    boost::asio::awaitable<void> run_one(domain::die_event ev,
                                         std::optional<pipeline::outcome>& out);
    /// Prints the line of each name; whether every one was handled.
    bool report(const std::vector<std::string>& names,
                std::vector<entry>& entries,
                const std::map<std::string, std::string>& crashes) const;

    docker::client& docker_;
    pipeline::job_runner& runner_;
    co::limiter& limiter_;
    co::task_group& jobs_;
    const config::app_config& cfg_;
    const bool& stopping_;
    std::size_t running_ = 0;
};

}  // namespace core_interceptor::app
