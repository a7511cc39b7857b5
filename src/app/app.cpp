// SPDX-License-Identifier: MIT
#include "app/app.hpp"

#include "app/metrics.hpp"
#include "build_config.hpp"
#include "co/limiter.hpp"
#include "co/task_group.hpp"
#include "docker/client.hpp"
#include "domain/filter.hpp"
#include "log/log.hpp"
#include "metrics/server.hpp"
#include "pipeline/job.hpp"
#include "sinks/outbox.hpp"
#include "sinks/rest_sink.hpp"
#include "state/lock.hpp"
#include "state/store.hpp"
#include "systemd/notifier.hpp"
#include "watcher/watcher.hpp"

#if CORE_INTERCEPTOR_HAVE_KAFKA
#include "kafka/producer.hpp"
#include "sinks/kafka_sink.hpp"
#endif

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

namespace asio = boost::asio;

namespace core_interceptor::app {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Everything one daemon run owns, torn down in reverse order after the loop has ended.
class instance {
public:
    instance(asio::io_context& io, const config::app_config& cfg)
        : io_(io), cfg_(cfg), lock_(lock_state_dir(cfg)), store_(cfg.state_dir),
          docker_(cfg.docker), queue_(io, cfg.queue_capacity),
          limiter_(io.get_executor(), cfg.max_concurrency),
          jobs_(io.get_executor(), [this](std::exception_ptr e) { on_exception(e, "a job"); }),
          services_(io.get_executor(),
                    [this](std::exception_ptr e) { on_exception(e, "a service"); }),
          signals_(io, SIGINT, SIGTERM),
          watcher_(docker_, cfg.watcher, queue_, cfg.pipeline.dry_run ? nullptr : &store_)
    {
        std::vector<sinks::sink*> sinks;
#if CORE_INTERCEPTOR_HAVE_KAFKA
        if (cfg.kafka) {
            std::vector<std::pair<std::string, std::string>> props{
                {"bootstrap.servers", cfg.kafka->brokers},
                {"message.timeout.ms", std::to_string(cfg.kafka->delivery_timeout.count())},
                {"enable.idempotence", "true"},
                {"client.id", "core_interceptor"},
            };
            props.insert(props.end(), cfg.kafka->properties.begin(), cfg.kafka->properties.end());
            producer_ = std::make_unique<kafka::producer>(io.get_executor(), props);
            kafka_sink_ = std::make_unique<sinks::kafka_sink>(*producer_, cfg.kafka->topic);
            sinks.push_back(kafka_sink_.get());
        }
#endif
        if (cfg.rest) {
            rest_sink_ = std::make_unique<sinks::rest_sink>(*cfg.rest);
            sinks.push_back(rest_sink_.get());
        }
        outbox_ = std::make_unique<sinks::outbox>(
            io.get_executor(), std::move(sinks), &store_, cfg.delivery);
        runner_ = std::make_unique<pipeline::job_runner>(docker_, *outbox_, &store_, cfg.pipeline);
        // Die event (the Engine's clock) to the first confirmed delivery (ours): clamped at 0.
        runner_->on_notified([this](const domain::die_event& ev, std::size_t delivered) {
            if (delivered > 0)
                counters_.die_to_notification.observe(
                    std::max<double>(0, static_cast<double>(now_nano() - ev.time_nano) / 1e9));
        });
        if (cfg.metrics)
            metrics_ = std::make_unique<metrics::server>(
                io.get_executor(),
                *cfg.metrics,
                [this] { return metrics::render(collect_metrics()); },
                [this] { return health(watcher_, &store_); });
    }

    /// Opens the --metrics-address socket, if one is configured, before anything runs.
    error_code listen_metrics()
    {
        return metrics_ ? metrics_->listen() : error_code{};
    }

