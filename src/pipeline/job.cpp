// SPDX-License-Identifier: MIT
#include "pipeline/job.hpp"

#include "co/cancel.hpp"
#include "domain/image_name.hpp"
#include "log/log.hpp"
#include "pipeline/earlier_commit.hpp"
#include "pipeline/triage.hpp"
#include "pipeline/volume_dumps.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <set>

namespace asio = boost::asio;

namespace core_interceptor::pipeline {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string short_id(std::string_view id)
{
    return std::string(id.substr(0, 12));
}

std::string join_paths(const std::vector<domain::dump_info>& dumps)
{
    std::string out;
    for (const auto& d : dumps) {
        if (!out.empty())
            out += ',';
        out += d.path;
    }
    return out;
}

}  // namespace

bool transient(const failure& f) noexcept
{
    if (f.status != 0 || f.code == asio::error::operation_aborted)
        return false;
    if (f.code.category() == error_category())
        return f.code == errc::connect_timeout || f.code == errc::request_timeout ||
               f.code == errc::stream_truncated;
    return true;  // socket and HTTP-parser errors: the connection failed, not the request
}

job_runner::job_runner(docker::api& docker, sinks::outbox& outbox, state::store* store, config cfg)
    : docker_(docker), outbox_(outbox), store_(store), cfg_(std::move(cfg)),
      signatures_(cfg_.max_per_signature, cfg_.rate_window)
{
    if (!store_)
        return;
    // The counts of earlier runs (issue 12: they survive a restart); a file of another shape is
    // logged and the counts start anew, which at worst lets a few more copies of a crash in.
    const std::string saved = store_->signatures();
    if (!saved.empty() && !signatures_.load(saved, std::chrono::system_clock::now()))
        log::error()
            << "the per-signature counts in the state directory are not readable; starting anew";
}

outcome job_runner::removed(const domain::die_event& ev, const std::vector<log::field>& fields)
{
    ++stats_.auto_removed;
    log::warning(fields)
        << "container " << ev.name << " (" << short_id(ev.id) << ", image " << ev.image
        << ") was removed before it could be probed for dumps (started with --rm?): "
        << "any dump it left is lost";
    return outcome::gone;
}

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

outcome job_runner::would_handle(const domain::die_event& ev,
                                 const domain::container_info& info,
                                 const std::vector<domain::dump_info>& dumps,
                                 const std::string& name,
                                 const std::string& repo,
                                 const std::string& tag,
                                 const std::vector<log::field>& fields)
{
    const std::string reference = repo + ":" + tag;
    const auto object = domain::object_of(dumps);
    log::info(fields) << "dry run: would commit container " << info.name << " (" << short_id(ev.id)
                      << ")" << died_of(domain::first_crash(dumps)) << " with " << object
                      << " dump " << join_paths(dumps) << " as image " << reference;
    if (cfg_.registry)
        log::info(fields) << "dry run: would push " << reference
                          << (cfg_.keep_image ? " and keep it locally"
                                              : " and then delete it locally");
    // What a successful push would announce.
    const auto note =
        notification_for(ev, info, dumps, name, tag, reference, cfg_.registry.has_value(), "");
    log::info(fields) << "dry run: would notify " << outbox_.sink_count() << " sink(s) with "
                      << domain::to_json(note);
    return outcome::dry_run;
}

domain::notification job_runner::notification_for(const domain::die_event& ev,
                                                  const domain::container_info& info,
                                                  const std::vector<domain::dump_info>& dumps,
                                                  const std::string& name,
                                                  const std::string& tag,
                                                  const std::string& reference,
                                                  bool pushed,
                                                  const std::string& digest) const
{
    domain::notification note;
    note.id = ev.id + "-" + std::to_string(ev.time_nano);
    note.timestamp = std::chrono::system_clock::now();
    note.pushed = pushed;
    note.name = name;
    note.tag = tag;
    note.hostname = cfg_.hostname;
    note.image = reference;
    note.registry = cfg_.registry ? cfg_.registry->host : std::string{};
    note.digest = digest;
    note.container = info;
    note.container.id = ev.id;
    note.dumps = dumps;
    return note;
}

asio::awaitable<outcome> job_runner::run(domain::die_event ev)
{
    // Record a total cancellation (graceful stop) without passing it to the Engine call in
    // flight: only terminal cancellation aborts I/O. Errors are values, so no exceptions.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation(),
                                                       asio::enable_terminal_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    ++stats_.handled;
    auto o = co_await run_steps(ev);
    if (o == outcome::commit_failed || o == outcome::probe_failed)
        ++stats_.failed;
    co_return o;
}

