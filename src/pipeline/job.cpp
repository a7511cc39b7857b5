// SPDX-License-Identifier: MIT
// The job from end to end: its steps in order, and the one rule that turns a failed Engine
// call into the job's outcome. The steps live in job_probe.cpp, job_commit.cpp, job_push.cpp
// and job_notify.cpp.
#include "pipeline/job.hpp"

#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "pipeline/job_state.hpp"
#include "state/store.hpp"

#include <boost/asio/this_coro.hpp>

namespace asio = boost::asio;

namespace core_interceptor::pipeline {

bool transient(const failure& f) noexcept
{
    if (f.status != 0 || f.code == asio::error::operation_aborted)
        return false;
    if (f.code.category() == error_category())
        return f.code == errc::connect_timeout || f.code == errc::request_timeout ||
               f.code == errc::stream_truncated;
    return true;  // socket and HTTP-parser errors: the connection failed, not the request
}

job_runner::job_runner(docker::api& docker, sinks::sink& sink, state::store* store, config cfg)
    : docker_(docker), sink_(sink), store_(store), cfg_(std::move(cfg)),
      signatures_(cfg_.max_per_signature, cfg_.rate_window),
      retrier_(docker_, sink_, store_, cfg_, stats_.pushed)
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

std::optional<outcome> job_runner::decide(const failure& f, std::optional<outcome> answered)
{
    if (f.code == asio::error::operation_aborted)
        return outcome::cancelled;
    if (transient(f))
        return outcome::engine_unavailable;
    return answered;
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
    detail::job_state j(ev);
    if (auto end = co_await probe_layer(j))
        co_return *end;
    if (auto end = co_await probe_mounts(j))
        co_return *end;
    if (auto end = co_await take_stock(j))
        co_return *end;
    if (auto end = co_await name_image(j))
        co_return *end;
    if (auto end = co_await copy_mounts(j))
        co_return *end;
    if (cfg_.dry_run)
        co_return would_handle(j);
    if (auto end = co_await commit(j))
        co_return *end;
    co_await push(j);
    co_return co_await announce(j);
}

outcome job_runner::removed(const detail::job_state& j)
{
    ++stats_.auto_removed;
    log::warning(j.fields)
        << "container " << j.ev.name << " (" << domain::short_id(j.ev.id) << ", image "
        << j.ev.image << ") was removed before it could be probed for dumps (started with --rm?): "
        << "any dump it left is lost";
    return outcome::gone;
}

}  // namespace core_interceptor::pipeline
