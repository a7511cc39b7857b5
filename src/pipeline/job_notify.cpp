// SPDX-License-Identifier: MIT
// The job's last steps: remembering what was reported, notifying, and the per-signature limit
// (issue 12) with its announcement of a duplicate.
#include "domain/image_name.hpp"
#include "log/log.hpp"
#include "pipeline/job.hpp"
#include "pipeline/triage.hpp"
#include "state/store.hpp"

#include <chrono>
#include <exception>

namespace asio = boost::asio;

namespace core_interceptor::pipeline {

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

asio::awaitable<void> job_runner::notify(const domain::die_event& ev,
                                         const domain::notification& note,
                                         const std::string& body,
                                         const std::vector<log::field>& fields)
{
    if (outbox_.sink_count() == 0)
        co_return;
    // A named message, not a temporary: g++ 12 may destroy a temporary of a co_await
    // full-expression twice.
    const sinks::message msg{note.id, domain::kafka_key(note), body};
    auto delivered = co_await outbox_.send(msg);
    stats_.notified += delivered;
    stats_.notify_failed += outbox_.sink_count() - delivered;
    if (on_notified_)
        on_notified_(ev, delivered);
    log::debug(fields) << "notified " << delivered << " of " << outbox_.sink_count()
                       << " sink(s) of " << (note.image.empty() ? note.duplicate_of : note.image);
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

asio::awaitable<outcome> job_runner::announce_duplicate(const domain::die_event& ev,
                                                        const domain::container_info& info,
                                                        const std::vector<domain::dump_info>& dumps,
                                                        const std::vector<std::string>& mtimes,
                                                        const std::string& of,
                                                        const std::vector<log::field>& fields)
{
    ++stats_.duplicates;
    const auto* crash = domain::first_crash(dumps);
    const std::string what = crash ? domain::summary(*crash) : std::string{};
    log::warning(fields)
        << "container " << info.name << " (" << ev.id.substr(0, 12) << ") died of the same crash"
        << (what.empty() ? "" : " (" + what + ")") << " as the last " << cfg_.max_per_signature
        << " images of signature " << (crash ? crash->signature : std::string{})
        << " within the hour (--max-per-signature): not committing; announced as a duplicate of "
        << of << "; the dump stays in the container";
    const std::string name =
        domain::image_name(info.image, info.image_id, domain::max_image_name_length(cfg_.registry));
    // No image was made: `image` stays empty and `duplicate_of` names the one to pull.
    auto note = notification_for(ev, info, dumps, name, domain::image_tag(ev.id), "", false, "");
    note.duplicate_of = of;
    const std::string body = domain::to_json(note);
    co_await notify(ev, note, body, fields);
    mark_reported(ev, dumps, mtimes);  // once delivered or spooled, as for a commit
    co_return outcome::duplicate;
}

}  // namespace core_interceptor::pipeline
