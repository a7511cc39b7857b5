// SPDX-License-Identifier: MIT
#include "app/process_mode.hpp"

#include "app/recovery.hpp"
#include "co/error.hpp"
#include "docker/client.hpp"
#include "domain/crash.hpp"
#include "domain/filter.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"

#include <boost/asio/this_coro.hpp>

#include <iostream>

namespace asio = boost::asio;

namespace core_interceptor::app {

process_mode::process_mode(docker::client& docker,
                           pipeline::job_runner& runner,
                           co::limiter& limiter,
                           co::task_group& jobs,
                           const config::app_config& cfg,
                           const bool& stopping)
    : docker_(docker), runner_(runner), limiter_(limiter), jobs_(jobs), cfg_(cfg),
      stopping_(stopping)
{
}

asio::awaitable<bool> process_mode::run(std::vector<std::string> names)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    std::vector<entry> entries(names.size());
    first_names first;
    std::map<std::string, std::string> crashes;  // container ID -> what its core says
    runner_.on_crash([&crashes](const domain::die_event& ev, const domain::crash_info& c) {
        crashes[ev.id] = domain::summary(c);
    });
    auto v = co_await docker_.negotiate();
    if (!v)
        log::error() << "--process: the Docker daemon at " << docker_.endpoint().describe()
                     << " does not answer: " << v.error().describe();
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!v)
            entries[i].line = "failed: the Docker daemon does not answer";
        else if (stopping_)
            entries[i].line = "not handled: interrupted";
        else
            co_await start(names[i], i, entries[i], first);
    }
    co_await jobs_.join();
    runner_.on_crash(nullptr);
    co_return report(names, entries, crashes);
}

asio::awaitable<void>
process_mode::start(const std::string& name, std::size_t i, entry& e, first_names& first)
{
    auto info = co_await docker_.inspect(name);
    if (!info) {
        e.line = info.error().code == errc::not_found
                     ? "failed: no such container"
                     : "failed: cannot inspect it: " + info.error().describe();
        log::error({{"CONTAINER_NAME", name}}) << "--process " << name << ": " << e.line.substr(8);
        co_return;
    }
    if (info->status != "exited" && info->status != "dead") {
        const std::string why = "is " +
                                (info->status.empty() ? std::string("not exited") : info->status) +
                                "; only exited containers can be processed";
        e.line = "failed: it " + why;
        log::error({{"CONTAINER_ID", info->id}, {"CONTAINER_NAME", info->name}})
            << "--process " << name << ": container " << info->name << " ("
            << domain::short_id(info->id) << ") " << why;
        co_return;
    }
    // Named twice (name and ID): one job, or two would commit it at once.
    if (auto [it, is_first] = first.emplace(info->id, i); !is_first) {
        e.same_as = it->second;
        co_return;
    }
    auto ev = die_event_of(*info);
    if (std::string why; !domain::accepts(cfg_.watcher.filter, ev, &why)) {
        e.line = "skipped by the filters (" + why + ")";
        e.ok = true;
        co_return;
    }
    if (auto ec = co_await limiter_.acquire()) {
        e.line = "not handled: interrupted";
        co_return;
    }
    e.line = info->name + " (" + domain::short_id(info->id) + ")";
    e.id = info->id;
    ++running_;
    jobs_.spawn(run_one(std::move(ev), e.outcome));
}

asio::awaitable<void> process_mode::run_one(domain::die_event ev,
                                            std::optional<pipeline::outcome>& out)
{
    struct release_on_exit {
        process_mode& self;
        ~release_on_exit()
        {
            --self.running_;
            self.limiter_.release();
        }
    } guard{*this};
    out = co_await runner_.run(ev);
}

bool process_mode::report(const std::vector<std::string>& names,
                          std::vector<entry>& entries,
                          const std::map<std::string, std::string>& crashes) const
{
    bool all_ok = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
        auto& e = entries[i];
        if (e.outcome) {
            e.ok = pipeline::succeeded(*e.outcome, cfg_.pipeline.registry.has_value());
            e.line += ": " + pipeline::describe(*e.outcome);
            if (auto c = crashes.find(e.id); c != crashes.end() && !c->second.empty())
                e.line += " (" + c->second + ")";
        }
        if (e.same_as) {
            e.ok = entries[*e.same_as].ok;
            e.line = "same container as " + names[*e.same_as];
        }
        std::cout << "process " << names[i] << ": " << e.line << '\n';
        all_ok = all_ok && e.ok;
    }
    std::cout.flush();
    return all_ok;
}

}  // namespace core_interceptor::app
