// SPDX-License-Identifier: MIT
// The job's last steps: the notification, announced once with every field known,
// remembering what was reported, and the per-signature limit (issue 12) with its announcement
// of a duplicate.
#include "domain/image_name.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_state.hpp"
#include "pipeline/triage.hpp"
#include "state/store.hpp"

#include <chrono>
#include <exception>

namespace asio = boost::asio;

namespace core_interceptor::pipeline {

domain::notification job_runner::notification_for(const detail::job_state& j,
                                                  bool pushed,
                                                  const std::string& duplicate_of) const
{
    domain::notification note;
    note.id = j.ev.id + "-" + std::to_string(j.ev.time_nano);
    note.timestamp = std::chrono::system_clock::now();
    note.pushed = pushed;
    note.name = j.name;
    note.tag = j.tag;
    note.hostname = cfg_.hostname;
    // A duplicate made no image: `image` stays empty and `duplicate_of` names the one to pull.
    note.image = duplicate_of.empty() ? j.reference : std::string{};
    note.registry = cfg_.registry ? cfg_.registry->host : std::string{};
    note.digest = pushed ? j.digest : std::string{};
    note.container = j.info;
    note.container.id = j.ev.id;
    note.dumps = j.dumps;
    note.duplicate_of = duplicate_of;
    return note;
}

asio::awaitable<outcome> job_runner::announce(detail::job_state& j)
{
    const auto msg = domain::announce(notification_for(j, j.pushed));
    if (j.push_later && store_) {
        // Awaited in a statement of its own: g++ 12 may destroy the temporaries of a co_await
        // in a condition twice.
        const auto ec = co_await store_->async_add_pending_push(j.repo, j.tag, msg.body);
        if (ec)
            log::error(j.fields) << "cannot record the failed push of " << j.reference << ": "
                                 << ec.message()
                                 << "; the image stays local and is announced with pushed: false";
        retrier_.wake();
    }

    // Notified first: the image holds these dumps now, and a later death of the same container
    // (restart policy) must not report them again, but only once the notification is delivered
    // or spooled: a kill before then leaves the death unfinished and unreported, so the resumed
    // try announces it.
    co_await notify(j, msg, j.reference);
    mark_reported(j.ev, j.dumps, j.mtimes);
    co_return j.pushed ? outcome::pushed : outcome::committed;
}

void job_runner::mark_reported(const domain::die_event& ev,
                               const std::vector<domain::dump_info>& dumps,
                               const std::vector<std::string>& mtimes)
{
    if (!store_)
        return;
    for (std::size_t i = 0; i < dumps.size(); ++i)
        store_->mark_reported(ev.id,
                              dumps[i].original_path.empty() ? dumps[i].path
                                                             : dumps[i].original_path,
                              dumps[i].size,
                              mtimes[i]);
    // Written once per job, however many dumps, by the store's writer thread; a failed write
    // is retried by the store's catch-up and never holds the notification back.
    store_->queue_save_reported();
}

asio::awaitable<void>
job_runner::notify(const detail::job_state& j, const sinks::message& msg, const std::string& what)
{
    const std::size_t width = sink_.width();
    if (width == 0)
        co_return;
    auto delivered = co_await sink_.send(msg);
    stats_.notified += delivered;
    stats_.notify_failed += width - delivered;
    if (on_notified_)
        on_notified_(j.ev, delivered);
    log::debug(j.fields) << "notified " << delivered << " of " << width << " sink(s) of " << what;
}

void job_runner::count_signature(const std::vector<domain::dump_info>& dumps,
                                 const std::string& reference)
{
    const auto* crash = domain::first_crash(dumps);
    if (!crash || crash->signature.empty() || cfg_.max_per_signature == 0)
        return;
    signatures_.record(crash->signature, reference, std::chrono::system_clock::now());
    if (!store_)
        return;
    // Queued for the store's writer thread: no fsync on the loop; a failure is the store's
    // to report and retry.
    store_->save_signatures(signatures_.to_json());
}

asio::awaitable<outcome> job_runner::announce_duplicate(detail::job_state& j, const std::string& of)
{
    ++stats_.duplicates;
    const auto* crash = domain::first_crash(j.dumps);
    const std::string what = crash ? domain::summary(*crash) : std::string{};
    log::warning(j.fields)
        << "container " << j.info.name << " (" << domain::short_id(j.ev.id)
        << ") died of the same crash" << (what.empty() ? "" : " (" + what + ")") << " as the last "
        << cfg_.max_per_signature << " images of signature "
        << (crash ? crash->signature : std::string{})
        << " within the hour (--max-per-signature): not committing; announced as a duplicate of "
        << of << "; the dump stays in the container";
    const auto msg = domain::announce(notification_for(j, false, of));
    co_await notify(j, msg, of);
    mark_reported(j.ev, j.dumps, j.mtimes);  // once delivered or spooled, as for a commit
    co_return outcome::duplicate;
}

}  // namespace core_interceptor::pipeline
