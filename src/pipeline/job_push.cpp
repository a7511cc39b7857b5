// SPDX-License-Identifier: MIT
// The job's push: retried with backoff for a window (SPEC §5), then the local copy deleted;
// a push that failed for good is left to the push_retrier.
#include "co/backoff.hpp"
#include "co/cancel.hpp"
#include "log/log.hpp"
#include "pipeline/earlier_commit.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_state.hpp"
#include "pipeline/registry_login.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace core_interceptor::pipeline {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

asio::awaitable<void> job_runner::push(detail::job_state& j)
{
    if (cfg_.registry) {
        const auto start = std::chrono::steady_clock::now();
        j.pushed = co_await push_with_retry(j);
        timed(domain::phase::push, start);
    }
    if (j.pushed) {
        ++stats_.pushed;
        log::info(j.fields) << "pushed " << j.reference << (j.digest.empty() ? "" : " ")
                            << j.digest;
        if (!cfg_.keep_image) {
            const auto start = std::chrono::steady_clock::now();
            auto rm = co_await docker_.remove_image(j.reference);
            timed(domain::phase::remove, start);
            if (!rm)
                log::error(j.fields)
                    << "pushed " << j.reference
                    << " but cannot delete the local copy: " << rm.error().describe();
        }
    }
}

asio::awaitable<void> job_runner::remove_late_commits(const detail::job_state& j)
{
    // A killed try's commit that the Engine finished late may have taken the tag: no image of
    // this death is left but the one tagged, if it is kept.
    if (auto extra = co_await remove_extra_commits(docker_, j.death_id, j.reference, j.fields);
        !extra)
        log::debug(j.fields) << "cannot list the images of this death: "
                             << extra.error().describe();
}

asio::awaitable<bool> job_runner::push_with_retry(detail::job_state& j)
{
    auto deadline = std::chrono::steady_clock::now() + cfg_.push_retry_window;
    co::backoff delays(cfg_.push_retry_initial, cfg_.push_retry_max);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (unsigned attempt = 1;; ++attempt) {
        auto p = co_await push_with_login(docker_, cfg_, j.repo, j.tag);
        if (p) {
            j.digest = *p;
            co_return true;
        }
        if (p.error().code == asio::error::operation_aborted)
            co_return false;
        auto wait = delays.next();
        if (co_await co::cancelled() || std::chrono::steady_clock::now() + wait > deadline) {
            log::error(j.fields) << "push of " << j.reference << " failed after " << attempt
                                 << (attempt == 1 ? " attempt: " : " attempts: ")
                                 << p.error().describe() << "; the image is kept locally"
                                 << (store_ ? " and its push retried in the background" : "");
            j.push_later = true;
            ++stats_.push_failed;
            co_return false;
        }
        log::warning(j.fields) << "push of " << j.reference << " failed (attempt " << attempt
                               << "): " << p.error().describe() << "; retrying in " << wait.count()
                               << " ms";
        timer.expires_after(wait);
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec)
            co_return false;
    }
}

}  // namespace core_interceptor::pipeline
