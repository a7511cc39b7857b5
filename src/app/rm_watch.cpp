// SPDX-License-Identifier: MIT
#include "app/rm_watch.hpp"

#include "domain/short_id.hpp"
#include "log/log.hpp"

namespace core_interceptor::app {

void rm_watch::remember(const domain::die_event& ev)
{
    auto now = std::chrono::steady_clock::now();
    // A minute is far longer than the 10 s that make a removal an --rm one (on_destroy).
    std::erase_if(recent_,
                  [&](const auto& kv) { return now - kv.second.died > std::chrono::minutes(1); });
    recent_[ev.id] = {now, ev.name, ev.image, std::nullopt, false};
}

void rm_watch::on_outcome(const std::string& id, pipeline::outcome o)
{
    if (auto it = recent_.find(id); it != recent_.end()) {
        it->second.outcome = o;
        warn_if_lost(id, it->second);
    }
}

void rm_watch::on_destroy(const domain::die_event& ev)
{
    auto it = recent_.find(ev.id);
    if (it == recent_.end() ||
        std::chrono::steady_clock::now() - it->second.died > std::chrono::seconds(10))
        return;
    it->second.destroyed = true;
    warn_if_lost(ev.id, it->second);
}

void rm_watch::warn_if_lost(const std::string& id, recent_death& d)
{
    // Both the removal and the outcome must be known: whichever comes second decides.
    if (!d.destroyed || !d.outcome || !pipeline::removal_may_lose_dump(*d.outcome))
        return;
    log::warning({{"CONTAINER_ID", id}, {"CONTAINER_NAME", d.name}, {"IMAGE", d.image}})
        << "container " << d.name << " (" << domain::short_id(id) << ", image " << d.image
        << ") was removed right after its death (started with --rm?): a dump it left could not "
           "be kept";
    d.destroyed = false;  // once
}

}  // namespace core_interceptor::app