    void start()
    {
        watcher_.on_connection_change([this](bool up) { on_connection_change(up); });
        watcher_.on_destroy([this](const domain::die_event& ev) { on_destroy(ev); });
        services_.spawn(recover());
        services_.spawn(watcher_.run());
        services_.spawn(dispatch());
        if (!cfg_.pipeline.dry_run)  // a dry run sends nothing, spooled notifications included
            services_.spawn(outbox_->run_redelivery());
        services_.spawn(runner_->retry_failed_pushes(cfg_.delivery.backoff_max));
        services_.spawn(catch_up_state());
        if (metrics_)
            services_.spawn(metrics_->run());
        if (auto interval = systemd::notifier::watchdog_interval())
            services_.spawn(keep_watchdog_fed(*interval));
        asio::co_spawn(io_, wait_for_signal(), asio::detached);
        // Ready once configured and running, not gated on Docker: STATUS= says what it waits for.
        notifier_.ready(status_line());
    }

    int exit_status() const noexcept
    {
        return exit_status_;
    }

    /// --process: handles the named containers now, then ends the run; no event stream.
    void start_processing()
    {
        asio::co_spawn(io_, process(cfg_.process), [this](std::exception_ptr e) {
            if (e)
                on_exception(e, "--process");
        });
        asio::co_spawn(io_, wait_for_signal(), asio::detached);
    }

private:
    /// Takes die events off the queue and spawns a job for each, at most max_concurrency at
    /// once. Ends when the queue is closed or on cancellation.
    asio::awaitable<void> dispatch()
    {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        co_await asio::this_coro::throw_if_cancelled(false);
        for (;;) {
            auto [ec, ev] = co_await queue_.async_receive(use_tuple);
            if (ec)
                co_return;  // closed or cancelled at shutdown
            if (auto aec = co_await limiter_.acquire()) {
                log::warning({{"CONTAINER_ID", ev.id}})
                    << "shutting down: container " << ev.name << " (" << ev.id.substr(0, 12)
                    << ") is handled at the next start";
                co_return;
            }
            // One job per container at a time: a replayed or caught-up death of a container
            // whose job is running waits for it (and then finds its dumps reported).
            if (!active_.insert(ev.id).second) {
                limiter_.release();
                waiting_[ev.id].push_back(std::move(ev));
                continue;
            }
            jobs_.spawn(run_job(std::move(ev)));
        }
    }

    /// Resumes what an earlier run left unfinished, then handles the containers that died
    /// while no one was watching (SPEC §4a: the daemon's event replay is not enough).
    asio::awaitable<void> recover()
    {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        co_await asio::this_coro::throw_if_cancelled(false);
        std::set<std::string> queued;
        auto unfinished = store_.unfinished_jobs();
        if (!unfinished.empty())
            log::info() << "resuming " << unfinished.size()
                        << " death(s) left unfinished by the last run";
        for (auto& ev : unfinished) {
            queued.insert(ev.id);
            auto [ec] = co_await queue_.async_send(error_code{}, std::move(ev), use_tuple);
            if (ec)
                co_return;
        }

        std::int64_t since = store_.last_event_nano();
        if (since == 0 && cfg_.catch_up_since.count() > 0)
            since =
                now_nano() -
                std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.catch_up_since).count();
        if (since == 0)
            co_return;  // a first run without --catch-up-since: only deaths from now on
        co_await catch_up(since, std::move(queued));
    }

    /// Queues every container that exited at or after `since` (ns) and is not in `skip`.
    asio::awaitable<void> catch_up(std::int64_t since, std::set<std::string> skip)
    {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        co_await asio::this_coro::throw_if_cancelled(false);
        auto& queued = skip;
        // Wait for the Engine to answer (the watcher reconnects on its own schedule).
        asio::steady_timer timer(io_);
        auto delay = std::chrono::milliseconds(250);
        for (;;) {
            auto v = co_await docker_.negotiate();
            if (v)
                break;
            if (v.error().code == asio::error::operation_aborted)
                co_return;
            timer.expires_after(delay);
            if (auto [ec] = co_await timer.async_wait(use_tuple); ec)
                co_return;
            delay = std::min<std::chrono::milliseconds>(delay * 2, cfg_.delivery.backoff_max);
        }
        auto ids = co_await docker_.exited_containers();
        if (!ids) {
            log::error() << "cannot list exited containers to catch up: " << ids.error().describe();
            co_return;
        }
        std::size_t found = 0;
        for (const auto& id : *ids) {
            if (queued.count(id))
                continue;
            auto info = co_await docker_.inspect(id);
            if (!info || info->finished_nano < since)
                continue;
            auto ev = die_event_of(*info);
            if (std::string why; !domain::accepts(cfg_.watcher.filter, ev, &why)) {
                log::debug({{"CONTAINER_ID", ev.id}})
                    << "catch-up: container " << ev.name << " (" << ev.id.substr(0, 12)
                    << ") not handled: " << why;
                continue;
            }
            try {
                if (!cfg_.pipeline.dry_run)
                    store_.job_started(ev);
            } catch (const std::exception& e) {
                log::error({{"CONTAINER_ID", ev.id}})
                    << "cannot record the death of " << ev.name << ": " << e.what();
            }
            ++found;
            auto [ec] = co_await queue_.async_send(error_code{}, std::move(ev), use_tuple);
            if (ec)
                co_return;
        }
        log::info() << "catch-up: " << found << " container(s) died while no one was watching";
    }

