// SPDX-License-Identifier: MIT
// The job from end to end: its steps in order (the probe, then the capture), and the one rule
// that turns a failed Engine call into the job's outcome. The steps live in job_probe.cpp,
// job_commit.cpp, job_push.cpp and job_notify.cpp.
#include "pipeline/job.hpp"

#include "co/cancel.hpp"
#include "domain/engine_answers.hpp"
#include "domain/short_id.hpp"
#include "log/log.hpp"
#include "pipeline/job_state.hpp"
#include "state/store.hpp"

#include <boost/asio/this_coro.hpp>

namespace asio = boost::asio;

namespace core_interceptor::pipeline {

bool transient(const failure& f) noexcept
{
    if (f.status != 0)
        return domain::engine_going_away(f.status, f.message);
    if (f.code == asio::error::operation_aborted)
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

probed::probed(outcome end) : end_(end) {}
probed::probed(std::unique_ptr<detail::job_state> found) : found_(std::move(found)) {}
probed::probed(probed&&) noexcept = default;
probed& probed::operator=(probed&&) noexcept = default;
probed::~probed() = default;

namespace {

/// Record a total cancellation (graceful stop) without passing it to the Engine call in
/// flight: only terminal cancellation aborts I/O. Errors are values, so no exceptions.
asio::awaitable<void> take_graceful_cancellation()
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation(),
                                                       asio::enable_terminal_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
}

}  // namespace

asio::awaitable<outcome> job_runner::run(domain::die_event ev)
{
    auto p = co_await probe(std::move(ev));
    if (auto end = p.end())
        co_return *end;
    co_return co_await capture(std::move(p));
}

asio::awaitable<probed> job_runner::probe(domain::die_event ev)
{
    co_await take_graceful_cancellation();
    ++stats_.handled;
    auto j = std::make_unique<detail::job_state>(std::move(ev));
    const auto end = co_await probe_steps(*j);
    if (end)
        co_return probed(counted(*end));
    co_return probed(std::move(j));
}

asio::awaitable<outcome> job_runner::capture(probed p, std::function<void()> engine_done)
{
    if (p.end_)
        co_return *p.end_;
    if (!p.found_)  // moved from: nothing to capture
        co_return outcome::cancelled;
    // The cancellation state probe() set for this coroutine holds: a graceful stop while the
    // death waited for its capture ends it here, before anything is made.
    const bool stopped = co_await co::cancelled();
    if (stopped)
        co_return outcome::cancelled;
    // Awaited in a statement of its own (g++ 12 miscompiles a co_await in co_return's
    // call arguments).
    const outcome o = co_await capture_steps(*p.found_, engine_done);
    co_return counted(o);
}

outcome job_runner::counted(outcome o)
{
    if (o == outcome::commit_failed || o == outcome::probe_failed)
        ++stats_.failed;
    return o;
}

void job_runner::timed(domain::phase step, std::chrono::steady_clock::time_point start) const
{
    if (on_timed_)
        on_timed_(step, std::chrono::steady_clock::now() - start);
}

asio::awaitable<std::optional<outcome>> job_runner::probe_steps(detail::job_state& j)
{
    const auto start = std::chrono::steady_clock::now();
    auto end = co_await probe_layer(j);
    if (!end)
        end = co_await probe_mounts(j);
    timed(domain::phase::probe, start);
    if (end)
        co_return end;
    co_return co_await take_stock(j);
}

asio::awaitable<outcome> job_runner::capture_steps(detail::job_state& j,
                                                   const std::function<void()>& engine_done)
{
    const auto start = std::chrono::steady_clock::now();
    if (auto end = co_await name_image(j))
        co_return *end;
    if (auto end = co_await copy_mounts(j))
        co_return *end;
    if (cfg_.dry_run)
        co_return would_handle(j);
    if (auto end = co_await commit(j))
        co_return *end;
    timed(domain::phase::commit, start);
    co_await push(j);
    if (engine_done)
        engine_done();
    const outcome o = co_await announce(j);  // a statement of its own (g++ 12)
    co_await remove_late_commits(j);
    co_return o;
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