asio::awaitable<outcome> job_runner::run_steps(const domain::die_event& ev)
{
    std::vector<log::field> fields{
        {"CONTAINER_ID", ev.id}, {"CONTAINER_NAME", ev.name}, {"IMAGE", ev.image}};

    // Candidates: one API call; a clean exit ends here.
    auto candidates = co_await docker_.dump_candidates(ev.id, cfg_.dump_patterns);
    if (!candidates) {
        if (candidates.error().code == asio::error::operation_aborted)
            co_return outcome::cancelled;
        if (transient(candidates.error())) {
            log::warning(fields) << "Docker daemon unavailable while probing container " << ev.name
                                 << " (" << short_id(ev.id)
                                 << "): " << candidates.error().describe();
            co_return outcome::engine_unavailable;
        }
        // SPEC §4a: an --rm container is removed right after its death; while the removal
        // runs the Engine answers 404, or 500 for a layer already gone.
        bool gone = candidates.error().code == errc::not_found;
        if (!gone) {
            auto info = co_await docker_.inspect(ev.id);
            gone = (!info && info.error().code == errc::not_found) || (info && info->auto_remove);
        }
        if (gone)
            co_return removed(ev, fields);
        log::error(fields) << "cannot list changes of container " << ev.name << " ("
                           << short_id(ev.id) << "): " << candidates.error().describe();
        co_return outcome::probe_failed;
    }
    if (candidates->candidates.empty()) {
        // No change at all may also mean an --rm container's layer is already being removed:
        // either way there is no dump in it, and the daemon tells the removal from the destroy
        // event that follows (app: on_destroy), at no Engine call.
        if (cfg_.dump_paths.empty()) {
            log::debug(fields) << "container " << ev.name << " (" << short_id(ev.id)
                               << ") exited without a dump";
            co_return outcome::no_dump;
        }
    }

    // Verify each candidate: stat, then the first bytes only (SPEC §4.2).
    std::vector<domain::dump_info> dumps;
    std::vector<std::string> mtimes;  // per dump, to remember it as reported
    std::size_t probed = 0;
    std::size_t already = 0;
    for (const auto& path : candidates->candidates) {
        if (probed++ == cfg_.max_candidates) {
            log::warning(fields) << "container " << ev.name << ": " << candidates->candidates.size()
                                 << " candidate dumps, only the first " << cfg_.max_candidates
                                 << " probed";
            break;
        }
        auto f = fields;
        f.emplace_back("DUMP_PATH", path);
        auto st = co_await docker_.stat_path(ev.id, path);
        if (!st) {
            if (st.error().code == asio::error::operation_aborted)
                co_return outcome::cancelled;
            if (transient(st.error()))
                co_return outcome::engine_unavailable;
            log::warning(f) << "cannot stat " << path << " in container " << ev.name << ": "
                            << st.error().describe();
            continue;
        }
        if (!st->is_regular() || st->size <= 0) {
            log::debug(f) << path << " in container " << ev.name
                          << " is not a non-empty regular file";
            continue;
        }
        auto head = co_await docker_.read_head(ev.id, path, probe_need(cfg_.max_notes_size));
        if (!head) {
            if (head.error().code == asio::error::operation_aborted)
                co_return outcome::cancelled;
            if (transient(head.error()))
                co_return outcome::engine_unavailable;
            log::warning(f) << "cannot read the start of " << path << " in container " << ev.name
                            << ": " << head.error().describe();
            continue;
        }
        auto type = domain::classify(head->content);
        if (type == domain::dump_type::none) {
            log::debug(f) << path << " in container " << ev.name
                          << " is neither a core nor a heap dump";
            continue;
        }
        if (store_ && store_->reported(ev.id, path, st->size, st->mtime)) {
            log::debug(f) << path << " in container " << ev.name
                          << " was reported at an earlier death";
            ++already;
            continue;
        }
        dumps.push_back({path, st->size, type});
        read_triage(dumps.back(), head->content);
        mtimes.push_back(st->mtime);
    }
    // Dumps in volumes and bind mounts (--dump-path): not in the layer, so not in /changes. A
    // path /changes lists is in the layer (handled above); one reported at an earlier death
    // (restart policy) is not reported again.
    std::set<std::string, std::less<>> in_layer(candidates->candidates.begin(),
                                                candidates->candidates.end());
    domain::dump_filter skip_volume_dump = [&, this](const domain::archive_dump& d) {
        return in_layer.contains(d.path) ||
               (store_ &&
                store_->reported(
                    ev.id, d.path, static_cast<std::int64_t>(d.size), std::to_string(d.mtime)));
    };
    std::vector<std::string> volume_dirs;
    if (!cfg_.dump_paths.empty()) {
        auto in_mounts =
            co_await probe_dump_paths(docker_, ev.id, ev.name, cfg_, skip_volume_dump, fields);
        if (!in_mounts)
            co_return in_mounts.error().code == asio::error::operation_aborted
                ? outcome::cancelled
                : outcome::engine_unavailable;
        volume_dirs = std::move(*in_mounts);
    }
    if (dumps.empty() && volume_dirs.empty()) {
        if (already > 0) {
            log::info(fields) << "container " << ev.name << " (" << short_id(ev.id)
                              << ") died again; its dump was already reported";
            co_return outcome::already_reported;
        }
        log::debug(fields) << "container " << ev.name << " (" << short_id(ev.id)
                           << ") left no dump";
        co_return outcome::no_dump;
    }
    stats_.dumps_found += dumps.size();
    for (const auto& d : dumps)
        ++(d.type == domain::dump_type::core ? stats_.cores_found : stats_.heap_dumps_found);
    fields.emplace_back("DUMP_PATH", join_paths(dumps));
    const domain::crash_info* crash = domain::first_crash(dumps);
    if (crash) {
        if (auto signal = signal_label(*crash); !signal.empty())
            ++stats_.crashes_by_signal[signal];
        for (auto& f : crash_fields(*crash))
            fields.push_back(std::move(f));
        if (on_crash_)
            on_crash_(ev, *crash);
    }

    // A graceful stop before anything was made: leave the container as it is.
    if (co_await co::cancelled())
        co_return outcome::cancelled;

    if (!cfg_.dry_run && over_rate_limit(ev.id)) {
        ++stats_.rate_limited;
        log::warning(fields)
            << "container " << ev.name << " (" << short_id(ev.id) << ") left a dump again but was "
            << "already committed " << cfg_.max_per_container
            << " times within the hour (--max-per-container): not committing; the dump stays "
               "in the container";
        co_return outcome::rate_limited;
    }

    auto info = co_await docker_.inspect(ev.id);
    if (!info) {
        if (info.error().code == asio::error::operation_aborted)
            co_return outcome::cancelled;
        if (transient(info.error()))
            co_return outcome::engine_unavailable;
        log::error(fields) << "dump found in container " << ev.name << " (" << short_id(ev.id)
                           << ") but it cannot be inspected: " << info.error().describe();
        co_return outcome::commit_failed;
    }
    fields[1].second = info->name;
    fields[2].second = info->image;
    const std::string name = domain::image_name(
        info->image, info->image_id, domain::max_image_name_length(cfg_.registry));
    const std::string tag = domain::image_tag(ev.id);
    const std::string repo = domain::repository(cfg_.registry, name);
    const std::string reference = repo + ":" + tag;

    // The same crash as the last --max-per-signature images: announced, not committed. The
    // commit is counted now, before any await, so that concurrent deaths of one crash are
    // decided one after the other.
    if (crash && !cfg_.dry_run) {
        if (auto of = signatures_.duplicate_of(crash->signature, std::chrono::system_clock::now()))
            co_return co_await announce_duplicate(ev, *info, dumps, mtimes, *of, fields);
        count_signature(dumps, reference);
    }

    // Copy the dumps of the mounts into the container's own filesystem, so that the image
    // holds them (SPEC §4a: /commit sees only the writable layer).
    if (!volume_dirs.empty()) {
        // A dump older than the run that died is not its own (a volume shared with other
        // containers, or kept from an earlier run). Once the container runs again its start
        // says nothing about the run that died: then only the reported-dumps memory applies.
        const std::int64_t started = info->started_nano > 0 && info->started_nano <= ev.time_nano
                                         ? info->started_nano / 1'000'000'000
                                         : 0;
        domain::dump_filter skip_copy = [&](const domain::archive_dump& d) {
            return d.mtime < started || skip_volume_dump(d);
        };
        auto copied = co_await copy_dump_paths(
            docker_, ev.id, info->name, volume_dirs, cfg_, skip_copy, fields);
        if (!copied)
            co_return copied.error().code == asio::error::operation_aborted
                ? outcome::cancelled
                : outcome::engine_unavailable;
        for (const auto& d : *copied) {
            const bool in_image = !d.copied_to.empty();
            dumps.push_back({.path = in_image ? d.copied_to : d.path,
                             .size = static_cast<std::int64_t>(d.size),
                             .type = d.type,
                             .original_path = d.path,
                             .copied = in_image,
                             .crash = d.crash,
                             .heap = d.heap,
                             .reason = d.reason});
            mtimes.push_back(std::to_string(d.mtime));
        }
        stats_.dumps_found += copied->size();
        for (const auto& d : *copied)
            ++(d.type == domain::dump_type::core ? stats_.cores_found : stats_.heap_dumps_found);
        if (dumps.empty()) {
            log::debug(fields) << "container " << info->name << " (" << short_id(ev.id)
                               << ") left no new dump";
            co_return outcome::no_dump;
        }
        for (auto& f : fields)
            if (f.first == "DUMP_PATH")
                f.second = join_paths(dumps);
        crash = domain::first_crash(dumps);  // `dumps` may have moved
    }

    // Commit.
    std::string_view object = domain::object_of(dumps);
    if (cfg_.dry_run)
        co_return would_handle(ev, *info, dumps, name, repo, tag, fields);

    docker::commit_request creq;
    creq.container_id = ev.id;
    creq.repository = repo;
    creq.tag = tag;
    creq.comment = "core_interceptor: " + std::string(object) + " dump left by container " +
                   info->name + " (" + short_id(ev.id) + "), exit code " +
                   std::to_string(info->exit_code);
    creq.labels = {
        {"core_interceptor.container.id", ev.id},
        {"core_interceptor.container.name", info->name},
        {"core_interceptor.container.image", info->image},
        {"core_interceptor.container.exit_code", std::to_string(info->exit_code)},
        {"core_interceptor.dumps", join_paths(dumps)},
        {std::string(death_label), ev.id + "-" + std::to_string(ev.time_nano)},
    };
    const std::string death_id = creq.labels.back().second;
    if (crash)
        for (auto& l : crash_labels(*crash))
            creq.labels.push_back(std::move(l));
    // A try killed after its commit left an image: reused, or removed before a new commit.
    // (An answer other than "unavailable" only costs the check: the commit goes ahead.)
    auto earlier = co_await reuse_earlier_commit(docker_, death_id, reference, fields);
    result<std::string> committed = std::string();
    if (!earlier &&
        (transient(earlier.error()) || earlier.error().code == asio::error::operation_aborted))
        committed = earlier.error();
    else if (!earlier || !*earlier)
        committed = co_await docker_.commit(creq);
    if (!committed) {
        if (committed.error().code == asio::error::operation_aborted)
            co_return outcome::cancelled;
        if (transient(committed.error())) {
            log::warning(fields) << "Docker daemon unavailable while committing container "
                                 << info->name << " (" << short_id(ev.id)
                                 << "): " << committed.error().describe();
            co_return outcome::engine_unavailable;
        }
        log::error(fields) << "cannot commit container " << info->name << " (" << short_id(ev.id)
                           << ") with " << object << " dump as " << reference << ": "
                           << committed.error().describe()
                           << (info->auto_remove ? " (the container was started with --rm)" : "");
        co_return outcome::commit_failed;
    }
    count_commit(ev.id);  // --max-per-container counts commits made, not attempts
    log::info(fields) << "committed container " << info->name << " (" << short_id(ev.id) << ")"
                      << died_of(crash) << " with " << object << " dump as " << reference;

    // Push, retried with backoff for a window (SPEC §5), then delete the local copy.
    domain::notification note;
    std::string digest;
    bool pushed = false;
    bool push_later = false;
    if (cfg_.registry) {
        auto deadline = std::chrono::steady_clock::now() + cfg_.push_retry_window;
        auto delay = cfg_.push_retry_initial;
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (unsigned attempt = 1;; ++attempt) {
            auto p = co_await docker_.push(repo, tag, cfg_.registry_auth);
            if (p) {
                pushed = true;
                digest = *p;
                break;
            }
            if (p.error().code == asio::error::operation_aborted)
                break;
            auto wait = co::jittered(delay);
            if (co_await co::cancelled() || std::chrono::steady_clock::now() + wait > deadline) {
                log::error(fields) << "push of " << reference << " failed after " << attempt
                                   << (attempt == 1 ? " attempt: " : " attempts: ")
                                   << p.error().describe() << "; the image is kept locally"
                                   << (store_ ? " and its push retried in the background" : "");
                push_later = true;
                ++stats_.push_failed;
                break;
            }
            log::warning(fields) << "push of " << reference << " failed (attempt " << attempt
                                 << "): " << p.error().describe() << "; retrying in "
                                 << wait.count() << " ms";
            timer.expires_after(wait);
            auto [ec] = co_await timer.async_wait(use_tuple);
            if (ec)
                break;
            delay = std::min(delay * 2, cfg_.push_retry_max);
        }
        if (pushed) {
            ++stats_.pushed;
            log::info(fields) << "pushed " << reference << (digest.empty() ? "" : " ") << digest;
            if (!cfg_.keep_image) {
                auto rm = co_await docker_.remove_image(reference);
                if (!rm)
                    log::error(fields)
                        << "pushed " << reference
                        << " but cannot delete the local copy: " << rm.error().describe();
            }
        }
    }

    // A killed try's commit that the Engine finished late may have taken the tag: no image of
    // this death is left but the one tagged, if it is kept.
    if (auto extra =
            co_await remove_extra_commits(docker_, creq.labels.back().second, reference, fields);
        !extra)
        log::debug(fields) << "cannot list the images of this death: " << extra.error().describe();

    // Notify every sink concurrently; each failure is logged.
    note = notification_for(ev, *info, dumps, name, tag, reference, pushed, digest);
    const std::string body = domain::to_json(note);
    if (push_later && store_) {
        if (auto ec = co_await store_->async_add_pending_push(repo, tag, body))
            log::error(fields) << "cannot record the failed push of " << reference << ": "
                               << ec.message()
                               << "; the image stays local and is announced with pushed: false";
        if (retry_wake_) {
            retry_woken_ = true;
            retry_wake_->cancel();
        }
    }

    // Notified first: the image holds these dumps now, and a later death of the same container
    // (restart policy) must not report them again, but only once the notification is delivered
    // or spooled: a kill before then leaves the death unfinished and unreported, so the resumed
    // try announces it.
    co_await notify(ev, note, body, fields);
    mark_reported(ev, dumps, mtimes);
    co_return pushed ? outcome::pushed : outcome::committed;
}