    /// The die event of an exited container, as the event stream would have carried it: the
    /// time is State.FinishedAt, the attributes are its labels plus name, image and exit code.
    static domain::die_event die_event_of(const domain::container_info& info)
    {
        domain::die_event ev{info.id, info.name, info.image, info.finished_nano, info.labels};
        ev.attributes.emplace_back("name", info.name);
        ev.attributes.emplace_back("image", info.image);
        ev.attributes.emplace_back("exitCode", std::to_string(info.exit_code));
        return ev;
    }

    /// --process: resolves each name, runs a job for each exited container (at most
    /// max_concurrency at once), waits for every notification to be delivered or spooled,
    /// prints one line per container and sets the exit status: 1 when any was not handled.
    asio::awaitable<void> process(std::vector<std::string> names)
    {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        co_await asio::this_coro::throw_if_cancelled(false);
        std::vector<std::string> lines(names.size());
        std::vector<bool> ok(names.size(), false);
        std::vector<std::optional<pipeline::outcome>> outcomes(names.size());
        std::map<std::string, std::size_t> first_named;  // container ID -> its first name given
        std::map<std::size_t, std::size_t> same_as;      // a name given again -> the first one
        std::vector<std::string> ids(names.size());
        std::map<std::string, std::string>
            crashes;  // container ID -> what its core says, for its line
        runner_->on_crash([&crashes](const domain::die_event& ev, const domain::crash_info& c) {
            crashes[ev.id] = domain::summary(c);
        });
        auto v = co_await docker_.negotiate();
        if (!v)
            log::error() << "--process: the Docker daemon at " << docker_.endpoint().describe()
                         << " does not answer: " << v.error().describe();
        for (std::size_t i = 0; i < names.size(); ++i) {
            const auto& name = names[i];
            if (!v) {
                lines[i] = "failed: the Docker daemon does not answer";
                continue;
            }
            if (stopping_) {
                lines[i] = "not handled: interrupted";
                continue;
            }
            auto info = co_await docker_.inspect(name);
            if (!info) {
                lines[i] = info.error().code == errc::not_found
                               ? "failed: no such container"
                               : "failed: cannot inspect it: " + info.error().describe();
                log::error({{"CONTAINER_NAME", name}})
                    << "--process " << name << ": " << lines[i].substr(8);
                continue;
            }
            if (info->status != "exited" && info->status != "dead") {
                const std::string why =
                    "is " + (info->status.empty() ? std::string("not exited") : info->status) +
                    "; only exited containers can be processed";
                lines[i] = "failed: it " + why;
                log::error({{"CONTAINER_ID", info->id}, {"CONTAINER_NAME", info->name}})
                    << "--process " << name << ": container " << info->name << " ("
                    << info->id.substr(0, 12) << ") " << why;
                continue;
            }
            // Named twice (name and ID): one job, or two would commit it at once.
            if (auto [it, first] = first_named.emplace(info->id, i); !first) {
                same_as[i] = it->second;
                continue;
            }
            auto ev = die_event_of(*info);
            if (std::string why; !domain::accepts(cfg_.watcher.filter, ev, &why)) {
                lines[i] = "skipped by the filters (" + why + ")";
                ok[i] = true;
                continue;
            }
            if (auto ec = co_await limiter_.acquire()) {
                lines[i] = "not handled: interrupted";
                continue;
            }
            lines[i] = info->name + " (" + info->id.substr(0, 12) + ")";
            ids[i] = info->id;
            jobs_.spawn(process_one(std::move(ev), outcomes[i]));
        }
        co_await jobs_.join();
        runner_->on_crash(nullptr);

        using pipeline::outcome;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (outcomes[i]) {
                const auto o = *outcomes[i];
                // Without a registry a committed image is the goal; with one it means the push
                // failed.
                ok[i] = o == outcome::pushed || o == outcome::no_dump ||
                        o == outcome::already_reported || o == outcome::dry_run ||
                        o == outcome::duplicate ||
                        (o == outcome::committed && !cfg_.pipeline.registry);
                lines[i] += ": " + describe(o);
                if (auto c = crashes.find(ids[i]); c != crashes.end() && !c->second.empty())
                    lines[i] += " (" + c->second + ")";
            }
            if (auto it = same_as.find(i); it != same_as.end()) {
                ok[i] = ok[it->second];
                lines[i] = "same container as " + names[it->second];
            }
            std::cout << "process " << names[i] << ": " << lines[i] << '\n';
            if (!ok[i])
                exit_status_ = 1;
        }
        std::cout.flush();
        if (stopping_)
            co_return;  // SIGTERM/SIGINT: shutdown() flushes Kafka and ends the run
        stopping_ = true;
        error_code ignored;  // a signal_set with no pending wait has nothing to cancel
        signals_.cancel(ignored);
#if CORE_INTERCEPTOR_HAVE_KAFKA
        if (producer_) {
            if (auto left = producer_->flush(cfg_.kafka->flush_timeout)) {
                log::error() << left << " Kafka notification(s) still undelivered at exit";
                exit_status_ = 1;
            }
            producer_->close();
        }
#endif
    }

    /// One --process job: its outcome in `out`; frees its concurrency slot however it ends.
    /// `out` lives in process(), which joins every job before it returns.
    asio::awaitable<void> process_one(domain::die_event ev, std::optional<pipeline::outcome>& out)
    {
        struct release_on_exit {
            co::limiter& l;
            ~release_on_exit() { l.release(); }
        } guard{limiter_};
        out = co_await runner_->run(ev);
    }

    static std::string describe(pipeline::outcome o)
    {
        using pipeline::outcome;
        switch (o) {
        case outcome::no_dump: return "no dump";
        case outcome::already_reported: return "its dump was already reported";
        case outcome::rate_limited: return "failed: over --max-per-container, not committed";
        case outcome::gone: return "failed: removed before it could be probed";
        case outcome::probe_failed: return "failed: cannot probe it";
        case outcome::commit_failed: return "failed: dump found, cannot commit";
        case outcome::committed: return "dump committed, not pushed";
        case outcome::pushed: return "dump pushed";
        case outcome::cancelled: return "not handled: interrupted";
        case outcome::engine_unavailable: return "failed: the Docker daemon went away";
        case outcome::duplicate:
            return "same crash as recent images (--max-per-signature): announced, not committed";
        case outcome::dry_run: return "dump found (dry run: nothing done)";
        }
        return "unknown";
    }

    /// One job; frees its concurrency slot however it ends.
    asio::awaitable<void> run_job(domain::die_event ev)
    {
        struct release_on_exit {
            instance& self;
            bool keep_slot = false;  // handed on to the container's next death
            ~release_on_exit()
            {
                if (!keep_slot)
                    self.limiter_.release();
                self.publish_status();
            }
        } guard{*this};
        publish_status();
        const auto id = ev.id;
        remember_death(ev);
        auto outcome = co_await runner_->run(ev);
        ++counters_.dies_by_outcome[static_cast<std::size_t>(outcome)];
        if (auto it = recent_.find(id); it != recent_.end()) {
            it->second.outcome = outcome;
            warn_if_lost(id, it->second);
        }
        if (outcome == pipeline::outcome::engine_unavailable && !stopping_) {
            auto& tries = retries_[id];
            auto delay = std::min<std::chrono::milliseconds>(
                std::chrono::milliseconds(1000L << std::min(tries, 6u)), cfg_.delivery.backoff_max);
            ++tries;
            log::warning({{"CONTAINER_ID", id}})
                << "will handle container " << ev.name << " (" << id.substr(0, 12) << ") again in "
                << delay.count() << " ms, once the Docker "
                << "daemon answers";
            jobs_.spawn(requeue_later(ev, delay));
        } else if (outcome != pipeline::outcome::cancelled &&
                   outcome != pipeline::outcome::engine_unavailable &&
                   !cfg_.pipeline.dry_run) {  // a dry run leaves the death for a real run
            retries_.erase(id);
            try {
                store_.job_finished(ev);
            } catch (const std::exception& e) {
                log::error({{"CONTAINER_ID", id}})
                    << "cannot update the state directory: " << e.what();
            }
        }
        // The next death of this container, if one arrived meanwhile.
        active_.erase(id);
        if (auto it = waiting_.find(id); it != waiting_.end()) {
            auto next = std::move(it->second.front());
            it->second.pop_front();
            if (it->second.empty())
                waiting_.erase(it);
            if (!stopping_) {
                active_.insert(id);
                jobs_.spawn(run_job(std::move(next)));
                guard.keep_slot = true;
            }
        }
    }

    /// After the Docker daemon came back, list who died meanwhile: its event history does not
    /// survive its own restart (SPEC §4a).
    void on_connection_change(bool up)
    {
        publish_status();
        if (!up) {
            disconnected_at_nano_ = now_nano();
            return;
        }
        if (disconnected_at_nano_ != 0 && !stopping_) {
            // A little before the disconnect: clocks of the daemon and the Engine may differ.
            services_.spawn(catch_up(disconnected_at_nano_ - 5'000'000'000LL, {}));
            disconnected_at_nano_ = 0;
        }
    }

    /// What the daemon remembers of a recent death, to tell an --rm removal from a late rm.
    struct recent_death {
        std::chrono::steady_clock::time_point died;
        std::string name, image;
        std::optional<pipeline::outcome> outcome;
        bool destroyed = false;
    };

    void remember_death(const domain::die_event& ev)
    {
        auto now = std::chrono::steady_clock::now();
        std::erase_if(recent_, [&](const auto& kv) {
            return now - kv.second.died > std::chrono::minutes(1);
        });
        recent_[ev.id] = {now, ev.name, ev.image, std::nullopt, false};
    }

    /// A container destroyed right after its death was started with --rm (SPEC §4a): unless
    /// its job kept an image, say so, never silently.
    void on_destroy(const domain::die_event& ev)
    {
        auto it = recent_.find(ev.id);
        if (it == recent_.end() ||
            std::chrono::steady_clock::now() - it->second.died > std::chrono::seconds(10))
            return;
        it->second.destroyed = true;
        warn_if_lost(ev.id, it->second);
    }

    void warn_if_lost(const std::string& id, recent_death& d)
    {
        using pipeline::outcome;
        if (!d.destroyed || !d.outcome || *d.outcome == outcome::committed ||
            *d.outcome == outcome::pushed || *d.outcome == outcome::gone ||
            *d.outcome == outcome::already_reported || *d.outcome == outcome::cancelled ||
            *d.outcome ==
                outcome::duplicate)  // left out on purpose: announced as the same crash as an image
            return;
        log::warning({{"CONTAINER_ID", id}, {"CONTAINER_NAME", d.name}, {"IMAGE", d.image}})
            << "container " << d.name << " (" << id.substr(0, 12) << ", image " << d.image
            << ") was removed right after its death (started with --rm?): a dump it left could not "
               "be kept";
        ++auto_removed_;
        d.destroyed = false;  // once
    }

    static std::int64_t now_nano()
    {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    /// A job that lost the Engine goes back in the queue after a pause (its record stays in
    /// the state directory meanwhile, so a restart resumes it too).
    asio::awaitable<void> requeue_later(domain::die_event ev, std::chrono::milliseconds delay)
    {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        asio::steady_timer timer(io_, delay);
        if (auto [ec] = co_await timer.async_wait(use_tuple); ec)
            co_return;  // shutdown: the record in the state directory resumes it next time
        auto [ec] = co_await queue_.async_send(error_code{}, std::move(ev), use_tuple);
        (void)ec;  // closed at shutdown: same as above
    }

    std::string status_line() const
    {
        if (stopping_)
            return "stopping";
        const auto& s = runner_->counters();
        std::string line =
            watcher_.connected()
                ? "watching events on " + docker_.endpoint().describe()
                : "waiting for the Docker daemon at " + docker_.endpoint().describe();
        line += "; in flight " + std::to_string(jobs_.size()) + ", handled " +
                std::to_string(s.handled) + ", pushed " + std::to_string(s.pushed) + ", failed " +
                std::to_string(s.failed);
        return line;
    }

    void publish_status() const
    {
        notifier_.status(status_line());
    }

    std::vector<metrics::family> collect_metrics() const
    {
        return collect({watcher_,
                        runner_->counters(),
                        *outbox_,
                        docker_.bytes_read(),
                        active_.size(),
                        counters_,
                        &store_});
    }

    /// One state directory, one process (issue 10); a dry run writes nothing and may run
    /// beside the daemon.
    static std::optional<state::directory_lock> lock_state_dir(const config::app_config& cfg)
    {
        if (cfg.pipeline.dry_run)
            return std::nullopt;
        return std::optional<state::directory_lock>(std::in_place, cfg.state_dir);
    }

    /// Retries, every few seconds, what the state directory refused (a full disk freed, a
    /// read-only mount made writable): nothing to do, nothing written, while all is well.
    asio::awaitable<void> catch_up_state()
    {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        asio::steady_timer timer(io_);
        for (;;) {
            // Short enough that /healthz turns 200 soon after space is freed; each round is a
            // no-op while the directory is healthy.
            timer.expires_after(std::chrono::seconds(2));
            auto [ec] = co_await timer.async_wait(use_tuple);
            if (ec)
                co_return;  // shutdown
            co_await store_.async_catch_up();
        }
    }

    /// WATCHDOG=1 at half of WatchdogSec=, so a stuck loop gets the service restarted.
    asio::awaitable<void> keep_watchdog_fed(std::chrono::microseconds interval)
    {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        asio::steady_timer timer(io_);
        for (;;) {
            notifier_.watchdog();
            timer.expires_after(interval);
            auto [ec] = co_await timer.async_wait(use_tuple);
            if (ec)
                co_return;  // shutdown
        }
    }

    asio::awaitable<void> wait_for_signal()
    {
        auto [ec, sig] = co_await signals_.async_wait(use_tuple);
        if (ec)
            co_return;  // cancelled by shutdown() after a fatal error
        log::info() << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ", shutting down";
        co_await shutdown();
    }

    /// Two-phase stop: stop reading events, let jobs finish within the grace period
    /// (total cancellation), then abort what is left (terminal), flush Kafka, join.
    asio::awaitable<void> shutdown()
    {
        if (stopping_)
            co_return;
        stopping_ = true;
        notifier_.stopping("stopping: " + std::to_string(jobs_.size()) + " job(s) in flight");
        error_code ignored;  // a signal_set with no pending wait has nothing to cancel
        signals_.cancel(ignored);

        services_.emit(asio::cancellation_type::total);
        queue_.close();
        jobs_.emit(asio::cancellation_type::total);
        if (jobs_.size() > 0) {
            using namespace asio::experimental::awaitable_operators;
            asio::steady_timer grace(io_, cfg_.shutdown_grace);
            co_await (jobs_.join() || grace.async_wait(use_tuple));
            if (jobs_.size() > 0) {
                log::warning() << "cancelling " << jobs_.size()
                               << " job(s) still running after the " << cfg_.shutdown_grace.count()
                               << " ms grace period";
                jobs_.emit(asio::cancellation_type::terminal);
                co_await jobs_.join();
            }
        }
        services_.emit(asio::cancellation_type::terminal);
        co_await services_.join();

#if CORE_INTERCEPTOR_HAVE_KAFKA
        if (producer_) {
            if (auto left = producer_->flush(cfg_.kafka->flush_timeout))
                log::error() << left << " Kafka notification(s) still undelivered at shutdown";
            producer_->close();
        }
#endif
        const auto& s = runner_->counters();
        log::info() << "stopped: " << watcher_.events() << " deaths seen, " << s.dumps_found
                    << " dumps found, " << s.pushed << " images pushed, " << s.failed << " failed";
    }

    void on_exception(std::exception_ptr e, const char* what)
    {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error() << "fatal: " << what << " failed: " << ex.what();
        } catch (...) {
            log::error() << "fatal: " << what << " failed with an unknown exception";
        }
        exit_status_ = 1;
        asio::co_spawn(io_, shutdown(), asio::detached);
    }

    asio::io_context& io_;
    const config::app_config& cfg_;
    std::optional<state::directory_lock> lock_;  // before the store: nothing is written unlocked
    state::store store_;
    docker::client docker_;
    watcher::job_channel queue_;
    co::limiter limiter_;
    co::task_group jobs_;
    co::task_group services_;
    asio::signal_set signals_;
    watcher::watcher watcher_;
#if CORE_INTERCEPTOR_HAVE_KAFKA
    std::unique_ptr<kafka::producer> producer_;
    std::unique_ptr<sinks::kafka_sink> kafka_sink_;
#endif
    std::unique_ptr<sinks::rest_sink> rest_sink_;
    std::unique_ptr<sinks::outbox> outbox_;
    std::unique_ptr<pipeline::job_runner> runner_;
    std::set<std::string> active_;  // containers with a job
    std::map<std::string, unsigned>
        retries_;  // containers whose job lost the Engine, and how often
    std::int64_t disconnected_at_nano_ = 0;
    std::unordered_map<std::string, recent_death> recent_;
    std::uint64_t auto_removed_ = 0;
    std::unordered_map<std::string, std::deque<domain::die_event>> waiting_;  // their next deaths
    systemd::notifier notifier_;
    daemon_counters counters_;
    std::unique_ptr<metrics::server> metrics_;
    bool stopping_ = false;
    int exit_status_ = 0;
};

}  // namespace

