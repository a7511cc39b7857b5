// SPDX-License-Identifier: MIT
// The job's first steps: finding the dumps of a dead container, in its writable layer
// (/changes, then stat and the first bytes of each candidate) and in its --dump-path mounts.
#include "co/cancel.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_state.hpp"
#include "pipeline/triage.hpp"
#include "pipeline/volume_dumps.hpp"
#include "state/store.hpp"

namespace asio = boost::asio;

namespace core_interceptor::pipeline {

using detail::join_paths;
using domain::short_id;

job_runner::step job_runner::probe_layer(detail::job_state& j)
{
    const auto& ev = j.ev;
    // Candidates: one API call; a clean exit ends here.
    auto candidates = co_await docker_.dump_candidates(ev.id, cfg_.dump_patterns);
    if (!candidates) {
        if (auto end = decide(candidates.error(), std::nullopt)) {
            if (*end == outcome::engine_unavailable)
                log::warning(j.fields)
                    << "Docker daemon unavailable while probing container " << ev.name << " ("
                    << short_id(ev.id) << "): " << candidates.error().describe();
            co_return end;
        }
        // SPEC §4a: an --rm container is removed right after its death; while the removal
        // runs the Engine answers 404, or 500 for a layer already gone.
        bool gone = candidates.error().code == errc::not_found;
        if (!gone) {
            auto info = co_await docker_.inspect(ev.id);
            gone = (!info && info.error().code == errc::not_found) || (info && info->auto_remove);
        }
        if (gone)
            co_return removed(j);
        log::error(j.fields) << "cannot list changes of container " << ev.name << " ("
                             << short_id(ev.id) << "): " << candidates.error().describe();
        co_return outcome::probe_failed;
    }
    // No change at all may also mean an --rm container's layer is already being removed:
    // either way there is no dump in it, and the daemon tells the removal from the destroy
    // event that follows (app: on_destroy), at no Engine call.
    if (candidates->candidates.empty() && cfg_.dump_paths.empty()) {
        log::debug(j.fields) << "container " << ev.name << " (" << short_id(ev.id)
                             << ") exited without a dump";
        co_return outcome::no_dump;
    }
    j.in_layer.insert(candidates->candidates.begin(), candidates->candidates.end());

    // Verify each candidate: stat, then the first bytes only (SPEC §4.2).
    std::size_t probed = 0;
    for (const auto& path : candidates->candidates) {
        if (probed++ == cfg_.max_candidates) {
            log::warning(j.fields)
                << "container " << ev.name << ": " << candidates->candidates.size()
                << " candidate dumps, only the first " << cfg_.max_candidates << " probed";
            break;
        }
        if (auto end = co_await probe_candidate(j, path))
            co_return end;
    }
    co_return std::nullopt;
}

job_runner::step job_runner::probe_candidate(detail::job_state& j, const std::string& path)
{
    const auto& ev = j.ev;
    auto f = j.fields;
    f.emplace_back("DUMP_PATH", path);
    // The stat and the first bytes in one archive read (SPEC §4.2).
    auto probe = co_await docker_.probe_file(ev.id, path, probe_need(cfg_.max_notes_size));
    if (!probe) {
        if (auto end = decide(probe.error(), std::nullopt))
            co_return end;
        log::warning(f) << "cannot read the start of " << path << " in container " << ev.name
                        << ": " << probe.error().describe();
        co_return std::nullopt;
    }
    const auto& st = probe->stat;
    if (!probe->head) {
        log::debug(f) << path << " in container " << ev.name << " is not a non-empty regular file";
        co_return std::nullopt;
    }
    const auto& head = probe->head;
    auto type = domain::classify(head->content);
    if (type == domain::dump_type::none) {
        log::debug(f) << path << " in container " << ev.name
                      << " is neither a core nor a heap dump";
        co_return std::nullopt;
    }
    if (store_ && store_->reported(ev.id, path, st.size, st.mtime)) {
        log::debug(f) << path << " in container " << ev.name << " was reported at an earlier death";
        ++j.already;
        co_return std::nullopt;
    }
    j.dumps.push_back({path, st.size, type});
    read_triage(j.dumps.back(), head->content);
    j.mtimes.push_back(st.mtime);
    co_return std::nullopt;
}

bool job_runner::skip_volume_dump(const detail::job_state& j, const domain::archive_dump& d) const
{
    // A path /changes lists is in the layer (probed there); one reported at an earlier death
    // (restart policy) is not reported again.
    return j.in_layer.contains(d.path) ||
           (store_ &&
            store_->reported(
                j.ev.id, d.path, static_cast<std::int64_t>(d.size), std::to_string(d.mtime)));
}

job_runner::step job_runner::probe_mounts(detail::job_state& j)
{
    const auto& ev = j.ev;
    // Dumps in volumes and bind mounts (--dump-path): not in the layer, so not in /changes.
    if (!cfg_.dump_paths.empty()) {
        domain::dump_filter skip = [&j, this](const domain::archive_dump& d) {
            return skip_volume_dump(j, d);
        };
        auto in_mounts = co_await probe_dump_paths(docker_, ev.id, ev.name, cfg_, skip, j.fields);
        if (!in_mounts)  // it fails only when cancelled or cut off: never an answer
            co_return decide(in_mounts.error(), outcome::engine_unavailable);
        j.volume_dirs = std::move(*in_mounts);
    }
    if (j.dumps.empty() && j.volume_dirs.empty()) {
        if (j.already > 0) {
            log::info(j.fields) << "container " << ev.name << " (" << short_id(ev.id)
                                << ") died again; its dump was already reported";
            co_return outcome::already_reported;
        }
        log::debug(j.fields) << "container " << ev.name << " (" << short_id(ev.id)
                             << ") left no dump";
        co_return outcome::no_dump;
    }
    co_return std::nullopt;
}

job_runner::step job_runner::take_stock(detail::job_state& j)
{
    const auto& ev = j.ev;
    stats_.dumps_found += j.dumps.size();
    for (const auto& d : j.dumps)
        ++(d.type == domain::dump_type::core ? stats_.cores_found : stats_.heap_dumps_found);
    j.fields.emplace_back("DUMP_PATH", join_paths(j.dumps));
    if (const domain::crash_info* crash = domain::first_crash(j.dumps)) {
        if (auto signal = signal_label(*crash); !signal.empty())
            ++stats_.crashes_by_signal[signal];
        for (auto& f : crash_fields(*crash))
            j.fields.push_back(std::move(f));
        if (on_crash_)
            on_crash_(ev, *crash);
    }

    // A graceful stop before anything was made: leave the container as it is.
    if (co_await co::cancelled())
        co_return outcome::cancelled;

    if (!cfg_.dry_run && over_rate_limit(ev.id)) {
        ++stats_.rate_limited;
        log::warning(j.fields)
            << "container " << ev.name << " (" << short_id(ev.id) << ") left a dump again but was "
            << "already committed " << cfg_.max_per_container
            << " times within the hour (--max-per-container): not committing; the dump stays "
               "in the container";
        co_return outcome::rate_limited;
    }
    co_return std::nullopt;
}

job_runner::step job_runner::copy_mounts(detail::job_state& j)
{
    // Copy the dumps of the mounts into the container's own filesystem, so that the image
    // holds them (SPEC §4a: /commit sees only the writable layer).
    if (j.volume_dirs.empty())
        co_return std::nullopt;
    const auto& ev = j.ev;
    // A dump older than the run that died is not its own (a volume shared with other
    // containers, or kept from an earlier run). Once the container runs again its start
    // says nothing about the run that died: then only the reported-dumps memory applies.
    // The Engine records StartedAt after the process has begun, and an archive's mtime is in
    // whole seconds: a process that crashes at once writes its dump "before" its start, so
    // the start is taken a few seconds early (a dump already reported is still skipped).
    constexpr std::int64_t start_slack_s = 5;
    const std::int64_t started = j.info.started_nano > 0 && j.info.started_nano <= ev.time_nano
                                     ? j.info.started_nano / 1'000'000'000 - start_slack_s
                                     : 0;
    domain::dump_filter skip_copy = [&j, this, started](const domain::archive_dump& d) {
        return d.mtime < started || skip_volume_dump(j, d);
    };
    auto copied = co_await copy_dump_paths(
        docker_, ev.id, j.info.name, j.volume_dirs, cfg_, skip_copy, j.fields);
    if (!copied)  // as probe_dump_paths: never an answer
        co_return decide(copied.error(), outcome::engine_unavailable);
    for (const auto& d : *copied) {
        const bool in_image = !d.copied_to.empty();
        j.dumps.push_back({.path = in_image ? d.copied_to : d.path,
                           .size = static_cast<std::int64_t>(d.size),
                           .type = d.type,
                           .original_path = d.path,
                           .copied = in_image,
                           .crash = d.crash,
                           .heap = d.heap,
                           .reason = d.reason});
        j.mtimes.push_back(std::to_string(d.mtime));
    }
    stats_.dumps_found += copied->size();
    for (const auto& d : *copied)
        ++(d.type == domain::dump_type::core ? stats_.cores_found : stats_.heap_dumps_found);
    if (j.dumps.empty()) {
        log::debug(j.fields) << "container " << j.info.name << " (" << short_id(ev.id)
                             << ") left no new dump";
        co_return outcome::no_dump;
    }
    for (auto& f : j.fields)
        if (f.first == "DUMP_PATH")
            f.second = join_paths(j.dumps);
    co_return std::nullopt;
}

}  // namespace core_interceptor::pipeline