asio::awaitable<void> job_runner::retry_failed_pushes(std::chrono::milliseconds interval)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    if (!store_ || !cfg_.registry || cfg_.dry_run)
        co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        // With nothing waiting, sleep until a push fails for good: an idle daemon never wakes.
        if (store_->pending_pushes().empty())
            timer.expires_at(asio::steady_timer::time_point::max());
        else
            timer.expires_after(interval);
        retry_wake_ = &timer;
        retry_woken_ = false;
        auto [wait_ec] = co_await timer.async_wait(use_tuple);
        retry_wake_ = nullptr;
        if (retry_woken_)
            continue;  // a push was recorded: retry it after `interval`
        if (wait_ec)
            co_return;
        for (const auto& p : store_->pending_pushes()) {
            const std::string reference = p.repository + ":" + p.tag;
            auto r = co_await docker_.push(p.repository, p.tag, cfg_.registry_auth);
            if (!r) {
                if (r.error().code == asio::error::operation_aborted)
                    co_return;
                if (r.error().code == errc::not_found) {
                    log::error() << "image " << reference
                                 << " waiting for its push is gone: " << r.error().describe();
                    co_await store_->async_remove_pending_push(p);
                    continue;
                }
                log::debug() << "push of " << reference
                             << " still failing: " << r.error().describe();
                break;  // the registry is still away: try again at the next round
            }
            ++stats_.pushed;
            log::info() << "pushed " << reference << " " << *r << " (after an earlier failure)";
            if (!cfg_.keep_image)
                if (auto rm = co_await docker_.remove_image(reference); !rm)
                    log::error() << "pushed " << reference
                                 << " but cannot delete the local copy: " << rm.error().describe();
            // Announce again, same id, now pushed.
            error_code ec;
            auto v = boost::json::parse(p.notification, ec);
            if (!ec && v.is_object()) {
                auto& o = v.as_object();
                o["pushed"] = true;
                o["digest"] = *r;
                o["timestamp"] = domain::rfc3339_utc(std::chrono::system_clock::now());
                auto text = [&](const char* k) {
                    auto* x = o.if_contains(k);
                    return x && x->is_string() ? std::string(x->as_string()) : std::string{};
                };
                const sinks::message msg{
                    text("id"), text("name") + ":" + text("tag"), boost::json::serialize(o)};
                co_await outbox_.send(msg);
            }
            co_await store_->async_remove_pending_push(p);
        }
    }
}

}  // namespace core_interceptor::pipeline