std::optional<std::string> core_pattern_warning(std::string_view core_pattern)
{
    auto first = core_pattern.find_first_not_of(" \t");
    if (first == std::string_view::npos || core_pattern[first] != '|')
        return std::nullopt;
    std::string setting(core_pattern.substr(first));
    while (!setting.empty() && (setting.back() == '\n' || setting.back() == ' '))
        setting.pop_back();
    return "kernel.core_pattern is '" + setting +
           "': core dumps are piped to that program and never land inside containers, so only heap "
           "dumps and cores written by the applications themselves can be found (set "
           "kernel.core_pattern to a file name such as 'core' to keep cores in containers)";
}

int run(const config::app_config& cfg)
{
    if (std::ifstream in("/proc/sys/kernel/core_pattern"); in) {
        std::string pattern((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (auto w = core_pattern_warning(pattern))
            log::warning({{"CORE_PATTERN", pattern}}) << *w;
    }

    asio::io_context io(1);
    std::unique_ptr<instance> d;
    try {
        d = std::make_unique<instance>(io, cfg);
    }
#if CORE_INTERCEPTOR_HAVE_KAFKA
    catch (const kafka::property_error& e) {
        std::cerr << "core_interceptor: --kafka-property: " << e.property << ": " << e.what()
                  << '\n';
        return 2;
    }
#endif
    catch (const std::invalid_argument& e) {
        std::cerr << "core_interceptor: " << e.what() << '\n';
        return 2;
    } catch (const state::directory_in_use& e) {
        std::cerr << "core_interceptor: --state-dir: " << e.what() << '\n';
        return 2;
    } catch (const std::filesystem::filesystem_error& e) {
        log::error() << "cannot use the state directory " << cfg.state_dir.string() << ": "
                     << e.code().message();
        return 1;
    } catch (const std::exception& e) {
        log::error() << "cannot start: " << e.what();
        return 1;
    }
    if (auto ec = d->listen_metrics()) {
        log::error() << "cannot serve metrics on --metrics-address " << cfg.metrics->host << ":"
                     << cfg.metrics->port << ": " << ec.message();
        return 1;
    }
    if (cfg.process.empty())
        d->start();
    else
        d->start_processing();
    io.run();
    return d->exit_status();
}

}  // namespace core_interceptor::app
