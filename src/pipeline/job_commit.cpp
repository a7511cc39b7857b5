// SPDX-License-Identifier: MIT
// The job's middle steps: naming the image of a container that left a dump, the limits on
// how many are made (--max-per-container), committing it, or logging what would be done
// (--dry-run).
#include "domain/event.hpp"
#include "domain/image_name.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "pipeline/earlier_commit.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_state.hpp"
#include "pipeline/triage.hpp"

namespace asio = boost::asio;

namespace core_interceptor::pipeline {

using detail::join_paths;
using domain::short_id;

bool job_runner::over_rate_limit(const std::string& container_id)
{
    if (cfg_.max_per_container == 0)
        return false;
    auto it = commits_.find(container_id);
    if (it == commits_.end())
        return false;
    auto now = std::chrono::steady_clock::now();
    auto& times = it->second;
    while (!times.empty() && now - times.front() > cfg_.rate_window)
        times.pop_front();
    return times.size() >= cfg_.max_per_container;
}

void job_runner::count_commit(const std::string& container_id)
{
    if (cfg_.max_per_container == 0)
        return;
    auto now = std::chrono::steady_clock::now();
    commits_[container_id].push_back(now);
    // Forget containers with no recent commit, so the map stays bounded.
    for (auto it = commits_.begin(); it != commits_.end();) {
        while (!it->second.empty() && now - it->second.front() > cfg_.rate_window)
            it->second.pop_front();
        it = it->second.empty() ? commits_.erase(it) : std::next(it);
    }
}

job_runner::step job_runner::name_image(detail::job_state& j)
{
    const auto& ev = j.ev;
    auto info = co_await docker_.inspect(ev.id);
    if (!info) {
        auto end = decide(info.error(), outcome::commit_failed);
        if (end == outcome::commit_failed)
            log::error(j.fields) << "dump found in container " << ev.name << " (" << short_id(ev.id)
                                 << ") but it cannot be inspected: " << info.error().describe();
        co_return end;
    }
    j.info = std::move(*info);
    j.fields[1].second = j.info.name;
    j.fields[2].second = j.info.image;
    j.name = domain::image_name(
        j.info.image, j.info.image_id, domain::max_image_name_length(cfg_.registry));
    j.tag = domain::image_tag(ev.id);
    j.repo = domain::repository(cfg_.registry, j.name);
    j.reference = j.repo + ":" + j.tag;

    // The same crash as the last --max-per-signature images: announced, not committed. The
    // commit is counted now, before any await, so that concurrent deaths of one crash are
    // decided one after the other.
    const domain::crash_info* crash = domain::first_crash(j.dumps);
    if (crash && !cfg_.dry_run) {
        if (auto of = signatures_.duplicate_of(crash->signature, std::chrono::system_clock::now()))
            co_return co_await announce_duplicate(j, *of);
        count_signature(j.dumps, j.reference);
    }
    co_return std::nullopt;
}

outcome job_runner::would_handle(const detail::job_state& j)
{
    const auto object = domain::object_of(j.dumps);
    log::info(j.fields) << "dry run: would commit container " << j.info.name << " ("
                        << short_id(j.ev.id) << ")" << died_of(domain::first_crash(j.dumps))
                        << " with " << object << " dump " << join_paths(j.dumps) << " as image "
                        << j.reference;
    if (cfg_.registry)
        log::info(j.fields) << "dry run: would push " << j.reference
                            << (cfg_.keep_image ? " and keep it locally"
                                                : " and then delete it locally");
    // What a successful push would announce.
    const auto note = notification_for(j, cfg_.registry.has_value());
    log::info(j.fields) << "dry run: would notify " << sink_.width() << " sink(s) with "
                        << domain::announce(note).body;
    return outcome::dry_run;
}

job_runner::step job_runner::commit(detail::job_state& j)
{
    const auto& ev = j.ev;
    const domain::crash_info* crash = domain::first_crash(j.dumps);  // `dumps` may have grown
    const std::string_view object = domain::object_of(j.dumps);
    docker::commit_request creq;
    creq.container_id = ev.id;
    creq.repository = j.repo;
    creq.tag = j.tag;
    creq.comment = "core_interceptor: " + std::string(object) + " dump left by container " +
                   j.info.name + " (" + short_id(ev.id) + "), exit code " +
                   std::to_string(j.info.exit_code);
    j.death_id = domain::death_id(ev.id, j.info.finished_nano, ev.time_nano);
    creq.labels = {
        {"core_interceptor.container.id", ev.id},
        {"core_interceptor.container.name", j.info.name},
        {"core_interceptor.container.image", j.info.image},
        {"core_interceptor.container.exit_code", std::to_string(j.info.exit_code)},
        {"core_interceptor.dumps", join_paths(j.dumps)},
        {std::string(death_label), j.death_id},
    };
    if (crash)
        for (auto& l : crash_labels(*crash))
            creq.labels.push_back(std::move(l));
    // A try killed after its commit left an image: reused, or removed before a new commit.
    // (An answer other than "unavailable" only costs the check: the commit goes ahead.) A
    // fresh death had no earlier try; should one have slipped through, the capture removes the
    // extra commit after its announcement (remove_late_commits).
    result<bool> earlier = false;
    if (!ev.fresh)
        earlier = co_await reuse_earlier_commit(docker_, j.death_id, j.reference, j.fields);
    result<std::string> committed = std::string();
    if (!earlier && decide(earlier.error(), std::nullopt))
        committed = earlier.error();
    else if (!earlier || !*earlier)
        committed = co_await docker_.commit(creq);
    if (!committed) {
        auto end = decide(committed.error(), outcome::commit_failed);
        if (end == outcome::engine_unavailable)
            log::warning(j.fields)
                << "Docker daemon unavailable while committing container " << j.info.name << " ("
                << short_id(ev.id) << "): " << committed.error().describe();
        else if (end == outcome::commit_failed)
            log::error(j.fields) << "cannot commit container " << j.info.name << " ("
                                 << short_id(ev.id) << ") with " << object << " dump as "
                                 << j.reference << ": " << committed.error().describe()
                                 << (j.info.auto_remove ? " (the container was started with --rm)"
                                                        : "");
        co_return end;
    }
    count_commit(ev.id);  // --max-per-container counts commits made, not attempts
    log::info(j.fields) << "committed container " << j.info.name << " (" << short_id(ev.id) << ")"
                        << died_of(crash) << " with " << object << " dump as " << j.reference;
    co_return std::nullopt;
}

}  // namespace core_interceptor::pipeline
